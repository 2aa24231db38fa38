"""Helpers shared by the rule proofs, the no-breakage property and the golden builds.

`buildkit` builds and runs; this module asks dfmod what it finds and fixes (through the CLI,
as a user would, with the build context given), and reads BuildKit's plain-progress logs.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

import pytest
from buildkit import dfmod

PIP_SITE = "/usr/local/lib/python3.11/dist-packages"
"""Where the stand-in image's pip installs (see README.md: every python:* tag is bookworm's 3.11)."""


def _context_args(context: Path | None) -> list[str]:
    return ["--context", str(context)] if context is not None else []


def findings(dockerfile: Path, *, context: Path | None = None, select: str | None = None) -> list[dict]:
    """What `dfmod check --unsafe-fixes --format json` reports for one Dockerfile."""
    args: list[str] = ["check", "--unsafe-fixes", "--format", "json", *_context_args(context)]
    if select:
        args += ["--select", select]
    proc = dfmod(*args, dockerfile)
    # Exit 1 means "findings"; a crash exits 1 too, but prints no JSON.
    assert proc.returncode in (0, 1) and proc.stdout.lstrip().startswith("["), (
        f"dfmod check failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return json.loads(proc.stdout)


def rules(found: Iterable[dict]) -> set[str]:
    return {item["rule"] for item in found}


def apply_fixes(dockerfile: Path, *, context: Path | None = None, select: str | None = None,
                unsafe: bool = False) -> str:
    """`dfmod apply --fix [--unsafe-fixes] [--select R] [--context C] DOCKERFILE`; the new text."""
    args: list[str] = ["apply", "--fix", *_context_args(context)]
    if unsafe:
        args.append("--unsafe-fixes")
    if select:
        args += ["--select", select]
    proc = dfmod(*args, dockerfile)
    assert proc.returncode in (0, 1) and "Traceback" not in proc.stderr, (
        f"dfmod apply failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return dockerfile.read_text()


_HEADER = re.compile(r"^#(\d+) \[[^\]]*\] (.*)$", re.MULTILINE)


def _steps(log: str, needle: str) -> set[str]:
    return {match.group(1) for match in _HEADER.finditer(log) if needle in match.group(2)}


def step_cached(log: str, needle: str) -> bool:
    """Whether the build step whose header contains `needle` was taken from the layer cache.

    BuildKit's plain log opens a step with `#N [stage i/n] RUN …` and says `#N CACHED` when it
    did not run. Asserts that such a step exists at all."""
    numbers = _steps(log, needle)
    assert numbers, f"no build step mentions {needle!r} in:\n{log}"
    return any(re.search(rf"^#{number} CACHED$", log, re.MULTILINE) for number in numbers)


def step_ran(log: str, needle: str) -> bool:
    return not step_cached(log, needle)


# --- running test bodies concurrently ---------------------------------------------------------

Proven = Callable[[], None]
"""What a test calls to wait for its proof and re-raise what it raised (see `concurrently`)."""

JOBS = int(os.environ.get("DFMOD_BUILD_JOBS", "4"))
"""How many builds run at once: most of a build's time is spent waiting for the daemon and the
registry, so a few at a time finish sooner than one after another, even on 2 cores."""


@contextmanager
def concurrently(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                 module: ModuleType, jobs: int = JOBS) -> Iterator[dict[str, Future[None]]]:
    """Start `prove_<name>(tmp_path, **params)` for every selected `test_<name>` of `module`.

    A module fixture calls this once; each test then waits for its own future (keyed by node
    id), so a failure is reported by the test it belongs to, with the proof's traceback. The
    tests selected in this session are the ones started (`-k` builds only what it runs)."""
    pool = ThreadPoolExecutor(max_workers=jobs)
    futures: dict[str, Future[None]] = {}
    try:
        for item in request.session.items:
            if getattr(item, "module", None) is not module or item.get_closest_marker("skip"):
                continue  # a skipped test's proof is never waited for: do not build it
            name = getattr(item, "originalname", item.name)
            prove = getattr(module, "prove_" + name.removeprefix("test_"), None)
            if prove is None:
                continue
            callspec = getattr(item, "callspec", None)
            params = dict(callspec.params) if callspec is not None else {}
            tmp = tmp_path_factory.mktemp(name.removeprefix("test_")[:30], numbered=True)
            futures[item.nodeid] = pool.submit(prove, tmp, **params)
        yield futures
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
