"""What a fix does to the build: the original and the fixed Dockerfile built, and a verdict
for every fix.

For one Dockerfile (`verify_file`):

1. The original is built. If it fails, every fix gets *before fails*, with the reason (the
   base image cannot be had, a context file is missing, a RUN exits non-zero) and whether
   a fix addresses it: the fixed file is built too (unless the base image is missing), and
   the failure is matched to the lines the fix edits and to the failures the rules are
   about (`pip cache purge` exit 1, `find: … No such file or directory`).
2. The fixes whose point is *not* to surface a failure are built together, without the
   others. If that build fails, dfmod broke it: the culprit is found by building again
   with the fixes left out rule by rule (then, if no one rule is to blame, rule by rule
   alone); those fixes are *withheld* and never written.
3. The fixes that surface hidden failures (masked-failure, masked-install-failure,
   verify-imports — a heredoc's `set -e` is masked-failure's) are added. A failure now is
   a failure that was there all along: it is pinned to the fix whose lines the failing
   step holds, that fix is set aside, and the rest built again, until the build passes.
4. What passes *keeps the build working*; the probes of each kept fix run in the image
   before and after (`dfmod.verify.probes`).

Builds are memoised by text, so a leave-out that gives the original reuses its build.
"""

from __future__ import annotations

import difflib
import os
import re
import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from dfmod.syntax import records
from dfmod.verify.docker import Build, BuildOptions, Docker
from dfmod.verify.probes import FixSite, Probe, ProbeResult, Side, for_fix, smoke

if TYPE_CHECKING:
    from dfmod.linting.engine import Settings
    from dfmod.linting.located import Located
    from dfmod.verify.buildlog import Failure
    from dfmod.workspace.config import Overrides
    from dfmod.workspace.targets import Target

# Fixes whose point is to make a hidden failure fail the build.
SURFACING = frozenset({"masked-failure", "masked-install-failure", "verify-imports"})
UNUSED_SUPPRESSION = "unused-suppression"

# The engine is pure Python, but tree-sitter parsers are shared: one fix loop at a time.
_ENGINE = threading.Lock()


@dataclass(frozen=True)
class Applied:
    """One fix dfmod makes in the file, placed in the original text."""

    located: Located
    description: str
    applicability: str
    lines: tuple[int, int] | None  # the original lines its edits touch (when known)
    offset: int  # where it is in the original text
    inserted: tuple[str, ...] = ()  # the text its edits write

    @property
    def rule(self) -> str:
        return self.located.finding.rule


@dataclass
class FileJob:
    """A file dfmod would change, and what is needed to build its variants."""

    target: Target
    path: str
    shown: str  # the path in messages
    original: str
    fixed: str
    settings: Settings
    applied: list[Applied]
    kind: str
    context: str | None = None  # the build context (Dockerfiles)
    stage: str | None = None  # the stage a compose `build.target` ships
    _texts: dict[frozenset[str], str] = field(default_factory=dict)

    @property
    def rules(self) -> list[str]:
        return list(dict.fromkeys(item.rule for item in self.applied))

    def text_for(self, left_out: Iterable[str]) -> str:
        """The file as dfmod fixes it with the rules `left_out` not run (`--ignore`)."""
        key = frozenset(left_out)
        if not key:
            return self.fixed
        if key >= set(self.rules):
            return self.original
        if key not in self._texts:
            from dfmod.linting.engine import fix
            from dfmod.syntax.parsing import parse

            settings = records.replace(
                self.settings, codemods=[codemod for codemod in self.settings.codemods if codemod.id not in key],
                report_unused_suppressions=self.settings.report_unused_suppressions
                and UNUSED_SUPPRESSION not in key)
            with _ENGINE:
                self._texts[key] = fix(parse(self.original, self.path, self.kind), settings).text
        return self._texts[key]


def prepare(target: Target, text: str, overrides: Overrides | Settings, shown: str) -> FileJob | None:
    """The fixes dfmod makes in `text` (the file `target`), placed; None when it makes none."""
    from dfmod.linting.engine import Settings, check, fix
    from dfmod.linting.located import Located
    from dfmod.syntax.parsing import parse
    from dfmod.workspace.config import settings_for
    from dfmod.workspace.context import build_context, surroundings
    from dfmod.workspace.kinds import classify

    path = target.path
    kind = target.kind or classify(path, text)
    settings = overrides if isinstance(overrides, Settings) else settings_for(path, overrides)
    with _ENGINE:
        doc = parse(text, path, kind)
        settings = records.replace(settings, surroundings=surroundings(target, doc))
        outcome = fix(doc, settings)
        if outcome.text == text:
            return None
        first = check(doc, settings.instances(doc.kind), settings)
    # A fix applied in a later round (after the safe fixes, or after an overlapping one)
    # is placed where the first round found the same finding (same rule, same message
    # first), each first-round finding standing for one fix.
    unused = [item for item in first if item.fix is not None]
    placed = []
    for item in outcome.applied:
        if item.fix is None:
            continue
        if item in unused:
            unused.remove(item)
            placed.append((item, item))
        else:
            placed.append((item, None))
    applied = []
    for item, anchor in placed:
        assert item.fix is not None
        if anchor is None:
            anchor = next((other for other in unused if other.rule == item.rule
                           and other.message == item.message), None) or next(
                (other for other in unused if other.rule == item.rule), None)
            if anchor is not None:
                unused.remove(anchor)
        if anchor is None or anchor.fix is None:  # nothing like it in the original: its start
            located, lines = Located.of(doc, records.replace(item, span=type(item.span)(0, 0))), None
        else:
            # Placed as the first round found it: its span and edits are on the original.
            located = Located.of(doc, records.replace(item, span=anchor.span, fix=anchor.fix))
            lines = (doc.position(min(edit.start for edit in anchor.fix.edits))[0],
                     doc.position(max(edit.end for edit in anchor.fix.edits))[0])
        applied.append(Applied(located, item.fix.description, item.fix.applicability.value, lines,
                               located.finding.span.start, tuple(edit.text for edit in item.fix.edits)))
    applied.sort(key=lambda entry: (entry.located.line, entry.located.column, entry.rule))
    job = FileJob(target, path, shown, text, outcome.text, settings, applied, kind)
    if kind == "dockerfile":
        context = build_context(target, doc)  # type: ignore[arg-type]
        job.context, job.stage = context.root, context.stage
    return job


# --- verdicts ------------------------------------------------------------------------

KEEPS, SURFACES, WITHHELD, BEFORE_FAILS, NOT_BUILT = (
    "keeps-working", "surfaces-failure", "withheld", "before-fails", "not-built")


@dataclass
class Verdict:
    """What the builds show about the fixes of one rule in one file."""

    kind: str
    text: str  # the sentence after the rule, in the report
    failure: Failure | None = None  # the failure that shows it
    addressed: bool | None = None  # before fails: whether this fix addresses that failure
    after_ok: bool | None = None  # before fails: whether the fixed file builds
    log: str = ""  # the log of the build that shows it (when one failed)
    original_lines: frozenset[int] = frozenset()  # the failing step's lines in the original file

    def to_json(self) -> dict[str, object]:
        return {"verdict": self.kind, "summary": self.text,
                "failure": self.failure.to_json() if self.failure else None,
                "addressed": self.addressed, "after_builds": self.after_ok, "log": self.log or None}


@dataclass
class FileVerification:
    job: FileJob
    verdicts: dict[str, Verdict] = field(default_factory=dict)  # by rule
    probes: list[ProbeResult] = field(default_factory=list)
    withheld: set[str] = field(default_factory=set)
    final_text: str = ""  # the fixed file without the withheld fixes: what may be written
    error: str = ""
    seconds: float = 0.0
    builds: int = 0

    def probes_of(self, rule: str) -> list[ProbeResult]:
        return [result for result in self.probes if result.probe.rule in (rule, None)]


class Session:
    """The builds of one run: a temporary directory for Dockerfiles and logs, image tags
    under `dfmod-verify/`, and the clean-up at the end (images removed unless kept; the
    directory removed unless a build failed, when its path is printed)."""

    def __init__(self, docker: Docker, options: BuildOptions, probes: bool = True,
                 smoke: tuple[str, ...] = (), keep_images: bool = False) -> None:
        self.docker = docker
        self.options = options
        self.run_probes = probes
        self.smoke = smoke
        self.keep_images = keep_images
        self.directory = tempfile.mkdtemp(prefix="dfmod-verify-")
        self.run_id = uuid.uuid4().hex[:8]
        self.images: list[str] = []
        self.failed = False
        self._lock = threading.Lock()
        self._count = 0

    def close(self) -> None:
        if not self.keep_images:
            self.docker.remove(self.images)
        if not self.failed:
            shutil.rmtree(self.directory, ignore_errors=True)

    def _number(self) -> int:
        with self._lock:
            self._count += 1
            return self._count

    def builder(self, job: FileJob, number: int) -> _FileBuilds:
        slug = re.sub(r"[^A-Za-z0-9._-]+", "-", job.shown).strip("-")[-60:] or "Dockerfile"
        directory = os.path.join(self.directory, f"{number:02d}-{slug}")
        os.makedirs(directory, exist_ok=True)
        return _FileBuilds(self, job, number, directory)


class _FileBuilds:
    """The builds of one file, memoised by text (and extra build args)."""

    def __init__(self, session: Session, job: FileJob, number: int, directory: str) -> None:
        self.session, self.job, self.number, self.directory = session, job, number, directory
        self.done: dict[tuple[str, tuple[tuple[str, str], ...]], Build] = {}
        self.count = 0
        syntax = re.match(r"\A\ufeff?\s*#\s*syntax\s*=\s*(\S+)", job.original, re.I)
        self.syntax = syntax.group(1) if syntax else None

    def build(self, text: str, label: str, build_args: Mapping[str, str] | None = None) -> Build:
        key = (text, tuple(sorted((build_args or {}).items())))
        if key in self.done:
            return self.done[key]
        self.count += 1
        variant = f"{self.count:02d}-{re.sub(r'[^a-z0-9._-]+', '-', label.lower())}"[:60]
        folder = os.path.join(self.directory, variant)
        os.makedirs(folder, exist_ok=True)
        name = os.path.basename(self.job.path) or "Dockerfile"
        dockerfile = os.path.join(folder, name)
        with open(dockerfile, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        ignore = self.job.path + ".dockerignore"  # BuildKit's per-Dockerfile ignore file
        if os.path.isfile(ignore):
            shutil.copyfile(ignore, dockerfile + ".dockerignore")
        tag = f"dfmod-verify/{self.session.run_id}-{self.number}:{variant}"[:128]
        options = self.session.options
        if options.target is None and self.job.stage:
            options = replace(options, target=self.job.stage)
        assert self.job.context is not None
        result = self.session.docker.build(dockerfile, self.job.context, tag, options,
                                           folder + ".log", build_args, self.syntax)
        with self.session._lock:
            if result.ok:
                self.session.images.append(tag)
            else:
                self.session.failed = True
        self.done[key] = result
        return result


def verify_file(session: Session, job: FileJob, number: int) -> FileVerification:
    """The verdicts of every fix of one Dockerfile (see the module docstring)."""
    import time

    started = time.monotonic()
    result = FileVerification(job, final_text=job.fixed)
    builds = session.builder(job, number)
    try:
        _verify(session, builds, job, result)
    except OSError as error:
        result.error = f"{job.shown}: cannot build: {error}"
    result.seconds = time.monotonic() - started
    result.builds = builds.count
    return result


def _verify(session: Session, builds: _FileBuilds, job: FileJob, result: FileVerification) -> None:
    rules = job.rules
    before = builds.build(job.original, "before")
    if not before.ok:
        _before_fails(builds, job, result, before)
        return
    surfacing = [rule for rule in rules if rule in SURFACING]
    others = [rule for rule in rules if rule not in SURFACING]
    if others:
        together = builds.build(job.text_for(surfacing), "without-surfacing" if surfacing else "after")
        if not together.ok:
            culprits = _breakers(builds, job, others, surfacing)
            for rule in culprits:
                # One culprit: the failure with every fix is its own. Several: each one's
                # build alone (made while looking for them), if it failed.
                alone = builds.done.get((job.text_for(set(rules) - {rule}), ()))
                shown = alone if len(culprits) > 1 and alone is not None and not alone.ok else together
                result.verdicts[rule] = _withheld(shown.failure, shown.log_path)
            result.withheld = set(culprits)
    # The surfacing fixes, set aside one by one as the failures they surface are found.
    surfaced: dict[str, Build] = {}
    failing_text: dict[str, str] = {}
    while True:
        left_out = result.withheld | set(surfaced)
        text = job.text_for(left_out)
        final = before if text == job.original else builds.build(text, "after" if not left_out else "kept")
        if final.ok:
            break
        remaining = [rule for rule in surfacing if rule not in surfaced]
        if not remaining:  # only the non-surfacing fixes are left and they built alone
            break
        culprits = _holding(job, final.failure, remaining, left_out) or remaining
        broken = final.failure is not None and any("syntax error" in line.lower() for line in final.failure.tail)
        for rule in culprits:
            surfaced[rule] = final
            failing_text[rule] = text
            if broken:
                result.withheld.add(rule)
                result.verdicts[rule] = _withheld(final.failure, final.log_path)
    for rule, build in surfaced.items():
        if rule not in result.withheld:
            verdict = _surfaces(build.failure, build.log_path)
            if build.failure is not None:
                verdict.original_lines = _in_original(job.original, failing_text[rule], build.failure.lines)
            result.verdicts[rule] = verdict
    result.final_text = job.text_for(result.withheld)
    note = ""
    if surfaced and any(rule in others for rule in rules if rule not in result.withheld):
        note = " (built without the fixes that surface failures)"
    for rule in rules:
        if rule not in result.verdicts:
            result.verdicts[rule] = Verdict(KEEPS, "keeps the build working (passes → passes)" + note)
    if session.run_probes or session.smoke:
        _probe(session, builds, job, result, before, final if final.ok else before, set(surfaced))


def _breakers(builds: _FileBuilds, job: FileJob, others: list[str], surfacing: list[str]) -> list[str]:
    """The non-surfacing rules whose fixes break the build (which fails with all of them)."""
    for rule in others:  # left out rule by rule
        if builds.build(job.text_for([*surfacing, rule]), f"without-{rule}").ok:
            return [rule]
    alone = [rule for rule in others  # several to blame: each one alone
             if not builds.build(job.text_for(set(job.rules) - {rule}), f"only-{rule}").ok]
    if alone and builds.build(job.text_for([*surfacing, *alone]), "without-culprits").ok:
        return alone
    return list(others)


def _holding(job: FileJob, failure: Failure | None, rules: list[str], left_out: set[str]) -> list[str]:
    """The rules among `rules` whose edits are on the lines of the failing step."""
    if failure is None or not failure.lines:
        return []
    failing = set(failure.lines)
    text = job.text_for(left_out)
    found = []
    for rule in rules:
        if _changed_lines(job.text_for(left_out | {rule}), text) & failing:
            found.append(rule)
    return found


def _in_original(original: str, text: str, lines: Iterable[int]) -> frozenset[int]:
    """`lines` of `text` (a fixed variant) as lines of `original`: an unchanged line is
    itself, a changed one the original lines it replaces, an inserted one its neighbours."""
    matcher = difflib.SequenceMatcher(None, original.splitlines(), text.splitlines(), autojunk=False)
    mapping: dict[int, set[int]] = {}
    for tag, a1, a2, b1, b2 in matcher.get_opcodes():
        for line in range(b1 + 1, b2 + 1):
            if tag == "equal":
                mapping[line] = {a1 + line - b1}
            else:
                mapping[line] = set(range(a1 + 1, a2 + 1)) or {a1, a1 + 1}
    return frozenset(found for line in lines for found in mapping.get(line, ()))


def _changed_lines(old: str, new: str) -> set[int]:
    """The lines of `new` (1-based) that differ from `old` (a deletion marks the line after)."""
    matcher = difflib.SequenceMatcher(None, old.splitlines(), new.splitlines(), autojunk=False)
    lines: set[int] = set()
    for tag, _, _, start, end in matcher.get_opcodes():
        if tag == "equal":
            continue
        lines.update(range(start + 1, end + 1) if end > start else {start + 1})
    return lines


def _surfaces(failure: Failure | None, log: str) -> Verdict:
    shown = failure.sentence() if failure else "the build fails"
    return Verdict(SURFACES, f"surfaces a hidden failure: {shown} (it failed unseen before)",
                   failure, log=log)


def _withheld(failure: Failure | None, log: str) -> Verdict:
    shown = failure.sentence() if failure else "the build fails"
    return Verdict(WITHHELD, f"breaks the build: with this fix {shown}, without it the build passes; "
                   "withheld", failure, log=log)


# What a rule's fix is about, recognised in a failing step's output.
_SIGNATURES = {
    "pip-cache-purge": re.compile(r"pip cache commands can not function since cache is disabled"),
    "find-cleanup-errors": re.compile(r"^find: .*: No such file or directory", re.M),
    "keep-dist-info": re.compile(r"^find: .*dist-info.*: Directory not empty", re.M),
}


def _before_fails(builds: _FileBuilds, job: FileJob, result: FileVerification, before: Build) -> None:
    failure = before.failure
    assert failure is not None
    after = None
    if failure.kind not in ("base-image", "frontend"):
        after = builds.build(job.fixed, "after")
    failing = set(failure.lines)
    for rule in job.rules:
        mine = [item for item in job.applied if item.rule == rule]
        touches = any(item.lines and failing & set(range(item.lines[0], item.lines[1] + 1)) for item in mine)
        signature = _SIGNATURES.get(rule)
        known = bool(signature and signature.search("\n".join(failure.tail)))
        addressed = known or (touches and after is not None and after.ok)
        text = f"before fails: {failure.sentence()}"
        if after is None:
            text += "; not verified"
        elif addressed:
            text += "; this fix addresses it" + ("; the fixed file builds" if after.ok else
                                                  f", but the fixed file fails too ({_short(after)})")
        elif after.ok:
            text += "; the fixed file builds"
        elif failure.same(after.failure):
            text += "; not a failure this fix addresses (the fixed file fails the same way)"
        else:
            text += f"; not a failure this fix addresses (the fixed file fails: {_short(after)})"
        result.verdicts[rule] = Verdict(BEFORE_FAILS, text, failure, addressed if after is not None else None,
                                        None if after is None else after.ok, before.log_path)


def _short(build: Build) -> str:
    return build.failure.sentence() if build.failure else "it fails"


def _probe(session: Session, builds: _FileBuilds, job: FileJob, result: FileVerification,
           before: Build, after: Build, surfaced: set[str]) -> None:
    """The probes of the kept fixes, after side first (the cache probe fills the mount)."""
    planned: list[tuple[Probe, bool]] = []  # (probe, whether the after image has its fix)
    seen: set[str] = set()
    from dfmod.syntax.dockerfile import Dockerfile

    original = Dockerfile(job.original, job.path)
    for item in job.applied if session.run_probes else []:
        rule = item.rule
        if rule in result.withheld or rule in seen:
            continue
        probe = for_fix(session.docker, FixSite(rule, item.inserted, original, item.offset),
                        session.options.platform)
        if probe is not None:
            seen.add(rule)
            planned.append((probe, rule not in surfaced and after is not before))
    with_after = after is not before
    planned += [(smoke(session.docker, command, session.options.platform), with_after)
                for command in session.smoke]

    def side(name: str, build: Build, text: str) -> Side:
        return Side(name, build.image, text, lambda variant, label, args: builds.build(variant, label, args))

    after_text = job.text_for(result.withheld | surfaced)
    for probe, has_fix in planned:
        outcome = ProbeResult(probe)
        if has_fix:
            outcome.after = probe.measure(side("after", after, after_text))
        else:
            outcome.note = "the fixed file does not build" if surfaced else "nothing changed"
        outcome.before = probe.measure(side("before", before, job.original))
        result.probes.append(outcome)
