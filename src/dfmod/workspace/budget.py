"""A time budget for one file (`--timeout-per-file`), kept by the process working on it.

dfmod's engine is Python code calling short native routines (tree-sitter, the regex
engine, which checks for signals itself), so an interval timer's `SIGALRM` reaches it
between bytecodes: its handler raises `Overrun`, which unwinds the work on that file, and
the run goes on with the next one. Nothing is written under the budget — the runner writes
a file's fixes only after its budget is over — so an overrun never leaves a file half
written. `Overrun` is a `BaseException`, as `KeyboardInterrupt` is, so that no
`except Exception` in a codemod can swallow it.

Where a signal cannot do it, the budget degrades to none in this process: interval timers
exist only on POSIX (not on Windows), Python delivers signals only to its main thread (a
library caller running dfmod in a thread), and a native call that never returned would
not be interrupted either. With `--jobs` above one, the worker pool
(`dfmod.workspace.pool`) also keeps a deadline from outside — it replaces a worker that
overruns its budget by a grace period — which works everywhere.
"""

from __future__ import annotations

try:  # the signal module only wraps these functions to return enums, at ~1 ms of start-up
    import _signal as signal
except ImportError:  # pragma: no cover (an interpreter without CPython's module)
    import signal  # type: ignore[no-redef]

TYPE_CHECKING = False  # not typing's: importing typing costs ~7 ms (tests/test_startup.py)
if TYPE_CHECKING:
    from types import FrameType
    from typing import Any


class Overrun(BaseException):
    """The file took longer than its budget."""


def _overrun(_signum: int, _frame: FrameType | None) -> None:
    raise Overrun


class time_budget:  # named as the function it replaced: `with time_budget(seconds):`
    """Raise `Overrun` in the block once it has run `seconds` (None or 0: no budget).

    A class rather than a `contextlib.contextmanager`, which a check would import for
    this alone (about a millisecond)."""

    __slots__ = ("_installed", "_previous", "_seconds")

    def __init__(self, seconds: float | None) -> None:
        self._seconds = seconds
        self._installed = False
        self._previous: Any = None

    def __enter__(self) -> None:
        if self._seconds and hasattr(signal, "setitimer"):
            try:
                self._previous = signal.signal(signal.SIGALRM, _overrun)
            except ValueError:  # not the main thread: no budget here
                return
            self._installed = True
            signal.setitimer(signal.ITIMER_REAL, self._seconds)

    def __exit__(self, *_: object) -> None:
        if self._installed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self._previous if self._previous is not None else signal.SIG_DFL)
