"""Suppression comments, and the report of the ones that suppress nothing."""

from __future__ import annotations

from dfmod.linting.engine import Settings, check, fix
from dfmod.linting.registry import all_codemods
from dfmod.syntax.dockerfile import Dockerfile

CACHE = all_codemods()["cache-mount-no-cache-dir"]
RUN = ("RUN --mount=type=cache,target=/root/.cache/pip \\\n"
       "    pip install --no-cache-dir -r requirements.txt\n")


def _rules(text: str, codemods: list | None = None) -> list[str]:
    settings = Settings(codemods or [CACHE])
    return [item.rule for item in check(Dockerfile(text), settings.instances(), settings)]


def test_ignore_above_the_instruction_silences_findings_inside_it() -> None:
    text = "FROM python:3.11\n# we measured: no cache here\n# dfmod: ignore[cache-mount-no-cache-dir]\n" + RUN
    assert _rules(text) == []


def test_bare_ignore_silences_every_rule() -> None:
    assert _rules("FROM python:3.11\n# dfmod: ignore\n" + RUN) == []


def test_ignore_for_another_rule_does_not_silence() -> None:
    text = "FROM python:3.11\n# dfmod: ignore[masked-failure]\n" + RUN
    assert _rules(text) == ["cache-mount-no-cache-dir"]  # masked-failure did not run


def test_ignore_must_sit_directly_above() -> None:
    text = "FROM python:3.11\n# dfmod: ignore\n\n" + RUN
    assert "cache-mount-no-cache-dir" in _rules(text)


def test_skip_file() -> None:
    assert _rules("# dfmod: skip-file\nFROM python:3.11\n" + RUN) == []


def test_unused_suppression_is_reported_and_removed_by_fix() -> None:
    text = ("FROM python:3.11\n# keep this comment\n# dfmod: ignore[cache-mount-no-cache-dir]\n"
            "RUN pip install flask\n")
    assert _rules(text) == ["unused-suppression"]
    outcome = fix(Dockerfile(text), Settings([CACHE]))
    assert outcome.text == "FROM python:3.11\n# keep this comment\nRUN pip install flask\n"
    assert fix(Dockerfile(outcome.text), Settings([CACHE])).text == outcome.text


def test_unused_report_can_be_turned_off() -> None:
    text = "FROM python:3.11\n# dfmod: ignore[cache-mount-no-cache-dir]\nRUN pip install flask\n"
    settings = Settings([CACHE], report_unused_suppressions=False)
    assert check(Dockerfile(text), settings.instances(), settings) == []


def test_used_suppression_survives_fix() -> None:
    text = "FROM python:3.11\n# dfmod: ignore[cache-mount-no-cache-dir]\n" + RUN
    assert fix(Dockerfile(text), Settings([CACHE])).text == text
