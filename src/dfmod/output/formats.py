"""Machine formats for CI (SARIF, GitHub annotations) and colour for people at a terminal.

`dfmod check --output-format sarif` writes a SARIF 2.1.0 log that GitHub code scanning
accepts: one rule per codemod with its documentation as help, one result per finding with
its location and, where dfmod has one, the fix as SARIF replacements. `github` writes
workflow commands (`::warning file=…::…`) that GitHub Actions turns into annotations on
the pull request's diff without any upload step; `gitlab` (`dfmod.output.codequality`) is
GitLab's Code Quality report.

Colour is for terminals only: `use_colour` says whether a stream gets ANSI codes, and
`colour_findings` / `colour_diff` add them to output that is otherwise byte-for-byte what
a pipe or a file gets (a coloured diff is not one `git apply` accepts, so a diff is coloured
only on a terminal, never with `--patch`).

This module is imported by `dfmod check` on every run to decide about colour, so it keeps
its top-level imports to what the interpreter has already loaded; `json` and `hashlib`
are imported by the renderers that need them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any, TextIO

from dfmod import __version__
from dfmod.linting.edits import Applicability, Finding
from dfmod.workspace.discovery import display_path

if TYPE_CHECKING:
    from dfmod.linting.codemod import Codemod
    from dfmod.linting.located import Located

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
# Bump when the inputs of `fingerprints` change: code scanning matches alerts across runs
# by this value, and a changed recipe would close every alert and open it again.
FINGERPRINT_KEY = "dfmodFindingHash/v1"


def render(format: str, items: Sequence[Located], codemods: Sequence[type[Codemod]]) -> str:
    """`items` as `format` ("sarif" or "github"); `codemods` are the rules that ran."""
    if format == "sarif":
        return sarif(items, codemods)
    if format == "github":
        return github(items, codemods)
    raise ValueError(f"unknown format: {format!r}")


def fix_hint(finding: Finding) -> str:
    """What to run to fix it, so a CI reader needs no other documentation to act."""
    fix = finding.fix
    if fix is None or fix.applicability is Applicability.DISPLAY_ONLY:
        return ""
    if fix.applicability is Applicability.SAFE:
        return " (fix: `dfmod apply --fix`)"
    return " (fix: `dfmod apply --fix --unsafe-fixes`)"


# --- SARIF -----------------------------------------------------------------------------


def _section(documentation: str, title: str) -> str:
    """The first paragraph under `## title` in a codemod's documentation ("" if none)."""
    lines = documentation.splitlines()
    for index, line in enumerate(lines):
        if line.strip().lower().startswith(f"## {title.lower()}"):
            paragraph: list[str] = []
            for body in lines[index + 1:]:
                if body.startswith("#") or (not body.strip() and paragraph):
                    break
                if body.strip():
                    paragraph.append(body.strip())
            return " ".join(paragraph)
    return ""


def _rule(codemod: type[Codemod] | None, rule: str) -> dict[str, Any]:
    """A SARIF reportingDescriptor. Rules dfmod reports without a codemod (e.g. an unused
    suppression) get a minimal one: SARIF wants every result's rule described. No
    `helpUri`: SARIF wants an absolute URI, and the rule's documentation has no published
    address (`dfmod.output.rulesdoc.RULES_PAGE`); `help` carries the documentation itself."""
    if codemod is None:
        return {"id": rule, "shortDescription": {"text": rule},
                "defaultConfiguration": {"level": "warning"}}
    documentation = codemod.documentation() or codemod.summary
    first_line = documentation.splitlines()[0].strip()
    full = _section(documentation, "What it finds") or first_line
    return {
        "id": codemod.id,
        "name": codemod.__name__,
        "shortDescription": {"text": codemod.summary},
        "fullDescription": {"text": full},
        "help": {"text": documentation, "markdown": documentation},
        "defaultConfiguration": {"level": "warning"},
        "properties": {
            "applicability": codemod.applicability.value,
            "kind": codemod.kind,
            "tags": [codemod.kind, f"fix:{codemod.applicability.value}"],
        },
    }


def _uri(path: str) -> str:
    """A relative POSIX URI where the file is under the working directory (what code
    scanning resolves against the repository root), else an absolute `file:` URI."""
    from pathlib import Path
    from urllib.parse import quote

    shown = display_path(path)
    if os.path.isabs(shown):
        return Path(shown).as_uri()
    return quote(shown, safe="/")


def fingerprints(items: Sequence[Located], path_of: Callable[[Located], str]) -> list[str]:
    """One fingerprint per finding, stable while lines move: a hash of the file (as
    `path_of` names it), the rule, the message and which occurrence of that same message
    in that file it is; not the line number. Code scanning and GitLab match findings across
    runs by it, so two findings never share one."""
    import hashlib

    seen: dict[tuple[str, str, str], int] = {}
    out = []
    for item in items:
        key = (path_of(item), item.finding.rule, item.finding.message)
        seen[key] = seen.get(key, 0) + 1
        text = "\0".join((*key, str(seen[key])))
        out.append(hashlib.sha256(text.encode("utf-8")).hexdigest())
    return out


def _fixes(uri: str, finding: Finding) -> list[dict[str, Any]]:
    """The fix as SARIF replacements. Offsets are `str` indices of the file's text, i.e.
    Unicode code points, which the run declares with `columnKind: unicodeCodePoints`."""
    fix = finding.fix
    if fix is None or not fix.edits:
        return []
    replacements = []
    for edit in sorted(fix.edits, key=lambda edit: (edit.start, edit.end)):
        replacement: dict[str, Any] = {
            "deletedRegion": {"charOffset": edit.start, "charLength": edit.end - edit.start}}
        if edit.text:
            replacement["insertedContent"] = {"text": edit.text}
        replacements.append(replacement)
    return [{
        "description": {"text": fix.description},
        "artifactChanges": [{"artifactLocation": {"uri": uri}, "replacements": replacements}],
        "properties": {"applicability": fix.applicability.value},
    }]


def sarif(items: Sequence[Located], codemods: Sequence[type[Codemod]],
          properties: Callable[[Located], dict[str, Any]] | None = None) -> str:
    """A SARIF 2.1.0 log with one run: every selected codemod as a rule, every finding as
    a result (level `warning`: a finding gates a build through dfmod's exit code, and its
    severity is the reader's call). `properties` gives a result's property bag (`dfmod
    verify` puts its verdict there)."""
    import json

    by_id = {codemod.id: codemod for codemod in codemods}
    rule_ids = list(by_id)
    rule_ids += sorted({item.finding.rule for item in items} - set(by_id))
    index = {rule: position for position, rule in enumerate(rule_ids)}
    results = []
    for item, fingerprint in zip(items, fingerprints(items, lambda item: _uri(item.path)), strict=True):
        finding = item.finding
        uri = _uri(item.path)
        result: dict[str, Any] = {
            "ruleId": finding.rule,
            "ruleIndex": index[finding.rule],
            "level": "warning",
            "message": {"text": finding.message + fix_hint(finding)},
            "locations": [{"physicalLocation": {
                "artifactLocation": {"uri": uri},
                "region": {"startLine": item.line, "startColumn": item.column,
                           "endLine": item.end_line, "endColumn": item.end_column},
            }}],
            "partialFingerprints": {FINGERPRINT_KEY: fingerprint},
        }
        fixes = _fixes(uri, finding)
        if fixes:
            result["fixes"] = fixes
        if properties is not None:
            result["properties"] = properties(item)
        results.append(result)
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "dfmod",
                "version": __version__,
                "semanticVersion": __version__,
                "rules": [_rule(by_id.get(rule), rule) for rule in rule_ids],
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    }
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


# --- GitHub workflow commands ----------------------------------------------------------


def escape_data(value: str) -> str:
    """A workflow command's message, escaped as `@actions/core` does it."""
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    """A workflow command's property value: also `:` and `,`, which delimit properties."""
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def github(items: Sequence[Located], codemods: Sequence[type[Codemod]] = ()) -> str:
    """One `::warning` workflow command per finding.

    Columns are given only when the finding starts and ends on one line: GitHub rejects
    `col`/`endColumn` on an annotation that spans lines. The title is the rule and, for a
    codemod's rule, where its documentation is (`dfmod.output.rulesdoc.docs_url`): the
    message says what is wrong in a line, the documentation why.
    """
    documented = {codemod.id for codemod in codemods}
    lines = []
    for item in items:
        properties = [("file", display_path(item.path)), ("line", str(item.line))]
        if item.line == item.end_line:
            properties.append(("col", str(item.column)))
            properties.append(("endLine", str(item.end_line)))
            properties.append(("endColumn", str(item.end_column)))
        else:
            properties.append(("endLine", str(item.end_line)))
        properties.append(("title", _title(item.finding.rule, documented)))
        rendered = ",".join(f"{name}={escape_property(value)}" for name, value in properties)
        message = escape_data(item.finding.message + fix_hint(item.finding))
        lines.append(f"::warning {rendered}::{message}\n")
    return "".join(lines)


def _title(rule: str, documented: set[str]) -> str:
    if rule not in documented:
        return rule
    from dfmod.output.rulesdoc import docs_url

    return f"{rule} ({docs_url(rule)})"


# --- Colour ----------------------------------------------------------------------------

RESET, BOLD, DIM = "\x1b[0m", "\x1b[1m", "\x1b[2m"
RED, GREEN, YELLOW, CYAN = "\x1b[31m", "\x1b[32m", "\x1b[33m", "\x1b[36m"


def use_colour(stream: TextIO) -> bool:
    """Whether `stream` gets ANSI colour, by the conventions terminals and CI share.

    In CPython's order (`_colorize`): `NO_COLOR` (non-empty) turns colour off, then
    `FORCE_COLOR` (non-empty) turns it on — CI logs render ANSI but are not TTYs — then
    `TERM=dumb` turns it off, and otherwise only a TTY gets colour.
    """
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    if os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty is not None and isatty())
    except (ValueError, OSError):  # a closed or detached stream
        return False


def _split_ending(line: str) -> tuple[str, str]:
    """A line and its line ending, so colour codes never land after a newline."""
    body = line.rstrip("\r\n")
    return body, line[len(body):]


@cache
def _finding_line() -> re.Pattern[str]:
    """Compiled on first use: only a concise report on a terminal is coloured with it."""
    return re.compile(
        r"^(?P<path>.+?):(?P<line>\d+):(?P<column>\d+): (?P<rule>\S+) (?P<message>.*?)"
        r"(?P<marker> \[\*(?:unsafe)?\])?$")


def colour_findings(text: str) -> str:
    """Colour `text_report`/`summary` output: path bold, position dim, rule red, fix marker
    cyan, summary bold. Lines of another shape pass through unchanged."""
    out = []
    finding_line = _finding_line()
    for line in text.splitlines(keepends=True):
        body, ending = _split_ending(line)
        match = finding_line.match(body)
        if match:
            marker = match["marker"] or ""
            body = (f"{BOLD}{match['path']}{RESET}{DIM}:{match['line']}:{match['column']}:{RESET} "
                    f"{BOLD}{RED}{match['rule']}{RESET} {match['message']}"
                    + (f"{CYAN}{marker}{RESET}" if marker else ""))
        elif body.startswith(("Found ", "Fixed ")):
            body = f"{BOLD}{body}{RESET}"
        out.append(body + ending)
    return "".join(out)


def colour_diff(text: str) -> str:
    """Colour a unified diff as git does: file headers bold, hunk headers cyan, removed
    lines red, added lines green.

    Within a hunk every line is classified by its first character only, so a removed line
    that reads `-- x` (shown as `--- x`) is red, not mistaken for a file header.
    """
    out = []
    in_hunk = False
    for line in text.splitlines(keepends=True):
        body, ending = _split_ending(line)
        if body.startswith("diff --git "):
            in_hunk = False
        if body.startswith("@@"):
            in_hunk = True
            colour = CYAN
        elif not in_hunk:
            colour = BOLD
        elif body.startswith("+"):
            colour = GREEN
        elif body.startswith("-"):
            colour = RED
        elif body.startswith("\\"):
            colour = DIM
        else:
            colour = ""
        out.append(f"{colour}{body}{RESET}{ending}" if colour and body else body + ending)
    return "".join(out)
