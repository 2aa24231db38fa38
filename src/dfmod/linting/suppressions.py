"""Suppression comments: `# dfmod: ignore[rule, …]`, `# dfmod: ignore`, `# dfmod: skip-file`.

A suppression sits on the comment lines directly above what it silences: an instruction
in a Dockerfile (wherever in the instruction the finding is), a key in a compose file.
`# dfmod: ignore` without a list silences every rule there; `# dfmod: skip-file` on any
comment line leaves the whole file alone. A suppression that silences nothing is reported
(`unused-suppression`, like ruff's RUF100) with a safe fix that deletes it, so stale
suppressions do not pile up — but only when every rule it names was run.

`ignore_edits` writes such comments (`dfmod check --add-ignore`, ruff's `--add-noqa`): it
lives here, next to the matching, because what it writes must be exactly what `apply`
then matches — the same anchor, the same comment block, the same line model.

Lines are counted at LF for matching and writing alike (a compose file's lone CR or NEL
inside a value does not shift them), and a UTF-8 BOM is not part of the first line: BuildKit
and YAML parsers drop it, so a BOM followed by `# dfmod: ignore` on line 1 is a comment line.
"""

from __future__ import annotations

import re
from functools import cache

from dfmod.linting.edits import Applicability, Edit, Finding, Fix
from dfmod.syntax.text import Span, line_end, line_starts

TYPE_CHECKING = False  # not typing's: importing typing costs ~7 ms (tests/test_startup.py)
if TYPE_CHECKING:
    from dfmod.syntax.document import Document

UNUSED = "unused-suppression"
_BOM = "\ufeff"


# Compiled on first use: most files have no suppression comment, and a one-file check
# should not pay for compiling what it never matches.
@cache
def _ignore_comment() -> re.Pattern[str]:
    return re.compile(r"#\s*dfmod:\s*ignore(?:\[([^\]]*)\])?\s*$")


@cache
def _skip_comment() -> re.Pattern[str]:
    return re.compile(r"^[ \t]*#\s*dfmod:\s*skip-file\s*$", re.MULTILINE)


class Suppression:
    __slots__ = ("line", "rules", "span", "whole_line", "listed", "used")

    def __init__(self, line: int, rules: frozenset[str] | None, span: Span, whole_line: bool,
                 listed: Span | None = None, used: bool = False) -> None:
        self.line = line  # 1-based
        self.rules = rules  # None: every rule
        self.span = span  # the comment, from '#' to the end of the line (no newline)
        self.whole_line = whole_line  # nothing but the comment on its line
        self.listed = listed  # the text between the brackets (None: a bare `ignore`)
        self.used = used


def skips_file(text: str) -> bool:
    """Whether a line of `text` is `# dfmod: skip-file` (line 1 read without its BOM)."""
    return "skip-file" in text and _skip_comment().search(
        text.removeprefix(_BOM).replace("\r", "")) is not None


def _lines(text: str) -> list[str]:
    """The lines of `text` at LF, the first without its BOM (see the module docstring)."""
    lines = text.split("\n")
    lines[0] = lines[0].removeprefix(_BOM)
    return lines


def _comment_block_above(lines: list[str], line: int) -> list[int]:
    """1-based numbers of the comment lines directly above `line`, nearest first."""
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
    ignore_comment = _ignore_comment()
    for number, start in enumerate(starts, 1):
        end = line_end(text, start)
        content = text[start:end].rstrip("\r\n")
        match = ignore_comment.search(content)
        if match is None or "#" not in content[:match.start() + 1]:
            continue
        listed = match.group(1)
        rules = None if listed is None else frozenset(
            item.strip() for item in listed.split(",") if item.strip())
        before = content[:match.start()].removeprefix(_BOM if start == 0 else "")
        suppressions[number] = Suppression(
            number, rules, Span(start + match.start(), start + len(content)),
            whole_line=before.strip(" \t") == "",
            listed=None if listed is None else Span(start + match.start(1), start + match.end(1)))
    return suppressions


def anchor(doc: Document, offset: int) -> int | None:
    """Where what a finding at `offset` is about starts — the instruction (Dockerfile), the
    key or list item (compose) a suppression sits above — or None when it is in neither
    (a comment, a blank)."""
    find = getattr(doc, "anchor", None)
    return find(offset) if find is not None else offset


def _anchor_line(doc: Document, starts: list[int], offset: int) -> int:
    """The line a suppression for a finding at `offset` must sit above (counted at LF)."""
    from bisect import bisect_right  # for findings only: a clean check loads no bisect

    where = anchor(doc, offset)
    return bisect_right(starts, offset if where is None else where)


def apply(doc: Document, findings: list[Finding], ran: set[str],
          report_unused: bool = True) -> list[Finding]:
    """Drop suppressed findings; add `unused-suppression` findings where due."""
    if skips_file(doc.text):
        return []
    suppressions = _parse(doc.text)
    if not suppressions:
        return findings
    lines = _lines(doc.text)
    starts = line_starts(doc.text)
    blocks: dict[int, list[int]] = {}  # by anchor line: many findings share one
    kept: list[Finding] = []
    for finding in findings:
        line = _anchor_line(doc, starts, finding.span.start)
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
            start += start == 0 and doc.text.startswith(_BOM)  # the BOM stays
            fix = Fix((Edit(start, line_end(doc.text, suppression.span.end), ""),),
                      Applicability.SAFE, "Remove the unused suppression")
        findings.append(Finding(UNUSED, suppression.span,
                                f"`{text.strip()}` suppresses nothing here", fix))
    return findings


class Ignores:
    """What `ignore_edits` would write: the edits, how many instructions or keys they
    silence, and the findings no comment can silence."""

    __slots__ = ("edits", "comments", "left")

    def __init__(self, edits: list[Edit] | None = None, comments: int = 0,
                 left: list[Finding] | None = None) -> None:
        self.edits = [] if edits is None else edits
        self.comments = comments
        self.left = [] if left is None else left


def ignore_edits(doc: Document, findings: list[Finding]) -> Ignores:
    """Edits that silence `findings` (those left after `apply`) with `# dfmod: ignore[…]`.

    One comment per instruction or key, naming its rules in sorted order, on its own line
    directly above it, indented as it is (a YAML comment at the key's indentation cannot
    end a block scalar above it early) and ending with the file's newline. Where the comment
    block above already holds a `# dfmod: ignore[…]`, the rules are added to that list
    instead, so a block never gets a second one. Only whole lines are inserted, never above
    line 1's BOM; a parser directive is never preceded by one, because an instruction always
    comes after the directives. Left for the user: `unused-suppression` (the cure for a
    stale comment is deleting it — `--fix` does — not a comment silencing it) and findings
    on no instruction or key.
    """
    result = Ignores()
    wanted: dict[int, set[str]] = {}  # anchor line -> rules
    from bisect import bisect_right

    starts = line_starts(doc.text)
    for finding in findings:
        where = None if finding.rule == UNUSED else anchor(doc, finding.span.start)
        if where is None:
            result.left.append(finding)
        else:
            wanted.setdefault(bisect_right(starts, where), set()).add(finding.rule)
    lines = _lines(doc.text)
    suppressions = _parse(doc.text)
    for line, rules in sorted(wanted.items()):
        listing = [suppressions[number] for number in _comment_block_above(lines, line)
                   if number in suppressions and suppressions[number].listed is not None]
        result.edits.append(_extend(doc.text, listing[0], rules) if listing
                            else _insert(doc, starts, line, rules))
    result.comments = len(wanted)
    return result


def _insert(doc: Document, starts: list[int], line: int, rules: set[str]) -> Edit:
    start = starts[line - 1] + (line == 1 and doc.text.startswith(_BOM))
    content = _lines(doc.text)[line - 1]
    indent = content[:len(content) - len(content.lstrip(" \t"))]
    return Edit(start, start, f"{indent}# dfmod: ignore[{', '.join(sorted(rules))}]{doc.newline}")


def _extend(text: str, suppression: Suppression, rules: set[str]) -> Edit:
    """Add `rules` at the end of an existing list, keeping what is written there."""
    assert suppression.listed is not None
    listed = text[suppression.listed.start:suppression.listed.end]
    end = suppression.listed.start + len(listed.rstrip(" \t,"))
    added = ", ".join(sorted(rules - (suppression.rules or frozenset())))
    return Edit(end, end, f", {added}" if listed.strip(" \t,") else added)
