"""compose-missing-healthcheck and compose-depends-on-healthy on the shapes issue #14 found
on real stacks: images that ship their own `HEALTHCHECK`, healthchecks in the base file of
an override, dependants content with `service_started`, `condition: service_healthy` on a
service without any healthcheck (Compose fails), probes that only work by image and
version, healthchecks that can never pass, and the wording of their messages.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from dfmod.cli import main
from dfmod.linting.edits import Finding
from dfmod.linting.engine import Settings, check
from dfmod.linting.registry import all_codemods
from dfmod.semantic.images import (
    SHIPS_HEALTHCHECK,
    container_ports,
    image_healthcheck,
    lacks,
    parse_image,
    probe,
)
from dfmod.syntax.compose import ComposeFile

MISSING = "compose-missing-healthcheck"
HEALTHY = "compose-depends-on-healthy"


def _findings(text: str, rule: str, directory: Path | None = None) -> list[Finding]:
    path = os.fspath((directory or Path("/project")) / "compose.yaml")
    settings = Settings([all_codemods()[rule]], unsafe_fixes=True)
    return check(ComposeFile(text, path), settings.instances("compose"), settings)


def _messages(text: str, rule: str = MISSING, directory: Path | None = None) -> list[str]:
    return [finding.message for finding in _findings(text, rule, directory)]


# -- what images ship ------------------------------------------------------------------------

@pytest.mark.parametrize(("image", "registry", "repository", "tag"), [
    ("postgres:16", "docker.io", "library/postgres", "16"),
    ("docker.io/library/redis", "docker.io", "library/redis", None),
    ("prom/prometheus:v3.1.0", "docker.io", "prom/prometheus", "v3.1.0"),
    ("ghcr.io/immich-app/postgres:14-vectorchord0.4.3@sha256:" + "0" * 64, "ghcr.io",
     "immich-app/postgres", "14-vectorchord0.4.3"),
    ("localhost:5000/app:1.2", "localhost:5000", "app", "1.2"),
])
def test_parse_image(image: str, registry: str, repository: str, tag: str | None) -> None:
    ref = parse_image(image)
    assert ref is not None and (ref.registry, ref.repository, ref.tag) == (registry, repository, tag)


def test_an_interpolated_image_is_not_known() -> None:
    assert parse_image("${CUSTOM_IMAGE:-frappe/erpnext}:v15") is None


@pytest.mark.parametrize(("image", "ships"), [
    ("gitlab/gitlab-ce:17.5.2-ce.0", True), ("gitlab/gitlab-ee", True),
    ("vaultwarden/server:1.32.5", True), ("axllent/mailpit", True),
    ("axllent/mailpit:v1.21.8", True), ("axllent/mailpit:v1.14.0", None),  # before v1.15.1
    ("qmcgaw/gluetun:v3.39.1", True), ("ghcr.io/qdm12/gluetun", True),
    ("ghcr.io/immich-app/postgres:14-vectorchord0.4.3", True),
    ("postgres:16", False), ("redis:7-alpine", False),  # official images ship none
    ("registry.example.com/team/app:1.0", None), ("jaegertracing/all-in-one:1.76.0", None),
])
def test_image_healthcheck(image: str, ships: bool | None) -> None:
    assert image_healthcheck(parse_image(image)) is ships


def test_every_shipped_healthcheck_names_its_source() -> None:
    assert all("HEALTHCHECK" in entry.source for entry in SHIPS_HEALTHCHECK)


@pytest.mark.parametrize(("image", "ports", "expected"), [
    ("postgres:16-alpine", [], "pg_isready"),
    ("postgres:16", [5433], None),  # it listens elsewhere
    ("postgis/postgis:16-3.4", [5432], "pg_isready"),
    ("mariadb:11.4", [], "healthcheck.sh"), ("mariadb", [], "healthcheck.sh"),
    ("mariadb:10.6", [], "mysqladmin"), ("mariadb:10", [], "mysqladmin"),
    ("mysql:8.4", [3306], "mysqladmin"),
    ("mongo:7.0", [], "mongosh"), ("mongo:5.0", [], "\"mongo\""), ("mongo:4.4", [], "\"mongo\""),
    ("rabbitmq:3.13-management", [5672], "rabbitmq-diagnostics"),
    ("rabbitmq:3-management", [], "rabbitmq-diagnostics"),  # the newest 3.x
    ("rabbitmq:3.7", [], None),
    ("prom/prometheus:v3.1.0", [9090], "wget"), ("prom/prometheus:v1.8.2", [], None),
    ("valkey/valkey:8.0-alpine", [], "valkey-cli"), ("redis:alpine", [], "redis-cli"),
    ("bitnami/kafka:3.9", [9092], None), ("jaegertracing/all-in-one:1.76.0", [14269], None),
    ("clickhouse/clickhouse-server:22.9-alpine", [8123], None),
])
def test_a_probe_only_where_it_works(image: str, ports: list[int], expected: str | None) -> None:
    found = probe(parse_image(image), ports)
    assert (found is None) if expected is None else (found is not None and expected in found)
    assert found is None or "curl" not in found


@pytest.mark.parametrize(("image", "program", "missing"), [
    ("python:3.12-slim", "curl", True), ("python:3.10-slim-bookworm", "wget", True),
    ("python:3.12-alpine", "curl", True), ("python:3.12-alpine", "wget", False),  # BusyBox
    ("python:3.12", "curl", False), ("alpine:3.20", "curl", True), ("alpine:3.20", "wget", False),
    ("debian:bookworm-slim", "wget", True), ("ubuntu:24.04", "curl", True),
    ("nginx:1.27", "curl", False), ("registry.example.com/python:3.12-slim", "curl", False),
])
def test_lacks(image: str, program: str, missing: bool) -> None:
    assert lacks(parse_image(image), program) is missing


def test_container_ports() -> None:
    data = {"expose": ["5432", 8000], "ports": ["127.0.0.1:8080:80/tcp", {"target": 443}, "9000-9001"]}
    assert container_ports(data) == [5432, 8000, 80, 443]


# -- compose-missing-healthcheck ------------------------------------------------------------

def test_an_image_that_ships_a_healthcheck_is_not_reported() -> None:
    text = ("services:\n  app:\n    image: a:1\n    depends_on: [mail, git]\n"
            "  mail:\n    image: axllent/mailpit:v1.21.8\n  git:\n    image: gitlab/gitlab-ce:17.5.2-ce.0\n")
    assert _messages(text) == []


def test_an_official_image_is_known_to_ship_none() -> None:
    [message] = _messages("services:\n  app:\n    image: a:1\n    depends_on: [db]\n"
                          "  db:\n    image: postgres:16\n")
    assert message == "`db` has no healthcheck, so `app` can start before it is ready; `pg_isready` can probe it"


def test_an_unknown_image_may_define_a_healthcheck() -> None:
    [message] = _messages("services:\n  app:\n    image: a:1\n    depends_on: [jaeger]\n"
                          "  jaeger:\n    image: jaegertracing/all-in-one:1.76.0\n"
                          "    ports: ['5775:5775/udp', '16686:16686']\n")
    assert "has no healthcheck in the compose files" in message
    assert message.endswith("can start before it is ready (unless its image has one)")
    assert "probe" not in message and "curl" not in message


def test_dependants_are_joined_and_agree() -> None:
    dependants = [f"w{index}" for index in range(7)]
    services = "".join(f"  {name}:\n    image: a:1\n    depends_on: [db]\n" for name in dependants)
    [seven] = _messages(f"services:\n{services}  db:\n    image: redis:7.4\n")
    assert seven.startswith("`db` has no healthcheck, so `w0`, `w1`, `w2` and 4 more can start")
    [two] = _messages("services:\n  b:\n    image: a:1\n    depends_on: [db]\n"
                      "  a:\n    image: a:1\n    depends_on: [db]\n  db:\n    image: redis:7.4\n")
    assert two.startswith("`db` has no healthcheck, so `a` and `b` can start")


def test_dependants_that_ask_for_started_are_content() -> None:
    text = ("services:\n  app:\n    image: a:1\n    depends_on:\n      db:\n"
            "        condition: service_started\n"
            "  job:\n    image: a:1\n    depends_on:\n      db:\n"
            "        condition: service_completed_successfully\n"
            "  db:\n    image: postgres:16\n")
    assert _messages(text) == []
    # the same, short-form: nobody asked for started, so it is reported
    assert len(_messages(text.replace("    depends_on:\n      db:\n        condition: service_started\n",
                                      "    depends_on: [db]\n"))) == 1


def test_service_healthy_without_any_healthcheck_fails_compose_up() -> None:
    text = ("services:\n  front-end:\n    image: a:1\n    depends_on:\n      api:\n"
            "        condition: service_healthy\n  api:\n    image: redis:7.4\n    container_name: api\n")
    [message] = _messages(text)
    assert message == ("`front-end` waits for `api` to be healthy, but it has no healthcheck: "
                       "`docker compose up` fails; `redis-cli` can probe it")
    unknown = _messages(text.replace("redis:7.4", "registry.example.com/api:1.0"))[0]
    assert unknown == ("`front-end` waits for `api` to be healthy, but it has no healthcheck in the "
                       "compose files: `docker compose up` fails (unless its image has one)")


def test_service_healthy_on_a_disabled_healthcheck_fails_and_optional_does_not() -> None:
    text = ("services:\n  app:\n    image: a:1\n    depends_on:\n      db:\n"
            "        condition: service_healthy\n"
            "  db:\n    image: registry.example.com/db:1.0\n    healthcheck:\n      disable: true\n")
    [message] = _messages(text)
    assert message == "`app` waits for `db` to be healthy, but its healthcheck is disabled: `docker compose up` fails"
    optional = text.replace("service_healthy\n", "service_healthy\n        required: false\n")
    assert _messages(optional) == []  # disabled on purpose, and Compose only warns


def test_a_built_service_reads_its_stage_and_base(tmp_path: Path) -> None:
    (tmp_path / "db").mkdir()
    (tmp_path / "db" / "Dockerfile").write_text(
        "ARG PG=16\nFROM postgres:${PG}\nCOPY init.sql /docker-entrypoint-initdb.d/\n")
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / "Dockerfile").write_text(
        "FROM python:3.12-slim AS base\nHEALTHCHECK CMD python -c 'print(1)'\n"
        "FROM base AS serve\nCMD [\"python\", \"-m\", \"http.server\"]\nFROM base AS debug\nHEALTHCHECK NONE\n")
    text = ("services:\n  app:\n    image: a:1\n    depends_on: [db, api, debug, gone]\n"
            "  check:\n    image: a:1\n    depends_on: {debug: {condition: service_healthy}}\n"
            "  db:\n    build: ./db\n    expose: ['5432']\n"
            "  api:\n    build: {context: ./api, target: serve}\n"
            "  debug:\n    build: {context: ./api, target: debug}\n"
            "  gone:\n    build: ./not-checked-out\n")
    services = {"db", "api", "debug", "gone"}
    messages = {next(name for name in message.split("`")[1::2] if name in services): message
                for message in _messages(text, directory=tmp_path)}
    # db: FROM postgres:16, no HEALTHCHECK anywhere; api inherits the base stage's; debug
    # turns it off (HEALTHCHECK NONE), on purpose, but `check` waits for it; gone cannot be read
    assert set(messages) == {"db", "debug"}
    assert "`db` has no healthcheck," in messages["db"] and "pg_isready" in messages["db"]
    assert messages["debug"].startswith("`check` waits for `debug` to be healthy, but its healthcheck "
                                        "is disabled")


def test_a_built_service_on_an_unknown_base_says_so(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM registry.example.com/base/python:3.12\n")
    [message] = _messages("services:\n  app:\n    image: a:1\n    depends_on: [api]\n"
                          "  api:\n    build: .\n", directory=tmp_path)
    assert message.endswith("(unless its base `registry.example.com/base/python:3.12` has one)")


def findings(capsys: pytest.CaptureFixture[str], *paths: str) -> list[tuple[str, int, str]]:
    main(["check", "--jobs", "1", "--format", "json", *paths])
    out, err = capsys.readouterr()
    assert "error" not in err, err
    return [(record["file"], record["line"], record["message"]) for record in json.loads(out)]


def test_an_override_whose_base_has_the_healthcheck(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "docker-compose.yml").write_text(
        "services:\n  db:\n    image: postgres:16\n    healthcheck:\n"
        "      test: [\"CMD-SHELL\", \"pg_isready -U postgres\"]\n  web:\n    image: web:1\n")
    (tmp_path / "docker-compose.prod.yml").write_text(
        "services:\n  web:\n    image: web:2\n    depends_on: [db]\n"
        "  db:\n    image: postgres:16.4\n    environment:\n      POSTGRES_DB: prod\n")
    monkeypatch.chdir(tmp_path)
    reported = findings(capsys, "--select", MISSING, ".")
    assert reported == []  # the prod file is read with its base, where db's healthcheck is
    # and the same override alone (no base beside it) is reported
    (tmp_path / "docker-compose.yml").unlink()
    assert [line for _, line, _ in findings(capsys, "--select", MISSING, ".")] == [5]


def test_an_override_of_a_base_in_another_directory_is_not_judged(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "docker").mkdir()
    (tmp_path / "docker" / "django").mkdir()
    (tmp_path / "docker" / "django" / "Dockerfile").write_text("FROM python:3.12-slim\n")
    (tmp_path / "docker-compose.yml").write_text(
        "services:\n  web:\n    build: {context: ., dockerfile: ./docker/django/Dockerfile}\n"
        "    healthcheck:\n      test: [\"CMD\", \"python\", \"-c\", \"print(1)\"]\n")
    (tmp_path / "docker" / "docker-compose.prod.yml").write_text(
        "services:\n  caddy:\n    image: caddy:2.8\n    depends_on: [web]\n"
        "  web:\n    image: registry.example.com/web:latest\n    build:\n      target: production\n")
    monkeypatch.chdir(tmp_path)
    # -f docker-compose.yml -f docker/docker-compose.prod.yml: alone, web's build names
    # docker/Dockerfile, which is not there: nothing is known about its image
    assert findings(capsys, "--select", MISSING, ".") == []


# -- compose-depends-on-healthy -------------------------------------------------------------

DB = ("  db:\n    image: postgres:16\n    healthcheck:\n"
      "      test: [\"CMD-SHELL\", \"pg_isready -U postgres\"]\n      start_period: 10s\n")
CACHE = "  cache:\n    image: redis:7.4\n    healthcheck:\n      test: [\"CMD\", \"redis-cli\", \"ping\"]\n"


def test_depends_on_message_agrees() -> None:
    [one] = _messages(f"services:\n  app:\n    image: a:1\n    depends_on: [db]\n{DB}", HEALTHY)
    assert one == "`app` starts as soon as `db` starts, before its healthcheck passes"
    [two] = _messages(f"services:\n  app:\n    image: a:1\n    depends_on: [db, cache]\n{DB}"
                      + CACHE.replace("ping\"]\n", "ping\"]\n      interval: 5s\n      retries: 20\n"),
                      HEALTHY)
    assert two == "`app` starts as soon as `db` and `cache` start, before their healthchecks pass"


def test_depends_on_mentions_start_period_when_the_window_is_short() -> None:
    text = f"services:\n  app:\n    image: a:1\n    depends_on: [db]\n{DB}".replace(
        "      start_period: 10s\n", "      interval: 2s\n      retries: 5\n")
    [message] = _messages(text, HEALTHY)
    assert message.endswith(" (waiting gives up after 5 × 2s: no `start_period`)")
    # Docker's defaults (3 × 30s) and a long enough window are not mentioned
    assert "start_period" not in _messages(text.replace("      interval: 2s\n      retries: 5\n", ""),
                                           HEALTHY)[0]
    assert "start_period" not in _messages(text.replace("interval: 2s", "interval: 1m"), HEALTHY)[0]


def test_a_healthcheck_that_never_passes_is_not_waited_for(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM python:3.12-slim\nRUN pip install --no-cache-dir gradio\n")
    app = ("  app:\n    build: .\n    healthcheck:\n"
           "      test: [\"CMD\", \"curl\", \"-f\", \"http://localhost:8000/\"]\n")
    [alone] = _findings(f"services:\n  nginx:\n    image: nginx:1.27\n    depends_on: [app]\n{app}",
                        HEALTHY, tmp_path)
    assert alone.fix is None
    assert alone.message == ("`app`'s healthcheck runs `curl`, which its base `python:3.12-slim` lacks, "
                             "so `nginx` cannot wait for it to be healthy")
    # an image that installs curl, or may: its probe is trusted
    (tmp_path / "Dockerfile").write_text("FROM python:3.12-slim\nRUN apt-get update && apt-get install -y curl\n")
    [trusted] = _findings(f"services:\n  nginx:\n    image: nginx:1.27\n    depends_on: [app]\n{app}",
                          HEALTHY, tmp_path)
    assert trusted.fix is not None


def test_duration_parsing() -> None:
    from codemods.compose_depends_on_healthy import _seconds

    assert _seconds("1m30s") == 90 and _seconds("500ms") == 0.5 and _seconds("2h") == 7200
    assert _seconds("10") is None and _seconds("") is None and _seconds(None) is None
