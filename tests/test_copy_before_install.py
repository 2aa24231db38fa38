"""copy-before-install, checked by building the Dockerfile before and after the fix.

There is no Docker daemon in the test environment, so `_build` plays the part of the
builder for the instructions these files use: `WORKDIR`, `ENV`, `COPY`/`ADD` from the
context into a root directory, and `RUN` executed by real bash, with a real venv's pip
first on PATH, installing from a real (locally built) wheel. Each layer gets a cache key the
way BuildKit derives one: the parent's key, the instruction, and for `COPY` the content of
every file it copies, for a bind mount of a context file the content of that file (which
is there for that RUN only). That shows both halves of the claim with real files: the fixed
file still builds (the install finds its requirements file, and the application arrives
after it), and editing application code no longer changes the install layer's key, while
editing requirements.txt still does. The uv cases run the real uv (the `uv` test
dependency), offline, from a flat index of the local wheel.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from dfmod.linting.engine import Settings, check, fix
from dfmod.linting.registry import all_codemods
from dfmod.syntax.dockerfile import Dockerfile, run_scripts
from oracle import assert_agrees_with_buildkit
from wheels import python_with_demo

CopyBeforeInstall = all_codemods()["copy-before-install"]

SEED_002 = """\
FROM python:3.10
WORKDIR /home/user/app
RUN useradd -m -u 1000 user
USER user

# 文件复制与依赖安装
COPY --chown=user:user . /home/user/app
RUN pip install --upgrade pip && \\
    pip install -r requirements.txt

ENV PYTHONPATH=/home/user/app
ENTRYPOINT ["python", "-u", "app.py"]
"""


@pytest.fixture(scope="module")
def tools(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = python_with_demo(tmp_path_factory.mktemp("tools"))
    # `useradd` would need root: a stub that succeeds, as it does in the image.
    (root / "stubs").mkdir()
    (root / "stubs" / "useradd").write_text("#!/bin/sh\nexit 0\n")
    (root / "stubs" / "useradd").chmod(0o755)
    return root


@pytest.fixture
def context(tmp_path: Path) -> Path:
    directory = tmp_path / "context"
    directory.mkdir()
    (directory / "requirements.txt").write_text("demo==1.0\n")
    (directory / "app.py").write_text("import demo\nprint(demo.VALUE)\n")
    (directory / "README.md").write_text("# app\n")
    return directory


@dataclass
class Build:
    keys: list[tuple[str, str]]  # (instruction text, layer cache key)
    logs: list[subprocess.CompletedProcess[str]]
    present: list[list[str]]  # files in the working directory when each RUN started
    root: Path

    def key_of(self, needle: str) -> str:
        return next(key for text, key in self.keys if needle in text)


def _digest(path: Path) -> str:
    if path.is_file():
        return hashlib.sha256(path.read_bytes()).hexdigest()
    parts = [f"{item.relative_to(path)}:{hashlib.sha256(item.read_bytes()).hexdigest()}"
             for item in sorted(path.rglob("*")) if item.is_file()]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _build(text: str, context: Path, tools: Path, root: Path,
           extra_env: dict[str, str] | None = None) -> Build:
    """Build a single-stage Dockerfile into `root` (see the module docstring)."""
    doc = Dockerfile(text, os.fspath(context / "Dockerfile"))
    root.mkdir()
    workdir = "/"
    env = {"PATH": f"{tools / 'venv' / 'bin'}{os.pathsep}{tools / 'stubs'}"
                   f"{os.pathsep}{os.environ['PATH']}",
           "HOME": os.fspath(root), "PIP_NO_INDEX": "1",
           "PIP_FIND_LINKS": os.fspath(tools / "wheels"),
           "PIP_DISABLE_PIP_VERSION_CHECK": "1", **(extra_env or {})}
    key = ""
    keys: list[tuple[str, str]] = []
    logs: list[subprocess.CompletedProcess[str]] = []
    present: list[list[str]] = []
    for instruction in doc.instructions:
        line = " ".join(doc.text[instruction.span.start:instruction.span.end].split())
        material = line
        if instruction.keyword == "WORKDIR":
            workdir = posixpath.normpath(posixpath.join(workdir, instruction.arg_text))
            (root / workdir.lstrip("/")).mkdir(parents=True, exist_ok=True)
        elif instruction.keyword in ("COPY", "ADD"):
            values = instruction.json_args or [word.value for word in instruction.words]
            *sources, dest = values
            target = posixpath.normpath(posixpath.join(workdir, dest))
            for source in sources:
                origin = context / source
                material += _digest(origin)
                if origin.is_dir():
                    shutil.copytree(origin, root / target.lstrip("/"), dirs_exist_ok=True)
                else:
                    place = root / target.lstrip("/")
                    if dest.endswith("/"):
                        place.mkdir(parents=True, exist_ok=True)
                        place = place / posixpath.basename(source)
                    shutil.copy(origin, place)
        elif instruction.keyword == "RUN":
            cwd = root / workdir.lstrip("/")
            mounted = []  # bind mounts of context files: there for this RUN only, in its key
            for mount in instruction.mounts:
                source = mount.get("source", "src")
                if mount.type == "bind" and source is not None and mount.target is not None:
                    place = cwd / mount.target
                    if not place.exists():
                        shutil.copy(context / source.value, place)
                        mounted.append(place)
                    material += _digest(context / source.value)
            present.append(sorted(item.name for item in cwd.iterdir()))
            (script,) = run_scripts(doc, instruction)
            result = subprocess.run(["bash", "-c", script.source.text], env=env,
                                    cwd=root / workdir.lstrip("/"), capture_output=True,
                                    text=True, timeout=120)
            logs.append(result)
            for place in mounted:
                place.unlink()
            assert result.returncode == 0, result.stderr
        key = hashlib.sha256((key + "\0" + material).encode()).hexdigest()
        keys.append((line, key))
    return Build(keys, logs, present, root)


def _fixed(text: str, context: Path) -> str:
    doc = Dockerfile(text, os.fspath(context / "Dockerfile"))
    outcome = fix(doc, Settings([CopyBeforeInstall], unsafe_fixes=True))
    assert outcome.applied
    assert_agrees_with_buildkit(outcome.text)
    return outcome.text


def test_seed_002_install_layer_survives_a_code_change(
        context: Path, tools: Path, tmp_path: Path) -> None:
    fixed = _fixed(SEED_002, context)
    install = "pip install -r requirements.txt"

    original_1 = _build(SEED_002, context, tools, tmp_path / "o1")
    fixed_1 = _build(fixed, context, tools, tmp_path / "f1")
    (context / "app.py").write_text("import demo\nprint(demo.VALUE + 1)\n")
    original_2 = _build(SEED_002, context, tools, tmp_path / "o2")
    fixed_2 = _build(fixed, context, tools, tmp_path / "f2")

    # Before the fix, a code change invalidates the install layer; after it, it does not.
    assert original_1.key_of(install) != original_2.key_of(install)
    assert fixed_1.key_of(install) == fixed_2.key_of(install)
    # The application still arrives, after the install, and runs.
    assert (fixed_2.root / "home/user/app/app.py").read_text().endswith("+ 1)\n")
    app = subprocess.run([os.fspath(tools / "venv" / "bin" / "python"), "app.py"],
                         cwd=fixed_2.root / "home/user/app", capture_output=True, text=True,
                         timeout=30)
    assert app.stdout == "43\n"

    # A change to the requirements still rebuilds the install.
    (context / "requirements.txt").write_text("demo>=1.0\n")
    fixed_3 = _build(fixed, context, tools, tmp_path / "f3")
    assert fixed_3.key_of(install) != fixed_2.key_of(install)


def test_install_sees_only_the_requirements(context: Path, tools: Path, tmp_path: Path) -> None:
    """In the fixed file the install runs before the sources arrive, and still succeeds."""
    source = ("FROM python:3.12\nWORKDIR /app\nCOPY . .\n"
              "RUN pip install -r requirements.txt\n")
    fixed = _fixed(source, context)
    build = _build(fixed, context, tools, tmp_path / "root")
    assert build.present == [["requirements.txt"]]
    assert sorted(path.name for path in (build.root / "app").iterdir()) == [
        "README.md", "app.py", "requirements.txt"]


def test_no_fix_when_the_install_needs_the_sources(context: Path) -> None:
    """`pip install .` builds the project itself: splitting the copy would break it."""
    (context / "pyproject.toml").write_text("[project]\nname = 'app'\nversion = '1'\n")
    text = "FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN pip install .\n"
    findings = check(Dockerfile(text, os.fspath(context / "Dockerfile")), [CopyBeforeInstall()])
    assert len(findings) == 1
    assert findings[0].fix is None


def test_real_git_checkout_fix_is_idempotent(context: Path, tmp_path: Path) -> None:
    """Fixing a file in a git work tree twice leaves `git diff` with one change set."""
    (context / "Dockerfile").write_text(SEED_002)
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    for args in (["init", "-q"], ["add", "."], ["commit", "-qm", "seed"]):
        subprocess.run(["git", *args], cwd=context, env=env, check=True, timeout=30)
    path = context / "Dockerfile"
    settings = Settings([CopyBeforeInstall], unsafe_fixes=True)
    for _ in range(2):
        path.write_text(fix(Dockerfile(path.read_text(), os.fspath(path)), settings).text)
    diff = subprocess.run(["git", "diff", "--numstat"], cwd=context, capture_output=True,
                          text=True, check=True, timeout=30).stdout.split()
    assert diff == ["3", "2", "Dockerfile"]


# -- the dependency layer: what stays quiet, and where the copy still comes too early -------

_EDITABLE_BACKEND = '''import os, zipfile

NAME = "shop-1.0.dist-info"


def _wheel(directory, files):
    name = "shop-1.0-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(directory, name), "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
        archive.writestr(NAME + "/METADATA", "Metadata-Version: 2.1\\nName: shop\\nVersion: 1.0\\n")
        archive.writestr(NAME + "/WHEEL", "Wheel-Version: 1.0\\nGenerator: test\\n"
                         "Root-Is-Purelib: true\\nTag: py3-none-any\\n")
        archive.writestr(NAME + "/RECORD", "")
    return name


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    return _wheel(wheel_directory, {"shop.py": open("src/shop.py").read()})


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    return _wheel(wheel_directory, {"shop.pth": os.path.abspath("src") + "\\n"})
'''

EDITABLE_AFTER_REQUIREMENTS = """\
FROM python:3.12-slim
WORKDIR /srv/shop
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
RUN pip install --no-cache-dir --no-deps --no-build-isolation -e .
"""


def _project(context: Path) -> None:
    """The context as a project with an in-tree build backend (editable installs offline)."""
    (context / "pyproject.toml").write_text(
        '[project]\nname = "shop"\nversion = "1.0"\n\n[build-system]\nrequires = []\n'
        'build-backend = "backend"\nbackend-path = ["."]\n')
    (context / "backend.py").write_text(_EDITABLE_BACKEND)
    (context / "src").mkdir()
    (context / "src" / "shop.py").write_text("import demo\nTOTAL = demo.VALUE\n")


def test_an_earlier_dependency_layer_makes_the_project_install_right(
        context: Path, tools: Path, tmp_path: Path) -> None:
    """`pip install -r` from a file copied on its own, then `COPY . .` and `pip install -e .`:
    a code change rebuilds only the project's install, which needs the sources (so nothing
    to report), and the image imports both."""
    _project(context)
    doc = Dockerfile(EDITABLE_AFTER_REQUIREMENTS, os.fspath(context / "Dockerfile"))
    assert check(doc, [CopyBeforeInstall()]) == []
    first = _build(EDITABLE_AFTER_REQUIREMENTS, context, tools, tmp_path / "b1")
    (context / "src" / "shop.py").write_text("import demo\nTOTAL = demo.VALUE + 1\n")
    second = _build(EDITABLE_AFTER_REQUIREMENTS, context, tools, tmp_path / "b2")
    dependencies, project = "pip install --no-cache-dir -r", "--no-deps --no-build-isolation -e ."
    assert first.key_of(dependencies) == second.key_of(dependencies)
    assert first.key_of(project) != second.key_of(project)
    assert first.present[0] == ["requirements.txt"]
    run = subprocess.run([os.fspath(tools / "venv" / "bin" / "python"), "-c",
                          "import shop; print(shop.TOTAL)"], capture_output=True, text=True,
                         timeout=30)
    assert run.stdout == "43\n", run.stderr


def test_the_copy_between_the_narrow_copy_and_the_install_is_reported(
        context: Path, tools: Path, tmp_path: Path) -> None:
    """`COPY requirements.txt ./`, `COPY . .`, then the install: the narrow copy does not
    help, since the install's layer follows the whole context. The fix only moves `COPY .`."""
    text = ("FROM python:3.12\nWORKDIR /app\nCOPY requirements.txt ./\nCOPY . .\n"
            "RUN pip install -r requirements.txt\n")
    fixed = _fixed(text, context)
    assert fixed.splitlines()[3:] == ["RUN pip install -r requirements.txt", "COPY . ."]
    install = "RUN pip install -r requirements.txt"
    before = _build(text, context, tools, tmp_path / "o1")
    after = _build(fixed, context, tools, tmp_path / "f1")
    (context / "app.py").write_text("import demo\nprint(demo.VALUE * 2)\n")
    assert _build(text, context, tools, tmp_path / "o2").key_of(install) != before.key_of(install)
    assert _build(fixed, context, tools, tmp_path / "f2").key_of(install) == after.key_of(install)
    assert after.present == [["requirements.txt"]]


UV_BIND_MOUNTS = """\
FROM ghcr.io/astral-sh/uv:python3.12-bookworm-slim
WORKDIR /app
{first}RUN --mount=type=cache,target=/root/.cache/uv \\
    --mount=type=bind,source=uv.lock,target=uv.lock \\
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \\
    uv sync --frozen --no-install-project
{second}RUN uv sync --frozen
"""


@pytest.fixture
def uv_project(context: Path, tools: Path, tmp_path: Path) -> dict[str, str]:
    """A uv project whose lock names the local demo wheel; uv itself, offline, with the test's
    interpreter (the environment a build's RUN gets)."""
    uv = pytest.importorskip("uv").find_uv_bin()
    (context / "pyproject.toml").write_text(
        '[project]\nname = "app"\nversion = "0.1.0"\nrequires-python = ">=3.10"\n'
        'dependencies = ["demo"]\n\n[tool.uv]\npackage = false\n\n'
        f'[[tool.uv.index]]\nname = "wheels"\nurl = "{tools / "wheels"}"\nformat = "flat"\n')
    env = {"UV_OFFLINE": "1", "UV_CACHE_DIR": os.fspath(tmp_path / "uv-cache"),
           "UV_PYTHON": sys.executable, "UV_PYTHON_DOWNLOADS": "never",
           "PATH": f"{Path(uv).parent}{os.pathsep}{os.environ['PATH']}"}
    subprocess.run([uv, "lock"], cwd=context, env={**os.environ, **env}, check=True,
                   capture_output=True, timeout=120)
    return env


def test_uv_dependency_layer_from_bind_mounts_is_quiet(context: Path, uv_project: dict[str, str],
                                                      tools: Path, tmp_path: Path) -> None:
    """uv's documented pattern: `uv sync --no-install-project` with the lock files mounted,
    then `COPY . /app` and `uv sync`. Not reported; the dependency layer's key ignores code."""
    text = UV_BIND_MOUNTS.format(first="", second="COPY . /app\n")
    assert check(Dockerfile(text, os.fspath(context / "Dockerfile")), [CopyBeforeInstall()]) == []
    first = _build(text, context, tools, tmp_path / "b1", uv_project)
    (context / "app.py").write_text("print('changed')\n")
    second = _build(text, context, tools, tmp_path / "b2", uv_project)
    assert first.key_of("--no-install-project") == second.key_of("--no-install-project")
    assert first.present[0] == ["pyproject.toml", "uv.lock"]  # mounted: nothing else


def test_uv_sync_after_a_whole_copy_is_fixed_by_moving_it(context: Path, uv_project: dict[str, str],
                                                          tools: Path, tmp_path: Path) -> None:
    """The same RUN after `COPY . .`: reported, and the fixed file (the copy moved after the
    RUN) still builds with real uv, the dependency environment made from the mounts alone."""
    text = UV_BIND_MOUNTS.format(first="COPY . .\n", second="")
    fixed = _fixed(text, context)
    assert fixed == UV_BIND_MOUNTS.format(first="", second="COPY . .\n")
    build = _build(fixed, context, tools, tmp_path / "root", uv_project)
    assert build.present[0] == ["pyproject.toml", "uv.lock"]
    python = build.root / "app" / ".venv" / "bin" / "python"
    run = subprocess.run([os.fspath(python), "-c", "import demo; print(demo.VALUE)"],
                         capture_output=True, text=True, timeout=30)
    assert run.stdout == "42\n", run.stderr
