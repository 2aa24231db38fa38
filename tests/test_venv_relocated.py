"""venv-relocated: a real virtualenv, copied the way the Dockerfile copies it, before and after the fix.

The builder stage is a real `python -m venv` (pip's own `bin/pip` is a console script whose
shebang names the venv's interpreter). The final stage is simulated on disk: the builder's
tree is gone, and the venv is copied (`cp -a`, like `COPY --from`) to the destination the
Dockerfile names. Only the destination from the fixed Dockerfile gives a working `pip`.
What is not reported is checked the same way: a symlink that puts the built path back, and
a venv made by the real uv with `--relocatable` (and what pip writes into one).
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


def _findings(text: str) -> list:
    from dfmod.linting.engine import check

    return check(Dockerfile(text), [all_codemods()["venv-relocated"]()])


def test_a_symlink_at_the_built_path_keeps_the_scripts_working(
        builder: tuple[Path, Path], tmp_path: Path) -> None:
    """`COPY --from=b /venv /opt/venv` then `RUN ln -s /opt/venv /venv`: the shebangs name
    the built path, which the link puts back. A real moved venv's pip fails until then."""
    built, snapshot = builder
    moved = tmp_path / "opt" / "venv"
    moved.parent.mkdir()
    subprocess.run(["cp", "-a", str(snapshot), str(moved)], check=True)
    text = (f"FROM python:3.12 AS b\nRUN python -m venv {built}\nFROM python:3.12-slim\n"
            f"COPY --from=b {built} {moved}\nRUN ln -sfn {moved} {built}\n"
            f'ENV PATH="{moved}/bin:$PATH"\nCMD ["pip", "--version"]\n')
    assert _findings(text) == []
    assert len(_findings(text.replace("RUN ln -sfn", "RUN echo ln -sfn"))) == 1
    with pytest.raises(FileNotFoundError):  # the shebang's interpreter is gone
        subprocess.run([str(moved / "bin" / "pip"), "--version"], capture_output=True)
    built.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(moved, built)
    try:
        after = subprocess.run([str(moved / "bin" / "pip"), "--version"], capture_output=True,
                               text=True, timeout=60)
        assert after.returncode == 0, after.stderr
    finally:
        built.unlink()


def _uv() -> str:
    return pytest.importorskip("uv").find_uv_bin()


def _console_wheel(directory: Path) -> Path:
    from wheels import build_wheel

    directory.mkdir()
    return build_wheel(directory, "demo", "1.0", {
        "demo.py": "def main():\n    print('demo ok')\n",
        "demo-1.0.dist-info/entry_points.txt": "[console_scripts]\ndemo-cli = demo:main\n"})


UV_RELOCATABLE = """\
FROM ghcr.io/astral-sh/uv:python3.12-bookworm-slim AS build
RUN uv venv --relocatable /build/venv
ENV VIRTUAL_ENV=/build/venv
RUN {install}
FROM python:3.12-slim-bookworm
COPY --from=build /build/venv /opt/venv
ENV PATH="/opt/venv/bin:$PATH"
CMD ["demo-cli"]
"""


def test_uv_relocatable_venv_survives_the_move_unless_pip_installs_into_it(tmp_path: Path) -> None:
    """`uv venv --relocatable`: real uv writes launchers that find `python` beside them, so
    the moved venv's console script runs — not reported. pip (here the venv's own, from
    ensurepip) writes `#!<built>/bin/python` even there: that script breaks — reported."""
    uv = _uv()
    wheels = _console_wheel(tmp_path / "wheels").parent
    env = {**os.environ, "UV_OFFLINE": "1", "UV_NO_CACHE": "1", "UV_PYTHON_DOWNLOADS": "never"}

    def build(name: str, installer: list[str]) -> Path:
        built = tmp_path / name / "build" / "venv"
        subprocess.run([uv, "venv", "--relocatable", "--python", sys.executable, str(built)],
                       check=True, capture_output=True, env=env, timeout=120)
        subprocess.run([*installer(built), "--no-index", "--find-links", str(wheels), "demo"],
                       check=True, capture_output=True, env=env, timeout=120)
        moved = tmp_path / name / "opt" / "venv"
        moved.parent.mkdir(parents=True)
        shutil.move(str(built), str(moved))  # only the copy is in the final image
        return moved

    with_uv = build("uv", lambda venv: [uv, "pip", "install", "--python", str(venv / "bin" / "python")])
    assert "relocatable = true" in (with_uv / "pyvenv.cfg").read_text()
    run = subprocess.run([str(with_uv / "bin" / "demo-cli")], capture_output=True, text=True,
                         timeout=60)
    assert run.stdout == "demo ok\n", run.stderr
    assert _findings(UV_RELOCATABLE.format(install="uv pip install demo")) == []

    def pip(venv: Path) -> list[str]:
        subprocess.run([str(venv / "bin" / "python"), "-m", "ensurepip"], check=True,
                       capture_output=True, timeout=300)
        return [str(venv / "bin" / "python"), "-m", "pip", "install"]

    with_pip = build("pip", pip)
    script = with_pip / "bin" / "demo-cli"
    assert script.read_text().startswith(f"#!{tmp_path / 'pip' / 'build' / 'venv'}/bin/python")
    with pytest.raises(FileNotFoundError):
        subprocess.run([str(script)], capture_output=True, timeout=60)
    [finding] = _findings(UV_RELOCATABLE.format(
        install="python -m ensurepip && /build/venv/bin/pip install demo"))
    assert finding.message.count("/opt/venv") == 1 and len(finding.message) <= 150
