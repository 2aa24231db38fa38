"""masked-install-failure, checked with a real pip and real shells.

The rule's claim: `pip install X || echo …` turns a failed install into a passing build
step, so the image ships without X. The tests run a real pip that cannot install a
package (offline, `--no-index`) inside the RUN's shell text before and after the fix, then
ask the same interpreter to import the package, as the container would at run time.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dfmod.codemods.masked_failure import MaskedFailure
from dfmod.codemods.masked_install_failure import MaskedInstallFailure
from dfmod.linting.engine import Settings, check, fix
from dfmod.semantic.masking import package_install
from dfmod.syntax.dockerfile import Dockerfile, run_scripts
from dfmod.syntax.shell import parse_shell
from dfmod.syntax.text import MappedText

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "masked-install-failure"
SHELLS = [path for path in (shutil.which(name) for name in ("sh", "bash", "dash")) if path]
UNSAFE = Settings([MaskedInstallFailure], unsafe_fixes=True)


def _scripts(text: str) -> list[str]:
    doc = Dockerfile(text)
    return [script.source.text for instruction in doc.instructions
            for script in run_scripts(doc, instruction)]


def _run(shell: str, script: str, env: dict[str, str] | None = None) -> int:
    environment = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", **(env or {})}
    return subprocess.run([shell, "-c", script], env=environment, capture_output=True,
                          text=True, timeout=60, check=False).returncode


def test_real_pip_failure_is_hidden_then_surfaces() -> None:
    python = sys.executable
    source = (f"FROM python:3.12\nRUN {python} -m pip install --no-index --quiet "
              "dfmod-no-such-package || echo \"dfmod-no-such-package not available via pip\" "
              "&& echo installed\n")
    after = fix(Dockerfile(source), UNSAFE).text
    assert after == (f"FROM python:3.12\nRUN {python} -m pip install --no-index --quiet "
                     "dfmod-no-such-package && echo installed\n")
    (original,) = _scripts(source)
    (fixed,) = _scripts(after)
    bash = shutil.which("bash") or "bash"
    assert _run(bash, original) == 0, "the build step passes although pip failed"
    # ... and the image would ship without the package:
    missing = subprocess.run([python, "-c", "import dfmod_no_such_package"],
                             capture_output=True, check=False)
    assert missing.returncode != 0
    assert _run(bash, fixed) != 0, "after the fix the failed install fails the build"


@pytest.mark.parametrize("shell", SHELLS)
def test_seed_003(tmp_path: Path, shell: str) -> None:
    before = (GOLDEN / "seed-003" / "input" / "Dockerfile").read_text()
    after = fix(Dockerfile(before), UNSAFE).text
    assert after == (GOLDEN / "seed-003" / "expected" / "Dockerfile").read_text()
    stub = tmp_path / "pip"
    stub.write_text("#!/bin/sh\necho \"ERROR: No matching distribution found for $5\" >&2\n"
                    "exit 1\n")
    stub.chmod(0o755)
    env = {"PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}"}
    for original, fixed in zip(_scripts(before), _scripts(after), strict=True):
        assert _run(shell, original, env) == 0
        assert _run(shell, fixed, env) != 0


@pytest.mark.parametrize("shell", SHELLS)
def test_rest_of_chain_still_runs(tmp_path: Path, shell: str) -> None:
    """Removing `|| echo …` keeps `&& next` bound to the install."""
    after = (GOLDEN / "chain" / "expected" / "Dockerfile").read_text()
    scripts = _scripts(after)
    npm = scripts[1]
    assert "echo" not in npm
    for name, code in (("npm", 0),):
        path = tmp_path / name
        path.write_text(f"#!/bin/sh\necho \"{name} $*\"\nexit {code}\n")
        path.chmod(0o755)
    env = {"PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run([shell, "-c", npm], env={**os.environ, **env},
                            capture_output=True, text=True, check=True)
    assert result.stdout.split("\n")[:2] == ["npm ci", "npm run build"]


@pytest.mark.parametrize(("command", "label"), [
    ("pip install x", "pip install"),
    ("pip3.12 install x", "pip install"),
    ("/opt/venv/bin/python -m pip install x", "pip install"),
    ("uv pip install x", "uv pip install"),
    ("uv sync --frozen", "uv sync"),
    ("uv add httpx", "uv add"),
    ("poetry install --no-root", "poetry install"),
    ("apt-get -o Acquire::Retries=3 install -y curl", "apt-get install"),
    ("apt install -y curl", "apt install"),
    ("apk add --no-cache git", "apk add"),
    ("npm ci", "npm ci"),
    ("npm --prefix /app install", "npm install"),
    ("yarn", "yarn"),
    ("yarn install --frozen-lockfile", "yarn install"),
    ("pnpm i", "pnpm i"),
    ("dnf install -y gcc", "dnf install"),
    ("gem install bundler", "gem install"),
    ("pip download x", None),
    ("pip cache purge", None),
    ("apt-get update", None),
    ("npm run build", None),
    ("uv run pytest", None),
    ("echo pip install x", None),
])
def test_install_spellings(command: str, label: str | None) -> None:
    script = parse_shell(MappedText.verbatim(command, 0, len(command)))
    assert package_install(script.commands[0]) == label


def test_comment_between_install_and_mask_means_no_fix() -> None:
    text = (GOLDEN / "inner-comments" / "input" / "Dockerfile").read_text()
    findings = check(Dockerfile(text), [MaskedInstallFailure()])
    assert [item.fix is not None for item in findings] == [True, False]


def test_shell_comment_in_a_heredoc_between_install_and_mask_means_no_fix() -> None:
    text = ('FROM python:3.12\nRUN <<EOF\nset -e\npip install gpt-load ||\n'
            '# the package moved to an image: keep going\necho "not available"\nEOF\n')
    settings = Settings([MaskedInstallFailure], unsafe_fixes=True)
    findings = check(Dockerfile(text), settings.instances(), settings)
    assert [item.rule for item in findings] == ["masked-install-failure"]
    assert findings[0].fix is None
    assert fix(Dockerfile(text), settings).text == text


def test_both_codemods_on_every_golden_input_converge() -> None:
    """Run with masked-failure too: no ping-pong, and a second run changes nothing."""
    for settings in (Settings([MaskedFailure, MaskedInstallFailure], unsafe_fixes=True),
                     Settings([MaskedInstallFailure, MaskedFailure], unsafe_fixes=True)):
        for path in sorted(GOLDEN.parent.glob("masked-*/*/input/Dockerfile")):
            outcome = fix(Dockerfile(path.read_bytes().decode()), settings)
            again = fix(Dockerfile(outcome.text), settings)
            assert again.text == outcome.text and not again.applied, path
            assert not [item for item in outcome.findings
                        if item.fix is not None and settings.applies(item.fix)], path


@pytest.mark.parametrize("shell", SHELLS)
def test_an_optional_requirements_file_stays_optional(tmp_path: Path, shell: str) -> None:
    """Absent file: the fixed step still passes. Present file whose install fails: it fails."""
    python = sys.executable
    source = (f"FROM python:3.12\nCOPY . .\nRUN {python} -m pip install --no-index --quiet "
              "-r requirements-extra.txt 2>/dev/null || true\n")
    after = fix(Dockerfile(source), UNSAFE).text
    assert after.endswith(f"RUN if [ -f requirements-extra.txt ]; then {python} -m pip install "
                          "--no-index --quiet -r requirements-extra.txt; fi\n")
    (fixed,) = _scripts(after)
    run = lambda: subprocess.run([shell, "-c", fixed], cwd=tmp_path, capture_output=True,  # noqa: E731
                                 text=True, timeout=60, check=False)
    assert run().returncode == 0  # no file: nothing to install, as before
    (tmp_path / "requirements-extra.txt").write_text("dfmod-no-such-package\n")
    failed = run()
    assert failed.returncode == 1
    assert "dfmod-no-such-package" in failed.stderr  # the 2>/dev/null went with the mask


# -- precision review: optional installs, tooling upgrades, probes ---------------------------
ALL_SHELLS = [*(path for path in (shutil.which(name) for name in ("bash", "dash")) if path),
              *([f"{shutil.which('busybox')} sh"] if shutil.which("busybox") else [])]


def _sh(shell: str, script: str) -> int:
    environment = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    return subprocess.run([*shell.split(), "-c", script], env=environment, capture_output=True,
                          text=True, timeout=60, check=False).returncode


def _findings(run: str) -> list:
    return check(Dockerfile(f"FROM python:3.12\nRUN {run}\n"), [MaskedInstallFailure()])


@pytest.mark.parametrize("tolerance", [
    'echo "optional: using SDPA fallback"', 'echo "the browser fetcher will be disabled"',
    'echo "will use the pure-Python differ"', 'echo "skipping xformers"',
    'echo "continuing without xformers"', '{ echo "fallback: no wheel here"; exit 0; }'])
def test_an_install_declared_optional_is_left_alone(tolerance: str) -> None:
    """A platform without wheels (here: no index at all): the step passes as written and
    would fail without its tolerance, which says the author chose to go on without it."""
    install = f"{sys.executable} -m pip install --no-index --quiet dfmod-no-such-package"
    assert _findings(f"pip install dfmod-no-such-package || {tolerance}") == []
    bash = shutil.which("bash") or "bash"
    assert _run(bash, f"{install} || {tolerance}") == 0
    assert _run(bash, install) != 0


def test_not_available_is_the_failure_not_a_decision() -> None:
    """The incident's own line is still reported and fixed."""
    (finding,) = _findings('pip install --user gpt-load || echo "gpt-load not available via pip"')
    assert finding.fix is not None


@pytest.mark.parametrize(("install", "reported"), [
    ("pip install --upgrade pip", False),
    ("python -m pip install --no-cache-dir -U pip setuptools wheel", False),
    ('pip3 install -qU "pip>=24"', False),
    ("pip install --upgrade pip requests", True),
    ("pip install setuptools", True),
    ("pip install -U pip-tools", True),
    ("pip install -U -r requirements.txt", True),
])
def test_an_upgrade_of_the_installer_is_not_reported(install: str, reported: bool) -> None:
    assert bool(_findings(f"{install} || true")) == reported


def test_a_failed_pip_upgrade_leaves_a_working_pip() -> None:
    """Nothing goes missing: the upgrade fails (no index) and the pip already there runs."""
    python = sys.executable
    bash = shutil.which("bash") or "bash"
    assert _run(bash, f"{python} -m pip install --no-index --quiet --upgrade 'pip>9999'") != 0
    assert _run(bash, f"{python} -m pip install --no-index --quiet --upgrade 'pip>9999' || true; "
                      f"{python} -m pip --version") == 0


@pytest.mark.parametrize("probe", ["command -v dfmod-absent-compiler >/dev/null",
                                   "which dfmod-absent-compiler",
                                   "dpkg -s dfmod-absent-package >/dev/null 2>&1"])
def test_a_probe_before_the_install_means_no_fix(probe: str) -> None:
    """`probe && pip install x || true`: without the tolerance, the probe's "no" would fail
    the build (bash, dash, BusyBox sh). Reported — the install's failure is hidden — but
    without a fix."""
    (finding,) = _findings(f"{probe} && pip install uvloop || true")
    assert finding.fix is None
    for shell in ALL_SHELLS:
        assert _sh(shell, f"{probe} && pip install uvloop || true") == 0, shell
        assert _sh(shell, f"{probe} && pip install uvloop") != 0, shell
    source = f"FROM python:3.12\nRUN {probe} && pip install uvloop || true\n"
    assert fix(Dockerfile(source), UNSAFE).text == source


def test_messages_say_packages_for_requirements_files_and_name_each_failure_once() -> None:
    (finding,) = _findings("pip install -r requirements.txt || true")
    assert finding.message == ("`|| true` hides a failed `pip install`: the image builds without "
                               "the packages and fails at run time")
    (finding,) = _findings("pip install flask || true")
    assert "without the package and" in finding.message
    (finding,) = _findings("apt-get update && apt-get install -y curl || true")
    assert finding.message.startswith(
        "`|| true` hides a failure of `apt-get update` and `apt-get install`: ")
