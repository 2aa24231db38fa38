"""BuildKit's own parser (the `dockerfile` package) as the oracle for dfmod's lexer."""

from __future__ import annotations

import dockerfile

from dfmod.syntax.dockerfile import Dockerfile


def buildkit_ranges(text: str) -> list[tuple[str, int, int]]:
    """(instruction, start line, end line) as BuildKit reports them. Raises on bad input."""
    return [(command.cmd.upper(), command.start_line, command.end_line)
            for command in dockerfile.parse_string(text)]


def dfmod_ranges(text: str) -> list[tuple[str, int, int]]:
    return [(item.keyword, item.start_line, item.end_line)
            for item in Dockerfile(text).instructions]


def assert_agrees_with_buildkit(text: str) -> None:
    """Our lexer reads the same instructions on the same lines as BuildKit."""
    assert dfmod_ranges(text) == buildkit_ranges(text)
