"""Compose files judged as Compose merges them: base + override, `docker-compose.X.yml`
beside a base, `include:` and `extends:` — with findings and fixes in the file whose text
they are about.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dfmod.cli import main
from dfmod.semantic.composemerge import ComposeModel, load_compose
from dfmod.syntax.compose import ComposeFile

BASE = ("services:\n"
        "  app:\n    build: .\n"
        "  db:\n    image: postgres:16\n"
        "    healthcheck:\n      test: [\"CMD-SHELL\", \"pg_isready\"]\n")
OVERRIDE = ("services:\n"
            "  app:\n    depends_on:\n      - db\n"
            "  db:\n    environment:\n      POSTGRES_DB: dev\n")


def findings(capsys: pytest.CaptureFixture[str], *paths: str) -> list[tuple[str, int, str]]:
    main(["check", "--jobs", "1", "--format", "json", *paths])
    out, err = capsys.readouterr()
    assert "error" not in err, err
    return [(record["file"], record["line"], record["rule"]) for record in json.loads(out)]


def diff(capsys: pytest.CaptureFixture[str], *paths: str) -> str:
    main(["apply", "--jobs", "1", "--unsafe-fixes", *paths])
    return capsys.readouterr().out


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "Dockerfile").write_text("FROM python:3.12\n")
    (tmp_path / "compose.yaml").write_text(BASE)
    (tmp_path / "compose.override.yaml").write_text(OVERRIDE)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_healthcheck_in_the_base_counts_for_the_override(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    found = findings(capsys, ".")
    assert ("compose.override.yaml", 3, "compose-depends-on-healthy") in found
    assert not [item for item in found if item[2] == "compose-missing-healthcheck"]
    patch = diff(capsys, ".")
    assert "+++ b/compose.override.yaml" in patch and "+++ b/compose.yaml" not in patch
    assert "+      db:\n+        condition: service_healthy\n" in patch
    main(["apply", "--fix", "--unsafe-fixes", "--jobs", "1", "."])
    capsys.readouterr()
    assert (project / "compose.yaml").read_text() == BASE
    assert "condition: service_healthy" in (project / "compose.override.yaml").read_text()
    assert diff(capsys, ".") == ""


def test_without_the_base_the_override_is_not_judged_alone(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "overrides").mkdir()
    (tmp_path / "overrides" / "compose.dev.yaml").write_text(OVERRIDE)
    monkeypatch.chdir(tmp_path)
    assert findings(capsys, "overrides/compose.dev.yaml") == []


def test_the_base_is_judged_with_the_override(project: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    (project / "compose.yaml").write_text(
        "services:\n  app:\n    build: .\n    depends_on: [db]\n  db:\n    image: postgres:16\n")
    (project / "compose.override.yaml").write_text(
        "services:\n  db:\n    healthcheck:\n      test: [\"CMD\", \"pg_isready\"]\n")
    found = findings(capsys, "compose.yaml")
    assert found == [("compose.yaml", 4, "compose-depends-on-healthy")]
    # written again in the override: the override's entry is what Compose uses
    (project / "compose.override.yaml").write_text(
        "services:\n  app:\n    depends_on:\n      db:\n        condition: service_healthy\n"
        "  db:\n    healthcheck:\n      test: [\"CMD\", \"pg_isready\"]\n")
    assert findings(capsys, ".") == []


def test_a_compose_file_beside_a_base_is_read_with_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "docker-compose.yml").write_text(BASE.replace("build: .", "image: app:1"))
    (tmp_path / "docker-compose.prod.yml").write_text(OVERRIDE)
    (tmp_path / "docker-compose.override.yml").write_text("services:\n  db:\n    healthcheck: !reset null\n")
    monkeypatch.chdir(tmp_path)
    main(["check", "--show-files", "."])
    listed = capsys.readouterr().out
    assert "docker-compose.prod.yml  compose  merged with docker-compose.yml\n" in listed
    assert "docker-compose.yml  compose  merged with docker-compose.override.yml\n" in listed
    found = findings(capsys, "docker-compose.prod.yml")
    assert found == [("docker-compose.prod.yml", 3, "compose-depends-on-healthy")]
    # the base with its override: `!reset` removes the healthcheck; nobody depends on db there
    assert findings(capsys, "docker-compose.yml") == []


def test_include_and_extends_bring_their_services(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "db").mkdir()
    (tmp_path / "db" / "compose.yaml").write_text(
        "services:\n  db:\n    image: postgres:16\n    healthcheck:\n      test: [\"CMD\", \"true\"]\n")
    (tmp_path / "common.yml").write_text(
        "services:\n  base:\n    image: redis:7\n    healthcheck:\n      test: [\"CMD\", \"true\"]\n")
    (tmp_path / "compose.yaml").write_text(
        "include:\n  - db/compose.yaml\n"
        "services:\n  app:\n    image: app:1\n    depends_on: [db, cache]\n"
        "  cache:\n    extends:\n      file: common.yml\n      service: base\n")
    monkeypatch.chdir(tmp_path)
    main(["check", "--show-files", "compose.yaml"])
    listed = capsys.readouterr().out
    assert "db/compose.yaml  compose  [named by compose.yaml]" in listed
    assert "common.yml  compose  [named by compose.yaml]" in listed
    assert findings(capsys, "compose.yaml") == [("compose.yaml", 6, "compose-depends-on-healthy")]
    model = ComposeModel([ComposeFile((tmp_path / "compose.yaml").read_text(),
                                      str(tmp_path / "compose.yaml"))], load_compose)
    assert model.healthcheck("cache") == model.healthcheck("db") == "defined"
    assert model.service("cache").data["image"] == "redis:7"


def test_missing_healthcheck_is_reported_once_where_the_service_is_first_written(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "compose.yaml").write_text(
        "services:\n  app:\n    build: .\n    depends_on: [db]\n  db:\n    image: postgres:16\n")
    assert [item for item in findings(capsys, ".") if item[2] == "compose-missing-healthcheck"] == [
        ("compose.yaml", 5, "compose-missing-healthcheck")]
