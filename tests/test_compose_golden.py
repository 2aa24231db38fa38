"""Golden tests of the compose codemods: `golden/compose-*/<case>/`.

Same layout as `test_golden.py` (which checks Dockerfiles with BuildKit): `input/` holds
the compose file(s) and any files the codemod reads (`.env.example`), `expected/` the
compose files after `dfmod apply --fix` (and the companion files a fix also edits, such as
`.env.example`), and `options.toml` may say `unsafe-fixes = true`, `findings = N`, the
number of findings the case's files raise (0 for a case that must stay silent), and
`never-passes = [...]`, the services whose healthcheck the case makes unable to pass.

Each case also proves: fixing again changes nothing; every applied fix, alone, changes only
the lines of its finding; the output loads with ruamel.yaml *and* PyYAML to exactly the
data the codemod promises — the input's data with that one change made by hand below
(`version` dropped, `depends_on` lists as long form), or for secrets, values that become
the old ones again when each new `${NAME}` is given the text it replaced — and nothing
else. Real Compose v2 (`docker compose config`, see `composeconfig.py`) then loads every
input, every output and the result of every fix applied alone: it must accept each, its
models before and after may differ only as the rule says (secrets: only the replaced
values, the same model once interpolated with the replaced values, and no other
environment value or URL password still holding a replaced value; `depends_on`:
only `condition: service_started` → `service_healthy`; everything else: not at all), and
it warns about an obsolete `version` exactly when the file still has one.
`pytest --update-golden` rewrites `expected/` from the code.
"""

from __future__ import annotations

import copy
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from composeconfig import changes, config, left_behind, solve
from goldencases import GOLDEN, case_options, case_settings
from test_compose import check_each_fix, load_pyyaml, load_ruamel

from dfmod.linting.companions import companion_sources
from dfmod.linting.edits import apply_edits
from dfmod.linting.engine import check, fix
from dfmod.linting.registry import all_codemods
from dfmod.syntax.compose import ComposeFile
from dfmod.workspace.kinds import kind_of

CASES = sorted(path for path in GOLDEN.glob("compose-*/*") if (path / "input").is_dir())


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


def expected_data(rule: str, documents: list[Any], never_passes: frozenset[str] = frozenset()) -> list[Any]:
    """`never_passes`: services whose healthcheck the case says can never pass (a `curl`
    probe in an image without curl): the rewrite keeps `service_started` for them, and a
    list naming only such services is not rewritten."""
    documents = copy.deepcopy(documents)

    def healthy(name: str) -> bool:
        return name not in never_passes and _healthy(documents, name)

    for document in documents:
        if not isinstance(document, dict):
            continue
        if rule == "compose-obsolete-version":
            document.pop("version", None)
        for service in _services(document):
            if rule == "compose-depends-on-healthy" and isinstance(service.get("depends_on"), list):
                names = service["depends_on"]
                if any(healthy(name) for name in names):
                    service["depends_on"] = {name: {"condition": "service_healthy" if healthy(
                        name) else "service_started"} for name in names}
    return documents


def assert_promised_data(rule: str, before: str, after: str,
                         never_passes: frozenset[str] = frozenset()) -> None:
    """The output's data is the input's with the rule's change, in both YAML loaders."""
    for load in (load_ruamel, load_pyyaml):
        if rule == "compose-secret-literal":
            for was, now in zip(load(before), load(after), strict=True):
                solve(changes(was, now))
        else:
            assert load(after) == expected_data(rule, load(before), never_passes), load.__name__


OBSOLETE = "the attribute `version` is obsolete"


def assert_compose_agrees(rule: str, project: Path, name: str, before: str, after: str) -> None:
    """Compose accepts both texts, and its models differ only by what the rule's fix says."""
    old, old_warnings = config(project, name, before, interpolate=False)
    new, new_warnings = config(project, name, after, interpolate=False)
    found = changes(old, new)
    if rule == "compose-secret-literal":
        variables = solve(found)
        interpolated = [config(project, name, text, interpolate=True, variables=variables)[0]
                        for text in (before, after)]
        assert interpolated[0] == interpolated[1], "Compose runs something else after the fix"
        assert not left_behind(new, set(variables.values())), "one side of a credential is left"
    elif rule == "compose-depends-on-healthy":
        for path, was, now in found:
            assert (path[0], path[2], path[4:]) == ("services", "depends_on", ("condition",)), path
            assert (was, now) == ("service_started", "service_healthy"), path
    else:
        assert found == [], f"Compose sees other changes: {found}"
    for text, warnings in ((before, old_warnings), (after, new_warnings)):
        has_version = any(isinstance(item, dict) and "version" in item for item in load_pyyaml(text))
        assert (OBSOLETE in warnings) == has_version, warnings


# -- the tests -------------------------------------------------------------------------------

def test_every_compose_codemod_has_golden_cases() -> None:
    for rule, codemod in all_codemods().items():
        if codemod.kind == "compose":
            assert any(case.parent.name == rule for case in CASES), f"golden/{rule}/ is missing"


@pytest.mark.parametrize("case", CASES, ids=[f"{c.parent.name}/{c.name}" for c in CASES])
def test_compose_golden(case: Path, update_golden: bool, tmp_path: Path) -> None:
    settings = case_settings(case)
    project = tmp_path / "project"
    shutil.copytree(case / "input", project)
    found = 0
    files = sorted(path for path in (case / "input").rglob("*") if kind_of(path.name) == "compose")
    assert files, f"{case}/input holds no compose file"
    for source in files:
        expected_path = case / "expected" / source.relative_to(case / "input")
        before = source.read_bytes().decode("utf-8")
        doc = ComposeFile(before, os.fspath(source))
        found += len(check(doc, settings.instances("compose"), settings))
        outcome = fix(doc, settings)
        if update_golden:
            expected_path.parent.mkdir(parents=True, exist_ok=True)
            expected_path.write_bytes(outcome.text.encode("utf-8"))
        expected = expected_path.read_bytes().decode("utf-8")
        assert outcome.text == expected
        again = fix(ComposeFile(expected, os.fspath(source)), settings)
        assert again.text == expected and not again.applied, "fixing twice changed the file again"
        rule = case.parent.name
        assert_promised_data(rule, before, expected, frozenset(case_options(case).get("never-passes", [])))
        name = os.fspath(source.relative_to(case / "input"))
        assert_compose_agrees(rule, project, name, before, expected)
        for finding in check_each_fix(doc, settings):
            assert finding.fix is not None
            alone = apply_edits(before, list(finding.fix.edits))
            assert_compose_agrees(rule, project, name, before, alone)
        for companion, text in companion_sources(outcome.applied):
            path = case / "expected" / Path(companion.path).relative_to(case / "input")
            if update_golden:
                path.write_bytes(text.encode("utf-8"))
            assert text == path.read_bytes().decode("utf-8"), f"{path.name} differs"
    if "findings" in case_options(case):
        assert found == case_options(case)["findings"], f"{found} findings"
    companions = sorted(path.name for path in (case / "expected").rglob("*")
                        if path.is_file() and kind_of(path.name) != "compose")
    produced = sorted(Path(companion.path).name for source in files
                      for companion, _ in companion_sources(
                          fix(ComposeFile(source.read_text(), os.fspath(source)), settings).applied))
    assert companions == produced, "expected/ holds a companion file no fix produces (or misses one)"
