"""`--output-format full|gitlab|junit`, `--statistics`, `--exit-zero`, `--exit-non-zero-on-fix`
and `--quiet` (issue #15), through the real CLI and on hand-made findings.

GitLab's Code Quality report is checked against `CODE_QUALITY`, a JSON Schema written here
from the fields GitLab documents for a custom tool's report ("Code Quality report format":
`description`, `check_name`, `fingerprint`, `severity`, `location.path`,
`location.lines.begin`). The JUnit report is checked against what the consumers read and
Jenkins's `junit-10.xsd` requires (`JUNIT_ATTRIBUTES`); with `DFMOD_JUNIT_XSD` naming a
copy of that schema (pytest's sdist has one: `testing/example_scripts/junit-10.xsd`) and
`xmlschema` installed, the report is also validated against it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from dfmod.linting.edits import Applicability, Edit, Finding, Fix
from dfmod.linting.located import Located
from dfmod.linting.registry import all_codemods
from dfmod.output import formats
from dfmod.output.full import Full
from dfmod.output.junit import Junit
from dfmod.output.rulesdoc import docs_url
from dfmod.syntax.text import Span
from terminal import on_a_terminal

jsonschema = pytest.importorskip("jsonschema")

ROOT = Path(__file__).resolve().parent.parent
SEED_000 = ROOT / "golden/cache-mount-no-cache-dir/seed-000"
GOLDEN_INPUTS = sorted(str(path.relative_to(ROOT)) for path in (ROOT / "golden").glob("*/*/input"))
ANSI = re.compile(r"\x1b\[[0-9;]*m")
CODEMODS = list(all_codemods().values())

CODE_QUALITY = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["description", "check_name", "fingerprint", "severity", "location"],
        "properties": {
            "description": {"type": "string", "minLength": 1},
            "check_name": {"type": "string", "minLength": 1},
            "fingerprint": {"type": "string", "minLength": 1},
            "severity": {"enum": ["info", "minor", "major", "critical", "blocker"]},
            "location": {
                "type": "object",
                "required": ["path", "lines"],
                "properties": {
                    # Relative to the repository, not prefixed with `./`.
                    "path": {"type": "string", "pattern": "^(?!\\./)(?!/)[^\\\\]+$"},
                    "lines": {"type": "object", "required": ["begin"],
                              "properties": {"begin": {"type": "integer", "minimum": 1},
                                             "end": {"type": "integer", "minimum": 1}}},
                },
            },
        },
    },
}
# Per element: the attributes junit-10.xsd allows and, first, those it (or GitLab) requires.
JUNIT_ATTRIBUTES = {
    "testsuites": ((), {"name", "time", "tests", "failures", "errors"}),
    "testsuite": (("name", "tests", "failures", "errors"),
                  {"name", "tests", "failures", "errors", "group", "time", "skipped", "timestamp",
                   "hostname", "id", "package", "file", "log", "url", "version"}),
    "testcase": (("name", "classname"), {"name", "time", "classname", "group"}),
    "failure": (("message", "type"), {"message", "type"}),
    "skipped": ((), {"message", "type"}),  # `dfmod verify`'s report only, as are the two below
    "system-out": ((), set()),
}


def dfmod(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if key not in ("NO_COLOR", "FORCE_COLOR")}
    environment.update(env or {})
    return subprocess.run([sys.executable, "-m", "dfmod", *args], cwd=cwd, env=environment,
                          capture_output=True, text=True, encoding="utf-8", check=False)


def at(text: str, start: int, end: int, rule: str = "masked-failure", fix: Fix | None = None) -> Located:
    """A finding over `text[start:end]`, placed as `Located.of` places it."""
    line = text.count("\n", 0, start) + 1
    end_line = text.count("\n", 0, end) + 1
    column = start - (text.rfind("\n", 0, start) + 1) + 1
    end_column = end - (text.rfind("\n", 0, end) + 1) + 1
    return Located("Dockerfile", Finding(rule, Span(start, end), "m", fix), line, column, end_line, end_column)


def frame(text: str, item: Located, show_fixes: bool = False) -> list[str]:
    """The rendered finding's lines, without the header and the notes."""
    lines = Full(CODEMODS, show_fixes).render([item], text).splitlines()
    return lines[1:]


# --- full --------------------------------------------------------------------------------


def test_full_shows_the_lines_around_the_span_the_carets_the_fix_and_the_docs(tmp_path: Path) -> None:
    shutil.copy(SEED_000 / "input/Dockerfile", tmp_path / "Dockerfile")
    result = dfmod("check", "--output-format", "full", ".", cwd=tmp_path)
    assert result.returncode == 1
    concise = dfmod("check", "--output-format", "concise", ".", cwd=tmp_path).stdout.splitlines()
    lines = result.stdout.splitlines()
    assert lines[0] == concise[0]  # the concise line heads the finding
    assert lines[1:7] == [
        "  |",
        "6 | # 安装依赖",
        "7 | RUN --mount=type=cache,target=/root/.cache/pip \\",
        "8 |     pip install --no-cache-dir -r requirements.txt",
        "  |                 ^^^^^^^^^^^^^^ cache-mount-no-cache-dir",
        "  |",
    ]
    assert lines[7].startswith("  = fix (safe, `dfmod apply --fix`): ")  # and the fix's description
    assert lines[8:] == [
        "  = docs: dfmod explain cache-mount-no-cache-dir (docs/rules.md#cache-mount-no-cache-dir)",
        "",
        concise[1],  # the summary line
    ]


def test_full_with_show_fixes_shows_the_lines_the_fix_changes(tmp_path: Path) -> None:
    shutil.copy(SEED_000 / "input/Dockerfile", tmp_path / "Dockerfile")
    lines = dfmod("check", "--output-format", "full", "--show-fixes", ".", cwd=tmp_path).stdout.splitlines()
    start = lines.index("  = docs: dfmod explain cache-mount-no-cache-dir (docs/rules.md#cache-mount-no-cache-dir)")
    assert lines[start - 4:start] == [
        "  |",
        "8 -     pip install --no-cache-dir -r requirements.txt",
        "  +     pip install -r requirements.txt",
        "  |",
    ]
    # What it shows is what `dfmod apply` does.
    diff = dfmod("apply", ".", cwd=tmp_path).stdout
    assert "-    pip install --no-cache-dir -r requirements.txt\n+    pip install -r requirements.txt\n" in diff


def test_full_carets_follow_tabs_and_wide_characters() -> None:
    text = "FROM x\nRUN\t安装 a || true\n"
    start = text.index("a ||")
    assert frame(text, at(text, start, start + len("a || true")))[:4] == [
        "  |",
        "1 | FROM x",
        "2 | RUN    安装 a || true",
        "  | " + " " * (3 + 4 + 2 * 2 + 1) + "^" * 9 + " masked-failure",  # RUN, tab, 安装, space
    ]


def test_full_marks_every_line_of_a_multi_line_span_and_elides_a_long_one() -> None:
    text = "FROM x\nRUN a \\\n    && b \\\n    && c\nCMD d\n"
    start = text.index("a \\")
    shown = frame(text, at(text, start, text.index("c\n") + 1))
    assert shown[:9] == [
        "  |",
        "1 | FROM x",
        "2 | RUN a \\",
        "  |     ^^^",
        "3 |     && b \\",
        "  |     ^^^^^^",
        "4 |     && c",
        "  |     ^^^^ masked-failure",
        "5 | CMD d",
    ]
    long = "FROM x\nRUN a \\\n" + "".join(f"  && b{index} \\\n" for index in range(10)) + "  && c\n"
    shown = frame(long, at(long, long.index("a \\"), long.index("c\n") + 1))
    numbers = [line.split()[0] for line in shown if line.strip()[:1].isdigit()]
    assert numbers == ["1", "2", "3", "4", "12", "13"]
    assert "   ..." in shown
    assert shown[shown.index("13 |   && c") + 1].endswith("^ masked-failure")


def test_full_shows_an_empty_span_as_one_caret_and_crlf_lines_without_cr() -> None:
    text = "FROM x\r\nRUN a\r\n"
    point = text.index("a")
    shown = frame(text, at(text, point, point))
    assert shown[:4] == ["  |", "1 | FROM x", "2 | RUN a", "  |     ^ masked-failure"]
    assert not any("\r" in line for line in shown)


def test_full_notes_a_finding_without_a_fix_and_a_rule_without_documentation() -> None:
    text = "FROM x\nRUN a\n"
    rendered = Full(CODEMODS).render([at(text, 7, 12, rule="unused-suppression")], text)
    assert "  = fix: none; change it by hand\n" in rendered
    assert "docs" not in rendered  # the engine's own rules have no page section
    fix = Fix((Edit(7, 12, "RUN b"),), Applicability.UNSAFE, "Use b")
    rendered = Full(CODEMODS).render([at(text, 7, 12, fix=fix)], text)
    assert "  = fix (unsafe, `dfmod apply --fix --unsafe-fixes`): Use b\n" in rendered
    assert f"  = docs: dfmod explain masked-failure ({docs_url('masked-failure')})\n" in rendered


def test_full_fix_diff_numbers_lines_as_checked_and_leaves_added_lines_unnumbered() -> None:
    text = "FROM x\nCOPY . .\nRUN pip install -r r.txt\nCMD y\n"
    fix = Fix((Edit(7, 16, "COPY r.txt .\n"), Edit(41, 41, "COPY . .\n")), Applicability.UNSAFE, "Move it")
    shown = frame(text, at(text, 7, 15, rule="copy-before-install", fix=fix), show_fixes=True)
    start = shown.index("  = fix (unsafe, `dfmod apply --fix --unsafe-fixes`): Move it")
    assert shown[start + 1:start + 8] == [
        "  |",
        "2 - COPY . .",
        "  + COPY r.txt .",
        "3 | RUN pip install -r r.txt",
        "  + COPY . .",
        "4 | CMD y",
        "  |",
    ]


def test_full_colour_only_adds_escape_codes() -> None:
    text = "FROM x\nRUN a || true\n"
    fix = Fix((Edit(12, 20, ""),), Applicability.UNSAFE, "Drop it")
    items = [at(text, 13, 20, fix=fix)]
    plain = Full(CODEMODS, show_fixes=True).render(items, text)
    coloured = Full(CODEMODS, show_fixes=True, colour=True).render(items, text)
    assert coloured != plain
    assert ANSI.sub("", coloured) == plain
    assert f"{formats.BOLD}{formats.RED}^^^^^^^ masked-failure{formats.RESET}" in coloured


def test_full_is_the_default_on_a_terminal_and_concise_in_a_pipe(tmp_path: Path) -> None:
    shutil.copy(SEED_000 / "input/Dockerfile", tmp_path / "Dockerfile")
    full = dfmod("check", "--output-format", "full", ".", cwd=tmp_path).stdout
    shown = on_a_terminal(["check", "."], tmp_path)
    assert "\x1b[" in shown  # a terminal gets colour
    assert ANSI.sub("", shown) == full
    assert "^^^^^^^^^^^^^^ cache-mount-no-cache-dir" in full
    piped = dfmod("check", ".", cwd=tmp_path).stdout
    assert piped == dfmod("check", "--output-format", "concise", ".", cwd=tmp_path).stdout
    assert piped == dfmod("check", "--format", "text", ".", cwd=tmp_path).stdout  # the old name
    assert len(piped.splitlines()) == 2
    # Asked for, concise is what a terminal gets too.
    assert ANSI.sub("", on_a_terminal(["check", "--output-format", "concise", "."], tmp_path)) == piped


def test_apply_fix_shows_what_is_left_in_the_format_asked_for(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM python:3.12\nRUN pip install flask || true\n")
    result = dfmod("apply", "--fix", "--output-format", "full", ".", cwd=tmp_path)
    assert result.returncode == 1
    assert "2 | RUN pip install flask || true\n  | " + " " * 22 + "^^^^^^^ masked-install-failure\n" in result.stderr
    assert result.stdout == ""
    concise = dfmod("apply", "--fix", ".", cwd=tmp_path)
    assert concise.stderr.splitlines()[0].startswith("Dockerfile:2:")
    assert " | " not in concise.stderr


# --- gitlab ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def golden_gitlab() -> list[dict[str, Any]]:
    result = dfmod("check", "--output-format", "gitlab", *GOLDEN_INPUTS, cwd=ROOT)
    assert result.returncode == 1, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_gitlab_report_has_gitlabs_documented_fields(golden_gitlab: list[dict[str, Any]]) -> None:
    jsonschema.validate(golden_gitlab, CODE_QUALITY)
    golden_json = json.loads(dfmod("check", "--format", "json", *GOLDEN_INPUTS, cwd=ROOT).stdout)
    assert len(golden_gitlab) == len(golden_json) > 20
    for issue, record in zip(golden_gitlab, golden_json, strict=True):
        assert issue["check_name"] == record["rule"]
        # a codemod's rule links its documentation; unused-suppression (a golden case has one) has none
        see = f" (see {docs_url(record['rule'])})" if record["rule"] in all_codemods() else ""
        assert issue["description"] == f"{record['message']}{see}"
        assert issue["location"] == {"path": record["file"],  # the repository root is the cwd here
                                     "lines": {"begin": record["line"], "end": record["end_line"]}}
    fingerprints = [issue["fingerprint"] for issue in golden_gitlab]
    assert len(set(fingerprints)) == len(fingerprints), "GitLab shows one finding per fingerprint"


def test_gitlab_paths_are_relative_to_the_repository_and_fingerprints_survive_lines_moving(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "svc").mkdir()
    shutil.copy(SEED_000 / "input/Dockerfile", tmp_path / "svc/Dockerfile")
    before = json.loads(dfmod("check", "--output-format", "gitlab", ".", cwd=tmp_path / "svc").stdout)
    jsonschema.validate(before, CODE_QUALITY)
    assert before[0]["location"]["path"] == "svc/Dockerfile"  # not `Dockerfile` nor `./Dockerfile`
    text = (tmp_path / "svc/Dockerfile").read_text(encoding="utf-8")
    (tmp_path / "svc/Dockerfile").write_text("# a new first line\n" + text, encoding="utf-8")
    after = json.loads(dfmod("check", "--output-format", "gitlab", ".", cwd=tmp_path).stdout)
    assert after[0]["location"]["lines"]["begin"] == before[0]["location"]["lines"]["begin"] + 1
    assert after[0]["fingerprint"] == before[0]["fingerprint"]


def test_gitlab_report_of_a_clean_tree_is_an_empty_array(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM python:3.12-slim\n")
    result = dfmod("check", "--output-format", "gitlab", ".", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, "[]\n")


# --- junit -------------------------------------------------------------------------------


def check_junit(document: str, case_children: tuple[list[str], ...] = ([], ["failure"])) -> ET.Element:
    """The report as GitLab and Jenkins read it: testsuites > testsuite > testcase >
    failure (or one of `case_children`), with the attributes they need and no other than
    junit-10.xsd allows, and counts that add up."""
    root = ET.fromstring(document)
    assert root.tag == "testsuites"
    for element in root.iter():
        required, allowed = JUNIT_ATTRIBUTES[element.tag]
        assert set(required) <= set(element.attrib) <= allowed, (element.tag, element.attrib)
    suites = list(root)
    assert all(suite.tag == "testsuite" for suite in suites)
    for suite in suites:
        cases = list(suite)
        assert all(case.tag == "testcase" for case in cases)
        assert int(suite.get("tests", "")) == len(cases) >= 1
        assert int(suite.get("failures", "")) == sum(len(case.findall("failure")) for case in cases)
        assert all(case.get("classname") == suite.get("name") for case in cases)
        for case in cases:
            assert [child.tag for child in case] in case_children
        assert int(suite.get("skipped", "0")) == sum(len(case.findall("skipped")) for case in cases)
    assert int(root.get("tests", "")) == sum(int(suite.get("tests", "")) for suite in suites)
    assert int(root.get("failures", "")) == sum(int(suite.get("failures", "")) for suite in suites)
    return root


def test_junit_report_of_the_golden_inputs(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM python:3.12-slim\n")
    result = dfmod("check", "--output-format", "junit", *GOLDEN_INPUTS, str(tmp_path / "Dockerfile"), cwd=ROOT)
    assert result.returncode == 1
    root = check_junit(result.stdout)
    golden_json = json.loads(dfmod("check", "--format", "json", *GOLDEN_INPUTS, cwd=ROOT).stdout)
    failures = root.findall("./testsuite/testcase/failure")
    assert len(failures) == len(golden_json)
    for failure, record in zip(failures, golden_json, strict=True):
        assert failure.get("message") == record["message"]
        assert failure.get("type") == record["rule"]
        assert (failure.text or "").startswith(f"{record['file']}:{record['line']}:{record['column']}: ")
        if record["rule"] in all_codemods():  # unused-suppression has no documentation to link
            assert f"docs: dfmod explain {record['rule']} ({docs_url(record['rule'])})" in (failure.text or "")
    (clean,) = [suite for suite in root if suite.get("name", "").endswith(f"{tmp_path.name}/Dockerfile")]
    assert [(case.get("name"), list(case)) for case in clean] == [("no findings", [])]


def test_junit_carries_what_xml_cannot_hold_replaced() -> None:
    report = Junit(CODEMODS)
    finding = Finding("r", Span(0, 1), "bell \x07 <&> \"q\"")
    report.add("a\x01b/Dockerfile", [Located("Dockerfile", finding, 1, 1, 1, 2)])
    root = check_junit(report.close())
    (failure,) = root.iter("failure")
    assert failure.get("message") == "bell \ufffd <&> \"q\""
    assert root[0].get("name") == "a\ufffdb/Dockerfile"


@pytest.mark.skipif(not os.environ.get("DFMOD_JUNIT_XSD"), reason="DFMOD_JUNIT_XSD names no junit-10.xsd")
def test_junit_validates_against_jenkins_schema() -> None:
    xmlschema = pytest.importorskip("xmlschema")
    result = dfmod("check", "--output-format", "junit", *GOLDEN_INPUTS, cwd=ROOT)
    xmlschema.XMLSchema(os.environ["DFMOD_JUNIT_XSD"]).validate(result.stdout)


# --- statistics, exit codes, quiet -------------------------------------------------------


def test_statistics_count_findings_and_fixes_per_rule() -> None:
    golden_json = json.loads(dfmod("check", "--format", "json", *GOLDEN_INPUTS, cwd=ROOT).stdout)
    stats = json.loads(dfmod("check", "--statistics", "--output-format", "json", *GOLDEN_INPUTS, cwd=ROOT).stdout)
    expected: dict[str, dict[str, int]] = {}
    for record in golden_json:
        row = expected.setdefault(record["rule"], {"count": 0, "fixable": 0, "unsafe_fixable": 0})
        row["count"] += 1
        row["fixable"] += record["applicability"] == "safe"
        row["unsafe_fixable"] += record["applicability"] == "unsafe"
    assert {row.pop("rule"): row for row in stats} == expected
    counts = [row["count"] for row in stats]
    assert counts == sorted(counts, reverse=True)
    text = dfmod("check", "--statistics", *GOLDEN_INPUTS, cwd=ROOT)
    assert text.returncode == 1
    lines = text.stdout.splitlines()
    assert len(lines) == len(expected) + 1 and lines[-1].startswith("Found ")
    first = lines[0].split()
    assert int(first[0]) == counts[0] and first[1] in expected


def test_statistics_line_says_how_many_are_fixable(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(
        "FROM python:3.12\nRUN pip install a || true\nRUN pip install b || true\n"
        "RUN --mount=type=cache,target=/root/.cache/pip pip install --no-cache-dir c\n")
    lines = dfmod("check", "--statistics", "-q", ".", cwd=tmp_path).stdout.splitlines()
    assert lines == ["2  masked-install-failure    2 fixable with --unsafe-fixes",
                     "1  cache-mount-no-cache-dir  1 fixable"]


def test_exit_zero_quiet_and_exit_non_zero_on_fix(tmp_path: Path) -> None:
    shutil.copy(SEED_000 / "input/Dockerfile", tmp_path / "Dockerfile")
    loud = dfmod("check", ".", cwd=tmp_path)
    quiet = dfmod("check", "-q", "--exit-zero", ".", cwd=tmp_path)
    assert (loud.returncode, quiet.returncode) == (1, 0)
    assert quiet.stdout == loud.stdout.splitlines(keepends=True)[0]  # the finding, no summary
    assert dfmod("apply", "--exit-zero", ".", cwd=tmp_path).returncode == 0  # a dry run with changes
    # Errors still exit 2.
    assert dfmod("check", "--exit-zero", "missing", cwd=tmp_path).returncode == 2
    # --fix that leaves nothing exits 0, unless asked to say that it fixed something.
    fixed = dfmod("apply", "--fix", "--exit-non-zero-on-fix", "-q", ".", cwd=tmp_path)
    assert (fixed.returncode, fixed.stderr) == (1, "")
    assert dfmod("apply", "--fix", "--exit-non-zero-on-fix", ".", cwd=tmp_path).returncode == 0  # nothing left to fix
    clean = dfmod("check", "-q", ".", cwd=tmp_path)
    assert (clean.returncode, clean.stdout) == (0, "")


def test_verify_takes_output_format_and_its_old_name(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM python:3.12-slim\n")
    nothing = "Nothing to verify: dfmod changes nothing in 1 file.\n"
    for args in (["--output-format", "concise"], ["--format", "text"]):
        result = dfmod("verify", *args, ".", cwd=tmp_path)
        assert (result.returncode, result.stdout) == (0, nothing)
    assert dfmod("verify", "--output-format", "gitlab", ".", cwd=tmp_path).returncode == 2
    # A machine format's stdout is its report, empty here; what is said goes to stderr.
    result = dfmod("verify", "--output-format", "json", ".", cwd=tmp_path)
    assert (result.returncode, json.loads(result.stdout), result.stderr) == (0, [], nothing)
    sarif = json.loads(dfmod("verify", "--output-format", "sarif", ".", cwd=tmp_path).stdout)
    assert sarif["runs"][0]["results"] == []
    junit = dfmod("verify", "--output-format", "junit", ".", cwd=tmp_path)
    assert check_junit(junit.stdout).get("tests") == "0" and junit.stderr == nothing
    quiet = dfmod("verify", "-q", ".", cwd=tmp_path)
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")


def test_formats_are_imported_only_when_chosen(tmp_path: Path) -> None:
    shutil.copy(SEED_000 / "input/Dockerfile", tmp_path / "Dockerfile")
    probe = ("import sys; from dfmod import cli; sys.stdout = open('/dev/null', 'w'); cli.main(sys.argv[1:]); "
             "sys.stderr.write(' '.join(sorted(m for m in sys.modules if m.startswith('dfmod.output.'))))")
    loaded = {}
    for fmt in ("concise", "full", "gitlab", "junit"):
        result = subprocess.run([sys.executable, "-c", probe, "check", "--jobs", "1", "--output-format", fmt, "."],
                                cwd=tmp_path, capture_output=True, text=True, check=False)
        loaded[fmt] = set(result.stderr.split())
    assert not loaded["concise"] & {"dfmod.output.full", "dfmod.output.codequality", "dfmod.output.junit"}
    assert "dfmod.output.full" in loaded["full"]
    assert "dfmod.output.codequality" in loaded["gitlab"]
    assert "dfmod.output.junit" in loaded["junit"]
