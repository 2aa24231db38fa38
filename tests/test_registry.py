"""The registry's static table says what the codemod classes say: it cannot drift from them."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

from dfmod.linting.codemod import Codemod
from dfmod.linting.registry import PACKAGE, TABLE, all_codemods, select_codemods


def _defined() -> dict[str, tuple[str, str, str, tuple[str, ...], tuple[str, ...]]]:
    """Every codemod class the package's modules define, found by walking them."""
    package = importlib.import_module(PACKAGE)
    found = {}
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{PACKAGE}.{info.name}")
        for value in vars(module).values():
            if (isinstance(value, type) and issubclass(value, Codemod) and value is not Codemod
                    and value.__module__ == module.__name__):
                found[value.id] = (info.name, value.__name__, value.kind, value.needs, value.also_needs)
    return found


def test_table_matches_the_classes() -> None:
    assert _defined() == TABLE
    assert list(TABLE) == sorted(TABLE)
    assert {rule: codemod.id for rule, codemod in all_codemods().items()} == {rule: rule for rule in TABLE}


def test_selection_by_kind_keeps_the_order_and_the_choice() -> None:
    every = select_codemods(None, None)
    assert [codemod.id for codemod in every] == list(TABLE)
    dockerfile = select_codemods(None, ["masked-failure"], "dockerfile")
    assert [codemod.id for codemod in dockerfile] == [
        codemod.id for codemod in every if codemod.kind == "dockerfile" and codemod.id != "masked-failure"]
    assert select_codemods(["compose-obsolete-version", "pip-cache-purge"], None, "compose") == [
        all_codemods()["compose-obsolete-version"]]


def test_a_dockerfile_check_imports_no_compose_rule(tmp_path) -> None:
    """Start-up: checking a Dockerfile loads neither the compose codemods nor their model."""
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM python:3.12-slim\nRUN pip install --no-cache-dir flask\n")
    program = ("import sys\nfrom dfmod.cli import main\nmain(['check', sys.argv[1]])\n"
               "print(sorted(name for name in sys.modules if 'compose' in name or name == 'tomllib'))")
    out = subprocess.run([sys.executable, "-c", program, str(dockerfile)], capture_output=True,
                         text=True, check=True, cwd=tmp_path).stdout
    assert out.splitlines()[-1] == "[]"


def test_a_dockerfile_check_imports_only_the_codemods_its_file_may_need(tmp_path) -> None:
    """Start-up: a codemod whose needs the file lacks is never imported, and its deferred
    stand-in still counts as run (an ignore comment for it is reported as unused)."""
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM python:3.12-slim\n# dfmod: ignore[find-cleanup-errors]\n"
                          "RUN pip install --no-cache-dir flask\nCMD [\"flask\", \"run\"]\n")
    program = ("import sys\nfrom dfmod.cli import main\nmain(['check', '--output-format', 'concise', sys.argv[1]])\n"
               "print(sorted(name.rsplit('.', 1)[1] for name in sys.modules if name.startswith('dfmod.codemods.')))")
    result = subprocess.run([sys.executable, "-c", program, str(dockerfile)], capture_output=True,
                            text=True, cwd=tmp_path)
    loaded = result.stdout.splitlines()[-1]
    # verify-imports needs a way for the packages to miss CMD's interpreter too (also_needs)
    assert loaded == str(["copy_before_install"]), result.stdout
    assert "unused-suppression" in result.stdout
    dockerfile.write_text(dockerfile.read_text().replace("--no-cache-dir", "--no-cache-dir --user"))
    result = subprocess.run([sys.executable, "-c", program, str(dockerfile)], capture_output=True,
                            text=True, cwd=tmp_path)
    assert result.stdout.splitlines()[-1] == str(
        ["copy_before_install", "user_site_not_on_path", "verify_imports"]), result.stdout
