"""`--output-format junit`: findings as a JUnit XML test report.

The report CI systems show as test results without a plugin for dfmod: GitLab
(`artifacts:reports:junit`), Jenkins (`junit` step), Azure Pipelines, CircleCI. One
`<testsuite>` per file checked, one `<testcase>` per finding, failed with the message, and
one passing `<testcase>` for a file with no finding, so the report counts the files that
are fine too. It keeps to what the JUnit schema Jenkins validates against
(`junit-10.xsd`) allows: `testsuites` > `testsuite` (`name`, `tests`, `failures`, `errors`
required) > `testcase` (`name`, `classname`) > `failure` (`message`, `type`); the
location, fix and documentation go into the failure's text, which both show. A file's
path is the suite's name and the cases' `classname` (GitLab groups by it), the rule the
case's name.

Written by `xml.etree.ElementTree`, which escapes what XML must, once the run is over:
a test report is read as a whole.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from dfmod.output.formats import fix_hint
from dfmod.output.rulesdoc import docs_url
from dfmod.syntax.records import Record
from dfmod.workspace.discovery import display_path

if TYPE_CHECKING:
    from dfmod.linting.codemod import Codemod
    from dfmod.linting.located import Located

CLEAN = "no findings"  # the one case of a file without findings
# What XML 1.0 cannot hold even escaped: C0 controls but tab, CR and LF, surrogates, U+FFFE/F.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(text: str) -> str:
    """`text` with what XML cannot carry replaced by U+FFFD: a message quotes the file."""
    return _NOT_XML.sub("\ufffd", text)


FAILED, SKIPPED, PASSED = "failure", "skipped", "passed"  # a Case's outcome


class Case(Record):
    """One `<testcase>`: a failure (`message`, `kind` its type, `text` its body), a skip
    (`message`), or a pass (`text`, if any, as its output)."""

    __slots__ = ("name", "outcome", "message", "kind", "text")

    def __init__(self, name: str, outcome: str, message: str = "", kind: str = "", text: str = "") -> None:
        self.name = name
        self.outcome = outcome  # FAILED, SKIPPED or PASSED
        self.message = message
        self.kind = kind
        self.text = text


def document(name: str, suites: Sequence[tuple[str, Sequence[Case]]]) -> str:
    """The JUnit XML report of `suites` (a path and its cases each), in the elements and
    attributes junit-10.xsd allows, with counts that add up; every text made XML-safe.
    `dfmod check --output-format junit` and `dfmod verify --output-format junit` write it."""
    import xml.etree.ElementTree as ET  # only for this format

    def count(cases: Sequence[Case], outcome: str) -> int:
        return sum(1 for case in cases if case.outcome == outcome)

    every = [case for _, cases in suites for case in cases]
    root = ET.Element("testsuites", name=name, tests=str(len(every)), failures=str(count(every, FAILED)),
                      errors="0")
    for path, cases in suites:
        shown = xml_text(path)
        suite = ET.SubElement(root, "testsuite", name=shown, tests=str(len(cases)),
                              failures=str(count(cases, FAILED)), errors="0")
        if count(cases, SKIPPED):
            suite.set("skipped", str(count(cases, SKIPPED)))
        for case in cases:
            element = ET.SubElement(suite, "testcase", name=xml_text(case.name), classname=shown)
            if case.outcome == FAILED:
                failure = ET.SubElement(element, "failure", message=xml_text(case.message), type=case.kind)
                failure.text = xml_text(case.text)
            elif case.outcome == SKIPPED:
                ET.SubElement(element, "skipped", message=xml_text(case.message))
            elif case.text:
                ET.SubElement(element, "system-out").text = xml_text(case.text)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


class Junit:
    """Collects each file's findings as it finishes; `close` returns the document."""

    def __init__(self, codemods: Sequence[type[Codemod]]) -> None:
        self.documented = {codemod.id for codemod in codemods}
        self.files: list[tuple[str, list[Case]]] = []

    def add(self, path: str, items: list[Located]) -> None:
        cases = [Case(f"{item.finding.rule} at {item.line}:{item.column}", FAILED, item.finding.message,
                      item.finding.rule, self._failure_text(item)) for item in items]
        self.files.append((display_path(path), cases or [Case(CLEAN, PASSED)]))

    def _failure_text(self, item: Located) -> str:
        rule = item.finding.rule
        lines = [f"{display_path(item.path)}:{item.line}:{item.column}: {item.finding.message}"]
        hint = fix_hint(item.finding).strip(" ()")
        if hint:
            lines.append(hint)
        if rule in self.documented:
            lines.append(f"docs: dfmod explain {rule} ({docs_url(rule)})")
        return "\n".join(lines)

    def close(self) -> str:
        return document("dfmod", self.files)
