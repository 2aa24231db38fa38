"""Tiny wheels built on the spot, so tests can run a real pip without a network."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path


def _digest(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def build_wheel(directory: Path, name: str, version: str, files: dict[str, str]) -> Path:
    """A pure-Python wheel `name-version` holding `files` (plus the dist-info pip needs)."""
    info = f"{name}-{version}.dist-info"
    contents = {
        **files,
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
                         "Tag: py3-none-any\n",
        **{key: value for key, value in files.items() if key.startswith(info)},
    }
    record = "".join(f"{path},{_digest(text.encode())},{len(text.encode())}\n"
                     for path, text in contents.items()) + f"{info}/RECORD,,\n"
    wheel = directory / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in contents.items():
            archive.writestr(path, text)
        archive.writestr(f"{info}/RECORD", record)
    return wheel


def demo_wheel(directory: Path) -> Path:
    """`demo 1.0`, whose module `demo` has `VALUE = 42`."""
    return build_wheel(directory, "demo", "1.0", {"demo.py": "VALUE = 42\n"})


def python_with_demo(root: Path) -> Path:
    """`root/venv`, a real venv with pip standing in for an image's Python, and
    `root/wheels` holding `demo_wheel` for offline installs. Returns `root`."""
    import venv

    venv.EnvBuilder(with_pip=True).create(root / "venv")
    (root / "wheels").mkdir()
    demo_wheel(root / "wheels")
    return root


_BACKEND = '''import os, zipfile


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    name = "demo-1.0-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as archive:
        archive.writestr("demo.py", "VALUE = 42\\n")
        archive.writestr("demo-1.0.dist-info/METADATA",
                         "Metadata-Version: 2.1\\nName: demo\\nVersion: 1.0\\n")
        archive.writestr("demo-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\\nGenerator: test\\n"
                         "Root-Is-Purelib: true\\nTag: py3-none-any\\n")
        archive.writestr("demo-1.0.dist-info/RECORD", "")
    return name
'''


def demo_sdist(directory: Path) -> Path:
    """`demo-1.0.tar.gz`, an sdist whose in-tree build backend needs nothing from an index.

    pip builds it into a wheel and, with its cache on, keeps that wheel in
    `<cache>/wheels/`: the cache activity a cache mount is for, observable offline.
    """
    import tarfile

    source = directory / "demo-1.0"
    source.mkdir(parents=True)
    (source / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n')
    (source / "backend.py").write_text(_BACKEND)
    archive = directory / "demo-1.0.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(source, arcname="demo-1.0")
    return archive
