"""cache-mount-no-cache-dir, shown with a real pip: the mount stays empty until the fix.

The RUN's shell runs in bash with HOME pointing at a temporary directory, so pip's cache
(`~/.cache/pip`, what `--mount=type=cache,target=/root/.cache/pip` serves) is observable.
The package is a local sdist, which pip builds into a wheel and — with its cache on —
keeps under `wheels/`: exactly what the next build would reuse.
"""

from __future__ import annotations

import os
import subprocess
import venv
from pathlib import Path

import pytest

from dfmod.codemods.cache_mount_no_cache_dir import CacheMountNoCacheDir
from dfmod.linting.engine import Settings, check, fix
from dfmod.syntax.dockerfile import Dockerfile, run_scripts
from wheels import demo_sdist


@pytest.fixture(scope="module")
def python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("image")
    venv.EnvBuilder(with_pip=True).create(root / "venv")
    demo_sdist(root)
    return root


def _cache_after_run(text: str, python: Path, home: Path) -> list[Path]:
    """Run the RUN in bash as the image's root would; return what pip left in its cache."""
    doc = Dockerfile(text)
    run = next(item for item in doc.instructions if item.keyword == "RUN")
    (script,) = run_scripts(doc, run)
    environment = {**os.environ, "HOME": os.fspath(home), "PIP_DISABLE_PIP_VERSION_CHECK": "1",
                   "PATH": f"{python / 'venv' / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    subprocess.run(["bash", "-c", script.source.text], env=environment, check=True,
                   capture_output=True, cwd=python, timeout=120)
    subprocess.run([python / "venv" / "bin" / "pip", "uninstall", "-qy", "demo"], check=True,
                   capture_output=True)
    cache = home / ".cache" / "pip"
    return sorted(path for path in cache.rglob("*.whl")) if cache.exists() else []


def test_the_mount_receives_nothing_until_the_flag_goes(python: Path, tmp_path: Path) -> None:
    text = ("FROM python:3.12\n"
            "RUN --mount=type=cache,target=/root/.cache/pip \\\n"
            "    pip install --no-cache-dir --no-index ./demo-1.0.tar.gz\n")
    fixed = fix(Dockerfile(text), Settings([CacheMountNoCacheDir])).text
    assert "--no-cache-dir" not in fixed
    assert _cache_after_run(text, python, tmp_path / "before") == [], "pip wrote to its cache"
    cached = _cache_after_run(fixed, python, tmp_path / "after")
    assert [path.name for path in cached] == ["demo-1.0-py3-none-any.whl"]


def test_env_is_reported_through_the_stage_lineage_only() -> None:
    """The ENV named is the one the RUN inherits, not a later one in an unrelated stage."""
    text = ("FROM python:3.12 AS base\nENV PIP_NO_CACHE_DIR=1\n"
            "FROM python:3.12 AS unrelated\nENV PIP_NO_CACHE_DIR=1\n"
            "FROM base\nRUN --mount=type=cache,target=/root/.cache/pip pip install django\n")
    doc = Dockerfile(text)
    settings = Settings([CacheMountNoCacheDir])
    findings = check(doc, settings.instances(), settings)
    assert [doc.position(item.span.start)[0] for item in findings] == [2]
    assert "line 6" in findings[0].message
