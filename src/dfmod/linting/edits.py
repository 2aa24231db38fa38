"""Edits, fixes and findings, and the helpers that make common shell edits correct.

A codemod never re-prints a file. It returns `Finding`s whose `Fix` is a set of `Edit`s on
the original text; the engine applies them. The helpers below encode the layout rules once
(remove a word with the whitespace that belonged to it, remove a command from a chain
together with one operator and the continuation line it sat on, wrap a command in a
scoped group) so every codemod gets them right. A helper that cannot make an edit safely
returns None, and the finding is reported without a fix rather than with a wrong one.
"""

from __future__ import annotations

import enum

from dfmod.syntax.dockerfile import Dockerfile, Instruction
from dfmod.syntax.records import Record
from dfmod.syntax.shell import Chain, Element
from dfmod.syntax.text import Span, line_end, line_start


class Applicability(enum.Enum):
    """As ruff defines it: safe keeps behaviour; unsafe may change it; display-only never applies."""

    SAFE = "safe"
    UNSAFE = "unsafe"
    DISPLAY_ONLY = "display-only"


class Edit(Record):
    __slots__ = ("start", "end", "text")

    def __init__(self, start: int, end: int, text: str) -> None:
        self.start = start
        self.end = end
        self.text = text


class EnsureLine(Record):
    """A line another file must contain after a fix; appended if it is missing."""

    __slots__ = ("path", "line")

    def __init__(self, path: str, line: str) -> None:
        self.path = path
        self.line = line


class Fix(Record):
    __slots__ = ("edits", "applicability", "description", "companions")

    def __init__(self, edits: tuple[Edit, ...], applicability: Applicability, description: str,
                 companions: tuple[EnsureLine, ...] = ()) -> None:
        self.edits = edits
        self.applicability = applicability
        self.description = description
        # Lines other files must then contain (`NAME=` in a `.env.example`); see companions.py.
        self.companions = companions

    @property
    def span(self) -> Span:
        return Span(min(edit.start for edit in self.edits), max(edit.end for edit in self.edits))


class Finding(Record):
    __slots__ = ("rule", "span", "message", "fix")

    def __init__(self, rule: str, span: Span, message: str, fix: Fix | None = None) -> None:
        self.rule = rule
        self.span = span
        self.message = message
        self.fix = fix


def apply_edits(text: str, edits: list[Edit]) -> str:
    """Apply non-overlapping edits (insertions at one point keep their given order)."""
    ordered = sorted(enumerate(edits), key=lambda item: (item[1].start, item[1].end, item[0]))
    out: list[str] = []
    position = 0
    for _, edit in ordered:
        if edit.start < position:
            raise ValueError(f"overlapping edits at offset {edit.start}")
        out.append(text[position:edit.start])
        out.append(edit.text)
        position = edit.end
    out.append(text[position:])
    return "".join(out)


def overlaps(a: Fix, b: Fix) -> bool:
    """Two fixes conflict if any of their edits touch the same characters or point."""
    return any(conflict(x, y) for x in a.edits for y in b.edits)


def conflict(x: Edit, y: Edit) -> bool:
    """Two edits conflict if they touch the same characters or point."""
    return (x.start < y.end and y.start < x.end) or x.start == y.start or x.end == y.end


_BLANK = " \t"


def _is_line_continuation(text: str, offset: int, escape: str) -> bool:
    """Whether `offset` is at an escape character that only has blanks after it on its line."""
    if offset >= len(text) or text[offset] != escape:
        return False
    end = offset + 1
    while end < len(text) and text[end] in _BLANK:
        end += 1
    return end >= len(text) or text[end] in "\r\n"


def remove_word(text: str, span: Span, escape: str = "\\") -> Edit:
    """Delete a word and the blank space that belonged to it.

    `pip install --no-cache-dir -r x` → `pip install -r x`. A word alone on its
    continuation line takes the whole line with it; a word first on its line takes the
    blanks after it, so the next word keeps the indentation.
    """
    start, end = span.start, span.end
    before = start
    while before > 0 and text[before - 1] in _BLANK:
        before -= 1
    after = end
    while after < len(text) and text[after] in _BLANK:
        after += 1
    first_on_line = before == 0 or text[before - 1] == "\n"
    if first_on_line:
        if _is_line_continuation(text, after, escape) or after >= len(text) or text[after] in "\r\n":
            return Edit(line_start(text, start), line_end(text, end), "")
        return Edit(start, after, "")
    if _is_line_continuation(text, after, escape):
        return Edit(start, after, "") if before < start else Edit(start, end, "")
    return Edit(before, end, "")


def _only_blanks(text: str, start: int, end: int) -> bool:
    return all(char in _BLANK for char in text[start:end])


def has_comment_line(text: str, start: int, end: int) -> bool:
    """Whether a whole line after `start`'s line and inside `[start, end)` is a comment
    (a Dockerfile comment or a shell comment in a heredoc): a deletion must not take it."""
    offset = line_end(text, start)
    while offset < end:
        stripped = text[offset:line_end(text, offset)].lstrip(_BLANK)
        if stripped.startswith("#") and line_end(text, offset) <= end:
            return True
        offset = line_end(text, offset)
    return False


def remove_element(text: str, element: Element, escape: str = "\\") -> list[Edit] | None:
    """Remove one element of a chain together with exactly one adjacent operator.

    Layouts handled: everything on one line; one command per continuation line with the
    operator trailing (`a && \\` / `b && \\` / `c`) or leading (`a \\` / `&& b \\`);
    one command per line of a heredoc script. Comment lines are never deleted. Returns
    None when the removal would change what the remaining commands mean (the operators on
    both sides differ, or one of them is `||`), when the element is alone in its chain, or
    when no layout rule applies cleanly.
    """
    chain: Chain | None = element.chain
    if chain is None or len(chain.elements) < 2:
        return None
    index = element.index
    before_op = chain.operators[index - 1] if index > 0 else None
    after_op = chain.operators[index] if index < len(chain.operators) else None
    if before_op and after_op and before_op.text != after_op.text:
        return None
    if "||" in (getattr(before_op, "text", None), getattr(after_op, "text", None)):
        # `a || b || c` without b runs c when a succeeds; `a || b` without b lets a's
        # failure through. A command next to `||` cannot be dropped without changing
        # what the others do.
        return None
    span = element.span
    own_line_start = line_start(text, span.start)
    starts_line = _only_blanks(text, own_line_start, span.start)

    if index > 0 and after_op is not None and starts_line:
        # The command and its trailing operator fill whole lines: delete those lines.
        if after_op.text == "\n":
            end = line_end(text, span.end)
        else:
            tail = after_op.span.end
            while tail < len(text) and text[tail] in _BLANK:
                tail += 1
            end = line_end(text, tail) if _is_line_continuation(text, tail, escape) else -1
        if end > 0 and not has_comment_line(text, own_line_start, end):
            return [Edit(own_line_start, end, "")]
    if index > 0:
        start = chain.elements[index - 1].span.end
        if not has_comment_line(text, start, span.end):
            return [Edit(start, span.end, "")]
        if after_op is None and starts_line:
            # The last command, after comment lines: cut the operator and continuation
            # that followed the previous command, then the command's own lines. The
            # comment lines stay, as comments between instructions.
            cut_end = line_end(text, start)
            while cut_end > start and text[cut_end - 1] in "\r\n":
                cut_end -= 1
            return [Edit(start, cut_end, ""), Edit(own_line_start, line_end(text, span.end), "")]
        return None
    following = chain.elements[1]
    if has_comment_line(text, span.start, following.span.start):
        return None
    return [Edit(span.start, following.span.start, "")]


def wrap_in_group(span: Span, suffix: str = "") -> list[Edit]:
    """`cmd` → `{ cmd<suffix>; }`: scope a tolerance such as ` 2>/dev/null || true`.

    `span` covers the command (or `cmd || true`, to scope an existing tolerance). Braces keep
    the command in the current shell (unlike a subshell: `cd` and variables still apply to
    the rest of the chain) and make the `|| true` apply to this command alone, never to the
    chain before it.
    """
    return [Edit(span.start, span.start, "{ "), Edit(span.end, span.end, f"{suffix}; }}")]


def insert_after(doc: Dockerfile, instruction: Instruction, text: str) -> Edit | None:
    """New instruction line(s) `text` right after `instruction`, in the file's newline style.

    None when the file ends inside `instruction`'s continuation (`RUN pip install x \\` as
    the last line): BuildKit would read the added line as more arguments of that RUN.
    """
    if instruction.open_continuation:
        return None
    end = instruction.span.end
    return Edit(end, end, doc.newline + text)


def insert_text(offset: int, text: str) -> Edit:
    return Edit(offset, offset, text)


_LIST_BREAKS = {";", "\n"}


def remove_elements(text: str, chain: Chain, first: int, last: int,
                    escape: str = "\\") -> list[Edit] | None:
    """Remove elements `first..last` (one command, or a command with its `|| true`).

    The removal must leave every other command's fate unchanged:
    - `find … && next` / `prev && find … && next` / `prev && find …` lose the command and
      one `&&` (as `remove_element` does, with its layout rules);
    - `prev && find … || true && next`: the `|| true` masked `prev` too. If `prev` itself
      ends in `|| true` (it always succeeds) or there is no `prev`, the pair goes away;
      otherwise only `&& find …` is removed, leaving `prev || true && next` — exactly what
      the shell did before, minus the removed command (the masking of `prev` is the
      `masked-failure` rule's business);
    - a command after `||`, or followed by `||` other than its own `|| true`, is not
      removed (the commands around it would run in different cases).
    Returns None when no such edit exists or a comment line would be lost.
    """
    from dfmod.semantic.findcmd import always_succeeds_before  # a fix's: not imported by a check

    if last - first not in (0, 1):
        return None
    before_op = chain.operators[first - 1].text if first > 0 else None
    after_op = chain.operators[last].text if last < len(chain.operators) else None
    if before_op not in (None, "&&", *_LIST_BREAKS) or after_op not in (None, "&&", *_LIST_BREAKS):
        return None
    if last > first and before_op == "&&" and not always_succeeds_before(chain, first):
        start = chain.elements[first - 1].span.end
        end = chain.elements[first].span.end
        return None if has_comment_line(text, start, end) else [Edit(start, end, "")]
    merged = _merge(chain, first, last)
    return remove_element(text, merged, escape)


def _merge(chain: Chain, first: int, last: int) -> Element:
    """A copy of `chain` in which elements `first..last` are one element (for layout rules)."""
    elements = chain.elements
    span = Span(elements[first].span.start, elements[last].span.end)
    commands = [command for element in elements[first:last + 1] for command in element.commands]
    merged = Element("group", span, commands)
    copy = Chain([*elements[:first], merged, *elements[last + 1:]],
                 chain.operators[:first] + chain.operators[last:])
    merged.chain = copy
    merged.index = first
    return merged
