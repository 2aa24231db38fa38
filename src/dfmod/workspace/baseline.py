"""Baseline files: report only the findings a repository did not already have.

`dfmod check --write-baseline FILE` records the current findings; `dfmod check --baseline
FILE` then reports only findings not recorded there (the alternative to `--add-ignore`'s
comments for a repository that wants none). The names follow SwiftLint's `--baseline` /
`--write-baseline`; ruff has no baseline.

A finding is recorded by its file (relative to the repository root, `repo_path`, so the
baseline is the same wherever the checkout lies or dfmod is started), its rule and the
normalised text of the instruction or compose key it is about (`Located.anchor`) — not its
line: code moved above or below, or re-indented, is still the same finding, while an edited
instruction is a new one and is reported again. Identical findings in one file are counted:
a baseline of two hides two, and a third is reported. Entries for files that are gone are
simply never matched.

The file is JSON, one finding a line, sorted by file, rule and anchor, so that a
regenerated baseline diffs cleanly in review:

    {"version": 1, "findings": [
      {"file": "app/Dockerfile", "rule": "copy-before-install", "anchor": "COPY . ./", "count": 1}
    ]}

Why the workspace layer: a baseline is matched per file as the runner yields results, by
the repository path the workspace defines, before any report is rendered — so every
output format and the exit code see the same filtered findings. (`output` only renders.)
"""

from __future__ import annotations

import contextlib
import json
import os
from collections import Counter
from collections.abc import Iterable

from dfmod.linting.located import Located
from dfmod.syntax.source import InputError
from dfmod.workspace.repopath import repo_path

VERSION = 1
Key = tuple[str, str, str]  # file (repository path), rule, anchor text


class Baseline:
    """The recorded findings, as counts still to absorb (each match uses one up)."""

    def __init__(self, counts: Counter[Key], roots: tuple[str, ...] | None = None) -> None:
        self.counts = counts
        self.roots = roots  # the run's project roots, which file names are relative to

    @classmethod
    def load(cls, path: str, roots: tuple[str, ...] | None = None) -> Baseline:
        """Read a baseline file; anything but one dfmod wrote raises `InputError`."""
        try:
            with open(path, encoding="utf-8") as handle:
                data = json.load(handle)
        except FileNotFoundError:
            raise InputError(path, "--baseline: no such file (write one with --write-baseline)") from None
        except (OSError, ValueError) as error:
            raise InputError(path, f"--baseline: cannot read: {error}") from None
        counts: Counter[Key] = Counter()
        try:
            if data.get("version") != VERSION:
                raise InputError(path, f"--baseline: not a version {VERSION} dfmod baseline")
            for entry in data["findings"]:
                key = (entry["file"], entry["rule"], entry["anchor"])
                if not all(isinstance(part, str) for part in key) or not isinstance(entry["count"], int):
                    raise TypeError
                counts[key] += entry["count"]
        except (AttributeError, KeyError, TypeError):
            raise InputError(path, "--baseline: not a dfmod baseline (see `--write-baseline`)") from None
        return cls(counts, roots)

    def new(self, items: list[Located]) -> list[Located]:
        """The findings of one file that the baseline does not hold, in their order. Of
        identical findings the first ones in the file use up the count; the later are new."""
        kept = []
        for item in items:
            key = _key(item, self.roots)
            if self.counts[key] > 0:
                self.counts[key] -= 1
            else:
                kept.append(item)
        return kept


def _key(item: Located, roots: tuple[str, ...] | None) -> Key:
    return repo_path(item.path, roots), item.finding.rule, item.anchor


def render(items: Iterable[Located], roots: tuple[str, ...] | None = None) -> str:
    """The baseline file recording `items` (see the module docstring)."""
    counts = Counter(_key(item, roots) for item in items)
    lines = [json.dumps({"file": file, "rule": rule, "anchor": anchor, "count": count},
                        ensure_ascii=False)
             for (file, rule, anchor), count in sorted(counts.items())]
    body = "".join(f"\n  {line}{',' if index < len(lines) - 1 else ''}"
                   for index, line in enumerate(lines))
    return f'{{"version": {VERSION}, "findings": [{body}{chr(10) if lines else ""}]}}\n'


def write(path: str, items: Iterable[Located], roots: tuple[str, ...] | None = None) -> None:
    """Write the baseline atomically (a temporary file renamed over `path`): an interrupted
    run leaves the previous baseline, never half of one."""
    import tempfile

    text = render(items, roots)
    try:
        fd, temp_path = tempfile.mkstemp(prefix=".dfmod-baseline-",
                                         dir=os.path.dirname(os.path.abspath(path)))
    except OSError as error:
        raise InputError(path, f"--write-baseline: cannot write: {error.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temp_path, 0o666 & ~umask)  # a file to commit, not mkstemp's private 0600
        os.replace(temp_path, path)
    except OSError as error:
        with contextlib.suppress(OSError):
            os.unlink(temp_path)
        raise InputError(path, f"--write-baseline: cannot write: {error.strerror}") from None
