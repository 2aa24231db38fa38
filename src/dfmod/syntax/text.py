"""Spans and mapped text: the bridge between what a tool sees and the bytes of the file.

Docker joins continuation lines and drops comment lines inside them before the shell ever
sees a `RUN`; BuildKit's own parsers see that joined text too. dfmod parses the joined
text (a `MappedText`) and keeps, for every character, its offset in the original file, so
every node found there can be edited in place without re-printing anything else.
"""

from __future__ import annotations

from dfmod.syntax.records import Record


class Span(Record):
    """A half-open character range `[start, end)` in a document's original text."""

    __slots__ = ("start", "end")

    def __init__(self, start: int, end: int) -> None:
        self.start = start
        self.end = end

    def __len__(self) -> int:
        return self.end - self.start


class MappedText:
    """A string whose every character knows its offset in the original document.

    `offsets` lists them one by one; None means the text lies unbroken in the original
    from `base` on (offset of character i: `base + i`). That is every one-line instruction,
    most of a file, and keeps a 20,000-line Dockerfile from building a list per character.
    """

    __slots__ = ("base", "offsets", "text")

    def __init__(self, text: str, offsets: list[int] | None, base: int) -> None:
        self.text = text
        self.offsets = offsets
        self.base = base  # where an empty text sits in the original (and a contiguous one starts)

    @classmethod
    def verbatim(cls, source: str, start: int, end: int) -> MappedText:
        """The original text `source[start:end]`, mapped one to one."""
        return cls(source[start:end], None, start)

    def __len__(self) -> int:
        return len(self.text)

    def offset(self, index: int) -> int:
        """Original offset of the character at `index` (or just after the last one)."""
        offsets = self.offsets
        if offsets is None:
            return self.base + min(index, len(self.text))
        if index < len(offsets):
            return offsets[index]
        return offsets[-1] + 1 if offsets else self.base

    def span(self, start: int, end: int) -> Span:
        """Original span covering the mapped characters `[start, end)`."""
        if end <= start:
            position = self.offset(start)
            return Span(position, position)
        if self.offsets is None:
            return Span(self.base + start, self.base + min(end, len(self.text)))
        return Span(self.offsets[start], self.offsets[end - 1] + 1)

    def slice(self, start: int, end: int | None = None) -> MappedText:
        end = len(self.text) if end is None else end
        offsets = None if self.offsets is None else self.offsets[start:end]
        return MappedText(self.text[start:end], offsets, self.offset(start))

    def lstrip(self) -> MappedText:
        stripped = self.text.lstrip(" \t\r\n\v\f")
        return self.slice(len(self.text) - len(stripped))

    def all_offsets(self) -> list[int]:
        """Every character's original offset, as a list."""
        if self.offsets is None:
            return list(range(self.base, self.base + len(self.text)))
        return self.offsets

    def __add__(self, other: MappedText) -> MappedText:
        if self.offsets is None and other.offsets is None and other.base == self.base + len(self.text):
            return MappedText(self.text + other.text, None, self.base)
        return MappedText(self.text + other.text, self.all_offsets() + other.all_offsets(), self.base)


def line_starts(text: str) -> list[int]:
    """Offsets at which each line of `text` begins (line 1 at index 0)."""
    starts = [0]
    find = text.find
    index = find("\n")
    while index >= 0:
        starts.append(index + 1)
        index = find("\n", index + 1)
    return starts


def line_start(text: str, offset: int) -> int:
    """Offset of the start of the line holding `offset`."""
    return text.rfind("\n", 0, offset) + 1


def line_end(text: str, offset: int) -> int:
    """Offset just past the newline ending the line holding `offset` (or len(text))."""
    index = text.find("\n", offset)
    return len(text) if index < 0 else index + 1


def is_number(text: str) -> bool:
    """ASCII digits only, as Go's `strconv.Atoi` (and so BuildKit) reads a number.

    `str.isdigit` is not enough: it accepts `²`, on which `int()` raises.
    """
    return text.isascii() and text.isdigit()
