"""Reporters: findings as text (like ruff) or JSON, and the summary line."""

from __future__ import annotations

import json
from dataclasses import dataclass

from dfmod.discovery import display_path
from dfmod.dockerfile import Dockerfile
from dfmod.edits import Applicability, Finding


@dataclass
class Located:
    """A finding with the file it belongs to and its line/column positions."""

    path: str
    finding: Finding
    line: int
    column: int
    end_line: int
    end_column: int

    @classmethod
    def of(cls, doc: Dockerfile, finding: Finding) -> Located:
        line, column = doc.position(finding.span.start)
        end_line, end_column = doc.position(finding.span.end)
        return cls(doc.path, finding, line, column, end_line, end_column)


def _marker(finding: Finding) -> str:
    fix = finding.fix
    if fix is None or fix.applicability is Applicability.DISPLAY_ONLY:
        return ""
    return " [*]" if fix.applicability is Applicability.SAFE else " [*unsafe]"


def text_report(items: list[Located]) -> str:
    lines = [
        f"{display_path(item.path)}:{item.line}:{item.column}: {item.finding.rule} "
        f"{item.finding.message}{_marker(item.finding)}"
        for item in items
    ]
    return "".join(line + "\n" for line in lines)


def summary(items: list[Located], files: int, fixed: int = 0) -> str:
    """`Found N findings in M files (K fixable with --fix, U more with --unsafe-fixes).`"""
    safe = sum(1 for item in items if _marker(item.finding) == " [*]")
    unsafe = sum(1 for item in items if _marker(item.finding) == " [*unsafe]")
    noun = "finding" if len(items) == 1 else "findings"
    text = f"Found {len(items)} {noun} in {files} file{'s' if files != 1 else ''}"
    if fixed:
        text = f"Fixed {fixed}; {len(items)} {noun} left in {files} file{'s' if files != 1 else ''}"
    extras = []
    if safe:
        extras.append(f"{safe} fixable with --fix")
    if unsafe:
        extras.append(f"{unsafe} more with --unsafe-fixes")
    return text + (f" ({', '.join(extras)})" if extras else "") + "."


def json_report(items: list[Located]) -> str:
    records = []
    for item in items:
        fix = item.finding.fix
        records.append({
            "file": display_path(item.path),
            "line": item.line,
            "column": item.column,
            "end_line": item.end_line,
            "end_column": item.end_column,
            "rule": item.finding.rule,
            "message": item.finding.message,
            "applicability": fix.applicability.value if fix else None,
            "fix": None if fix is None else {
                "description": fix.description,
                "applicability": fix.applicability.value,
                "edits": [{"start": edit.start, "end": edit.end, "text": edit.text}
                          for edit in fix.edits],
            },
        })
    return json.dumps(records, indent=2, ensure_ascii=False) + "\n"
