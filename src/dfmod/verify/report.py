"""The verdicts as text, JSON, SARIF, GitHub annotations, JUnit XML and pull-request table rows.

One line per fix (`path:line:col: rule verdict; probe …`), then the summary: "7 fixes verified
with BuildKit: 5 keep the build working, 2 surface hidden failures; 0 withheld". JSON and
JSON lines are dfmod's finding records with a `verified` object; SARIF results carry it
as the `dfmodVerified` property. In JUnit XML each fix is a test case (one suite per file):
it fails where the fix is not proven — withheld, not verifiable because the build fails
before the fixes, or a probe that fails only after them — exactly the fixes that make
`dfmod verify` exit 1; a fix in a file that is not built is skipped.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dfmod.verify.core import BEFORE_FAILS, KEEPS, NOT_BUILT, SURFACES, WITHHELD, Applied, Verdict

if TYPE_CHECKING:
    from dfmod.linting.codemod import Codemod
    from dfmod.verify.core import FileVerification
    from dfmod.verify.probes import ProbeResult

TAIL_SHOWN = 6  # lines of a failing step shown under its verdict


@dataclass(frozen=True)
class Entry:
    """One fix and what the builds showed."""

    shown: str
    applied: Applied
    verdict: Verdict
    probes: tuple[ProbeResult, ...] = ()
    written: bool | None = None  # with --fix: whether it was written

    @property
    def rule(self) -> str:
        return self.applied.rule


def entries(results: Sequence[FileVerification], writing: bool = False) -> list[Entry]:
    out = []
    for result in results:
        for item in result.job.applied:
            verdict = result.verdicts.get(item.rule) or Verdict(
                NOT_BUILT, result.error or "not built: dfmod verify builds Dockerfiles")
            written = None if not writing else item.rule not in result.withheld
            out.append(Entry(result.job.shown, item, verdict, tuple(result.probes_of(item.rule)), written))
    return out


def verdict_text(entry: Entry) -> str:
    """The verdict as said of this one fix: of a rule's fixes in a file, the one whose step
    fails surfaces the failure; the build never reaches the others' steps."""
    verdict, lines = entry.verdict, entry.applied.lines
    if verdict.kind == SURFACES and verdict.failure is not None and verdict.original_lines and lines and \
            not verdict.original_lines & set(range(lines[0], lines[1] + 1)):
        return (f"not reached: the build stops first where this rule's other fix surfaces a hidden failure "
                f"({verdict.failure.sentence()})")
    return verdict.text


def line(entry: Entry) -> str:
    located = entry.applied.located
    text = f"{entry.shown}:{located.line}:{located.column}: {entry.rule} {verdict_text(entry)}"
    if entry.verdict.kind == WITHHELD and entry.written is False:
        text += ", not written"
    for probe in entry.probes:
        if probe.probe.rule is not None:  # --smoke: once per file (text_report)
            text += f"; {probe.text()}"
    return text


def text_report(items: Sequence[Entry]) -> str:
    out = []
    shown_failures: set[tuple[str, str]] = set()
    for index, entry in enumerate(items):
        out.append(line(entry) + "\n")
        failure = entry.verdict.failure
        key = (entry.shown, entry.verdict.log)
        if failure is not None and failure.tail and failure.kind in ("step", "other") \
                and entry.verdict.kind in (SURFACES, WITHHELD, BEFORE_FAILS) and key not in shown_failures:
            shown_failures.add(key)
            out += [f"    | {tail}\n" for tail in failure.tail[-TAIL_SHOWN:]]
        last_of_file = index + 1 == len(items) or items[index + 1].shown != entry.shown
        if last_of_file:
            out += [f"{entry.shown}: {probe.text()}\n" for probe in entry.probes if probe.probe.rule is None]
    return "".join(out)


def counts(items: Sequence[Entry]) -> dict[str, int]:
    found = {KEEPS: 0, SURFACES: 0, WITHHELD: 0, BEFORE_FAILS: 0, NOT_BUILT: 0}
    for entry in items:
        found[entry.verdict.kind] = found.get(entry.verdict.kind, 0) + 1
    return found


def regressions(items: Sequence[Entry]) -> int:
    """Probes that passed before the fixes and fail after them."""
    seen = {id(probe) for entry in items for probe in entry.probes if probe.outcome == "regressed"}
    return len(seen)


def summary(items: Sequence[Entry]) -> str:
    """`7 fixes verified with BuildKit: 5 keep the build working, 2 surface hidden failures; 0 withheld.`"""
    found = counts(items)
    keeps, surfaces, withheld = found[KEEPS], found[SURFACES], found[WITHHELD]
    verified = keeps + surfaces + withheld
    text = (f"{verified} fix{'es' if verified != 1 else ''} verified with BuildKit: "
            f"{keeps} keep{'s' if keeps == 1 else ''} the build working, "
            f"{surfaces} surface{'s' if surfaces == 1 else ''} "
            f"{'a hidden failure' if surfaces == 1 else 'hidden failures'}; {withheld} withheld")
    if found[BEFORE_FAILS]:
        addressed = sum(1 for entry in items if entry.verdict.kind == BEFORE_FAILS and entry.verdict.addressed)
        count = found[BEFORE_FAILS]
        text += f"; {count} not verified: the build fails before the fixes"
        if addressed:
            text += f" ({addressed} of them address{'es' if addressed == 1 else ''} that failure)"
    if found[NOT_BUILT]:
        text += f"; {found[NOT_BUILT]} not built (not in a Dockerfile)"
    bad = regressions(items)
    if bad:
        text += f"; {bad} probe{'s' if bad != 1 else ''} fail{'s' if bad == 1 else ''} only after the fixes"
    return text + "."


def verified_object(entry: Entry) -> dict[str, object]:
    record = entry.verdict.to_json()
    record["summary"] = verdict_text(entry)
    record["probes"] = [probe.to_json() for probe in entry.probes]
    if entry.written is not None:
        record["written"] = entry.written
    return record


def json_records(items: Sequence[Entry], repo: str | None = None,
                 repo_relative: bool = False) -> list[dict[str, object]]:
    from dfmod.output.report import json_record
    from dfmod.workspace.repopath import repo_path

    out = []
    for entry in items:
        record = json_record(entry.applied.located)
        if repo_relative:
            record["file"] = repo_path(entry.applied.located.path)
        if repo:
            record = {"repository": repo, **record}
        record["verified"] = verified_object(entry)
        out.append(record)
    return out


def json_text(items: Sequence[Entry]) -> str:
    return json.dumps(json_records(items), indent=2, ensure_ascii=False) + "\n"


def json_lines(items: Sequence[Entry]) -> str:
    return "".join(json.dumps(record, ensure_ascii=False) + "\n"
                   for record in json_records(items, repo_relative=True))


def sarif(items: Sequence[Entry], codemods: Sequence[type[Codemod]]) -> str:
    from dfmod.output import formats

    by_location = {id(entry.applied.located): verified_object(entry) for entry in items}
    return formats.sarif([entry.applied.located for entry in items], codemods,
                         properties=lambda located: {"dfmodVerified": by_location[id(located)]})


def github(items: Sequence[Entry]) -> str:
    from dfmod.output import formats

    out = []
    for entry in items:
        annotation = formats.github([entry.applied.located])
        body = annotation.rstrip("\n")
        verdict = verdict_text(entry) + "".join(f"; {probe.text()}" for probe in entry.probes)
        out.append(body + formats.escape_data(f" — BuildKit: {verdict}") + "\n")
    return "".join(out)


def render(fmt: str, items: Sequence[Entry], codemods: Sequence[type[Codemod]]) -> str:
    """The verdicts in output format `fmt` (`concise`, and `full` from `apply --fix
    --verify`: the text lines)."""
    if fmt == "json":
        return json_text(items)
    if fmt == "json-lines":
        return json_lines(items)
    if fmt == "sarif":
        return sarif(items, codemods)
    if fmt == "github":
        return github(items)
    if fmt == "junit":
        return junit(items)
    return text_report(items)


def junit(items: Sequence[Entry]) -> str:
    """The verdicts as a JUnit XML report (`dfmod.output.junit.document`), for CI systems
    that show test results: a case per fix, failed where the fix is not proven."""
    from dfmod.output.junit import FAILED, PASSED, SKIPPED, Case, document

    by_file: dict[str, list[Case]] = {}
    for entry in items:
        located = entry.applied.located
        name = f"{entry.rule} at {located.line}:{located.column}"
        problem = _junit_problem(entry)
        if problem:
            case = Case(name, FAILED, problem, entry.verdict.kind, line(entry))
        elif entry.verdict.kind == NOT_BUILT:
            case = Case(name, SKIPPED, verdict_text(entry))
        else:
            case = Case(name, PASSED, text=line(entry))
        by_file.setdefault(entry.shown, []).append(case)
    return document("dfmod verify", list(by_file.items()))


def _junit_problem(entry: Entry) -> str:
    """Why the fix of `entry` is not proven ("" when it is, or is not built)."""
    if entry.verdict.kind in (WITHHELD, BEFORE_FAILS):
        return verdict_text(entry)
    regressed = [probe.text() for probe in entry.probes if probe.outcome == "regressed"]
    return "; ".join(regressed)


# --- the pull-request table ------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One row of the body's "Verified with BuildKit" table (plain text; code in backticks)."""

    rule: str
    path: str
    before_after: str
    probe: str  # a command, shown as code ("" for none)
    result: str
    code: bool = True  # `probe` is a command line


_BEFORE_AFTER = {KEEPS: "passes → passes", SURFACES: "passes → fails: surfaces a hidden failure",
                 WITHHELD: "passes → fails: withheld, not committed"}


def rows(items: Sequence[Entry]) -> list[Row]:
    """One row per (file, rule, probe): the first fix of a rule in a file stands for all."""
    out: list[Row] = []
    seen: set[tuple[str, str]] = set()
    for entry in items:
        if (entry.shown, entry.rule) in seen or entry.verdict.kind == NOT_BUILT:
            continue
        seen.add((entry.shown, entry.rule))
        verdict = entry.verdict
        before_after = _BEFORE_AFTER.get(verdict.kind, "")
        failure = verdict.failure
        if verdict.kind in (SURFACES, WITHHELD) and failure is not None and failure.line:
            before_after = before_after.replace("fails:", f"fails at line {failure.line}:")
        if verdict.kind == BEFORE_FAILS:
            reason = failure.sentence() if failure else "it fails"
            after = ("not built" if verdict.after_ok is None else "passes" if verdict.after_ok else "fails")
            before_after = f"fails ({reason}) → {after}"
        mine = [probe for probe in entry.probes if probe.probe.rule == entry.rule]
        if not mine:
            result = _failure_result(verdict)
            out.append(Row(entry.rule, entry.shown, before_after, "", result))
        for probe in mine:
            out.append(Row(entry.rule, entry.shown, before_after, probe.probe.command, _probe_result(probe),
                           probe.probe.code))
    smokes = {}
    for entry in items:
        for probe in entry.probes:
            if probe.probe.rule is None:
                smokes[(entry.shown, probe.probe.command)] = probe
    for (path, command), probe in smokes.items():
        out.append(Row("--smoke", path, "", command, _probe_result(probe)))
    return out


def _failure_result(verdict: Verdict) -> str:
    failure = verdict.failure
    if failure is None or verdict.kind == KEEPS:
        return "the build is the check"
    if failure.kind == "step" and failure.tail:
        return f"{failure.sentence()}: `{failure.telling_line()}`"
    return failure.sentence()


def _probe_result(probe: ProbeResult) -> str:
    before = probe.before.summary if probe.before else "not run"
    after = probe.after.summary if probe.after else f"no image ({probe.note})" if probe.note else "not run"
    if probe.probe.before_command and probe.probe.before_command != probe.probe.command:
        before = f"`{probe.probe.before_command}`: {before}"  # the before image runs another path
    return f"{before} → {after}"
