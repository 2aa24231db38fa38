"""Golden tests: every `golden/<codemod>/<case>/` is fixed and compared byte for byte.

Compose codemods' cases are run by test_compose_golden.py. A case holds `input/` (a build
context with one or more Dockerfiles, and any files the
codemod reads such as requirements.txt), `expected/` (the Dockerfiles after
`dfmod apply --fix`), and optionally `options.toml`:

    unsafe-fixes = true        # apply unsafe fixes too
    instruction-delta = 1      # the fix adds (or removes) instructions
    findings = 0               # the findings the case's Dockerfiles raise (0: must stay silent)
    [options]                  # options of the codemod under test
    style = "scoped"

Each case also proves: applying the fixes again changes nothing; the input and output
parse with BuildKit's parser on the same line ranges as dfmod's lexer, with the expected
instruction count. `pytest --update-golden` rewrites `expected/` from the code.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from goldencases import GOLDEN, case_options, case_settings

from dfmod.linting.engine import check, fix
from dfmod.linting.registry import all_codemods
from dfmod.syntax.dockerfile import Dockerfile
from dfmod.workspace.kinds import kind_of
from oracle import assert_agrees_with_buildkit, buildkit_ranges

CASES = sorted(path for path in GOLDEN.glob("*/*") if (path / "input").is_dir()
               and all_codemods().get(path.parent.name) is not None
               and all_codemods()[path.parent.name].kind == "dockerfile")


def _read(path: Path) -> str:
    return path.read_bytes().decode("utf-8")


def _dockerfiles(case: Path) -> list[Path]:
    return sorted(path for path in (case / "input").rglob("*") if kind_of(path.name) == "dockerfile")


def test_every_codemod_has_golden_cases() -> None:
    for rule in all_codemods():
        assert (GOLDEN / rule).is_dir(), f"golden/{rule}/ is missing"


@pytest.mark.parametrize("case", CASES, ids=[f"{c.parent.name}/{c.name}" for c in CASES])
def test_golden(case: Path, update_golden: bool) -> None:
    settings = case_settings(case)
    delta = case_options(case).get("instruction-delta", 0)
    files = _dockerfiles(case)
    assert files, f"{case}/input holds no Dockerfile"
    found = 0
    for source in files:
        relative = source.relative_to(case / "input")
        expected_path = case / "expected" / relative
        before = _read(source)
        doc = Dockerfile(before, os.fspath(source))
        found += len(check(doc, settings.instances("dockerfile"), settings))
        outcome = fix(doc, settings)
        if update_golden:
            expected_path.parent.mkdir(parents=True, exist_ok=True)
            expected_path.write_bytes(outcome.text.encode("utf-8"))
        expected = _read(expected_path)
        assert outcome.text == expected
        again = fix(Dockerfile(expected, os.fspath(source)), settings)
        assert again.text == expected, "fixing twice changed the file again"
        assert not again.applied
        assert_agrees_with_buildkit(before)
        assert_agrees_with_buildkit(expected)
        assert len(buildkit_ranges(expected)) == len(buildkit_ranges(before)) + delta
    if "findings" in case_options(case):
        assert found == case_options(case)["findings"], f"{found} findings"


def test_no_stale_expected_dirs() -> None:
    for case in GOLDEN.glob("*/*"):
        if case.is_dir():
            assert (case / "input").is_dir(), f"{case} has no input/"
            assert (case / "expected").is_dir(), f"{case} has no expected/"
