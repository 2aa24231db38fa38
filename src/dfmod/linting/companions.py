"""Edits a fix makes to a file other than the one it is about.

Some fixes are only complete with a line in another file: replacing a literal secret in a
compose file by `${NAME}` should also list `NAME=` in the project's `.env.example`, or the
next person to set the project up does not know the variable exists. A fix names such lines
(`EnsureLine`); this module turns the applied fixes into the new text of those files —
appending each missing line, in the file's own newline style — so that `apply` shows them
in its diff, `--fix` writes them atomically, and `pr` commits them with the fix. A
companion file outside the project is reported and left alone; the fix itself still goes. A line
already present is not added twice, so running the fixes again changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

from dfmod.linting.edits import Finding
from dfmod.syntax.source import OutsideProject, SourceFile, guard, read_source


def required_lines(applied: Iterable[Finding]) -> dict[str, list[str]]:
    """The lines each companion file must contain, in the order the fixes name them."""
    lines: dict[str, list[str]] = {}
    for finding in applied:
        for item in finding.fix.companions if finding.fix else ():
            wanted = lines.setdefault(item.path, [])
            if item.line not in wanted:
                wanted.append(item.line)
    return lines


def updated(source: SourceFile, lines: list[str]) -> str:
    """`source`'s text with each of `lines` appended unless an identical line is there."""
    text = source.text
    present = {line.strip() for line in text.splitlines()}
    missing = [line for line in lines if line.strip() not in present]
    if not missing:
        return text
    newline = source.newline
    if text and not text.endswith("\n"):
        text += newline
    return text + "".join(line + newline for line in missing)


def companion_sources(applied: Iterable[Finding],
                      refused: list[OutsideProject] | None = None) -> list[tuple[SourceFile, str]]:
    """(file as read, new text) for every companion file the applied fixes change.

    A companion file outside the project (`source.guard`: an `.env.example` committed as a
    link to a file elsewhere is not ours to change) is left alone and added to `refused`;
    without that list it raises, as does (`InputError`) a companion that cannot be read.
    """
    changes = []
    for path, lines in required_lines(applied).items():
        try:
            guard(path, "changed")
        except OutsideProject as error:
            if refused is None:
                raise
            refused.append(error)
            continue
        source = read_source(path)
        new_text = updated(source, lines)
        if new_text != source.text:
            changes.append((source, new_text))
    return changes
