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

from precision import ROOT

from corpus import CLEAN

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

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
    "contextlib": "~1 ms for two context managers (plain classes instead)",
    "json": "~3 ms; an exec form is read without it (dfmod.syntax.dockerfile._json_array)",
    "_json": "a compiled module; only an exec-form string with escapes needs its scanner",
    "signal": "builds three enums to wrap `_signal`, which the time budget uses directly",
    "glob": "a COPY source without a wildcard is a path to look up",
    "zlib": "only a sharded run hashes paths",
    "dfmod.workspace.shard": "only --shard needs it",
    "importlib.util": "tree-sitter's compiled modules are loaded by their loader alone",
    "argparse": "a plain command line is read without it (dfmod.cli._plain_args): ~9 ms with gettext",
    "gettext": "argparse's: it looks for a catalog on disk for each of argparse's strings",
    "dfmod.codemods.find_cleanup_errors": "its file has no `find` (registry.Deferred)",
    "dfmod.codemods.masked_failure": "its file has no `||` (registry.Deferred)",
    "dfmod.semantic.masking": "only a chain with `||` needs it",
    "dfmod.semantic.findcmd": "only an `rm` or a `find` needs it",
    "dfmod.semantic.pydeps": "only an install or an app module verify-imports reads needs it",
    "dfmod.workspace.gitignore": "only a directory walk reads .gitignore files",
    "dfmod.linting.companions": "only an applied fix can change a companion file",
    "dfmod.workspace.repopath": "only json-lines records name the repository path",
    "dfmod.linting.wording": "only a finding's message is worded",
    "dfmod.linting.dockerignore": "only a build context's .dockerignore is read with it",
    "fnmatch": "only a configuration's patterns need it",
    "warnings": "the importlib package imports it (the codemods are loaded with __import__)",
    "bisect": "it loads a compiled module; only findings and fixes need a binary search",
    "dfmod.codemods.user_site_not_on_path": "its file has no USER, --user or PIP_USER",
    "dfmod.codemods.verify_imports": "its file shows no way for the packages to miss CMD's Python (also_needs)",
    "dfmod.semantic.runtime": "only verify-imports reads what CMD runs",
    "dfmod.semantic.venvs": "only rules that follow a venv need it",
    "dfmod.semantic.interpreters": "only rules that follow a venv or a user base need it",
    "dfmod.semantic.environments": "only rules that ask which environment an install writes to need it",
    "dfmod.linting.suppressions": "only a file with a `dfmod:` comment has a suppression to read",
    "dfmod.linting.located": "only a finding is placed at a line and column",
}


def _modules(tmp_path: Path, code: str, *args: str) -> tuple[str, set[str]]:
    """What `code` prints, and the modules loaded when it ends."""
    probe = code + "\nsys.stderr.write('\\n'.join(sys.modules))\n"
    env = {key: value for key, value in os.environ.items() if not key.startswith("DFMOD")}
    result = subprocess.run([sys.executable, "-c", probe, *args], cwd=tmp_path, env=env,
                            capture_output=True, text=True, check=True)
    return result.stdout, set(result.stderr.split())


def _imported(tmp_path: Path, *args: str) -> set[str]:
    """The modules a run of dfmod with `args` loads that the interpreter did not load
    before it (an editable install's import hook, say, loads `importlib.util` at start-up:
    that is the environment's cost, not dfmod's)."""
    (tmp_path / "Dockerfile").write_text(CLEAN)
    _, before = _modules(tmp_path, "import sys")
    out, after = _modules(tmp_path, "import sys\nfrom dfmod.cli import main\n"
                          "sys.argv = ['dfmod', *sys.argv[1:]]\n"
                          "try:\n    main()\nexcept SystemExit:\n    pass", *args)
    assert "No findings" in out, out
    return after - before


def test_a_clean_dockerfile_check_imports_nothing_heavy(tmp_path: Path) -> None:
    imported = _imported(tmp_path, "check", "Dockerfile")
    loaded = {name: why for name, why in HEAVY.items()
              if any(module == name or module.startswith(name + ".") for module in imported)}
    assert not loaded, loaded


def test_the_program_runs_main_and_leaves_its_objects_out_of_the_exit_collections(tmp_path: Path) -> None:
    """`dfmod` and `python -m dfmod` run `cli.entry`: what `main` prints and returns, all of
    it (stdout is still flushed at exit), with the run's objects frozen before Python's exit
    collects them."""
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"dfmod": "dfmod.cli:entry"}
    for number in range(40):  # a long report: more than one buffer of output
        (tmp_path / f"{number}.Dockerfile").write_text(
            "FROM python:3.12-slim\nRUN pip install flask || true\nRUN pip install uvicorn || echo no\n")
    env = {key: value for key, value in os.environ.items() if not key.startswith("DFMOD")}

    def run(*command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, *command], cwd=tmp_path, env=env, capture_output=True, text=True)

    args = ["check", "--output-format", "concise", "."]
    by_main = run("-c", "import sys\nfrom dfmod.cli import main\nsys.exit(main())", *args)
    by_module = run("-m", "dfmod", *args)
    assert by_main.returncode == by_module.returncode == 1
    assert by_module.stdout == by_main.stdout
    assert by_module.stdout.count("masked-install-failure") == 80
    frozen = run("-c", "import gc, sys\nfrom dfmod.cli import entry\ncode = entry()\n"
                       "print(code, gc.get_freeze_count() > 1000)", *args)
    assert frozen.stdout.splitlines()[-1] == "1 True"
