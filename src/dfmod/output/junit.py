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
from dfmod.workspace.discovery import display_path

if TYPE_CHECKING:
    from dfmod.linting.codemod import Codemod
    from dfmod.linting.located import Located

PASSED = "no findings"
# What XML 1.0 cannot hold even escaped: C0 controls but tab, CR and LF, surrogates, U+FFFE/F.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(text: str) -> str:
    """`text` with what XML cannot carry replaced by U+FFFD: a message quotes the file."""
    return _NOT_XML.sub("\ufffd", text)


class Junit:
    """Collects each file's findings as it finishes; `close` returns the document."""

    def __init__(self, codemods: Sequence[type[Codemod]]) -> None:
        self.documented = {codemod.id for codemod in codemods}
        self.files: list[tuple[str, list[Located]]] = []

    def add(self, path: str, items: list[Located]) -> None:
        self.files.append((xml_text(display_path(path)), items))

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
        import xml.etree.ElementTree as ET  # only for this format

        total = sum(max(len(items), 1) for _, items in self.files)
        failures = sum(len(items) for _, items in self.files)
        root = ET.Element("testsuites", name="dfmod", tests=str(total), failures=str(failures), errors="0")
        for path, items in self.files:
            suite = ET.SubElement(root, "testsuite", name=path, tests=str(max(len(items), 1)),
                                  failures=str(len(items)), errors="0")
            if not items:
                ET.SubElement(suite, "testcase", name=PASSED, classname=path)
            for item in items:
                case = ET.SubElement(suite, "testcase", name=f"{item.finding.rule} at {item.line}:{item.column}",
                                     classname=path)
                failure = ET.SubElement(case, "failure", message=xml_text(item.finding.message),
                                        type=item.finding.rule)
                failure.text = xml_text(self._failure_text(item))
        ET.indent(root)
        return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
