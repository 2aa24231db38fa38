"""Program names and image tags read with string methods, against the patterns they replace
(compiling those patterns cost start-up: tests/test_startup.py)."""

from __future__ import annotations

import re

import pytest

from dfmod.semantic.interpreters import image_python
from dfmod.semantic.tools import is_python, versioned


@pytest.mark.parametrize("name", ["python", "python3", "python3.12", "python3.12.1", "python3.",
                                  "python.3", "python3..1", "pythonx", "python3x", "py", "",
                                  "python\u0663", "python\u00b2", "ipython", "python-config"])
def test_python_names(name: str) -> None:
    assert is_python(name) == bool(re.match(r"python(\d+(\.\d+)*)?$", name))
    assert versioned(name.replace("python", "pip"), "pip") == bool(
        re.match(r"pip(\d+(\.\d+)*)?$", name.replace("python", "pip")))


@pytest.mark.parametrize("tag", ["3.12", "3.12-slim", "3.12.4-bookworm", "3", "3.", "3.x", "latest",
                                 "10.20abc", ".3", "a3.1", "", "3.\u0661\u0662"])
def test_python_image_versions(tag: str) -> None:
    match = re.match(r"(\d+)\.(\d+)", tag)
    python = image_python(f"python:{tag}" if tag else "python")
    assert python is not None
    assert python.version == (f"{match.group(1)}.{match.group(2)}" if match else None)


@pytest.mark.parametrize("tag", ["python3.12-bookworm", "python3.12", "python3", "latest", "0.5-python3.11"])
def test_uv_image_versions(tag: str) -> None:
    match = re.match(r"python(\d+)\.(\d+)", tag)
    python = image_python(f"ghcr.io/astral-sh/uv:{tag}")
    assert (python.version if python else None) == (f"{match.group(1)}.{match.group(2)}" if match else None)
