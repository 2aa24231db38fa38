"""Worker processes for `--jobs`: every item under a deadline, a hung worker replaced.

`concurrent.futures.ProcessPoolExecutor` cannot keep a deadline per file: it cannot stop
one task, and a worker killed from outside breaks the whole pool (every pending task
fails). So dfmod keeps its own few workers, each behind a pipe. The parent hands a worker
a chunk of items (one message for many small files, as `map(chunksize=…)` does) and the
worker answers each item as soon as it is done, so the parent always knows which item a
worker is on and since when.

The worker keeps the time budget itself (`dfmod.workspace.budget`: an overrun becomes an
error result and the worker goes on). The parent's deadline — the budget plus a grace
period — is for what that cannot stop (a native call that does not return, a platform
without `SIGALRM`): the worker is killed, its item is reported through `failed`, the rest
of its chunk goes back to the queue and a new worker takes its place. A worker that dies
on its own (out of memory, a crash) is handled the same way. Results come out in the
order of the items, as they are ready; when the caller stops early, the workers are
killed rather than left running.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


def _serve(connection: Any, function: Callable[[Any], Any],
           initializer: Callable[..., None] | None, initargs: tuple[Any, ...]) -> None:
    """A worker's life: answer every item of every chunk, until told to stop.

    Ctrl-C is the parent's to handle (it stops the workers); a worker ignores it rather
    than print a traceback of its own.
    """
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if initializer is not None:
        initializer(*initargs)
    while True:
        try:
            chunk = connection.recv()
        except (EOFError, KeyboardInterrupt):
            return
        if chunk is None:
            return
        for index, item in chunk:
            try:
                connection.send((index, function(item)))
            except Exception:  # a bug: the parent raises it, as it would in its own process
                import traceback

                connection.send((index, _Raised(traceback.format_exc())))


@dataclass(frozen=True)
class _Raised:
    """An exception `function` raised in a worker, as the traceback text."""

    traceback: str


class WorkerError(Exception):
    """`function` raised in a worker process; the message is the worker's traceback."""


@dataclass
class _Worker:
    process: Any
    connection: Any
    chunk: deque[int] = field(default_factory=deque)  # indexes sent and not yet answered
    since: float = 0.0  # when the item it is on started: its chunk arrived, or the last answer

    def stop(self, kill: bool) -> None:
        if not kill:
            try:
                self.connection.send(None)
                self.process.join(5)
            except OSError:
                pass
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.connection.close()


@dataclass
class _Pool(Generic[Item, Result]):
    function: Callable[[Item], Result]
    items: Sequence[Item]
    failed: Callable[[Item, str], Result]
    deadline: float | None
    initializer: Callable[..., None] | None
    initargs: tuple[Any, ...]
    chunk_size: int
    queue: deque[int] = field(default_factory=deque)
    results: dict[int, Result] = field(default_factory=dict)

    def start(self) -> _Worker:
        import multiprocessing

        parent, child = multiprocessing.Pipe()
        process = multiprocessing.Process(
            target=_serve, args=(child, self.function, self.initializer, self.initargs),
            daemon=True)
        process.start()
        child.close()
        return _Worker(process, parent)

    def give(self, worker: _Worker) -> None:
        """Send the worker its next chunk (nothing when the queue is empty)."""
        chunk = [self.queue.popleft() for _ in range(min(self.chunk_size, len(self.queue)))]
        if chunk:
            worker.connection.send([(index, self.items[index]) for index in chunk])
            worker.chunk.extend(chunk)
            worker.since = time.monotonic()

    def receive(self, worker: _Worker) -> bool:
        """Take one answer; False when the worker is gone."""
        try:
            index, result = worker.connection.recv()
        except (EOFError, OSError):
            return False
        worker.chunk.popleft()
        if isinstance(result, _Raised):
            raise WorkerError(result.traceback)
        self.results[index] = result
        worker.since = time.monotonic()
        if not worker.chunk:
            self.give(worker)
        return True

    def replace(self, worker: _Worker, reason: str) -> _Worker:
        """Report the worker's current item as failed, requeue the rest, start a new one."""
        worker.stop(kill=True)
        index = worker.chunk.popleft()
        self.results[index] = self.failed(self.items[index], reason)
        self.queue.extendleft(reversed(worker.chunk))
        fresh = self.start()
        self.give(fresh)
        return fresh


def _death(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        return f"its worker process was killed (signal {-exitcode})"
    return f"its worker process ended (exit code {exitcode})"


def ordered_map(function: Callable[[Item], Result], items: Sequence[Item], jobs: int,
                failed: Callable[[Item, str], Result], deadline: float | None = None,
                initializer: Callable[..., None] | None = None,
                initargs: tuple[Any, ...] = ()) -> Iterator[Result]:
    """`function` over `items` in `jobs` worker processes, results in the items' order.

    `function`, the items and the results must pickle. An item whose worker takes longer
    than `deadline` seconds, or dies, gives `failed(item, reason)` instead.
    """
    pool = _Pool(function, items, failed, deadline, initializer, initargs,
                 chunk_size=max(1, len(items) // (jobs * 8)))
    pool.queue.extend(range(len(items)))
    workers: list[_Worker] = []
    finished = False
    try:
        for _ in range(min(jobs, len(items))):
            workers.append(pool.start())
            pool.give(workers[-1])
        following = 0
        from multiprocessing.connection import wait

        while following < len(items):
            for worker in workers:
                if not worker.chunk:
                    pool.give(worker)  # items a replaced worker left to the queue
            busy = [worker for worker in workers if worker.chunk]
            timeout = None
            if deadline is not None:
                first = min(worker.since for worker in busy) + deadline
                timeout = max(0.0, first - time.monotonic())
            ready = wait([worker.connection for worker in busy], timeout)
            for position, worker in enumerate(workers):
                if worker.connection in ready and not pool.receive(worker):
                    worker.process.join(1)
                    workers[position] = pool.replace(worker, _death(worker.process.exitcode))
                elif (deadline is not None and worker.chunk
                      and time.monotonic() - worker.since > deadline):
                    workers[position] = pool.replace(
                        worker, f"took longer than {deadline:g} s: its worker process was stopped")
            while following in pool.results:
                yield pool.results.pop(following)
                following += 1
        finished = True
    finally:
        for worker in workers:
            worker.stop(kill=not finished)
