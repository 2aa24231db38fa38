"""Shared test options: `--update-golden` rewrites golden expectations from the code."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true",
                     help="rewrite golden/*/*/expected from the current codemods")
    parser.addoption("--corpus-size", type=int, default=300,
                     help="how many generated Dockerfiles the property tests use")


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))
