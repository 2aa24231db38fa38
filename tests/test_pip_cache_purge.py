"""pip-cache-purge, checked against a real pip in a real venv and real bash.

The rule's reasons are facts about pip: with its cache disabled, `pip cache purge` exits 1
(pip reads any non-empty boolean in `PIP_NO_CACHE_DIR`, `0` included, as "disable"). The
behaviour test runs a RUN line's shell text, before and after the fix, in bash with the
venv's pip first on PATH, as `docker build` would run it in an image with
`ENV PIP_NO_CACHE_DIR=1`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dfmod.linting.engine import Settings, check, fix
from dfmod.linting.registry import all_codemods
from dfmod.syntax.dockerfile import Dockerfile, run_scripts
from oracle import assert_agrees_with_buildkit
from wheels import python_with_demo

PipCachePurge = all_codemods()["pip-cache-purge"]
CacheMountNoCacheDir = all_codemods()["cache-mount-no-cache-dir"]
DISABLED = "ERROR: pip cache commands can not function since cache is disabled"


def _pip(args: list[str], home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "HOME": os.fspath(home), "PIP_DISABLE_PIP_VERSION_CHECK": "1",
                   **env}
    environment.pop("PIP_NO_CACHE_DIR", None)
    environment.update(env)
    return subprocess.run([sys.executable, "-m", "pip", *args], env=environment,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("value", ["1", "true", "0", "false", "off"])
def test_purge_exits_1_when_the_cache_is_disabled(tmp_path: Path, value: str) -> None:
    result = _pip(["cache", "purge"], tmp_path, PIP_NO_CACHE_DIR=value)
    assert result.returncode == 1
    assert DISABLED in result.stderr


def test_purge_succeeds_with_the_cache_enabled(tmp_path: Path) -> None:
    assert _pip(["cache", "purge"], tmp_path).returncode == 0
    assert _pip(["cache", "purge"], tmp_path, PIP_NO_CACHE_DIR="").returncode == 0


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real venv with pip, standing in for the image's Python, and a wheel directory."""
    return python_with_demo(tmp_path_factory.mktemp("image"))


def _run_script(doc: Dockerfile, image: Path, home: Path) -> subprocess.CompletedProcess[str]:
    """Run the last RUN's shell text in bash, as the image would with ENV PIP_NO_CACHE_DIR=1."""
    run = [item for item in doc.instructions if item.keyword == "RUN"][-1]
    environment = {**os.environ, "HOME": os.fspath(home), "PIP_NO_CACHE_DIR": "1",
                   "PIP_DISABLE_PIP_VERSION_CHECK": "1",
                   "PATH": f"{image / 'venv' / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(["bash", "-c", run_scripts(doc, run)[0].source.text], env=environment,
                          capture_output=True, text=True, timeout=120)


def test_fixed_run_builds_where_the_original_fails(image: Path, tmp_path: Path) -> None:
    source = (
        "FROM python:3.12-slim\n"
        "ENV PIP_NO_CACHE_DIR=1\n"
        f"RUN pip install --no-index --find-links {image / 'wheels'} demo && \\\n"
        "    pip cache purge\n"
    )
    before = Dockerfile(source)
    outcome = fix(before, Settings([PipCachePurge]))
    assert "pip cache purge" not in outcome.text
    assert_agrees_with_buildkit(outcome.text)

    original = _run_script(before, image, tmp_path)
    assert original.returncode == 1, original.stderr
    assert DISABLED in original.stderr

    fixed = _run_script(outcome.doc, image, tmp_path)
    assert fixed.returncode == 0, fixed.stderr
    installed = subprocess.run([os.fspath(image / "venv" / "bin" / "python"), "-c",
                                "import demo; print(demo.VALUE)"],
                               capture_output=True, text=True, timeout=30)
    assert installed.stdout.strip() == "42"


def test_fixed_chain_keeps_failing_on_a_failed_install(tmp_path: Path) -> None:
    """The removal takes one `&&` with the purge: a failing install still fails the RUN."""
    source = "FROM python:3.12\nRUN pip install flask && pip cache purge && echo built\n"
    outcome = fix(Dockerfile(source), Settings([PipCachePurge]))
    run = next(item for item in outcome.doc.instructions if item.keyword == "RUN")
    stub = tmp_path / "pip"
    stub.write_text("#!/bin/sh\necho \"pip $*\"\nexit 1\n")
    stub.chmod(0o755)
    result = subprocess.run(["bash", "-c", run_scripts(outcome.doc, run)[0].source.text],
                            env={**os.environ, "PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}"},
                            capture_output=True, text=True, timeout=30)
    assert result.stdout == "pip install --no-cache-dir flask\n"
    assert result.returncode == 1


BOTH = [CacheMountNoCacheDir, PipCachePurge]


@pytest.mark.parametrize("unsafe", [False, True])
@pytest.mark.parametrize("source", [
    # a mount serving pip, an install that disables it, and a purge
    "FROM python:3.12\n"
    "RUN --mount=type=cache,target=/root/.cache/pip \\\n"
    "    pip install --no-cache-dir -r requirements.txt && \\\n"
    "    pip cache purge\n",
    # a mount at root's cache while pip runs as another user (fixed only when unsafe)
    "FROM python:3.12\n"
    "RUN useradd -m -u 1000 app\n"
    "USER app\n"
    "RUN --mount=type=cache,target=/root/.cache/pip \\\n"
    "    pip install --user flask && \\\n"
    "    pip cache purge\n",
    # the mount serves pip through $XDG_CACHE_HOME
    "FROM python:3.12\n"
    "ENV XDG_CACHE_HOME=/cache\n"
    "RUN --mount=type=cache,target=/cache pip install flask && pip cache purge\n",
])
def test_with_cache_mount_no_cache_dir_converges(source: str, unsafe: bool) -> None:
    settings = Settings(BOTH, unsafe_fixes=unsafe)
    outcome = fix(Dockerfile(source), settings)
    assert "cache purge" not in outcome.text
    again = fix(outcome.doc, settings)
    assert again.text == outcome.text
    assert not again.applied
    assert not [item for item in check(outcome.doc, [PipCachePurge()])]
    fixable = [item for item in again.findings if settings.applies(item.fix)]
    assert not fixable
    assert_agrees_with_buildkit(outcome.text)


def test_mount_serving_pip_keeps_the_cache_enabled() -> None:
    source = ("FROM python:3.12\n"
              "RUN --mount=type=cache,target=/root/.cache \\\n"
              "    pip install flask && pip cache purge\n")
    outcome = fix(Dockerfile(source), Settings(BOTH))
    assert outcome.text == ("FROM python:3.12\n"
                            "RUN --mount=type=cache,target=/root/.cache \\\n"
                            "    pip install flask\n")


def test_purge_without_install_in_the_same_run_is_not_reported() -> None:
    source = "FROM python:3.12\nRUN pip install flask\nRUN pip cache purge\n"
    assert check(Dockerfile(source), [PipCachePurge()]) == []


@pytest.mark.parametrize(("run", "reason"), [
    ("pip install --no-cache-dir flask && pip cache purge", "has nothing to delete"),
    ("pip install flask && pip cache purge", "deletes the cache this RUN's pip installs just wrote"),
    ("pip install --no-cache-dir flask && pip install uvicorn && pip cache purge",
     "deletes the cache this RUN's pip installs just wrote"),
    ("pip install flask && pip cache purge --no-cache-dir", "fails the build (exit 1)"),
])
def test_the_reason_given_is_the_one_that_holds_for_the_run(run: str, reason: str) -> None:
    (finding,) = check(Dockerfile(f"FROM python:3.12\nRUN {run}\n"), [PipCachePurge()])
    assert reason in finding.message


def test_an_empty_cache_purges_without_failing(tmp_path: Path) -> None:
    """With `--no-cache-dir` installs the purge finds nothing, and still exits 0 — until the
    cache is disabled."""
    env = {**os.environ, "PIP_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, "-m", "pip", "cache", "purge"], env=env,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0 and "Files removed: 0" in done.stdout
