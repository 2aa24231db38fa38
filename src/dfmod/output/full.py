"""`--output-format full`: each finding under the lines it is about, as ruff shows them.

    Dockerfile:8:17: cache-mount-no-cache-dir `--no-cache-dir` turns off the cache mount [*]
      |
    7 | WORKDIR /app
    8 | RUN --mount=type=cache,target=/root/.cache/pip pip install --no-cache-dir -r req.txt
      |                                                            ^^^^^^^^^^^^^^ cache-mount-no-cache-dir
    9 | COPY . .
      |
      = fix (safe, `dfmod apply --fix`): drop --no-cache-dir
      = docs: dfmod explain cache-mount-no-cache-dir (docs/rules.md#cache-mount-no-cache-dir)

The first line is the concise format's line, so a reader or a tool that knows that one
finds it here too. Around the span: `CONTEXT` lines before and after; a span longer than
`LONGEST_SPAN` lines shows its first and last lines with `...` between. Carets are
placed by display width — a tab counts as four columns (shown as four spaces), a wide
East Asian character as two — so they stand under the span whatever the file holds.
With `--show-fixes` the fix follows as the lines it changes, `-` as they are and `+` as
the fix leaves them, each fix against the file as checked (whose line numbers it shows).

The default on a terminal (`dfmod.cli`), where a person reads; a pipe gets `concise`.
"""

from __future__ import annotations

import unicodedata
from bisect import bisect_right
from collections.abc import Sequence
from typing import TYPE_CHECKING

from dfmod.linting.edits import Applicability, Edit, Finding, apply_edits
from dfmod.output.formats import BOLD, CYAN, GREEN, RED, RESET, colour_findings
from dfmod.output.report import text_report
from dfmod.output.rulesdoc import docs_url

if TYPE_CHECKING:
    from dfmod.linting.codemod import Codemod
    from dfmod.linting.located import Located

CONTEXT = 2
LONGEST_SPAN = 6
TAB = "    "

_FIX = {
    Applicability.SAFE: "safe, `dfmod apply --fix`",
    Applicability.UNSAFE: "unsafe, `dfmod apply --fix --unsafe-fixes`",
    Applicability.DISPLAY_ONLY: "display-only, never applied",
}


def _width(text: str) -> int:
    """Columns `text` takes on a terminal (tabs as `TAB`)."""
    width = 0
    for char in text:
        if char == "\t":
            width += len(TAB)
        elif unicodedata.combining(char):
            continue
        else:
            width += 2 if unicodedata.east_asian_width(char) in "WF" else 1
    return width


class Lines:
    """A file's text as numbered lines (split at `\\n`, a `\\r` before it not shown)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = text.split("\n")
        self.starts = [0]
        for line in self.lines[:-1]:
            self.starts.append(self.starts[-1] + len(line) + 1)

    @property
    def count(self) -> int:
        """Lines to show: a final newline ends the last line rather than start another."""
        return len(self.lines) - (self.lines[-1] == "")

    def index(self, offset: int) -> int:
        """The 0-based line holding `offset`."""
        return bisect_right(self.starts, offset) - 1

    def shown(self, index: int) -> str:
        return self.lines[index].removesuffix("\r").replace("\t", TAB)


class Full:
    """Renders one file's findings; `codemods` are the rules that ran (those have docs)."""

    def __init__(self, codemods: Sequence[type[Codemod]], show_fixes: bool = False,
                 colour: bool = False) -> None:
        self.documented = {codemod.id for codemod in codemods}
        self.show_fixes = show_fixes
        self.colour = colour

    def _paint(self, code: str, text: str) -> str:
        return f"{code}{text}{RESET}" if self.colour and text else text

    def render(self, items: Sequence[Located], text: str | None) -> str:
        if text is None:  # nothing to frame (not expected: the runner keeps the text)
            return self._header(items)
        lines = Lines(text)
        return "".join(self._finding(item, lines) for item in items)

    def _header(self, items: Sequence[Located]) -> str:
        plain = text_report(list(items))
        return colour_findings(plain) if self.colour else plain

    def _gutter(self, width: int, mark: str, number: int | None = None) -> str:
        label = "" if number is None else str(number)
        return self._paint(CYAN, f"{label:>{width}} {mark}")

    def _finding(self, item: Located, lines: Lines) -> str:
        finding = item.finding
        start, end = finding.span.start, finding.span.end
        first, last = lines.index(start), lines.index(max(start, end - 1))
        spanned = list(range(first, last + 1))
        if len(spanned) > LONGEST_SPAN:
            spanned = [*spanned[:3], -1, *spanned[-2:]]  # -1: the `...` line
        before = range(max(0, first - CONTEXT), first)
        after = range(last + 1, min(lines.count, last + 1 + CONTEXT))
        width = len(str(max(last, after.stop - 1) + 1))
        out = [self._header([item]), self._gutter(width, "|") + "\n"]
        for index in before:
            out.append(self._source(width, index, lines))
        shown = [index for index in spanned if index >= 0]
        for index in spanned:
            if index < 0:
                out.append(self._gutter(width, "...").rstrip() + "\n")
                continue
            out.append(self._source(width, index, lines))
            label = f" {finding.rule}" if index == shown[-1] else ""
            indent, carets = self._carets(index, first, last, start, end, lines)
            out.append(self._gutter(width, "|") + f" {indent}" + self._paint(BOLD + RED, carets + label) + "\n")
        for index in after:
            out.append(self._source(width, index, lines))
        out.append(self._gutter(width, "|") + "\n")
        out += self._notes(width, finding, lines)
        out.append("\n")
        return "".join(out)

    def _source(self, width: int, index: int, lines: Lines) -> str:
        return self._numbered(width, "|", index + 1, lines.shown(index))

    def _numbered(self, width: int, mark: str, number: int | None, line: str, colour: str = "") -> str:
        """A line with its number in the file as checked: `  8 | text` (no space after the
        mark when the line is empty); a line a fix adds has none."""
        if colour:
            label = "" if number is None else str(number)
            return self._paint(colour, f"{label:>{width}} {mark}" + (f" {line}" if line else "")) + "\n"
        return self._gutter(width, mark, number) + (f" {line}" if line else "") + "\n"

    @staticmethod
    def _carets(index: int, first: int, last: int, start: int, end: int, lines: Lines) -> tuple[str, str]:
        """The indent and the `^` under the part of line `index` that the span covers."""
        line = lines.lines[index].removesuffix("\r")
        line_start = lines.starts[index]
        begin = start - line_start if index == first else len(line) - len(line.lstrip())
        stop = min(end - line_start, len(line)) if index == last else len(line)
        return " " * _width(line[:begin]), "^" * max(1, _width(line[begin:stop]))

    def _notes(self, width: int, finding: Finding, lines: Lines) -> list[str]:
        fix = finding.fix
        note = self._gutter(width, "=")
        out = []
        if fix is None:
            out.append(f"{note} {self._paint(BOLD, 'fix')}: none; change it by hand\n")
        else:
            out.append(f"{note} {self._paint(BOLD, 'fix')} ({_FIX[fix.applicability]}): {fix.description}\n")
            if self.show_fixes and fix.edits:
                out += self._fix_diff(width, fix.edits, lines)
        if finding.rule in self.documented:
            out.append(f"{note} {self._paint(BOLD, 'docs')}: dfmod explain {finding.rule} "
                       f"({docs_url(finding.rule)})\n")
        return out

    def _fix_diff(self, width: int, edits: Sequence[Edit], lines: Lines) -> list[str]:
        """The lines the fix changes: `-` as they are, `+` as the fix leaves them.

        Edits are grouped by the lines they touch and each group is diffed on its own, so a
        fix that moves a line shows the line leaving one place and arriving at another
        rather than whatever a diff of the whole stretch would match up. Up to two lines
        between groups are shown as context, more as `...`. Numbers are the file's as
        checked, so an added line has none.
        """
        groups: list[tuple[int, int, list[Edit]]] = []
        for edit in sorted(edits, key=lambda edit: (edit.start, edit.end)):
            low, high = lines.index(edit.start), lines.index(edit.end)
            if groups and low <= groups[-1][1]:
                groups[-1] = (groups[-1][0], max(high, groups[-1][1]), [*groups[-1][2], edit])
            else:
                groups.append((low, high, [edit]))
        width = max(width, len(str(groups[-1][1] + 1)))
        out = [self._gutter(width, "|") + "\n"]
        previous: int | None = None
        for low, high, group in groups:
            if previous is not None:
                between = range(previous + 1, low)
                if len(between) > 2:
                    out.append(self._gutter(width, "...").rstrip() + "\n")
                else:
                    out += [self._source(width, index, lines) for index in between]
            out += self._group_diff(width, low, high, group, lines)
            previous = high
        out.append(self._gutter(width, "|") + "\n")
        return out

    def _group_diff(self, width: int, low: int, high: int, edits: list[Edit], lines: Lines) -> list[str]:
        import difflib  # only with --show-fixes

        region_start = lines.starts[low]
        region = lines.text[region_start:lines.starts[high] + len(lines.lines[high])]
        fixed = apply_edits(region, [Edit(edit.start - region_start, edit.end - region_start, edit.text)
                                     for edit in edits])
        old = [line.removesuffix("\r").replace("\t", TAB) for line in region.split("\n")]
        new = [line.removesuffix("\r").replace("\t", TAB) for line in fixed.split("\n")]
        out = []
        matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
        for tag, old_from, old_to, new_from, new_to in matcher.get_opcodes():
            if tag == "equal":
                out += [self._numbered(width, "|", low + 1 + i, old[i]) for i in range(old_from, old_to)
                        if low + i < lines.count]  # not the "line" after a final newline
                continue
            out += [self._numbered(width, "-", low + 1 + i, old[i], RED) for i in range(old_from, old_to)]
            out += [self._numbered(width, "+", None, new[i], GREEN) for i in range(new_from, new_to)]
        return out
