"""Running codemods on one file, and fixing it to a fixed point without breaking it.

Fixing is a loop: parse, collect findings, apply every applicable fix that does not overlap
an earlier one, and parse again, until nothing more applies (bounded). Safe fixes go first,
to a fixed point, and only then unsafe ones, so an unsafe rewrite never takes the place of
a safe fix it overlaps. Each round's result
must still parse, and no shell script may newly fail to parse; a round that would break the
file is retried fix by fix, keeping only the fixes that are sound on their own. What
remains is reported. Running the fixes twice therefore changes nothing the second time.
"""

from __future__ import annotations

from collections import Counter

from dfmod.linting.codemod import Codemod, Context, Surroundings
from dfmod.linting.edits import Applicability, Edit, Finding, Fix, apply_edits, conflict
from dfmod.linting.needs import found_in, unquoted
from dfmod.syntax.document import DocumentError
from dfmod.syntax.records import Record

TYPE_CHECKING = False  # not typing's: importing typing costs ~7 ms (tests/test_startup.py)
if TYPE_CHECKING:
    from typing import Any

    from dfmod.syntax.document import Document

MAX_ROUNDS = 10


class Settings(Record):
    __slots__ = ("codemods", "unsafe_fixes", "options", "report_unused_suppressions",
                 "surroundings")
    __hash__ = None  # not frozen (a plain dataclass before): unhashable

    def __init__(self, codemods: list[type[Codemod]], unsafe_fixes: bool = False,
                 options: dict[str, dict[str, Any]] | None = None,
                 report_unused_suppressions: bool = True,
                 surroundings: Surroundings | None = None) -> None:
        self.codemods = codemods
        self.unsafe_fixes = unsafe_fixes
        self.options = {} if options is None else options
        self.report_unused_suppressions = report_unused_suppressions
        self.surroundings = Surroundings() if surroundings is None else surroundings  # the build context…

    def instances(self, kind: str = "dockerfile") -> list[Codemod]:
        """The selected codemods that work on documents of `kind`, with their options."""
        return [codemod(self.options.get(codemod.id)) for codemod in self.codemods
                if codemod.kind == kind]

    def applies(self, fix: Fix | None) -> bool:
        if fix is None or fix.applicability is Applicability.DISPLAY_ONLY:
            return False
        return fix.applicability is Applicability.SAFE or self.unsafe_fixes


class Outcome(Record):
    """A file after checking (and fixing): the findings left and the fixes applied."""

    __slots__ = ("doc", "findings", "applied")
    __hash__ = None  # not frozen (a plain dataclass before): unhashable

    def __init__(self, doc: Document, findings: list[Finding], applied: list[Finding]) -> None:
        self.doc = doc
        self.findings = findings
        self.applied = applied

    @property
    def text(self) -> str:
        return self.doc.text


def check(doc: Document, codemods: list[Codemod], settings: Settings | None = None) -> list[Finding]:
    """Every finding of every codemod on `doc`, in file order."""
    # Every suppression comment has this mark: a file without it imports no suppressions.
    suppressions = _suppressions() if "dfmod:" in doc.text else None
    if suppressions is not None and suppressions.skips_file(doc.text):
        return []
    ctx = Context(doc, settings.options if settings else None,  # type: ignore[arg-type]
                  settings.surroundings if settings else None)
    findings: list[Finding] = []
    readable = unquoted(doc.searchable)
    for codemod in codemods:
        if not found_in(readable, codemod.needs, codemod.also_needs):
            continue  # it cannot report on this document (Codemod.needs, also_needs)
        findings.extend(codemod.check(ctx))
    report_unused = settings.report_unused_suppressions if settings else True
    if suppressions is not None:
        findings = suppressions.apply(doc, findings, {codemod.id for codemod in codemods},
                                      report_unused)
    findings.sort(key=lambda item: (item.span.start, item.rule, item.span.end))
    return findings


def _suppressions() -> Any:
    """`dfmod.linting.suppressions`, imported for a file that has a suppression comment."""
    from dfmod.linting import suppressions

    return suppressions


def fix(doc: Document, settings: Settings) -> Outcome:
    """Apply applicable fixes until none is left (see the module docstring)."""
    codemods = settings.instances(doc.kind)
    applied: list[Finding] = []
    for _ in range(MAX_ROUNDS):
        findings = check(doc, codemods, settings)
        applicable = [item for item in findings if settings.applies(item.fix)]
        # Safe fixes first, to a fixed point: an unsafe rewrite that overlaps a safe fix
        # (masked-failure's braces around a cleanup keep-dist-info removes) would otherwise
        # take its place and leave the safe fix nothing to apply to.
        safe = [item for item in applicable
                if item.fix is not None and item.fix.applicability is Applicability.SAFE]
        new_doc, chosen = None, []
        for group in (safe, applicable) if safe and len(safe) < len(applicable) else (applicable,):
            new_doc, chosen = _apply_sound(doc, _non_overlapping(group))
            if new_doc is not None:
                break
        if new_doc is None:
            return Outcome(doc, findings, applied)
        applied.extend(chosen)
        doc = new_doc
    return Outcome(doc, check(doc, codemods, settings), applied)


class Ignored(Record):
    """A file after `add_ignores`: the document, what is still reported, and how many
    instructions or keys got a suppression comment."""

    __slots__ = ("doc", "findings", "comments")
    __hash__ = None  # not frozen (a plain dataclass before): unhashable

    def __init__(self, doc: Document, findings: list[Finding], comments: int) -> None:
        self.doc = doc
        self.findings = findings
        self.comments = comments


def add_ignores(doc: Document, settings: Settings) -> Ignored:
    """`doc` with a `# dfmod: ignore[…]` above each instruction or key that has findings
    (`suppressions.ignore_edits`; `dfmod check --add-ignore`).

    The result is checked as a fix is: it must parse, and checking it again may report only
    what no comment can silence (none of the new comments may be unused; a stale one that
    a list was added to is used now). Otherwise the file stays as it is, with its findings.
    """
    codemods = settings.instances(doc.kind)
    findings = check(doc, codemods, settings)
    ignores = _suppressions().ignore_edits(doc, findings)
    if not ignores.edits:
        return Ignored(doc, findings, 0)
    try:
        new_doc = type(doc)(apply_edits(doc.text, ignores.edits), doc.path)  # type: ignore[call-arg]
    except (ValueError, DocumentError):
        return Ignored(doc, findings, 0)
    left = check(new_doc, codemods, settings)
    if Counter(item.rule for item in left) - Counter(item.rule for item in ignores.left):
        return Ignored(doc, findings, 0)
    return Ignored(new_doc, left, ignores.comments)


def _apply_sound(doc: Document, chosen: list[Finding]) -> tuple[Document | None, list[Finding]]:
    """`chosen` applied together, or else the first one that applies alone."""
    if not chosen:
        return None, []
    new_doc = _apply(doc, chosen)
    if new_doc is not None:
        return new_doc, chosen
    sound = next((item for item in chosen if _apply(doc, [item]) is not None), None)
    return (None, []) if sound is None else (_apply(doc, [sound]), [sound])


def _non_overlapping(findings: list[Finding]) -> list[Finding]:
    """The findings, in order, whose fixes conflict with no earlier chosen one's.

    The chosen edits are kept sorted; as they do not conflict with each other, they do not
    overlap, so a new edit can only conflict with its neighbours there: each finding costs
    a binary search, not a comparison with every fix chosen before (thousands in a long file).
    """
    from bisect import insort  # only a fix needs it: a clean check loads no bisect

    chosen: list[Finding] = []
    taken: list[Edit] = []  # the chosen fixes' edits, by (start, end)
    for item in findings:
        assert item.fix is not None
        edits = item.fix.edits
        if any(conflict(edit, other) for edit in edits for other in _neighbours(taken, edit)):
            continue
        chosen.append(item)
        for edit in edits:
            insort(taken, edit, key=_position)
    return chosen


def _position(edit: Edit) -> tuple[int, int]:
    return edit.start, edit.end


def _neighbours(taken: list[Edit], edit: Edit) -> list[Edit]:
    from bisect import bisect_left

    index = bisect_left(taken, _position(edit), key=_position)
    return taken[max(0, index - 1):index + 1]


def _apply(doc: Document, findings: list[Finding]) -> Document | None:
    """The document with the findings' fixes applied, or None if that would break it."""
    edits = [edit for item in findings if item.fix is not None for edit in item.fix.edits]
    try:
        text = apply_edits(doc.text, edits)
        new_doc = type(doc)(text, doc.path)  # type: ignore[call-arg]
    except (ValueError, DocumentError):
        return None
    if new_doc.problems() > doc.problems():
        return None
    return new_doc
