"""Running dfmod over many files: the work behind `check`, `apply` and `pr`.

Each file is read, gets the settings of its nearest configuration (`dfmod.workspace.config`), is
parsed as its kind (the target's, else `dfmod.workspace.kinds.classify`), judged with its
surroundings (`dfmod.workspace.context`: build context, merged compose files), checked or
fixed, and (in "fix" mode) written back atomically; a file's failure becomes its `error`
and never stops the others. Which files, and what they bring in, is decided before
(`dfmod.workspace.targets`). With `jobs > 1` files are processed in parallel processes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from dfmod.linting.engine import Settings, add_ignores, check, fix
from dfmod.linting.registry import preload
from dfmod.syntax.document import DocumentError
from dfmod.syntax.parsing import parse
from dfmod.syntax.project import activate, current
from dfmod.syntax.records import Record, replace
from dfmod.syntax.source import InputError, OutsideProject, SourceFile, decode, read_source, write_source
from dfmod.workspace.budget import Overrun, time_budget
from dfmod.workspace.config import ConfigError, Overrides, settings_for
from dfmod.workspace.context import surroundings
from dfmod.workspace.kinds import classify
from dfmod.workspace.targets import Target

TYPE_CHECKING = False  # not typing's: importing typing costs ~7 ms (tests/test_startup.py)
if TYPE_CHECKING:
    from dfmod.linting.edits import Finding
    from dfmod.linting.located import Located
    from dfmod.syntax.document import Document


class FileResult(Record):
    __slots__ = ("path", "findings", "before", "after", "applied", "error", "outside",
                 "companions", "companion", "comments")
    __hash__ = None  # not frozen (a plain dataclass before): unhashable

    def __init__(self, path: str, findings: list[Located] | None = None, before: str | None = None,
                 after: str | None = None, applied: int = 0, error: str | None = None,
                 outside: str | None = None, companions: list[FileResult] | None = None,
                 companion: bool = False, comments: int = 0) -> None:
        self.path = path
        self.findings = [] if findings is None else findings
        self.before = before
        self.after = after  # the fixed text (None when only checking)
        self.applied = applied
        self.error = error
        self.outside = outside  # why a file outside the project was left alone (exit 1)
        self.companions = [] if companions is None else companions  # other files the fixes edit
        self.companion = companion  # this result is such a file (not a document dfmod checks)
        self.comments = comments  # "ignore" mode: the instructions or keys given a suppression comment

    @property
    def changed(self) -> bool:
        return self.after is not None and self.after != self.before


Writes = list[tuple[SourceFile, str]]


def process(target: Target, overrides: Overrides | Settings, mode: str,
            budget: float | None = None) -> FileResult:
    """One file. `mode` is "check" (findings only), "diff" (fix in memory), "fix" (write)
    or "ignore" (write suppression comments for the findings: `dfmod check --add-ignore`).

    `overrides` (the command line) are combined with the file's configuration; explicit
    `Settings` are used as they are (as `dfmod pr` does for one codemod at a time). The
    work has `budget` seconds (`dfmod.workspace.budget`); the writes come after it, so a
    file that overruns is reported and left as it was.
    """
    return _guarded(target, lambda: _process(read_source(target.path), target, overrides, mode),
                    budget)


def process_text(target: Target, text: str, overrides: Overrides | Settings,
                 mode: str, budget: float | None = None) -> FileResult:
    """Text that claims to be `target.path` (an editor's buffer): never written anywhere."""

    def work() -> tuple[FileResult, Writes]:
        raw = text.encode("utf-8", "surrogateescape")
        return _process(SourceFile(target.path, decode(target.path, raw), raw), target,
                        overrides, mode)

    return _guarded(target, work, budget)


def _guarded(target: Target, work: Callable[[], tuple[FileResult, Writes]],
             budget: float | None) -> FileResult:
    """`work` under the budget, then its writes; every failure becomes the file's report."""
    try:
        with time_budget(budget):
            result, writes = work()
        for source, text in writes:
            write_source(source, text)
        return result
    except OutsideProject as error:
        return FileResult(target.path, outside=str(error))
    except InputError as error:
        return FileResult(target.path, error=str(error))
    except Overrun:
        return overrun(target, f"took longer than {budget:g} s")


def overrun(target: Target, reason: str) -> FileResult:
    """The report of a file whose work was stopped."""
    return FileResult(target.path, error=f"{target.path}: {reason} (--timeout-per-file); "
                                         "stopped, nothing written")


def _process(source: SourceFile, target: Target, overrides: Overrides | Settings,
             mode: str) -> tuple[FileResult, Writes]:
    """The file's result and the writes its fixes need (made by the caller)."""
    path = source.path
    result = FileResult(path, before=source.text)
    kind = target.kind or classify(path, source.text)
    try:
        settings = (overrides if isinstance(overrides, Settings)
                    else settings_for(path, overrides, kind))
    except (ConfigError, KeyError) as error:
        raise InputError(path, f"configuration: {error}") from None
    try:
        doc = parse(source.text, path, kind)
    except DocumentError as error:
        raise InputError(path, f"cannot parse: {error}") from None
    settings = replace(settings, surroundings=surroundings(target, doc))
    if mode == "check":
        findings = check(doc, settings.instances(doc.kind), settings)
        result.findings = _placed(doc, findings)
        if not result.findings:  # the full format shows the lines of findings; else not needed:
            result.before = None  # keep memory flat over thousands of files
        return result, []
    if mode == "ignore":
        ignored = add_ignores(doc, settings)
        result.after, result.comments = ignored.doc.text, ignored.comments
        result.findings = _placed(ignored.doc, ignored.findings)
        return result, [(source, result.after)] if result.changed else []
    outcome = fix(doc, settings)
    result.after = outcome.text
    result.applied = len(outcome.applied)
    result.findings = _placed(outcome.doc, outcome.findings)
    refused: list[OutsideProject] = []
    companions = _companions(outcome.applied, refused) if outcome.applied else []
    writes: Writes = [(source, outcome.text)] if mode == "fix" and result.changed else []
    for companion, text in companions:
        if mode == "fix":
            writes.append((companion, text))
        result.companions.append(FileResult(companion.path, before=companion.text, after=text,
                                            companion=True))
    result.companions += [FileResult(error.path, outside=str(error), companion=True)
                          for error in refused]
    return result, writes


def _placed(doc: Document, findings: list[Finding]) -> list[Located]:
    """`findings` with the line and column of each (`Located`, imported for a file that has
    findings: a clean check needs none)."""
    if not findings:
        return []
    from dfmod.linting.located import Located

    return [Located.of(doc, item) for item in findings]


def _companions(applied: list[Finding], refused: list[OutsideProject]) -> list[tuple[SourceFile, str]]:
    """The companion files the applied fixes change (`dfmod.linting.companions`, imported
    only when a fix was applied)."""
    from dfmod.linting.companions import companion_sources

    return companion_sources(applied, refused)


def _process_star(arguments: tuple[Target, Overrides | Settings, str, float | None]) -> FileResult:
    return process(*arguments)


def _overrun_star(arguments: tuple[Target, Overrides | Settings, str, float | None],
                  reason: str) -> FileResult:
    return overrun(arguments[0], reason)


def run(targets: Iterable[Target], overrides: Overrides | Settings, mode: str,
        jobs: int = 1, budget: float | None = None) -> Iterator[FileResult]:
    """Process the targets (`dfmod.workspace.targets.plan`), yielding results in order.

    With `jobs > 1` in worker processes (`dfmod.workspace.pool`), which work in this
    process's project and are replaced when one overruns `budget` by more than a grace.
    """
    batch = list(targets)
    if len(batch) > 1:  # one file imports only the codemods it needs (registry.Deferred)
        preload({target.kind for target in batch if target.kind is not None})
    results: Iterator[FileResult]
    if jobs > 1 and len(batch) > 1:
        from dfmod.workspace.pool import ordered_map  # multiprocessing: only when it pays

        deadline = budget + max(2.0, budget / 2) if budget else None
        results = ordered_map(_process_star, [(target, overrides, mode, budget) for target in batch],
                              jobs, _overrun_star, deadline, activate, (current(),))
    else:
        results = (process(target, overrides, mode, budget) for target in batch)
    try:
        for result in results:
            yield result
            yield from result.companions
    finally:
        results.close()  # the workers stop now, not when garbage is collected
