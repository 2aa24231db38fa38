"""masked-failure, checked by running the original and the fixed shell in real shells.

The rule's claim is a fact about the shell: `&&` and `||` have equal precedence and group
left to right, so an unscoped `|| true` swallows the failure of every command whose failure
reaches it. The tests (1) check `dfmod.semantic.masking.masks`' model of that against bash on many
generated chains, (2) run seed 001's chain before and after the fix with a failing
`poetry`, and (3) run a heredoc body as BuildKit does (`/bin/sh -c <body>`) before and after
`set -e` is inserted, with a failing `apt-get`.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from dfmod.codemods.masked_failure import MaskedFailure
from dfmod.codemods.masked_install_failure import MaskedInstallFailure
from dfmod.linting.engine import Settings, check, fix
from dfmod.linting.registry import all_codemods
from dfmod.semantic.masking import masks
from dfmod.syntax.dockerfile import Dockerfile, run_scripts
from dfmod.syntax.shell import parse_shell
from dfmod.syntax.text import MappedText

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
# Absolute paths: the stubs put on PATH must never shadow the shell under test.
SHELLS = [path for path in (shutil.which(name) for name in ("sh", "bash", "dash")) if path]
BOTH = Settings([MaskedFailure, MaskedInstallFailure], unsafe_fixes=True)


def _stubs(directory: Path, **status: int) -> dict[str, str]:
    """Executables on PATH that exit with the given status (0 unless listed as failing)."""
    directory.mkdir(exist_ok=True)
    for name, code in status.items():
        path = directory / name
        path.write_text(f"#!/bin/sh\necho \"{name} $*\"\nexit {code}\n")
        path.chmod(0o755)
    return {**os.environ, "PATH": f"{directory}{os.pathsep}{os.environ['PATH']}"}


def _run(shell: str, script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([shell, "-c", script], env=env, capture_output=True, text=True,
                          timeout=20, check=False)


def _scripts(text: str) -> list[str]:
    doc = Dockerfile(text)
    return [script.source.text for instruction in doc.instructions
            for script in run_scripts(doc, instruction)]


# -- the model against bash -------------------------------------------------------------
def _random_chain(rng: random.Random) -> tuple[str, list[str]]:
    """`c 0 && c 1 || echo T2 && …`: commands `c N` and tolerances `echo TN`."""
    parts: list[str] = []
    kinds: list[str] = []
    for index in range(rng.randint(2, 7)):
        if index:
            parts.append(rng.choice(["&&", "&&", "||"]))
        if index and rng.random() < 0.35:
            parts.append(f"echo T{index}")
            kinds.append("tolerance")
        else:
            parts.append(f"c {index}")
            kinds.append("command")
    return " ".join(parts), kinds


def test_mask_model_matches_bash() -> None:
    """For each command j of a chain, make only j fail and see what bash runs next: the
    model says j is masked by tolerance k exactly when bash runs `echo Tk` right after j."""
    rng = random.Random(2024)
    cases: list[tuple[str, int, int | None]] = []  # chain, failing command, expected masker
    for _ in range(80):
        text, kinds = _random_chain(rng)
        script = parse_shell(MappedText.verbatim(text, 0, len(text)))
        chain = script.chain
        masked_by: dict[int, int] = {}
        for mask in masks(chain):
            for element in mask.masked:
                masked_by[element.index] = mask.index
        for index, kind in enumerate(kinds):
            if kind == "command":
                cases.append((text, index, masked_by.get(index)))
    program = ["c() { echo \"C$1\"; [ \"$1\" != \"$FAIL\" ]; }"]
    for number, (text, failing, _) in enumerate(cases):
        program.append(f"echo CASE{number}; FAIL={failing}; ( {text} ) || true")
    result = subprocess.run([shutil.which("bash") or "bash", "-c", "\n".join(program)], capture_output=True,
                            text=True, timeout=20, check=True)
    outputs = result.stdout.split("CASE")[1:]
    assert len(outputs) == len(cases)
    checked = 0
    for output, (text, failing, masker) in zip(outputs, cases, strict=True):
        lines = output.split()[1:]
        if f"C{failing}" not in lines:
            continue  # skipped by an earlier `||` (its left side succeeded)
        checked += 1
        after = lines[lines.index(f"C{failing}") + 1:]
        ran_next = after[0] if after else None
        if masker is None:
            assert ran_next is None or not ran_next.startswith("T"), (text, failing)
        else:
            assert ran_next == f"T{masker}", (text, failing, masker, lines)
    assert checked > 150


# -- seed 001 -----------------------------------------------------------------------------
@pytest.mark.parametrize("shell", SHELLS)
def test_seed_001_failed_poetry_install_now_fails_the_build(tmp_path: Path, shell: str) -> None:
    case = GOLDEN / "masked-failure" / "seed-001"
    before = (case / "input" / "Dockerfile").read_text()
    after = fix(Dockerfile(before), Settings([MaskedFailure], unsafe_fixes=True)).text
    assert after == (case / "expected" / "Dockerfile").read_text()
    (original,) = _scripts(before)
    (fixed,) = _scripts(after)

    broken = _stubs(tmp_path / "broken", poetry=1, find=0, rm=0, **{"...": 0})
    run = _run(shell, original, broken)
    assert run.returncode == 0, "the seed's chain swallows a failed poetry install"
    assert "find" in run.stdout  # and goes on cleaning up as if nothing happened
    assert _run(shell, fixed, broken).returncode != 0

    # A good build still passes.
    good = _stubs(tmp_path / "good", poetry=0, find=0, rm=0, **{"...": 0})
    assert _run(shell, fixed, good).returncode == 0
    # The `-delete` finds (lines 6-7) were masked too, by the `|| true` of line 9.
    failing_finds = _stubs(tmp_path / "finds", poetry=0, find=1, rm=0, **{"...": 0})
    assert _run(shell, original, failing_finds).returncode == 0
    assert _run(shell, fixed, failing_finds).returncode != 0


def test_scoped_tolerance_still_tolerates_its_own_command(tmp_path: Path) -> None:
    source = "FROM x\nRUN prep && cleanup 2>/dev/null || true && publish\n"
    after = fix(Dockerfile(source), Settings([MaskedFailure], unsafe_fixes=True)).text
    assert after == "FROM x\nRUN prep && { cleanup 2>/dev/null || true; } && publish\n"
    (original,) = _scripts(source)
    (fixed,) = _scripts(after)
    for shell in SHELLS:
        failing_cleanup = _stubs(tmp_path / "a", prep=0, cleanup=1, publish=0)
        assert _run(shell, original, failing_cleanup).returncode == 0
        result = _run(shell, fixed, failing_cleanup)
        assert result.returncode == 0 and "publish" in result.stdout
        failing_prep = _stubs(tmp_path / "b", prep=1, cleanup=0, publish=0)
        assert _run(shell, original, failing_prep).returncode == 0
        result = _run(shell, fixed, failing_prep)
        assert result.returncode != 0 and "publish" not in result.stdout


def test_group_keeps_the_current_shell(tmp_path: Path) -> None:
    """Braces, not a subshell: a `cd` inside the scoped part still applies afterwards."""
    source = "FROM x\nRUN mkdir -p w && cd w || true && pwd\n"
    after = fix(Dockerfile(source), Settings([MaskedFailure], unsafe_fixes=True)).text
    assert after == "FROM x\nRUN mkdir -p w && { cd w || true; } && pwd\n"
    (fixed,) = _scripts(after)
    result = subprocess.run(["bash", "-c", fixed], cwd=tmp_path, capture_output=True,
                            text=True, check=True)
    assert result.stdout.strip().endswith("/w")


# -- heredoc scripts ----------------------------------------------------------------------
def _heredoc_body(text: str, index: int) -> str:
    doc = Dockerfile(text)
    runs = [item for item in doc.instructions if item.keyword == "RUN"]
    body = runs[index].heredocs[0].body
    return doc.text[body.start:body.end]


@pytest.mark.parametrize("shell", SHELLS)
def test_heredoc_without_set_e_ignores_a_failed_apt_get(tmp_path: Path, shell: str) -> None:
    case = GOLDEN / "masked-failure" / "heredoc-run"
    before = (case / "input" / "Dockerfile").read_text()
    after = (case / "expected" / "Dockerfile").read_text()
    original, fixed = _heredoc_body(before, 0), _heredoc_body(after, 0)
    assert fixed.startswith("set -e\n")
    env = _stubs(tmp_path / "bin", **{"apt-get": 1, "curl": 0, "sh": 0, "rm": 0})
    # BuildKit runs a heredoc without `#!` as `/bin/sh -c <body>`.
    assert _run(shell, original, env).returncode == 0
    result = _run(shell, fixed, env)
    assert result.returncode != 0 and "rm " not in result.stdout
    good = _stubs(tmp_path / "good", **{"apt-get": 0, "curl": 0, "sh": 1, "rm": 0})
    assert _run(shell, fixed, good).returncode == 0  # the scoped `|| true` still tolerates


def test_heredoc_with_shebang_gets_set_e_after_it(tmp_path: Path) -> None:
    after = (GOLDEN / "masked-failure" / "heredoc-run" / "expected" / "Dockerfile").read_text()
    body = _heredoc_body(after, 2)
    assert body.startswith("#!/bin/bash\nset -e\n")
    script = tmp_path / "script"
    script.write_text(body.replace("cd /app", "cd /nonexistent-dfmod-dir"))
    script.chmod(0o755)
    assert subprocess.run([os.fspath(script)], capture_output=True, check=False).returncode != 0


def test_shell_with_errexit_and_set_e_forms_are_respected() -> None:
    case = GOLDEN / "masked-failure" / "heredoc-errexit"
    findings = check(Dockerfile((case / "input" / "Dockerfile").read_text()), [MaskedFailure()])
    # Only the `#!/bin/bash` script in the stage whose SHELL has -e: a `#!` script is run
    # by its own interpreter, so SHELL's options do not apply to it.
    assert [Dockerfile((case / "input" / "Dockerfile").read_text()).position(
        item.span.start)[0] for item in findings] == [41]


# -- both codemods together ---------------------------------------------------------------
MIXED = """\
FROM python:3.11-slim AS builder
RUN apt-get update && apt-get install -y curl || true && ./a.sh && ./b.sh || true
RUN pip install -r requirements.txt || echo "no deps" && ./setup.sh && ./post.sh || true
RUN pip install x || true && ./b.sh || true
RUN ./a.sh && pip install x || echo "failed" && ./b.sh && ./c.sh 2>/dev/null || true
RUN python3 -m pip install a || pip install b || echo no || true
RUN pip install --no-cache-dir --user gpt-load || echo "gpt-load not available via pip"
"""

MIXED_FIXED = """\
FROM python:3.11-slim AS builder
RUN apt-get update && apt-get install -y curl && ./a.sh && { ./b.sh || true; }
RUN if [ -f requirements.txt ]; then pip install -r requirements.txt; fi && ./setup.sh && { ./post.sh || true; }
RUN pip install x && { ./b.sh || true; }
RUN ./a.sh && pip install x && ./b.sh && { ./c.sh 2>/dev/null || true; }
RUN python3 -m pip install a || pip install b
RUN pip install --no-cache-dir --user gpt-load
"""


@pytest.mark.parametrize("order", [(MaskedFailure, MaskedInstallFailure),
                                   (MaskedInstallFailure, MaskedFailure)])
def test_both_codemods_converge_without_conflict(order: tuple) -> None:
    settings = Settings(list(order), unsafe_fixes=True)
    outcome = fix(Dockerfile(MIXED), settings)
    assert outcome.text == MIXED_FIXED
    assert not [item for item in outcome.findings if item.fix is not None]
    again = fix(Dockerfile(outcome.text), settings)
    assert again.text == outcome.text and not again.applied


def test_ownership_masked_failure_never_touches_a_tolerance_after_an_install() -> None:
    doc = Dockerfile("FROM x\nRUN apt-get update && apt-get install -y curl || true\n")
    assert check(doc, [MaskedFailure()]) == []
    (finding,) = check(doc, [MaskedInstallFailure()])
    assert "apt-get update" in finding.message


@pytest.mark.parametrize("rule", ["masked-failure", "masked-install-failure"])
def test_fixed_golden_scripts_parse_in_bash(rule: str) -> None:
    for expected in sorted((GOLDEN / rule).glob("*/expected/Dockerfile")):
        text = expected.read_bytes().decode()
        for script in _scripts(text):
            result = subprocess.run(["bash", "-n", "-c", script.replace("\r", "")],
                                    capture_output=True, text=True, check=False)
            assert result.returncode == 0, (expected, result.stderr)


def test_message_names_the_masked_commands() -> None:
    doc = Dockerfile((GOLDEN / "masked-failure" / "seed-001" / "input" / "Dockerfile").read_text())
    (finding,) = check(doc, [MaskedFailure()])
    assert "`poetry install` (line 2), `rm` (line 2), not only of the `find` (line 3)" in (
        finding.message)
    assert finding.fix is not None and len(finding.fix.edits) == 8  # four groups of braces
    assert BOTH.applies(finding.fix) and not Settings([MaskedFailure]).applies(finding.fix)


def test_tests_and_conditions_are_not_failures_and_pipelines_are_named_by_their_status() -> None:
    doc = Dockerfile((GOLDEN / "masked-failure" / "tests-and-conditions" / "input" / "Dockerfile").read_text())
    (finding,) = check(doc, [MaskedFailure()])
    assert finding.message.startswith(
        "`|| true` (line 12) swallows the failure of `apt-get update` (line 12), not only of the "
        "`… | sh` (line 12) it follows")
    quiet = Dockerfile("FROM x\nRUN a && [[ -f x ]] || true\n")
    (finding,) = check(quiet, [MaskedFailure()])
    assert "`[[ -f x ]]` (line 2)" in finding.message and "test_command" not in finding.message
    assert finding.fix is None  # which command the tolerance was for is a guess


def test_safe_fixes_reach_their_fixed_point_before_unsafe_ones() -> None:
    """masked-failure's braces would swallow the cleanup keep-dist-info removes (safe)."""
    source = ("FROM python:3.12-slim\n"
              "RUN ./configure.sh && ./build.sh || true && \\\n"
              "    find /opt/venv -type d -name \"*.dist-info\" -exec rm -rf {} + 2>/dev/null || true && \\\n"
              "    echo done\n")
    outcome = fix(Dockerfile(source), Settings(list(all_codemods().values()), unsafe_fixes=True))
    assert outcome.text == ("FROM python:3.12-slim\n"
                            "RUN ./configure.sh && { ./build.sh || true; } && \\\n"
                            "    echo done\n")
    assert [item.rule for item in outcome.applied] == ["keep-dist-info", "masked-failure"]
