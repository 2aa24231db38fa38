"""Running codemods on one file, and fixing it to a fixed point without breaking it.

Fixing is a loop: parse, collect findings, apply every applicable fix that does not overlap
an earlier one, and parse again, until nothing more applies (bounded). Each round's result
must still parse, and no shell script may newly fail to parse; a round that would break the
file is retried fix by fix, keeping only the fixes that are sound on their own. What
remains is reported. Running the fixes twice therefore changes nothing the second time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dfmod.codemod import Codemod, Context
from dfmod.dockerfile import Dockerfile, DockerfileSyntaxError
from dfmod.edits import Applicability, Finding, Fix, apply_edits, overlaps
from dfmod.shell import run_scripts

MAX_ROUNDS = 10


@dataclass
class Settings:
    codemods: list[type[Codemod]]
    unsafe_fixes: bool = False
    options: dict[str, dict[str, Any]] = field(default_factory=dict)

    def instances(self) -> list[Codemod]:
        return [codemod(self.options.get(codemod.id)) for codemod in self.codemods]

    def applies(self, fix: Fix | None) -> bool:
        if fix is None or fix.applicability is Applicability.DISPLAY_ONLY:
            return False
        return fix.applicability is Applicability.SAFE or self.unsafe_fixes


@dataclass
class Outcome:
    """A file after checking (and fixing): the findings left and the fixes applied."""

    doc: Dockerfile
    findings: list[Finding]
    applied: list[Finding]

    @property
    def text(self) -> str:
        return self.doc.text


def check(doc: Dockerfile, codemods: list[Codemod], settings: Settings | None = None) -> list[Finding]:
    """Every finding of every codemod on `doc`, in file order."""
    ctx = Context(doc, settings.options if settings else None)
    findings: list[Finding] = []
    for codemod in codemods:
        findings.extend(codemod.check(ctx))
    findings.sort(key=lambda item: (item.span.start, item.rule, item.span.end))
    return findings


def fix(doc: Dockerfile, settings: Settings) -> Outcome:
    """Apply applicable fixes until none is left (see the module docstring)."""
    codemods = settings.instances()
    applied: list[Finding] = []
    for _ in range(MAX_ROUNDS):
        findings = check(doc, codemods, settings)
        chosen = _non_overlapping([item for item in findings if settings.applies(item.fix)])
        if not chosen:
            return Outcome(doc, findings, applied)
        new_doc = _apply(doc, chosen)
        if new_doc is None:
            sound = [item for item in chosen if _apply(doc, [item]) is not None]
            new_doc = _apply(doc, sound[:1]) if sound else None
            chosen = sound[:1]
        if new_doc is None:
            return Outcome(doc, findings, applied)
        applied.extend(chosen)
        doc = new_doc
    return Outcome(doc, check(doc, codemods, settings), applied)


def _non_overlapping(findings: list[Finding]) -> list[Finding]:
    chosen: list[Finding] = []
    for item in findings:
        assert item.fix is not None
        if all(not overlaps(item.fix, other.fix) for other in chosen if other.fix is not None):
            chosen.append(item)
    return chosen


def _apply(doc: Dockerfile, findings: list[Finding]) -> Dockerfile | None:
    """The document with the findings' fixes applied, or None if that would break it."""
    edits = [edit for item in findings if item.fix is not None for edit in item.fix.edits]
    try:
        text = apply_edits(doc.text, edits)
        new_doc = Dockerfile(text, doc.path)
    except (ValueError, DockerfileSyntaxError):
        return None
    if _broken_scripts(new_doc) > _broken_scripts(doc):
        return None
    return new_doc


def _broken_scripts(doc: Dockerfile) -> int:
    return sum(
        script.has_error
        for instruction in doc.instructions
        for script in run_scripts(doc, instruction)
    )
