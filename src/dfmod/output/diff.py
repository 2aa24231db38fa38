"""Unified diffs that `git apply` accepts: `a/` and `b/` paths, exact line endings."""

from __future__ import annotations

from dfmod.workspace.discovery import display_path


def unified_diff(path: str, before: str, after: str) -> str:
    """A git-style unified diff of one file (empty if nothing changed).

    Lines keep their own endings, so CRLF files diff as CRLF, and a missing final newline
    gets git's `\\ No newline at end of file` marker.
    """
    if before == after:
        return ""
    import difflib  # only when there is a diff to show

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
