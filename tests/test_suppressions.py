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
    assert _rules("\ufeff# dfmod: skip-file\r\nFROM python:3.11\r\n" + RUN) == []  # a BOM is not line 1's text


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


# -- where a suppression sits: the anchor ------------------------------------------------

SECRET = all_codemods()["compose-secret-literal"]


def _compose_rules(text: str) -> list[str]:
    from dfmod.syntax.compose import ComposeFile

    settings = Settings([SECRET])
    return [item.rule for item in check(ComposeFile(text), settings.instances("compose"), settings)]


def test_a_suppression_on_line_one_under_a_bom_counts() -> None:
    assert _rules("\ufeff# dfmod: ignore[cache-mount-no-cache-dir]\n" + RUN) == []


def test_a_compose_value_is_suppressed_above_its_key() -> None:
    text = ("services:\n  db:\n    environment:\n      # dfmod: ignore[compose-secret-literal]\n"
            "      POSTGRES_PASSWORD:\n        hunter2\n")
    assert _compose_rules(text) == []


def test_inside_a_flow_mapping_the_key_holding_it_is_the_anchor() -> None:
    """A comment line inside `{…}` is not where a suppression goes: it is reported unused,
    and the finding stays."""
    above = ("services:\n  db:\n    # dfmod: ignore[compose-secret-literal]\n"
             "    environment: {\n      POSTGRES_PASSWORD: hunter2\n    }\n")
    assert _compose_rules(above) == []
    inside = ("services:\n  db:\n    environment: {\n"
              "      # dfmod: ignore[compose-secret-literal]\n      POSTGRES_PASSWORD: hunter2\n    }\n")
    assert sorted(_compose_rules(inside)) == ["compose-secret-literal", "unused-suppression"]
