"""The worker pool of `--jobs`: results in order, and a worker that hangs or dies replaced.

Every test runs under an alarm (`deadline`), so a pool that hangs fails instead of
stopping the suite.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time

import pytest

from dfmod.workspace.pool import WorkerError, ordered_map
from limits import deadline


def _square(item: int) -> int:
    return item * item


def _behave(item: str) -> str:
    """"hang": stuck where no budget can reach it (SIGALRM blocked); "die": the process ends."""
    if item == "hang":
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
        time.sleep(600)
    if item == "die":
        os._exit(3)
    if item == "raise":
        raise ValueError("a bug")
    return item.upper()


def _failed(item: str, reason: str) -> str:
    return f"{item}: {reason}"


def test_results_come_in_order() -> None:
    with deadline(60):
        assert list(ordered_map(_square, list(range(200)), 3, _failed)) == [n * n for n in range(200)]


def test_a_hung_worker_is_replaced_and_the_others_go_on() -> None:
    items = ["a", "b", "hang", "c", "d", "e"]
    start = time.monotonic()
    with deadline(60):
        results = list(ordered_map(_behave, items, 2, _failed, deadline=1.0))
    assert results == ["A", "B", "hang: took longer than 1 s: its worker process was stopped",
                       "C", "D", "E"]
    assert time.monotonic() - start < 10
    assert multiprocessing.active_children() == []


def test_a_worker_that_dies_is_replaced() -> None:
    with deadline(60):
        results = list(ordered_map(_behave, ["a", "die", "b", "c"], 2, _failed))
    assert results == ["A", "die: its worker process ended (exit code 3)", "B", "C"]


def test_an_exception_in_a_worker_is_raised_in_the_parent() -> None:
    with deadline(60), pytest.raises(WorkerError, match="ValueError: a bug"):
        list(ordered_map(_behave, ["a", "raise", "b"], 2, _failed))
    assert multiprocessing.active_children() == []


def test_stopping_early_stops_the_workers() -> None:
    with deadline(60):
        results = ordered_map(_behave, ["a", "hang", "hang", "b"], 2, _failed)
        assert next(results) == "A"
        results.close()
    assert multiprocessing.active_children() == []
