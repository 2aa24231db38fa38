"""Golden tests of the compose codemods: `golden/compose-*/<case>/`.

Same layout as `test_golden.py` (which checks Dockerfiles with BuildKit): `input/` holds
the compose file(s) and any files the codemod reads (`.env.example`), `expected/` the
compose files after `dfmod apply --fix` (and the companion files a fix also edits, such as
`.env.example`), and `options.toml` may say `unsafe-fixes = true`.

Each case also proves: fixing again changes nothing; every applied fix, alone, changes only
the lines of its finding; and the output loads with ruamel.yaml *and* PyYAML to exactly the
data the codemod promises — the input's data with that one change made by hand below
(`version` dropped, `depends_on` lists as long form, secret values as `${NAME}`), and
nothing else. `pytest --update-golden` rewrites `expected/` from the code.
"""

from __future__ import annotations

import copy
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from test_compose import check_each_fix, load_pyyaml, load_ruamel

from dfmod.linting.companions import companion_sources
from dfmod.linting.engine import Settings, fix
from dfmod.linting.registry import all_codemods
from dfmod.syntax.compose import ComposeFile
from dfmod.workspace.kinds import kind_of

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
CASES = sorted(path for path in GOLDEN.glob("compose-*/*") if (path / "input").is_dir())


def _settings(case: Path) -> Settings:
    file = case / "options.toml"
    options = tomllib.loads(file.read_text()) if file.exists() else {}
    rule = case.parent.name
    return Settings([all_codemods()[rule]], unsafe_fixes=options.get("unsafe-fixes", False),
                    options={rule: options.get("options", {})})


# -- the data each codemod promises, made by hand --------------------------------------------

def _services(document: Any) -> list[dict]:
    services = document.get("services") if isinstance(document, dict) else None
    return [item for item in (services or {}).values() if isinstance(item, dict)]


def _healthy(documents: list[Any], name: str) -> bool:
    state = False
    for document in documents:
        service = ((document or {}).get("services") or {}).get(name)
        check = service.get("healthcheck") if isinstance(service, dict) else None
        if isinstance(check, dict):
            test = check.get("test")
            state = not (check.get("disable") is True or test == "NONE"
                         or (isinstance(test, list) and test[:1] == ["NONE"]))
    return state


def _secret(name: str, value: Any) -> bool:
    from dfmod.codemods.compose_secret_literal import is_literal, is_secret_name

    return (is_secret_name(name) and value is not None
            and is_literal(value if isinstance(value, str) else str(value).lower()))


def _interpolate(environment: Any) -> None:
    if isinstance(environment, list):
        for index, entry in enumerate(environment):
            name, equals, value = str(entry).partition("=")
            if equals and _secret(name, value):
                environment[index] = f"{name}=${{{name}}}"
    elif isinstance(environment, dict):
        for name, value in environment.items():
            if _secret(str(name), value):
                environment[name] = f"${{{name}}}"


def expected_data(rule: str, documents: list[Any]) -> list[Any]:
    documents = copy.deepcopy(documents)
    for document in documents:
        if not isinstance(document, dict):
            continue
        if rule == "compose-obsolete-version":
            document.pop("version", None)
        for service in _services(document):
            if rule == "compose-depends-on-healthy" and isinstance(service.get("depends_on"), list):
                names = service["depends_on"]
                if any(_healthy(documents, name) for name in names):
                    service["depends_on"] = {name: {"condition": "service_healthy" if _healthy(
                        documents, name) else "service_started"} for name in names}
            if rule == "compose-secret-literal":
                _interpolate(service.get("environment"))
        if rule == "compose-secret-literal":
            for key, value in document.items():
                if str(key).startswith("x-") and isinstance(value, dict):
                    _interpolate(value.get("environment"))
    return documents


# -- the tests -------------------------------------------------------------------------------

def test_every_compose_codemod_has_golden_cases() -> None:
    for rule, codemod in all_codemods().items():
        if codemod.kind == "compose":
            assert any(case.parent.name == rule for case in CASES), f"golden/{rule}/ is missing"


@pytest.mark.parametrize("case", CASES, ids=[f"{c.parent.name}/{c.name}" for c in CASES])
def test_compose_golden(case: Path, update_golden: bool) -> None:
    settings = _settings(case)
    files = sorted(path for path in (case / "input").rglob("*") if kind_of(path.name) == "compose")
    assert files, f"{case}/input holds no compose file"
    for source in files:
        expected_path = case / "expected" / source.relative_to(case / "input")
        before = source.read_bytes().decode("utf-8")
        doc = ComposeFile(before, os.fspath(source))
        outcome = fix(doc, settings)
        if update_golden:
            expected_path.parent.mkdir(parents=True, exist_ok=True)
            expected_path.write_bytes(outcome.text.encode("utf-8"))
        expected = expected_path.read_bytes().decode("utf-8")
        assert outcome.text == expected
        again = fix(ComposeFile(expected, os.fspath(source)), settings)
        assert again.text == expected and not again.applied, "fixing twice changed the file again"
        check_each_fix(doc, settings)
        rule = case.parent.name
        for load in (load_ruamel, load_pyyaml):
            assert load(expected) == expected_data(rule, load(before)), load.__name__
        for companion, text in companion_sources(outcome.applied):
            path = case / "expected" / Path(companion.path).relative_to(case / "input")
            if update_golden:
                path.write_bytes(text.encode("utf-8"))
            assert text == path.read_bytes().decode("utf-8"), f"{path.name} differs"
    companions = sorted(path.name for path in (case / "expected").iterdir()
                        if kind_of(path.name) != "compose")
    produced = sorted(Path(companion.path).name for source in files
                      for companion, _ in companion_sources(
                          fix(ComposeFile(source.read_text(), os.fspath(source)), settings).applied))
    assert companions == produced, "expected/ holds a companion file no fix produces (or misses one)"
