"""venv-relocated: a real virtualenv, copied the way the Dockerfile copies it, before and after the fix.

The builder stage is a real `python -m venv` (pip's own `bin/pip` is a console script whose
shebang names the venv's interpreter). The final stage is simulated on disk: the builder's
tree is gone, and the venv is copied (`cp -a`, like `COPY --from`) to the destination the
Dockerfile names. Only the destination from the fixed Dockerfile gives a working `pip`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dfmod.linting.engine import Settings, fix
from dfmod.linting.registry import all_codemods
from dfmod.syntax.dockerfile import Dockerfile, env_pairs


@pytest.fixture(scope="module")
def builder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(path the venv was built at, snapshot of it); the built path itself is gone."""
    root = tmp_path_factory.mktemp("stages")
    built = root / "app" / ".venv"
    subprocess.run([sys.executable, "-m", "venv", str(built)], check=True)
    snapshot = root / "builder-snapshot"
    shutil.move(str(built), str(snapshot))  # the builder stage is not in the final image
    return built, snapshot


def _dockerfile(built: Path, destination: Path) -> str:
    return (
        "FROM python:3.12 AS builder\n"
        f"RUN python -m venv {built}\n"
        "FROM python:3.12-slim\n"
        f"COPY --from=builder {built} {destination}\n"
        f'ENV PATH="{destination}/bin:$PATH" VIRTUAL_ENV={destination}\n'
        'CMD ["pip", "--version"]\n'
    )


def _final_stage(text: str, snapshot: Path) -> tuple[Path, dict[str, str]]:
    """Perform the final stage's COPY with `cp -a`; return its destination and ENV."""
    doc = Dockerfile(text)
    copy = next(item for item in doc.instructions if item.keyword == "COPY")
    destination = Path(copy.words[-1].value)
    destination.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["cp", "-a", str(snapshot), str(destination)], check=True)
    env_instruction = next(item for item in doc.instructions if item.keyword == "ENV")
    env = {pair.name: pair.value for pair in env_pairs(env_instruction)}
    return destination, env


def _run_pip(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`CMD ["pip", "--version"]`, looked up on the stage's PATH by a real bash."""
    path = env["PATH"].replace("$PATH", os.environ["PATH"])
    return subprocess.run(["bash", "-c", "pip --version"], capture_output=True, text=True,
                          env={**os.environ, "PATH": path, "VIRTUAL_ENV": env["VIRTUAL_ENV"]})


def test_relocated_console_script_cannot_start(builder: tuple[Path, Path], tmp_path: Path) -> None:
    built, snapshot = builder
    moved = tmp_path / "opt" / "venv"
    moved.parent.mkdir()
    subprocess.run(["cp", "-a", str(snapshot), str(moved)], check=True)
    script = moved / "bin" / "pip"
    shebang = script.read_text().splitlines()[0]
    assert shebang.startswith(f"#!{built}/bin/python")  # the path it was built at, not `moved`
    assert script.exists() and os.access(script, os.X_OK)
    result = subprocess.run(["bash", "-c", f"{script} --version"], capture_output=True, text=True)
    assert result.returncode == 127
    assert "required file not found" in result.stderr or "No such file" in result.stderr
    with pytest.raises(FileNotFoundError):  # execve's ENOENT: what Docker prints as
        subprocess.run([str(script), "--version"])  # "exec …: no such file or directory"
    # The interpreter itself was copied too: only the console scripts are broken.
    assert subprocess.run([str(moved / "bin" / "python"), "-m", "pip", "--version"],
                          capture_output=True).returncode == 0


def test_fix_copies_to_the_built_path(builder: tuple[Path, Path], tmp_path: Path) -> None:
    built, snapshot = builder
    original = _dockerfile(built, tmp_path / "opt" / "venv")
    settings = Settings([all_codemods()["venv-relocated"]], unsafe_fixes=True)
    fixed = fix(Dockerfile(original), settings).text
    assert fixed != original

    destination, env = _final_stage(original, snapshot)
    before = _run_pip(env)
    assert before.returncode == 127, before
    shutil.rmtree(destination)

    destination, env = _final_stage(fixed, snapshot)
    try:
        assert destination == built
        assert env["PATH"].startswith(f"{built}/bin:") and env["VIRTUAL_ENV"] == str(built)
        after = _run_pip(env)
        assert after.returncode == 0, after.stderr
        assert str(built) in after.stdout  # pip reports where it runs from
    finally:
        shutil.rmtree(destination)
