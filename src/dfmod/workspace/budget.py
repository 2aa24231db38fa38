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

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

TYPE_CHECKING = False  # not typing's: importing typing costs ~7 ms (tests/test_startup.py)
if TYPE_CHECKING:
    from typing import Any


class Overrun(BaseException):
    """The file took longer than its budget."""


def _overrun(_signum: int, _frame: FrameType | None) -> None:
    raise Overrun


@contextmanager
def time_budget(seconds: float | None) -> Iterator[None]:
    """Raise `Overrun` in the block once it has run `seconds` (None or 0: no budget)."""
    installed = False
    previous: Any = None
    if seconds and hasattr(signal, "setitimer"):
        try:
            previous = signal.signal(signal.SIGALRM, _overrun)
            installed = True
        except ValueError:  # not the main thread: no budget here
            pass
    if not installed:
        yield
        return
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous if previous is not None else signal.SIG_DFL)
