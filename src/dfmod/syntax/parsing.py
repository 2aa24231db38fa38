"""One entry point from text to a document of a given kind.

It sits above the document kinds, so `document.py` (what they share) never has to import
them back; deciding *which* kind a path is belongs to the workspace (`dfmod.workspace.kinds`).
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: importing typing costs ~7 ms (tests/test_startup.py)
if TYPE_CHECKING:
    from dfmod.syntax.document import Document


def parse(text: str, path: str, kind: str) -> Document:
    """Parse `text` as `kind` ("dockerfile" or "compose"); raises `DocumentError`."""
    if kind == "compose":
        from dfmod.syntax.compose import ComposeFile  # ruamel.yaml: only for compose files

        return ComposeFile(text, path)
    from dfmod.syntax.dockerfile import Dockerfile

    return Dockerfile(text, path)
