"""Build tests: every test in this folder is marked `build` and runs on the private daemon.

The session fixture finds the harness `.ci/build-harness` set up (its env file under
/var/lib/dfmod-harness, or $DFMOD_HARNESS_DIR); when it is not up, it runs the script once
(as root on Linux). When the harness cannot be had the build tests skip, except under CI,
where that is a failure: CI's `.ci/run` starts the harness, so a missing one is a broken CI.
Deselect them with `-m "not build"`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path

import buildkit
import pytest
from support import Proven, concurrently

HERE = Path(__file__).resolve().parent


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "build: builds real images with BuildKit on the private daemon of .ci/build-harness")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.build)


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


@pytest.fixture(scope="session")
def harness() -> Iterator[buildkit.Harness]:
    """The private daemon; skips (fails under CI) when it cannot be had."""
    found, why = buildkit.ensure(allow_start=True)
    if found is None:
        if _in_ci():
            pytest.fail(f"CI=true but the build harness is not available: {why}", pytrace=False)
        pytest.skip(f"build harness not available: {why}")
    buildkit.use(found)
    try:
        yield found
    finally:
        buildkit.remove_images()
        buildkit.use(None)


@pytest.fixture(autouse=True)
def _build_harness(harness: buildkit.Harness) -> None:
    """Every test here needs the daemon, whether or not it names the fixture."""


@pytest.fixture(scope="module")
def _proofs(request: pytest.FixtureRequest,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Future[None]]]:
    """Every selected proof of the requesting module, started at once (support.concurrently)."""
    with concurrently(request, tmp_path_factory, request.module) as futures:
        yield futures


@pytest.fixture
def proven(_proofs: dict[str, Future[None]], request: pytest.FixtureRequest) -> Proven:
    """Wait for this test's `prove_…` function; re-raises what it raised."""
    return _proofs[request.node.nodeid].result
