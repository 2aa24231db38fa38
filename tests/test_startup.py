"""Start-up stays cheap: what a one-file `dfmod check` of a clean Dockerfile imports.

pre-commit runs dfmod on every commit, so start-up is a feature (issue #15). Its time is
measured by `bench/run.py` against hadolint, not here (timed tests are flaky); this test
pins the cause instead: none of the modules below may load on that path, each of which
cost milliseconds for nothing it needs.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from corpus import CLEAN

# module: why it must not load on a clean Dockerfile check
HEAVY = {
    "dataclasses": "it imports `inspect`, and @dataclass compiles each class's methods (Record instead)",
    "inspect": "imported by dataclasses and typing helpers; ~10 ms with ast, dis, tokenize",
    "importlib.resources": "tree-sitter-bash's package imports it for queries dfmod never reads",
    "tempfile": "only writes need a temporary file",
    "shutil": "imports bz2, lzma and zlib (argparse's help formatter asks it for the terminal size)",
    "ast": "only a `python -c` probe verify-imports reads needs it",
    "libcst": "only verify-imports reading an app module needs it",
    "ruamel": "only compose files need a YAML parser",
    "tomllib": "only a configuration file or pyproject.toml needs it",
    "concurrent": "one file needs no pool",
    "multiprocessing": "one file needs no workers",
    "subprocess": "a check runs no program",
    "typing": "~7 ms; annotations need no import (TYPE_CHECKING = False), tree-sitter's package does",
}


def _imported(tmp_path: Path, *args: str) -> set[str]:
    (tmp_path / "Dockerfile").write_text(CLEAN)
    probe = ("import sys\nfrom dfmod.cli import main\nsys.argv = ['dfmod', *sys.argv[1:]]\n"
             "try:\n    main()\nexcept SystemExit:\n    pass\n"
             "sys.stderr.write('\\n'.join(sys.modules))\n")
    env = {key: value for key, value in os.environ.items() if not key.startswith("DFMOD")}
    result = subprocess.run([sys.executable, "-c", probe, *args], cwd=tmp_path, env=env,
                            capture_output=True, text=True, check=True)
    assert "No findings" in result.stdout, result.stdout
    return set(result.stderr.split())


def test_a_clean_dockerfile_check_imports_nothing_heavy(tmp_path: Path) -> None:
    imported = _imported(tmp_path, "check", "Dockerfile")
    loaded = {name: why for name, why in HEAVY.items()
              if any(module == name or module.startswith(name + ".") for module in imported)}
    assert not loaded, loaded
