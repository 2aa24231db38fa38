"""Reporters: findings as text (like ruff), JSON or JSON lines, and the summary line."""

from __future__ import annotations

from collections.abc import Callable

from dfmod.linting.edits import Applicability, Finding
from dfmod.workspace.discovery import display_path

TYPE_CHECKING = False  # not typing's: importing typing costs ~7 ms (tests/test_startup.py)
if TYPE_CHECKING:
    from dfmod.linting.located import Located


def _repo_path(path: str, roots: tuple[str, ...] | None) -> str:
    """`dfmod.workspace.repopath.repo_path`, imported only for json-lines records."""
    from dfmod.workspace.repopath import repo_path

    return repo_path(path, roots)


def _dumps(value: object, indent: int | None = None, ensure_ascii: bool = True) -> str:
    """`json.dumps`, imported on first use: only the JSON formats need it, and a check
    would pay about 3 ms of its start-up for it."""
    import json

    return json.dumps(value, indent=indent, ensure_ascii=ensure_ascii)


def _marker(finding: Finding) -> str:
    fix = finding.fix
    if fix is None or fix.applicability is Applicability.DISPLAY_ONLY:
        return ""
    return " [*]" if fix.applicability is Applicability.SAFE else " [*unsafe]"


def text_report(items: list[Located]) -> str:
    lines = [
        f"{display_path(item.path)}:{item.line}:{item.column}: {item.finding.rule} "
        f"{item.finding.message}{_marker(item.finding)}"
        for item in items
    ]
    return "".join(line + "\n" for line in lines)


def ignores_report(path: str, comments: int) -> str:
    """`--add-ignore`'s line for a file it wrote comments in (nothing for the others)."""
    if not comments:
        return ""
    return f"{display_path(path)}: wrote {comments} suppression comment{'s' if comments != 1 else ''}\n"


def ignores_summary(comments: int, files: int) -> str:
    return (f"Wrote {comments} suppression comment{'s' if comments != 1 else ''} "
            f"in {files} file{'s' if files != 1 else ''}.")


class Tally:
    """Counts for the summary line and `--statistics`, so reports can stream instead of
    holding every finding."""

    def __init__(self) -> None:
        self.total = self.safe = self.unsafe = 0
        self.rules: dict[str, list[int]] = {}  # rule: [findings, safe fixes, unsafe fixes]

    def add(self, items: list[Located]) -> None:
        for item in items:
            self.total += 1
            marker = _marker(item.finding)
            self.safe += marker == " [*]"
            self.unsafe += marker == " [*unsafe]"
            counts = self.rules.setdefault(item.finding.rule, [0, 0, 0])
            counts[0] += 1
            counts[1] += marker == " [*]"
            counts[2] += marker == " [*unsafe]"

    def statistics(self) -> list[dict[str, object]]:
        """Per rule, most findings first (then by id): what `--statistics` shows."""
        ordered = sorted(self.rules.items(), key=lambda entry: (-entry[1][0], entry[0]))
        return [{"rule": rule, "count": count, "fixable": safe, "unsafe_fixable": unsafe}
                for rule, (count, safe, unsafe) in ordered]


def statistics_report(tally: Tally, as_json: bool = False) -> str:
    """`--statistics`, like ruff's: a line per rule with its count and how many of those
    `--fix` (and `--unsafe-fixes`) would fix; with `--output-format json` the same as a
    JSON array of `Tally.statistics` records.

        3  cache-mount-no-cache-dir  3 fixable
        2  masked-failure            2 fixable with --unsafe-fixes
        1  compose-missing-healthcheck
    """
    rows = tally.statistics()
    if as_json:
        return _dumps(rows, indent=2) + "\n"
    if not rows:
        return ""
    count_width = max(len(str(row["count"])) for row in rows)
    rule_width = max(len(str(row["rule"])) for row in rows)
    lines = []
    for row in rows:
        fixable = []
        if row["fixable"]:
            fixable.append(f"{row['fixable']} fixable")
        if row["unsafe_fixable"]:
            fixable.append(f"{row['unsafe_fixable']} fixable with --unsafe-fixes")
        line = f"{row['count']:>{count_width}}  {row['rule']:<{rule_width}}  {', '.join(fixable)}"
        lines.append(line.rstrip() + "\n")
    return "".join(lines)


def summary(items: list[Located] | Tally, files: int, fixed: int = 0) -> str:
    """`Found N findings in M files (K fixable with --fix, U more with --unsafe-fixes).`"""
    if not isinstance(items, Tally):
        tally = Tally()
        tally.add(items)
        items = tally
    noun = "finding" if items.total == 1 else "findings"
    where = f"{files} file{'s' if files != 1 else ''}"
    text = f"Found {items.total} {noun} in {where}"
    if fixed:
        text = f"Fixed {fixed}; {items.total} {noun} left in {where}"
    extras = []
    if items.safe:
        extras.append(f"{items.safe} fixable with --fix")
    if items.unsafe:
        extras.append(f"{items.unsafe} more with --unsafe-fixes")
    return text + (f" ({', '.join(extras)})" if extras else "") + "."


def json_record(item: Located) -> dict[str, object]:
    fix = item.finding.fix
    return {
        "file": display_path(item.path),
        "line": item.line,
        "column": item.column,
        "end_line": item.end_line,
        "end_column": item.end_column,
        "rule": item.finding.rule,
        "message": item.finding.message,
        "applicability": fix.applicability.value if fix else None,
        "fix": None if fix is None else {
            "description": fix.description,
            "applicability": fix.applicability.value,
            "edits": [{"start": edit.start, "end": edit.end, "text": edit.text}
                      for edit in fix.edits],
        },
    }


def json_report(items: list[Located]) -> str:
    return _dumps([json_record(item) for item in items], indent=2, ensure_ascii=False) + "\n"


class JsonStream:
    """Writes the same text as `json_report`, one finding at a time."""

    def __init__(self, write: Callable[[str], object]) -> None:
        self.write = write
        self.count = 0

    def add(self, items: list[Located]) -> None:
        for item in items:
            record = _dumps(json_record(item), indent=2, ensure_ascii=False)
            self.write(("[\n" if self.count == 0 else ",\n") + "  " + record.replace("\n", "\n  "))
            self.count += 1

    def close(self) -> None:
        self.write("\n]\n" if self.count else "[]\n")


class JsonLines:
    """`--format json-lines`: one JSON object per finding per line, written as each file
    finishes.

    The report of one shard of a sweep, made so that the shards' reports concatenated
    (`cat`) are the sweep's report: nothing opens or closes the output, `file` is relative
    to the repository root (`dfmod.workspace.repopath`) rather than to wherever dfmod was
    started, and `repository` (`--repo NAME`) says which repository a line is about.
    """

    def __init__(self, write: Callable[[str], object], repository: str | None = None,
                 roots: tuple[str, ...] | None = None) -> None:
        self.write = write
        self.repository = repository
        self.roots = roots  # the run's project roots, which paths are relative to

    def add(self, items: list[Located]) -> None:
        for item in items:
            record = {**({"repository": self.repository} if self.repository else {}),
                      **json_record(item), "file": _repo_path(item.path, self.roots)}
            self.write(_dumps(record, ensure_ascii=False) + "\n")

    def close(self) -> None:
        """Nothing to end: an empty report is an empty file."""
