"""The findings `docs/precision.md` judges: what the corpus precision tests compare with.

Each rule's section (`## <rule>`) holds a table with the columns file, line, verdict and
reason: one row per finding dfmod reports on `../shared/corpus-dev/`. Tables of findings that
are no longer reported have other columns (`was`, `now`) and are not read.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus-dev"
_ROW = re.compile(r"\| `(?P<file>[^`]+)` \| (?P<line>\d+) \| (?P<verdict>TRUE|FALSE|DEBATABLE) \|")


def judged_rows(rules: tuple[str, ...]) -> list[tuple[str, str, int, str]]:
    """(rule, corpus path, line, verdict) of every judged finding of `rules`."""
    rows, rule = [], None
    for line in (ROOT / "docs" / "precision.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            rule = line[3:].strip()
        match = _ROW.match(line)
        if match and rule in rules:
            rows.append((rule, match["file"], int(match["line"]), match["verdict"]))
    return rows


def judged(rules: tuple[str, ...]) -> set[tuple[str, str, int]]:
    """(rule, corpus path, line) of every judged finding of `rules`."""
    return {(rule, file, line) for rule, file, line, _verdict in judged_rows(rules)}
