"""A finding placed in its file: the line and column a reader or a CI annotation needs."""

from __future__ import annotations

from dfmod.linting.edits import Finding
from dfmod.syntax.records import Record

TYPE_CHECKING = False  # not typing's: importing typing costs ~7 ms (tests/test_startup.py)
if TYPE_CHECKING:
    from dfmod.syntax.document import Document


class Located(Record):
    """A finding with the file it belongs to and its line/column positions."""

    __slots__ = ("path", "finding", "line", "column", "end_line", "end_column", "anchor")
    __hash__ = None  # not frozen (a plain dataclass before): unhashable

    def __init__(self, path: str, finding: Finding, line: int, column: int, end_line: int,
                 end_column: int, anchor: str = "") -> None:
        self.path = path
        self.finding = finding
        self.line = line
        self.column = column
        self.end_line = end_line
        self.end_column = end_column
        # The instruction or compose key the finding is about, as text that does not depend
        # on where it sits (`anchor_text` of the document; else the finding's own text): what
        # a baseline (`dfmod.workspace.baseline`) matches instead of line numbers.
        self.anchor = anchor

    @classmethod
    def of(cls, doc: Document, finding: Finding) -> Located:
        line, column = doc.position(finding.span.start)
        end_line, end_column = doc.position(finding.span.end)
        describe = getattr(doc, "anchor_text", None)
        anchor = describe(finding.span.start) if describe is not None else None
        if anchor is None:
            anchor = " ".join(doc.text[finding.span.start:finding.span.end].split())
        return cls(doc.path, finding, line, column, end_line, end_column, anchor)
