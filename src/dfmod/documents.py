"""The kinds of document dfmod edits, and how a path becomes one.

Every kind keeps its original text and exposes the same small surface the engine needs:
`text`, `path`, `newline`, `position(offset)`, `problems()` (how many parts of it no
longer parse — a fix may never raise it) and `related_paths()` (other files a run should
cover because this one names them, such as the Dockerfiles a compose file builds).
Parsing failures raise `DocumentError`, which the CLI reports as one line.
"""

from __future__ import annotations

import fnmatch
import os
from typing import Protocol


class DocumentError(Exception):
    """The file cannot be read as its kind (BuildKit or a YAML parser would reject it)."""


class Document(Protocol):
    kind: str  # "dockerfile" or "compose": which codemods apply
    text: str
    path: str

    @property
    def newline(self) -> str: ...

    def position(self, offset: int) -> tuple[int, int]: ...

    def problems(self) -> int: ...

    def related_paths(self) -> list[str]: ...


class TextDocument:
    """What every document kind shares: the original text, its newline style, positions.

    Subclasses set `text` and provide `line_starts` (offsets where lines begin, as the
    kind's own parser counts lines).
    """

    text: str
    line_starts: list[int]

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


DOCKERFILE_PATTERNS = ("Dockerfile", "Dockerfile.*", "*.Dockerfile", "*.dockerfile",
                       "Containerfile", "Containerfile.*")
COMPOSE_PATTERNS = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml",
                    "compose.*.yaml", "compose.*.yml", "docker-compose.*.yaml",
                    "docker-compose.*.yml")


def _matches(name: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def kind_of(path: str) -> str | None:
    """"dockerfile", "compose", or None for a name dfmod does not recognise."""
    name = os.path.basename(path)
    if _matches(name, COMPOSE_PATTERNS):
        return "compose"
    if _matches(name, DOCKERFILE_PATTERNS):
        return "dockerfile"
    return None


def parse(text: str, path: str, kind: str | None = None) -> Document:
    """Parse `text` as the kind its name says (a Dockerfile when the name says nothing)."""
    kind = kind or kind_of(path) or "dockerfile"
    if kind == "compose":
        from dfmod.compose import ComposeFile

        return ComposeFile(text, path)
    from dfmod.dockerfile import Dockerfile

    return Dockerfile(text, path)
