"""What compose-secret-literal, compose-unpinned-image and compose-obsolete-version find,
what their messages say, and the shared wording of lists of names.

The false-positive classes found on real compose files (issue #14) each have a case here
that must stay silent, next to the secrets the old name heuristic missed.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dfmod.linting.edits import Finding, apply_edits
from dfmod.linting.engine import Settings, check, fix
from dfmod.linting.registry import all_codemods
from dfmod.linting.wording import agree, join_names
from dfmod.semantic.credentials import is_secret_name
from dfmod.syntax.compose import ComposeFile

SECRET = "compose-secret-literal"
IMAGE = "compose-unpinned-image"
VERSION = "compose-obsolete-version"


def _findings(text: str, rule: str, path: str = "/project/compose.yaml") -> list[Finding]:
    settings = Settings([all_codemods()[rule]], unsafe_fixes=True)
    return check(ComposeFile(text, path), settings.instances("compose"), settings)


def _fixed(text: str, rule: str, path: str = "/project/compose.yaml") -> str:
    return fix(ComposeFile(text, path), Settings([all_codemods()[rule]], unsafe_fixes=True)).text


def _service(name: str, environment: str, image: str = "ghcr.io/acme/app:1.0") -> str:
    return f"  {name}:\n    image: {image}\n    environment:\n{environment}"


# -- wording -------------------------------------------------------------------------------

@pytest.mark.parametrize(("names", "joined"), [
    ([], ""),
    (["a"], "`a`"),
    (["a", "b"], "`a` and `b`"),
    (["a", "b", "c"], "`a`, `b` and `c`"),
    (["a", "b", "a"], "`a` and `b`"),
    (list("abcdefg"), "`a`, `b`, `c`, `d`, `e` and 2 more"),
])
def test_join_names(names: list[str], joined: str) -> None:
    assert join_names(names) == joined


def test_join_names_unquoted_and_agreement() -> None:
    assert join_names(["the URL", "a key"], quote=False) == "the URL and a key"
    assert agree(["db"], "it", "they") == "it"
    assert agree(["db", "cache"], "it", "they") == "they"
    assert agree(["db", "db"], "is", "are") == "is"


# -- compose-secret-literal: names ---------------------------------------------------------

@pytest.mark.parametrize(("name", "secret"), [
    ("POSTGRES_PASSWORD", True), ("PGPASSWORD", True), ("DB_PASS", True), ("RABBITMQ_DEFAULT_PASS", True),
    ("DB_PASSWD", True), ("MYSQL_PWD", True), ("APPDBPASS", True), ("API_KEY", True),
    ("GITHUB_TOKEN", True), ("JWT_SECRET", True), ("AWS_SECRET_ACCESS_KEY", True),
    ("MINIO_SECRET_KEY", True),
    ("MYSQL_ALLOW_EMPTY_PASSWORD", False), ("MARIADB_ALLOW_EMPTY_ROOT_PASSWORD", False),
    ("MYSQL_RANDOM_ROOT_PASSWORD", False), ("ALLOW_EMPTY_PASSWORD", False),
    ("ENABLE_PASSWORD", False), ("MINIO_ACCESS_KEY", False), ("AWS_ACCESS_KEY_ID", False),
    ("JWT_PUBLIC_KEY", False), ("STRIPE_PUBLISHABLE_KEY", False), ("POSTGRES_USER", False),
    ("DB_USERNAME", False), ("POSTGRES_PASSWORD_FILE", False), ("PWD", False), ("OLDPWD", False),
    ("BYPASS", False), ("KEY", False), ("PASSWORD_MIN_LENGTH", False),
])
def test_secret_names(name: str, secret: bool) -> None:
    assert is_secret_name(name) is secret


@pytest.mark.parametrize("value", ["yes", "no", "true", "False", "1", "0", "on", "off"])
def test_a_yes_no_answer_is_not_a_secret(value: str) -> None:
    text = "services:\n" + _service("s", f"      DB_PASSWORD: \"{value}\"\n")
    assert _findings(text, SECRET) == []


def test_the_old_heuristic_misses_are_found() -> None:
    text = "services:\n" + _service("s", "      DB_PASS: a1\n      DB_PASSWD: b2\n      DB_PWD: c3\n"
                                        "      APPDBPASS: d4\n")
    assert len(_findings(text, SECRET)) == 4


# -- compose-secret-literal: one credential, one fix ----------------------------------------

SHARED = ("services:\n"
          + _service("db", "      POSTGRES_PASSWORD: pg-pw-1\n", "postgres:16.4")
          + _service("app", "      - DB_PASSWD=pg-pw-1\n      - DATABASE_URL=postgres://app:pg-pw-1@db/app\n"))


def test_a_credential_shared_by_a_database_and_its_client_is_one_fix(tmp_path: Path) -> None:
    (tmp_path / ".env.example").write_text("TZ=\n")
    path = os.fspath(tmp_path / "compose.yaml")
    [finding] = _findings(SHARED, SECRET, path)
    assert finding.fix is not None and len(finding.fix.edits) == 3
    assert [(item.path, item.line) for item in finding.fix.companions] == [
        (os.fspath(tmp_path / ".env.example"), "POSTGRES_PASSWORD=")]
    assert finding.message == ("`POSTGRES_PASSWORD`, `DB_PASSWD` and `DATABASE_URL`'s password hold "
                               "the same literal secret, committed with the compose file")
    assert finding.fix.description == ("Use `${POSTGRES_PASSWORD}` interpolation in all 3 places and "
                                       "list it in .env.example")
    assert "pg-pw-1" not in finding.message
    fixed = apply_edits(SHARED, list(finding.fix.edits))
    assert "POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}\n" in fixed
    assert "- DB_PASSWD=${POSTGRES_PASSWORD}\n" in fixed
    assert "- DATABASE_URL=postgres://app:${POSTGRES_PASSWORD}@db/app\n" in fixed


def test_a_url_password_alone_is_named_after_the_url() -> None:
    text = "services:\n" + _service("app", "      REDIS_URL: 'redis://:r-pw@cache:6379/0'\n"
                                           "      MAIL_URL: smtp://mailer:m-pw@mail:587\n")
    fixed = _fixed(text, SECRET)
    assert "REDIS_URL: 'redis://:${REDIS_PASSWORD}@cache:6379/0'" in fixed
    assert "MAIL_URL: smtp://mailer:${MAIL_PASSWORD}@mail:587" in fixed  # the user stays
    messages = [item.message for item in _findings(text, SECRET)]
    assert messages[0].startswith("`REDIS_URL` has a literal password in its URL, ")


def test_a_literal_default_is_dropped_everywhere_its_variable_has_it() -> None:
    text = ("services:\n"
            + _service("db", "      - NEO4J_AUTH=neo4j/${NEO4J_PASSWORD-password}\n", "neo4j:5.26")
            + _service("api", "      - NEO4J_PASSWORD=${NEO4J_PASSWORD-password}\n"))
    [finding] = _findings(text, SECRET)
    assert finding.message.startswith(
        "`NEO4J_PASSWORD` falls back to a literal secret in 2 services whenever it is unset")
    fixed = _fixed(text, SECRET)
    assert "NEO4J_AUTH=neo4j/${NEO4J_PASSWORD}\n" in fixed
    assert "NEO4J_PASSWORD=${NEO4J_PASSWORD}\n" in fixed


def test_a_default_of_another_variable_keeps_that_variable() -> None:
    text = "services:\n" + _service("db", "      MYSQL_ROOT_PASSWORD: ${DB_PASSWORD:-123}\n", "mariadb:11.8")
    [finding] = _findings(text, SECRET)
    assert finding.message.startswith("`DB_PASSWORD` falls back to a literal secret whenever it is unset")
    assert "MYSQL_ROOT_PASSWORD: ${DB_PASSWORD}\n" in _fixed(text, SECRET)


@pytest.mark.parametrize("value", ["${DB_PASSWORD}", "$DB_PASSWORD", "${DB_PASSWORD:?set it}",
                                   "${DB_PASSWORD:-}", "postgres://u:${PW}@db"])
def test_values_that_are_interpolations_are_not_literals(value: str) -> None:
    text = "services:\n" + _service("s", f"      DB_PASSWORD: \"{value}\"\n      URL: \"{value}\"\n")
    assert _findings(text, SECRET) == []


def test_an_escaped_default_is_shell_text_not_interpolation() -> None:
    text = ("services:\n  db:\n    image: mysql:8.4\n    healthcheck:\n"
            "      test: [\"CMD-SHELL\", \"mysqladmin ping -p$${DB_PASSWORD:-x}\"]\n")
    assert _findings(text, SECRET) == []


def test_the_same_text_in_a_command_withholds_the_fix() -> None:
    text = ("services:\n  cache:\n    image: redis:7.4\n    command: redis-server --requirepass r-pw\n"
            + _service("app", "      REDIS_PASSWORD: r-pw\n"))
    [finding] = _findings(text, SECRET)
    assert finding.fix is None
    assert finding.message.endswith("and also in `command` of `cache`: fix it by hand")


def test_two_databases_get_a_variable_each() -> None:
    text = ("services:\n" + _service("db", "      POSTGRES_PASSWORD: one\n", "postgres:16.4")
            + _service("db-2", "      POSTGRES_PASSWORD: two\n", "postgres:16.4"))
    fixed = _fixed(text, SECRET)
    assert "POSTGRES_PASSWORD: ${DB_POSTGRES_PASSWORD}\n" in fixed
    assert "POSTGRES_PASSWORD: ${DB_2_POSTGRES_PASSWORD}\n" in fixed


def test_a_variable_only_referenced_elsewhere_is_reused() -> None:
    text = ("services:\n" + _service("db", "      POSTGRES_PASSWORD: one\n", "postgres:16.4")
            + _service("app", "      DATABASE_URL: postgres://app:${POSTGRES_PASSWORD}@db/app\n"))
    assert "POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}\n" in _fixed(text, SECRET)


def test_files_in_a_test_directory_are_not_checked(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    for directory in ("tests/e2e", "test", "docker"):
        (tmp_path / directory).mkdir(parents=True, exist_ok=True)
    text = "services:\n" + _service("s", "      LDAP_QUERY_PASSWORD: GoodNewsEveryone\n")
    assert _findings(text, SECRET, os.fspath(tmp_path / "tests" / "e2e" / "compose.yml")) == []
    assert _findings(text, SECRET, os.fspath(tmp_path / "test" / "compose.yml")) == []
    assert len(_findings(text, SECRET, os.fspath(tmp_path / "docker" / "compose.yml"))) == 1


def test_a_repository_checked_out_under_a_tests_directory_is_still_checked(tmp_path: Path) -> None:
    repository = tmp_path / "tests" / "project"
    (repository / ".git").mkdir(parents=True)
    text = "services:\n" + _service("s", "      API_KEY: k-123\n")
    assert len(_findings(text, SECRET, os.fspath(repository / "compose.yaml"))) == 1


def test_reset_is_not_a_value() -> None:
    text = "services:\n" + _service("s", "      POSTGRES_PASSWORD: !reset null\n")
    assert _findings(text, SECRET) == []


# -- compose-unpinned-image ----------------------------------------------------------------

@pytest.mark.parametrize(("image", "words"), [
    ("redis", "`redis` with no tag, that is `latest`"),
    ("redis:latest", "`redis:latest`, which moves with every push"),
    ("ollama/ollama:latest-rocm", "`ollama/ollama:latest-rocm`, which moves with every push"),
    ("redis:alpine", "`redis:alpine`, a variant that moves"),
    ("python:slim", "`python:slim`, a variant"),
    ("node:lts", "`node:lts`, a release channel"),
    ("node:lts-alpine", "`node:lts-alpine`, a release channel"),
    ("nginx:stable-alpine", "`nginx:stable-alpine`, a release channel"),
    ("ghcr.io/acme/app:main", "`ghcr.io/acme/app:main`, a development branch"),
    ("ghcr.io/acme/app:develop", "`ghcr.io/acme/app:develop`, a development branch"),
    ("alpine:edge", "`alpine:edge`, a development branch"),
    ("debian:unstable", "`debian:unstable`, a development branch"),
    ("redis:7.4-alpine", None), ("node:22-slim", None), ("debian:bookworm", None),
    ("ghcr.io/acme/app:main-3f2a9c1", None), ("ghcr.io/acme/app:v1.2.3", None),
])
def test_tags_that_name_no_version(image: str, words: str | None) -> None:
    found = _findings(f"services:\n  s:\n    image: {image}\n", IMAGE)
    if words is None:
        assert found == []
    else:
        assert [words in item.message for item in found] == [True]


def test_an_image_is_reported_once_naming_its_services() -> None:
    services = "".join(f"  s{index}:\n    image: redis:alpine\n" for index in range(7))
    [finding] = _findings("services:\n" + services + "  one:\n    image: nginx\n", IMAGE)[:1]
    assert finding.message.startswith("`s0`, `s1`, `s2` and 4 more run `redis:alpine`, ")
    two = _findings("services:\n  a:\n    image: nginx\n  b:\n    image: nginx\n", IMAGE)
    assert [item.message.split(" with ")[0] for item in two] == ["`a` and `b` run `nginx`"]
    one = _findings("services:\n  a:\n    image: nginx\n", IMAGE)
    assert one[0].message.startswith("`a` runs `nginx` with no tag")


@pytest.mark.parametrize("service", [
    "    image: server\n    build: .\n",
    "    image: ghcr.io/acme/app:latest\n    build: ./app\n",
    "    image: acme/app\n    build: ./app\n    pull_policy: build\n",
    "    image: acme/app:main\n    build: {context: .}\n    pull_policy: never\n",
])
def test_a_built_image_is_not_reported(service: str) -> None:
    assert _findings("services:\n  s:\n" + service, IMAGE) == []


def test_a_service_running_an_image_built_in_the_file_is_not_reported() -> None:
    text = ("services:\n  app:\n    image: acme/app\n    build: .\n"
            "  worker:\n    image: acme/app\n    command: worker\n")
    assert _findings(text, IMAGE) == []


# -- compose-obsolete-version --------------------------------------------------------------

@pytest.mark.parametrize(("text", "fixed"), [
    ('version: "3.8"\n\nservices: {}\n', "services: {}\n"),
    ('version: "3.8"\n\n  \n\nservices: {}\n', "services: {}\n"),
    ('\ufeffversion: "3.8"\r\n\r\nservices: {}\r\n', "\ufeffservices: {}\r\n"),
    ('# stack\nversion: "3.8"\n\nservices: {}\n', "# stack\n\nservices: {}\n"),
    ('services: {}\nversion: "3.8"\n\nvolumes: {}\n', "services: {}\n\nvolumes: {}\n"),
    ('version: "3.8"\n', ""),
])
def test_version_removal_leaves_no_blank_first_line(text: str, fixed: str) -> None:
    assert _fixed(text, VERSION) == fixed
