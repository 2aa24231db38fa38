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
from dfmod.syntax.shell import Element, parse_shell
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
    first, second = check(doc, [MaskedFailure()])  # one finding per tolerance
    # `rm -rf "$POETRY_CACHE_DIR"` cannot fail: it is not named.
    assert first.message == "`|| true` after `find` also swallows a failure of `poetry install` (line 2)"
    assert second.message == "`|| true` also swallows a failure of `find` (lines 6 and 7)"
    # The first fix also scopes the `|| true` of lines 4 and 5, which swallow `poetry install`
    # once the first one is scoped: one pass reaches the fixed point.
    assert first.fix is not None and len(first.fix.edits) == 6
    assert second.fix is not None and len(second.fix.edits) == 2
    assert BOTH.applies(first.fix) and not Settings([MaskedFailure]).applies(first.fix)


def test_tests_and_conditions_are_not_failures_and_pipelines_are_named_by_their_status() -> None:
    doc = Dockerfile((GOLDEN / "masked-failure" / "tests-and-conditions" / "input" / "Dockerfile").read_text())
    (finding,) = check(doc, [MaskedFailure()])
    assert finding.message == "`|| true` after `… | sh` also swallows a failure of `apt-get update`"
    quiet = Dockerfile("FROM x\nRUN a && [[ -f x ]] || true\n")
    (finding,) = check(quiet, [MaskedFailure()])
    assert finding.message == "`|| true` after `[[ -f x ]]` also swallows a failure of `a`"
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


# -- conditions, commands that cannot fail, compounds (precision review) -------------------
# Real shells, as a RUN runs them (`/bin/sh` is dash on Debian, BusyBox on Alpine).
ALL_SHELLS = [*(path for path in (shutil.which(name) for name in ("bash", "dash")) if path),
              *([f"{shutil.which('busybox')} sh"] if shutil.which("busybox") else [])]
UNSAFE = Settings([MaskedFailure], unsafe_fixes=True)


def _sh(shell: str, script: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*shell.split(), "-c", script], capture_output=True, text=True,
                          timeout=20, check=False, cwd=cwd,
                          env={"PATH": os.environ["PATH"], "LC_ALL": "C"})


def _findings(run: str) -> list:
    return check(Dockerfile(f"FROM debian:bookworm\nRUN {run}\n"), [MaskedFailure()])


# Each answers "no" on the test machine (and in a fresh image).
PROBES = [
    "command -v dfmod-absent-tool >/dev/null",
    "which dfmod-absent-tool",
    "type dfmod-absent-tool >/dev/null 2>&1",
    "hash dfmod-absent-tool 2>/dev/null",
    "id dfmod-absent-user >/dev/null 2>&1",
    "getent group dfmod-absent-group",
    "dpkg -s dfmod-absent-package >/dev/null 2>&1",
    "dpkg-query -W dfmod-absent-package 2>/dev/null",
    "pgrep -x dfmod-absent-daemon",
    "pidof dfmod-absent-daemon",
    "grep -q dfmod-absent-word /etc/hostname",
    "printf 'lgpl\\n' | grep -q enable-gpl",
    "[ -e /dfmod-absent-file ]",
]


@pytest.mark.parametrize("probe", PROBES)
def test_a_probe_no_is_an_answer_that_scoping_would_make_fatal(probe: str) -> None:
    """`probe && action || true`: nothing is swallowed but the probe's "no" — not reported.
    Had the tolerance been scoped (`probe && { action || true; }`), the "no" would fail."""
    run = f"{probe} && ls / >/dev/null || true"
    assert _findings(run) == []
    for shell in ALL_SHELLS:
        assert _sh(shell, run).returncode == 0, shell
        assert _sh(shell, f"{probe} && {{ ls / >/dev/null || true; }}").returncode != 0, shell
    # A failure before the probe is reported; the fix is an `if`, which says "no" as before.
    (finding,) = _findings(f"false && {run}")
    assert finding.fix is not None
    after = fix(Dockerfile(f"FROM x\nRUN ./prep.sh && {run}\n"), UNSAFE).text
    fixed = f"./prep.sh && if {probe}; then ls / >/dev/null || true; fi"
    assert after.endswith(f"RUN {fixed}\n")
    for shell in ALL_SHELLS:
        assert _sh(shell, fixed.replace("./prep.sh", "true")).returncode == 0, shell
        assert _sh(shell, fixed.replace("./prep.sh", "false")).returncode != 0, shell


# Shapes of `prefix && CONDITION && action || true`: `which`/`pgrep`/`getent` are shell
# functions here, whose status each case sets (S_<name>), as is every other command.
IF_SHAPES = [
    ("prep", "which tool && act || true"),
    ("prep", "which tool && act || true && after"),
    ("prep && extra", "which tool >/dev/null && pgrep svc && act || :"),
    ("prep", "! which tool && act || true"),
    ("prep && echo probing", "getent passwd svc | pgrep svc && act || true"),
    ("early || prep", "which tool && act || true"),
    ("prep", "which tool && act 2>/dev/null || true || after"),
]
_NAMES = ("prep", "extra", "early", "act", "after", "which", "pgrep", "getent")
_PRELUDE = "".join(f'{name}() {{ echo "{name}"; return "${{S_{name}:-0}}"; }}\n' for name in _NAMES)


@pytest.mark.parametrize(("prefix", "rest"), IF_SHAPES)
def test_the_if_form_is_exactly_equivalent_while_the_prefix_succeeds(prefix: str, rest: str) -> None:
    """Every outcome of every command, in bash, dash and BusyBox sh, with and without
    `set -e`: whenever the commands before the condition succeed, the `if` form prints the
    same and ends with the same status as the original; when they fail, the step now fails
    (that is the fix) and the action does not run."""
    import itertools

    shape = f"{prefix} && {rest}"
    fixed = fix(Dockerfile(f"FROM x\nRUN {shape}\n"), UNSAFE).text.split("RUN ", 1)[1].rstrip("\n")
    assert fixed.startswith(f"{prefix} && if ") and "; fi" in fixed, fixed
    names = [name for name in _NAMES if name in shape]
    checked = 0
    for shell in ALL_SHELLS:
        for errexit in ("", "set -e\n"):
            for statuses in itertools.product((0, 1), repeat=len(names)):
                env = "".join(f"S_{name}={status}\n" for name, status in zip(names, statuses, strict=True))
                before = _sh(shell, _PRELUDE + env + errexit + shape)
                after = _sh(shell, _PRELUDE + env + errexit + fixed)
                if _sh(shell, _PRELUDE + env + prefix).returncode == 0:
                    assert (after.stdout, after.returncode) == (before.stdout, before.returncode), (
                        shell, errexit, env, fixed)
                else:
                    assert "act" not in after.stdout.split()
                    if "|| after" not in shape:
                        assert before.returncode == 0 or "after" in before.stdout.split()  # swallowed
                        assert after.returncode != 0, (shell, env, fixed)
                checked += 1
    assert checked >= len(ALL_SHELLS) * 2 * 2 ** len(names)


def test_if_else_idiom_is_never_scoped() -> None:
    """`cond && (echo bad; exit 1) || echo ok`: the tolerance is the else-branch. The normal
    (no-match) path passes as written and would fail once scoped."""
    idiom = "printf 'lgpl\\n' | grep -q enable-gpl && (echo GPL; exit 1) || echo ok"
    scoped = "printf 'lgpl\\n' | grep -q enable-gpl && { (echo GPL; exit 1) || echo ok; }"
    for shell in ALL_SHELLS:
        result = _sh(shell, idiom)
        assert (result.returncode, result.stdout) == (0, "ok\n")
        assert _sh(shell, scoped).returncode == 1
        assert _sh(shell, "false && " + idiom).returncode == 0  # what is really swallowed
    assert _findings(idiom) == []
    (finding,) = _findings("apt-get update && " + idiom)
    assert finding.fix is None
    assert finding.message == ("`|| echo ok` after `(echo GPL; exit 1)` also swallows a failure "
                               "of `apt-get update`")
    case = GOLDEN / "masked-failure" / "if-else-idiom"
    assert (case / "input" / "Dockerfile").read_text() == (case / "expected" / "Dockerfile").read_text()


INFALLIBLE = ["sleep 0", "echo building", "printf '%s\\n' step", "true", ":",
              "rm -rf /dfmod-absent-dir/x", "rm -f /dfmod-absent-dir/x", "rm -fr /dfmod-absent-dir",
              "export CFLAGS=-O2", "set -x", "umask 022", "VERSION=1.4",
              "for e in a b; do FLAGS=\"$FLAGS --with-$e\"; done",
              "if [ -n \"$DEBUG\" ]; then echo debug; fi",
              "{ echo a; echo b; } >/dev/null", "( echo a; sleep 0 )"]
FALLIBLE = ["VERSION=$(cat /dfmod-absent-file)", "cat < /dfmod-absent-file", "rm /dfmod-absent-file", "sleep forever",
            "for e in a b; do cp /dfmod-absent-$e /tmp/; done", "( cd /dfmod-absent-dir && make )"]


def _element(text: str) -> Element:
    return parse_shell(MappedText.verbatim(text, 0, len(text))).chain.elements[0]


def test_commands_that_cannot_fail_as_written(tmp_path: Path) -> None:
    """What `can_fail` calls infallible exits 0 in every shell; what it does not, fails."""
    from dfmod.semantic.masking import can_fail

    for text in INFALLIBLE:
        assert not can_fail(_element(text)), text
        for shell in ALL_SHELLS:
            assert _sh(shell, text, cwd=tmp_path).returncode == 0, (shell, text)
    for text in FALLIBLE:
        assert can_fail(_element(text)), text
        for shell in ALL_SHELLS:
            assert _sh(shell, text, cwd=tmp_path).returncode != 0, (shell, text)
    # ... so a mask that swallows only those is not reported:
    assert _findings("sleep 2 && rm -rf /tmp/x && git clone https://git.example.invalid/x || true") == []
    assert _findings("for e in a b; do F=\"$F $e\"; done && ./build.sh $F || true") == []
    (finding,) = _findings("(cd /src && make) && ./install.sh || true")
    assert finding.message == "`|| true` after `install.sh` also swallows a failure of `(cd /src && make)`"


def test_heredoc_whose_earlier_lines_cannot_fail_is_not_reported(tmp_path: Path) -> None:
    """The last line already sets the status: a failing `uv sync` fails the RUN as written."""
    text = (GOLDEN / "masked-failure" / "compounds" / "input" / "Dockerfile").read_text()
    findings = check(Dockerfile(text), [MaskedFailure()])
    assert [Dockerfile(text).position(item.span.start)[0] for item in findings] == [7, 18]
    body = _heredoc_body(text, 4)
    assert body.startswith('FLAGS=""\n')
    for code in (0, 1):
        env = _stubs(tmp_path / f"uv{code}", uv=code)
        for shell in SHELLS:
            assert _run(shell, body, env).returncode == code


def test_heredoc_with_a_probe_line_gets_no_set_e(tmp_path: Path) -> None:
    """`grep -q bookworm /etc/os-release` alone on a line: with `set -e` its "no" would end
    the script, so the hidden `apt-get update` failure is reported without a fix."""
    text = (GOLDEN / "masked-failure" / "compounds" / "input" / "Dockerfile").read_text()
    (finding,) = [item for item in check(Dockerfile(text), [MaskedFailure()])
                  if "heredoc" in item.message]
    assert finding.fix is None
    assert finding.message == ("this heredoc runs without `set -e`, so a failure of `apt-get update` "
                               "(line 19) does not fail the build")
    body = _heredoc_body(text, 5).replace("/etc/os-release", "/etc/hostname")
    env = _stubs(tmp_path / "bin", **{"apt-get": 0})
    for shell in SHELLS:
        assert "apt-get install" in _run(shell, body, env).stdout
        result = _run(shell, "set -e\n" + body, env)
        assert result.returncode != 0 and "apt-get install" not in result.stdout


def test_an_install_declared_optional_is_scoped_by_masked_failure(tmp_path: Path) -> None:
    """`apt-get update && apt-get install x || echo "skipping x"`: the install is optional
    (masked-install-failure leaves it), but `apt-get update` must not be swallowed."""
    source = 'FROM debian\nRUN apt-get update && apt-get install -y libvips42 || echo "skipping libvips"\n'
    assert check(Dockerfile(source), [MaskedInstallFailure()]) == []
    after = fix(Dockerfile(source), BOTH).text
    assert after.endswith('RUN apt-get update && { apt-get install -y libvips42 || echo "skipping libvips"; }\n')
    (fixed,) = _scripts(after)
    for shell in SHELLS:
        assert _run(shell, fixed, _stubs(tmp_path / "u", **{"apt-get": 1})).returncode != 0
    install_fails = tmp_path / "i"
    install_fails.mkdir()
    (install_fails / "apt-get").write_text('#!/bin/sh\n[ "$1" = update ]\n')
    (install_fails / "apt-get").chmod(0o755)
    env = {**os.environ, "PATH": f"{install_fails}{os.pathsep}{os.environ['PATH']}"}
    for shell in SHELLS:
        assert _run(shell, fixed, env).returncode == 0  # still optional


def test_messages_are_short_one_per_tolerance_and_name_subcommands() -> None:
    (first, second) = _findings("ldconfig && find /usr -type f | head -10 || true && ls /x && ls /y || true")
    assert first.message == "`|| true` after `… | head` also swallows a failure of `ldconfig`"
    assert second.message == "`|| true` after `ls /y` also swallows a failure of `ls /x`"
    text = ("FROM ruby:3.3\nRUN <<EOF\napt-get --yes --quiet update\napt-get --yes install curl\n"
            "rm -rf /var/lib/apt/lists/*\nEOF\n")
    (finding,) = check(Dockerfile(text), [MaskedFailure()])
    assert "`apt-get update` (line 3)" in finding.message and "rm" not in finding.message
    for path in sorted(GOLDEN.glob("masked-*/*/input/Dockerfile")):
        for item in check(Dockerfile(path.read_text(encoding="utf-8")), [MaskedFailure(), MaskedInstallFailure()]):
            assert len(item.message) <= 160, (path, item.message)
