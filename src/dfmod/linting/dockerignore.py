"""`.dockerignore`: which files of a build context the builder never sends.

BuildKit's rules (moby/patternmatcher), kept here: one pattern a line, `#` lines and blank
lines skipped, surrounding blanks trimmed, each pattern cleaned like a path and anchored at
the context's root (a leading `/` means nothing); `*` and `?` stay inside one path segment,
`**` spans any number of them, `[…]` is a class and `\\` escapes; `!` re-includes. A path is
excluded when the last pattern that matches it — or one of its parent directories — is not
a `!` pattern. Unlike `.gitignore`, a pattern without a slash matches at the root only.
"""

from __future__ import annotations

import posixpath
import re

from dfmod.syntax.records import Record


class _Pattern(Record):
    __slots__ = ("regex", "negated")

    def __init__(self, regex: re.Pattern[str], negated: bool) -> None:
        self.regex = regex
        self.negated = negated


class DockerIgnore:
    """The patterns of one ignore file (none: nothing is excluded)."""

    def __init__(self, text: str = "") -> None:
        self.patterns: list[_Pattern] = []
        for line in text.splitlines():
            pattern = line.strip()
            if not pattern or pattern.startswith("#"):
                continue
            negated = pattern.startswith("!")
            pattern = pattern[1:].strip() if negated else pattern
            pattern = posixpath.normpath(pattern).lstrip("/")
            if pattern and pattern != ".":
                self.patterns.append(_Pattern(_compile(pattern), negated))

    def excludes(self, path: str) -> bool:
        """Whether the context-relative `path` (`/`-separated) is left out of the context."""
        path = posixpath.normpath(path).lstrip("/")
        if path in ("", "."):
            return False
        parts = path.split("/")
        candidates = ["/".join(parts[:end]) for end in range(1, len(parts) + 1)]
        excluded = False
        for pattern in self.patterns:
            if any(pattern.regex.fullmatch(candidate) for candidate in candidates):
                excluded = not pattern.negated
        return excluded


def _compile(pattern: str) -> re.Pattern[str]:
    """A pattern as a regular expression over a whole context-relative path."""
    out: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if pattern.startswith("**", index):
            index += 2
            if pattern.startswith("/", index):
                out.append("(?:.*/)?")  # `**/` is zero or more directories
                index += 1
            else:
                out.append(".*")
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "\\" and index + 1 < len(pattern):
            index += 1
            out.append(re.escape(pattern[index]))
        elif char == "[":
            end = pattern.find("]", index + 1)
            if end < 0:
                out.append(re.escape(char))
            else:
                out.append(f"[{pattern[index + 1:end]}]")  # Go's classes read as Python's
                index = end
        else:
            out.append(re.escape(char))
        index += 1
    return re.compile("".join(out), re.DOTALL)
