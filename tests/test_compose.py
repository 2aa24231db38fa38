"""Compose documents: lossless reading, exact positions, and fixes that touch only their lines.

The fixtures under `tests/fixtures/compose/` are realistic compose files (comments
everywhere, anchors and merge keys, flow collections, quoted and long values, block
scalars, `x-` extensions, multi-document files, `!reset`/`!override` tags), each also as
CRLF, with a BOM and as CRLF without a final newline. Every claim is checked with the real
parsers: ruamel.yaml (which dfmod reads with) and PyYAML (an independent implementation).
"""

from __future__ import annotations

import difflib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from dfmod.linting.edits import Finding, apply_edits
from dfmod.linting.engine import Settings, check, fix
from dfmod.linting.registry import all_codemods
from dfmod.syntax.compose import ComposeFile, ComposeSyntaxError, Node

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "compose"
FILES = sorted(FIXTURES.iterdir())
COMPOSE_CODEMODS = [codemod for codemod in all_codemods().values() if codemod.kind == "compose"]


# -- helpers shared with test_compose_golden.py ------------------------------------------

class TagTolerantLoader(yaml.SafeLoader):
    """PyYAML's safe loader, reading Compose's own tags (`!reset`, `!override`) as plain nodes."""


def _construct_tagged(loader: yaml.SafeLoader, _suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)


TagTolerantLoader.add_multi_constructor("!", _construct_tagged)


def plain(value: Any, memo: dict[int, Any] | None = None) -> Any:
    """ruamel.yaml round-trip data as plain dicts/lists/scalars (merge keys resolved).

    A node reached through several aliases stays one shared object, as PyYAML builds it.
    """
    memo = {} if memo is None else memo
    if id(value) in memo:
        return memo[id(value)]
    if hasattr(value, "items"):
        result: Any = memo.setdefault(id(value), {})
        result.update({plain(key, memo): plain(item, memo) for key, item in value.items()})
        return result
    if isinstance(value, list):
        result = memo.setdefault(id(value), [])
        result.extend(plain(item, memo) for item in value)
        return result
    if hasattr(value, "value") and hasattr(value, "tag"):  # TaggedScalar
        return value.value
    if isinstance(value, str):
        return str(value)
    return value


def load_ruamel(text: str) -> list[Any]:
    from ruamel.yaml import YAML

    return [plain(document) for document in YAML(typ="rt").load_all(text)]


def load_pyyaml(text: str) -> list[Any]:
    return list(yaml.load_all(text, Loader=TagTolerantLoader))


def finding_lines(doc: ComposeFile, finding: Finding) -> set[int]:
    """1-based lines of a finding: its span and every line its fix's edits touch."""
    ranges = [(finding.span.start, finding.span.end)]
    if finding.fix is not None:
        ranges += [(edit.start, edit.end) for edit in finding.fix.edits]
    lines: set[int] = set()
    for start, end in ranges:
        first = doc.position(start)[0]
        last = doc.position(max(start, end - 1))[0]
        lines.update(range(first, last + 1))
    return lines


def assert_touches_only(before: str, after: str, allowed: set[int]) -> None:
    """Every line the diff removes is in `allowed`; every insertion is next to one."""
    old = before.splitlines(keepends=True)
    new = after.splitlines(keepends=True)
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, i1, i2, _, _ in matcher.get_opcodes():
        if tag == "equal":
            continue
        touched = set(range(i1 + 1, i2 + 1)) or {i1, i1 + 1}
        assert touched & allowed if tag == "insert" else touched <= allowed, (
            f"the fix changed lines {sorted(touched)}, outside {sorted(allowed)}")


def check_each_fix(doc: ComposeFile, settings: Settings) -> list[Finding]:
    """Apply each applicable fix alone: it must parse everywhere and touch only its lines."""
    fixed = []
    for finding in check(doc, settings.instances("compose"), settings):
        if not settings.applies(finding.fix):
            continue
        assert finding.fix is not None
        after = apply_edits(doc.text, list(finding.fix.edits))
        ComposeFile(after, doc.path)
        load_ruamel(after)
        load_pyyaml(after)
        assert_touches_only(doc.text, after, finding_lines(doc, finding))
        fixed.append(finding)
    return fixed


def read(path: Path) -> str:
    return path.read_bytes().decode("utf-8")


def project_path(path: Path) -> str:
    """Where a fixture is checked: as a project's own compose file, not as one of dfmod's
    test files (compose-secret-literal is silent in test directories)."""
    return os.path.join(os.sep, "project", path.name)


# -- the fixture set -----------------------------------------------------------------------

def test_enough_fixtures_with_every_feature() -> None:
    assert len(FILES) >= 40
    texts = [read(path) for path in FILES]
    for feature in ("<<: *", "&", "[", "{", "\r\n", "\ufeff", "---", "x-", "# ", "|", ">-"):
        assert any(feature in text for text in texts), feature
    assert any(len(line) > 80 for text in texts for line in text.splitlines())
    assert any(not text.endswith("\n") for text in texts)


@pytest.mark.parametrize("path", FILES, ids=[path.name for path in FILES])
def test_round_trip_identity_and_exact_positions(path: Path) -> None:
    text = read(path)
    doc = ComposeFile(text, project_path(path))
    assert doc.text == text
    # Without applicable fixes the engine gives the very same text back.
    outcome = fix(doc, Settings(COMPOSE_CODEMODS, unsafe_fixes=False, options={}))
    safe = [item for item in outcome.applied]
    if not safe:
        assert outcome.text == text
    assert fix(doc, Settings([])).text == text
    # Every key and one-line scalar sits exactly where the parser says.
    for root in doc.documents:
        for node in _walk(root):
            inner = doc.scalar_inner(node)
            if inner is not None:
                assert text[inner[0]:inner[1]] == node.value
    assert load_ruamel(text) == [plain(item) for item in doc.data]


def _walk(node: Node | None):
    if node is None:
        return
    yield node
    for child in node.children:
        yield from _walk(child)


@pytest.mark.parametrize("path", FILES, ids=[path.name for path in FILES])
def test_every_fix_touches_only_its_lines_and_is_idempotent(path: Path) -> None:
    text = read(path)
    doc = ComposeFile(text, project_path(path))
    settings = Settings(COMPOSE_CODEMODS, unsafe_fixes=True)
    check_each_fix(doc, settings)
    outcome = fix(doc, settings)
    again = fix(ComposeFile(outcome.text, doc.path), settings)
    assert again.text == outcome.text and not again.applied
    load_ruamel(outcome.text)
    load_pyyaml(outcome.text)
    if "\r\n" in text:
        assert outcome.text.count("\n") == outcome.text.count("\r\n"), "a bare LF in a CRLF file"
    assert outcome.text.startswith("\ufeff") == text.startswith("\ufeff")
    assert outcome.text.endswith("\n") == text.endswith("\n")


def test_compose_accepts_every_fixed_fixture(tmp_path: Path) -> None:
    """Real Compose v2 loads each fixture it accepts again after every fix (a few fixtures
    are not Compose projects on their own: `include:` of files not there, keys Compose's
    schema refuses)."""
    from composeconfig import config

    accepted = 0
    for path in FILES:
        text = read(path)
        try:
            config(tmp_path, "compose.yaml", text, interpolate=False)
        except AssertionError:
            continue
        accepted += 1
        outcome = fix(ComposeFile(text, project_path(path)), Settings(COMPOSE_CODEMODS, unsafe_fixes=True))
        config(tmp_path, "compose.yaml", outcome.text, interpolate=False)
    assert accepted >= 40


def test_the_fixtures_do_get_fixed() -> None:
    rules = set()
    for path in FILES:
        doc = ComposeFile(read(path), project_path(path))
        rules.update(item.rule for item in fix(doc, Settings(COMPOSE_CODEMODS, True)).applied)
    assert rules == {"compose-obsolete-version", "compose-depends-on-healthy",
                     "compose-secret-literal"}


# -- bad input -----------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "line"), [
    ("services:\n  web:\n    image: [nginx\n", 4),
    ("services:\n  web:\n  image: x\n   bad: y\n", 4),
    ("services: {}\nservices: {}\n", 2),
    ("- just\n- a list\n", 1),
    ("services:\n  web: \x01\n", 2),
])
def test_broken_yaml_is_one_line_with_a_line_number(text: str, line: int) -> None:
    with pytest.raises(ComposeSyntaxError) as caught:
        ComposeFile(text, "compose.yaml")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"line {line}: ")


def test_empty_and_comment_only_files_are_fine() -> None:
    for text in ("", "# nothing yet\n", "---\n", "services:\n"):
        doc = ComposeFile(text, "compose.yaml")
        assert list(check(doc, Settings(COMPOSE_CODEMODS).instances("compose"))) == []


# -- the Dockerfiles services build ---------------------------------------------------------------------

def test_builds(tmp_path: Path) -> None:
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "Dockerfile.prod").write_text("FROM scratch\n")
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    compose = tmp_path / "compose.yaml"
    text = (
        "x-build: &b\n  build: ./api\n"
        "services:\n"
        "  api: {<<: *b}\n"
        "  web:\n    build:\n      context: web\n      dockerfile: Dockerfile.prod\n"
        "  root:\n    build: .\n"
        "  again:\n    build: {context: ./api}\n"
        "  missing:\n    build: ./nowhere\n"
        "  remote:\n    build: https://github.com/docker/compose.git\n"
        "  inline:\n    build: {context: ., dockerfile_inline: 'FROM scratch'}\n"
        "  var:\n    build: ${CONTEXT}\n"
    )
    doc = ComposeFile(text, os.fspath(compose))
    api, web = os.fspath(tmp_path / "api"), os.fspath(tmp_path / "web")
    assert [(build.service, build.context, build.dockerfile) for build in doc.builds()] == [
        ("api", api, os.path.join(api, "Dockerfile")),
        ("web", web, os.path.join(web, "Dockerfile.prod")),
        ("root", os.fspath(tmp_path), os.fspath(tmp_path / "Dockerfile")),
        ("again", api, os.path.join(api, "Dockerfile")),
        ("missing", os.fspath(tmp_path / "nowhere"), os.fspath(tmp_path / "nowhere" / "Dockerfile")),
    ]


# -- codemod specifics ---------------------------------------------------------------------

def _fixed(text: str, path: str = "compose.yaml", unsafe: bool = True) -> str:
    return fix(ComposeFile(text, path), Settings(COMPOSE_CODEMODS, unsafe_fixes=unsafe)).text


def _rules(text: str, path: str = "compose.yaml") -> list[tuple[str, bool]]:
    doc = ComposeFile(text, path)
    return [(item.rule, item.fix is not None)
            for item in check(doc, Settings(COMPOSE_CODEMODS).instances("compose"))]


HEALTHY_DB = "  db:\n    image: postgres:16\n    healthcheck:\n      test: [\"CMD\", \"pg_isready\"]\n"


def test_version_removal_keeps_comments_and_bom() -> None:
    text = "\ufeffversion: '3'  # old\n# about services\nservices: {}\n"
    assert _fixed(text) == "\ufeff# about services\nservices: {}\n"
    flow = "{version: '3', services: {}}\n"
    assert _rules(flow) == [("compose-obsolete-version", False)]


def test_depends_on_indentless_and_four_spaces() -> None:
    text = ("services:\n    app:\n        image: a:1\n        depends_on:\n        - db\n"
            "    db:\n        image: postgres:16\n        healthcheck: {test: [\"CMD\", \"true\"]}\n")
    assert ("        depends_on:\n            db:\n                condition: service_healthy\n"
            in _fixed(text))


def test_depends_on_through_alias_is_reported_without_fix() -> None:
    text = ("x-deps: &deps\n  - db\nservices:\n  app:\n    image: a:1\n    depends_on: *deps\n"
            + HEALTHY_DB)
    assert ("compose-depends-on-healthy", False) in _rules(text)


def test_depends_on_merged_healthcheck_counts_and_disabled_does_not() -> None:
    text = ("x-hc: &hc\n  healthcheck:\n    test: [\"CMD\", \"true\"]\n"
            "services:\n  app:\n    image: a:1\n    depends_on: [db, off]\n"
            "  db:\n    <<: *hc\n    image: b:1\n"
            "  off:\n    image: c:1\n    healthcheck:\n      disable: true\n")
    fixed = _fixed(text)
    assert ("    depends_on:\n      db:\n        condition: service_healthy\n"
            "      off:\n        condition: service_started\n") in fixed


def test_missing_healthcheck_suggestions(tmp_path: Path) -> None:
    text = ("services:\n  app:\n    build: .\n    depends_on: [db, cache, maria, api, built, job]\n"
            "  db: {image: 'postgres:16'}\n  cache: {image: redis}\n  maria: {image: mariadb:11}\n"
            "  api: {image: ghcr.io/x/api:1, ports: ['8080:80']}\n  built: {build: ./b}\n"
            "  job: {image: x:1}\n"
            "  other:\n    image: y:1\n    depends_on: {job: {condition: service_completed_successfully}}\n")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "Dockerfile").write_text("FROM x\nHEALTHCHECK CMD true\n")
    doc = ComposeFile(text, os.fspath(tmp_path / "compose.yaml"))
    messages = {item.message.split("`")[1]: item.message for item in check(
        doc, Settings(COMPOSE_CODEMODS).instances("compose")) if item.rule == "compose-missing-healthcheck"}
    assert set(messages) == {"db", "cache", "maria", "api", "job"}
    assert "pg_isready" in messages["db"]
    assert "redis-cli" in messages["cache"]
    assert "healthcheck.sh" in messages["maria"]
    # no probe known for an unknown image: none is suggested rather than a `curl` it may lack
    assert "can probe it" not in messages["api"] and "unless its image has one" in messages["api"]


@pytest.mark.parametrize(("image", "reported"), [
    ("redis", True), ("redis:latest", True), ("ghcr.io/tbphp/gpt-load:latest", True),
    ("localhost:5000/app", True), ("localhost:5000/app:1.2", False), ("redis:7.4", False),
    ("redis@sha256:" + "0" * 64, False), ("redis:latest@sha256:" + "0" * 64, False),
    ("${IMAGE:-redis}", False),
])
def test_unpinned_image(image: str, reported: bool) -> None:
    text = f"services:\n  s:\n    image: \"{image}\"\n"
    assert (("compose-unpinned-image", False) in _rules(text)) == reported


def test_secret_literal_forms(tmp_path: Path) -> None:
    text = ("services:\n  s:\n    image: a:1\n    environment:\n"
            "      - API_KEY=abc\n      - DB_PASSWORD_FILE=/run/secrets/pw\n"
            "      - GITHUB_TOKEN=${GITHUB_TOKEN}\n      - EMPTY_SECRET=\n      - PLAIN=1\n"
            "  t:\n    image: a:1\n    environment: [SESSION_SECRET=xyz, 'X=1']\n"
            "  u:\n    image: a:1\n    environment:\n      ROOT_PASSWORD: 's3cret'\n"
            "      PRICE: $$5\n      ESCAPED_TOKEN: a$$b\n")
    (tmp_path / ".env.example").write_text("# names\nAPI_KEY=\n")
    path = os.fspath(tmp_path / "compose.yaml")
    fixed = _fixed(text, path)
    assert "      - API_KEY=${API_KEY}\n      - DB_PASSWORD_FILE=/run/secrets/pw\n" in fixed
    assert "environment: [\"SESSION_SECRET=${SESSION_SECRET}\", 'X=1']" in fixed
    assert "ROOT_PASSWORD: '${ROOT_PASSWORD}'" in fixed
    assert "ESCAPED_TOKEN: ${ESCAPED_TOKEN}" in fixed
    doc = ComposeFile(text, path)
    findings = [item for item in check(doc, Settings(COMPOSE_CODEMODS).instances("compose"))
                if item.rule == "compose-secret-literal"]
    assert len(findings) == 4
    assert not any("abc" in item.message or "s3cret" in item.message for item in findings)
    titles = [item.fix.description if item.fix else "" for item in findings]
    assert titles[2].endswith("and list it in .env.example")
    assert ".env.example" not in titles[0]  # API_KEY is already listed there
    assert load_pyyaml(fixed)[0]["services"]["t"]["environment"][0] == "SESSION_SECRET=${SESSION_SECRET}"


# -- speed ---------------------------------------------------------------------------------

def test_checking_a_dockerfile_does_not_import_ruamel(tmp_path: Path) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM python:3.12-slim\nRUN pip install flask\n")
    code = ("import sys\nfrom dfmod.cli import main\nmain(['check', sys.argv[1]])\n"
            "print('ruamel' in ' '.join(sys.modules))\n")
    result = subprocess.run([sys.executable, "-c", code, os.fspath(dockerfile)],
                            capture_output=True, text=True, check=False)
    assert result.stdout.strip().splitlines()[-1] == "False", result.stderr
