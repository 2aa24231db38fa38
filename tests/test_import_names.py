"""The import-name table checked against the distributions' own wheels.

`IMPORT_NAMES` and `SAME_NAME` say which module a distribution is imported as; a wrong entry
would make verify-imports fail a build that is fine. For the small pure-Python wheels the
table names, the test downloads the wheel (no dependencies) and reads the top-level modules
from its own metadata, as dfmod reads a wheel in a build context. Needs the package index:
skipped without it, except in CI.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dfmod.semantic.pydeps import import_names, normalize_name, verification_module, wheel_import_names

SAMPLE = ["python-dotenv", "beautifulsoup4", "attrs", "python-dateutil", "PyJWT", "pyserial",
          "websocket-client", "python-multipart", "python-slugify", "python-json-logger",
          "GitPython", "flask-login", "typing-extensions", "itsdangerous", "idna", "six",
          "python-jose", "uvicorn", "click", "tomli"]


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("wheels")
    done = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                           "--only-binary", ":all:", "--dest", str(directory), *SAMPLE],
                          capture_output=True, text=True, timeout=300, check=False)
    if done.returncode != 0:
        if os.environ.get("CI") == "true":
            pytest.fail(f"cannot download the sample wheels: {done.stderr[-500:]}")
        pytest.skip("the package index is not reachable")
    return directory


def test_the_table_names_what_the_wheels_install(wheels: Path) -> None:
    read = {normalize_name(found[0]): found[1]
            for found in map(wheel_import_names, map(str, wheels.glob("*.whl"))) if found}
    assert {normalize_name(name) for name in SAMPLE} <= set(read)
    for name in SAMPLE:
        expected = import_names(name)
        assert expected, name
        tops = {module.split(".")[0] for module in read[normalize_name(name)]}
        assert {verification_module(module).split(".")[0] for module in expected} <= tops, name
