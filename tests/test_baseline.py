"""`dfmod check --write-baseline FILE` / `--baseline FILE`: findings matched by file, rule and
the instruction's or key's text, so moved code stays baselined and edited code does not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dfmod.cli import main

CACHE_RUN = "RUN --mount=type=cache,target=/root/.cache/pip pip install --no-cache-dir flask"
DOCKERFILE = f"FROM python:3.11\nWORKDIR /app\n{CACHE_RUN}\n"
COMPOSE = ("services:\n  db:\n    image: postgres:latest\n"
           "    healthcheck: {test: [CMD, pg_isready]}\n")


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / ".git").mkdir()
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "Dockerfile").write_text(DOCKERFILE)
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    status = main(["check", "--jobs", "1", *args])
    out = capsys.readouterr().out
    return status, [line for line in out.splitlines() if not line.startswith(("Found", "No "))]


def _baselined(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--jobs", "1", "--write-baseline", "baseline.json", "."]) == 0
    assert capsys.readouterr().out == "Wrote 2 findings in 2 files to baseline.json.\n"


def test_the_file_is_sorted_one_finding_a_line(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _baselined(repo, capsys)
    text = (repo / "baseline.json").read_text()
    assert text == (
        '{"version": 1, "findings": [\n'
        '  {"file": "app/Dockerfile", "rule": "cache-mount-no-cache-dir", "anchor": '
        f'"{CACHE_RUN}", "count": 1}},\n'
        '  {"file": "compose.yaml", "rule": "compose-unpinned-image", "anchor": '
        '"services.db.image: postgres:latest", "count": 1}\n'
        ']}\n')
    assert json.loads(text)["version"] == 1
    assert _check(capsys, "--baseline", "baseline.json", ".") == (0, [])


def test_moved_and_reindented_code_stays_baselined(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _baselined(repo, capsys)
    run = CACHE_RUN.replace(" pip install", " \\\n      pip   install")
    (repo / "app" / "Dockerfile").write_text(f"FROM python:3.11\n\n# moved down\nENV A=1\n{run}\nWORKDIR /app\n")
    (repo / "compose.yaml").write_text(
        "services:\n    cache:\n        image: redis:7.2\n        healthcheck: {test: [CMD, redis-cli, ping]}\n"
        "    db:\n        healthcheck: {test: [CMD, pg_isready]}\n        image: 'postgres:latest'\n")
    assert _check(capsys, "--baseline", "baseline.json", ".") == (0, [])


def test_an_edited_instruction_or_value_is_reported_again(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _baselined(repo, capsys)
    (repo / "app" / "Dockerfile").write_text(DOCKERFILE.replace("flask", "flask gunicorn"))
    (repo / "compose.yaml").write_text(COMPOSE.replace("postgres:latest", "postgres:alpine"))
    status, lines = _check(capsys, "--baseline", "baseline.json", ".")
    assert status == 1
    assert sorted(line.split()[1] for line in lines) == ["cache-mount-no-cache-dir",
                                                         "compose-unpinned-image"]


def test_duplicates_are_counted(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "app" / "Dockerfile").write_text(f"FROM python:3.11\n{CACHE_RUN}\n{CACHE_RUN}\n")
    assert main(["check", "--jobs", "1", "--write-baseline", "baseline.json", "."]) == 0
    capsys.readouterr()
    assert '"count": 2' in (repo / "baseline.json").read_text()
    (repo / "app" / "Dockerfile").write_text(f"FROM python:3.11\n{CACHE_RUN}\n{CACHE_RUN}\n{CACHE_RUN}\n")
    status, lines = _check(capsys, "--baseline", "baseline.json", ".")
    assert (status, len(lines)) == (1, 1)
    assert lines[0].startswith("app/Dockerfile:4:")  # the first two in the file are absorbed


def test_a_deleted_file_leaves_its_entries_unmatched(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _baselined(repo, capsys)
    (repo / "app" / "Dockerfile").unlink()
    assert _check(capsys, "--baseline", "baseline.json", ".") == (0, [])
    (repo / "app" / "Dockerfile").write_text(DOCKERFILE)  # back: still baselined
    assert _check(capsys, "--baseline", "baseline.json", ".") == (0, [])


def test_paths_are_relative_to_the_repository(repo: Path, capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    _baselined(repo, capsys)
    monkeypatch.chdir(repo / "app")
    assert _check(capsys, "--baseline", "../baseline.json", ".") == (0, [])


@pytest.mark.parametrize(("content", "message"), [
    (None, "no such file"), ("{", "cannot read"), ('{"version": 2, "findings": []}', "version 1"),
    ('{"version": 1, "findings": [{"file": 1}]}', "not a dfmod baseline")])
def test_a_bad_baseline_is_an_error(repo: Path, capsys: pytest.CaptureFixture[str],
                                    content: str | None, message: str) -> None:
    if content is not None:
        (repo / "baseline.json").write_text(content)
    assert main(["check", "--jobs", "1", "--baseline", "baseline.json", "."]) == 2
    assert message in capsys.readouterr().err


def test_comments_and_a_baseline_are_alternatives(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--add-ignore", "--baseline", "baseline.json", "."]) == 2
    assert "alternatives" in capsys.readouterr().err
