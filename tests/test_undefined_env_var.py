"""undefined-env-var: the original and fixed ENV values, expanded by a real shell and run by a real Python.

BuildKit's ENV expansion follows POSIX sh for `$X`, `${X}` and `${X:+word}`
(moby/buildkit frontend/dockerfile/shell/lex.go, `processDollar`), so real `bash` is the
oracle for what the value becomes; dfmod's own model (`dfmod.semantic.state.expand`) must agree.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dfmod.linting.engine import Settings, check, fix
from dfmod.linting.registry import all_codemods
from dfmod.semantic.state import expand
from dfmod.syntax.dockerfile import Dockerfile, env_pairs

SETTINGS = Settings([all_codemods()["undefined-env-var"]])


def _fixed_value(value: str, name: str) -> str:
    """The raw value of `ENV name=value` after dfmod's fix."""
    text = f"FROM python:3.12\nENV {name}={value}\n"
    doc = Dockerfile(fix(Dockerfile(text), SETTINGS).text)
    pair = env_pairs(doc.instructions[-1])[0]
    return doc.text[pair.value_span.start:pair.value_span.end]


def _bash_expand(value: str, env: dict[str, str]) -> str:
    """What a POSIX shell makes of the value (as BuildKit's lexer does)."""
    clean = {key: val for key, val in os.environ.items() if key not in ("CPATH", "PYTHONPATH")}
    result = subprocess.run(["bash", "-c", f"printf %s {value}"], env={**clean, **env},
                            capture_output=True, text=True, check=True)
    return result.stdout


@pytest.mark.parametrize("value", ["/a:$X", "/a:${X}", "$X:/a", "${X}:/a", "/a:$X:/b", '"/a:${X}"'])
def test_fixed_form_drops_the_empty_entry_and_keeps_set_values(value: str) -> None:
    value = value.replace("X", "CPATH")  # a list the rule reports (X stands for any of them)
    fixed = _fixed_value(value, "CPATH")
    assert fixed != value
    unset_before, unset_after = _bash_expand(value, {}), _bash_expand(fixed, {})
    assert "" in unset_before.split(":")  # the empty entry the rule is about
    assert "" not in unset_after.split(":")
    for env in ({"CPATH": "/lib"}, {"CPATH": "/lib:/lib2"}):
        assert _bash_expand(fixed, env) == _bash_expand(value, env)  # set: unchanged
    # dfmod's model of BuildKit's lexer agrees with bash (quotes removed as BuildKit does).
    assert expand(fixed.strip('"'), {}) == unset_after
    assert expand(fixed.strip('"'), {"CPATH": "/lib"}) == _bash_expand(value, {"CPATH": "/lib"})


@pytest.mark.parametrize("name", ["NODE_PATH", "LD_PRELOAD", "MANPATH", "CLASSPATH", "FOO"])
def test_lists_whose_empty_entry_is_harmless_or_unchecked_are_not_reported(name: str) -> None:
    """Node skips an empty NODE_PATH entry (checked: `NODE_PATH=/x: node -e "require('m')"`
    run beside m.js fails), so does glibc in LD_PRELOAD; an empty MANPATH entry is man's
    default path."""
    assert _fixed_value(f"/a:${name}", name) == f"/a:${name}"


def test_empty_pythonpath_entry_puts_the_working_directory_on_sys_path(tmp_path: Path) -> None:
    """With `/home/user/app:` the process's cwd is importable, even with `python -P`."""
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    (workdir / "shadowing_module.py").write_text("print('imported from the working directory')\n")
    app = str(tmp_path / "app")
    original = f"{app}:$PYTHONPATH"
    fixed = _fixed_value(original, "PYTHONPATH")
    assert fixed == f"{app}${{PYTHONPATH:+:$PYTHONPATH}}"

    def run(value: str) -> subprocess.CompletedProcess[str]:
        pythonpath = _bash_expand(value, {})
        env = {key: val for key, val in os.environ.items() if key != "PYTHONPATH"}
        return subprocess.run(
            [sys.executable, "-P", "-c", "import sys, shadowing_module; print(sys.path)"],
            cwd=workdir, env={**env, "PYTHONPATH": pythonpath}, capture_output=True, text=True)

    before = run(original)
    assert before.returncode == 0, before.stderr
    assert "imported from the working directory" in before.stdout
    assert f"'{workdir}'" in before.stdout  # the empty entry became the absolute cwd
    after = run(fixed)
    assert after.returncode == 1
    assert "No module named 'shadowing_module'" in after.stderr


def test_message_names_what_the_empty_entry_shadows(tmp_path: Path) -> None:
    """A trailing empty entry after a venv's site-packages (docs/precision.md,
    cookiecutter-django) cannot shadow the venv's packages, which come first: it shadows the
    standard library, which comes after it. The message must say what holds there."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    (Path(site) / "installed.py").write_text("WHERE = 'venv'\n")
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    (workdir / "installed.py").write_text("WHERE = 'cwd'\n")
    (workdir / "json.py").write_text("WHERE = 'cwd'\n")
    script = tmp_path / "probe.py"
    script.write_text("import installed, json\nprint(installed.WHERE, getattr(json, 'WHERE', 'stdlib'))\n")
    env = {key: val for key, val in os.environ.items() if key != "PYTHONPATH"}
    result = subprocess.run([python, script], cwd=workdir, env={**env, "PYTHONPATH": f"{site}:"},
                            capture_output=True, text=True, check=True)
    assert result.stdout == "venv cwd\n"  # the venv's package wins; the stdlib's is shadowed

    text = 'FROM python:3.12\nENV PYTHONPATH="/app/.venv/lib/python3.12/site-packages:$PYTHONPATH"\n'
    [finding] = check(Dockerfile(text), SETTINGS.instances(), SETTINGS)
    assert "standard library" in finding.message
