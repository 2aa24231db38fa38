"""Unified diffs that `git apply` accepts: `a/` and `b/` paths, exact line endings."""

from __future__ import annotations

import difflib
import os


def display_path(path: str) -> str:
    """The path as a diff or report shows it: relative to the working directory if inside."""
    relative = os.path.relpath(path)
    if relative.startswith(".."):
        relative = os.path.abspath(path)
    return relative.replace(os.sep, "/")


def unified_diff(path: str, before: str, after: str) -> str:
    """A git-style unified diff of one file (empty if nothing changed).

    Lines keep their own endings, so CRLF files diff as CRLF, and a missing final newline
    gets git's `\\ No newline at end of file` marker.
    """
    if before == after:
        return ""
    name = display_path(path).lstrip("/")
    out = [f"diff --git a/{name} b/{name}\n"]
    lines = difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True),
        fromfile=f"a/{name}", tofile=f"b/{name}", n=3,
    )
    for line in lines:
        out.append(line)
        if not line.endswith("\n"):
            out.append("\n\\ No newline at end of file\n")
    return "".join(out)
