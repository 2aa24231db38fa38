"""Suppression comments: `# dfmod: ignore[rule, …]`, `# dfmod: ignore`, `# dfmod: skip-file`.

A suppression sits on the comment lines directly above what it silences: an instruction
in a Dockerfile (wherever in the instruction the finding is), a key in a compose file.
`# dfmod: ignore` without a list silences every rule there; `# dfmod: skip-file` on any
comment line leaves the whole file alone. A suppression that silences nothing is reported
(`unused-suppression`, like ruff's RUF100) with a safe fix that deletes it, so stale
suppressions do not pile up — but only when every rule it names was run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dfmod.linting.edits import Applicability, Edit, Finding, Fix
from dfmod.syntax.document import Document
from dfmod.syntax.text import Span, line_end, line_starts

UNUSED = "unused-suppression"
_IGNORE = re.compile(r"#\s*dfmod:\s*ignore(?:\[([^\]]*)\])?\s*$")
_SKIP = re.compile(r"^[ \t]*#\s*dfmod:\s*skip-file\s*$", re.MULTILINE)


@dataclass
class Suppression:
    line: int  # 1-based
    rules: frozenset[str] | None  # None: every rule
    span: Span  # the comment, from '#' to the end of the line (no newline)
    whole_line: bool  # nothing but the comment on its line
    used: bool = False


def skips_file(text: str) -> bool:
    return _SKIP.search(text.replace("\r", "")) is not None


def _comment_block_above(lines: list[str], line: int) -> list[int]:
    """1-based numbers of the comment lines directly above `line`."""
    found: list[int] = []
    number = line - 1
    while number >= 1 and lines[number - 1].lstrip(" \t").startswith("#"):
        found.append(number)
        number -= 1
    return found


def _parse(text: str) -> dict[int, Suppression]:
    suppressions: dict[int, Suppression] = {}
    if "dfmod:" not in text:
        return suppressions
    starts = line_starts(text)
    for number, start in enumerate(starts, 1):
        end = line_end(text, start)
        content = text[start:end].rstrip("\r\n")
        match = _IGNORE.search(content)
        if match is None or "#" not in content[:match.start() + 1]:
            continue
        listed = match.group(1)
        rules = None if listed is None else frozenset(
            item.strip() for item in listed.split(",") if item.strip())
        before = content[:match.start()]
        suppressions[number] = Suppression(
            number, rules, Span(start + match.start(), start + len(content)),
            whole_line=before.strip(" \t") == "")
    return suppressions


def anchor_line(doc: Document, offset: int) -> int:
    """The line a suppression for a finding at `offset` must sit above."""
    anchor = getattr(doc, "anchor_line", None)
    return anchor(offset) if anchor is not None else doc.position(offset)[0]


def apply(doc: Document, findings: list[Finding], ran: set[str],
          report_unused: bool = True) -> list[Finding]:
    """Drop suppressed findings; add `unused-suppression` findings where due."""
    if skips_file(doc.text):
        return []
    suppressions = _parse(doc.text)
    if not suppressions:
        return findings
    lines = doc.text.split("\n")
    blocks: dict[int, list[int]] = {}  # by anchor line: many findings share one
    kept: list[Finding] = []
    for finding in findings:
        line = anchor_line(doc, finding.span.start)
        block = blocks.get(line)
        if block is None:
            block = blocks[line] = _comment_block_above(lines, line)
        matching = [suppressions[number] for number in block if number in suppressions
                    and (suppressions[number].rules is None
                         or finding.rule in suppressions[number].rules)]
        for suppression in matching:
            suppression.used = True
        if not matching:
            kept.append(finding)
    if report_unused:
        kept.extend(_unused(doc, suppressions, ran))
    return kept


def _unused(doc: Document, suppressions: dict[int, Suppression], ran: set[str]) -> list[Finding]:
    findings = []
    for suppression in suppressions.values():
        if suppression.used or (suppression.rules is not None and not suppression.rules <= ran):
            continue
        if suppression.rules is not None and not suppression.rules:
            continue
        text = doc.text[suppression.span.start:suppression.span.end]
        fix = None
        if suppression.whole_line:
            start = doc.text.rfind("\n", 0, suppression.span.start) + 1
            fix = Fix((Edit(start, line_end(doc.text, suppression.span.end), ""),),
                      Applicability.SAFE, "Remove the unused suppression")
        findings.append(Finding(UNUSED, suppression.span,
                                f"`{text.strip()}` suppresses nothing here", fix))
    return findings
