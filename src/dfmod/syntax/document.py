"""What every kind of document dfmod edits has in common.

Every kind keeps its original text and exposes the same small surface the engine needs:
`text`, `path`, `newline`, `position(offset)` and `problems()` (how many parts of it no
longer parse — a fix may never raise it).
Parsing failures raise `DocumentError`, which the CLI reports as one line.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: importing typing costs ~7 ms (tests/test_startup.py)


class DocumentError(Exception):
    """The file cannot be read as its kind (BuildKit or a YAML parser would reject it)."""


if TYPE_CHECKING:  # a type only: every kind subclasses TextDocument
    from typing import Protocol

    class Document(Protocol):
        kind: str  # "dockerfile" or "compose": which codemods apply
        text: str
        path: str

        @property
        def newline(self) -> str: ...

        @property
        def searchable(self) -> str: ...

        def position(self, offset: int) -> tuple[int, int]: ...

        def problems(self) -> int: ...


class TextDocument:
    """What every document kind shares: the original text, its newline style, positions.

    Subclasses set `text` and provide `line_starts` (offsets where lines begin, as the
    kind's own parser counts lines).
    """

    text: str
    line_starts: list[int]

    @property
    def searchable(self) -> str:
        """The text a codemod's `needs` are looked for in (`Codemod.needs`): the whole text,
        unless a kind reads it otherwise (a Dockerfile joins continuation lines)."""
        return self.text

    @property
    def newline(self) -> str:
        """The newline style inserted lines must use: the file's first line break."""
        index = self.text.find("\n")
        return "\r\n" if index > 0 and self.text[index - 1] == "\r" else "\n"

    def position(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of an offset."""
        from bisect import bisect_right

        line = bisect_right(self.line_starts, offset)
        return line, offset - self.line_starts[line - 1] + 1
