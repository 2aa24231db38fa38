"""Running dfmod over many files: the work behind `check`, `apply` and `pr`.

Each file is read, gets the settings of its nearest configuration (`dfmod.workspace.config`), is
parsed as its kind (the target's, else `dfmod.workspace.kinds.classify`), judged with its
surroundings (`dfmod.workspace.context`: build context, merged compose files), checked or
fixed, and (in "fix" mode) written back atomically; a file's failure becomes its `error`
and never stops the others. Which files, and what they bring in, is decided before
(`dfmod.workspace.targets`). With `jobs > 1` files are processed in parallel processes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace

from dfmod.linting.companions import companion_sources
from dfmod.linting.engine import Settings, check, fix
from dfmod.linting.located import Located
from dfmod.syntax.document import DocumentError
from dfmod.syntax.parsing import parse
from dfmod.syntax.source import InputError, SourceFile, decode, read_source, write_source
from dfmod.workspace.config import ConfigError, Overrides, settings_for
from dfmod.workspace.context import surroundings
from dfmod.workspace.kinds import classify
from dfmod.workspace.targets import Target


@dataclass
class FileResult:
    path: str
    findings: list[Located] = field(default_factory=list)
    before: str | None = None
    after: str | None = None  # the fixed text (None when only checking)
    applied: int = 0
    error: str | None = None
    companions: list[FileResult] = field(default_factory=list)  # other files the fixes edit
    companion: bool = False  # this result is such a file (not a document dfmod checks)

    @property
    def changed(self) -> bool:
        return self.after is not None and self.after != self.before


def process(target: Target, overrides: Overrides | Settings, mode: str) -> FileResult:
    """One file. `mode` is "check" (findings only), "diff" (fix in memory) or "fix" (write).

    `overrides` (the command line) are combined with the file's configuration; explicit
    `Settings` are used as they are (as `dfmod pr` does for one codemod at a time).
    """
    try:
        return _process(read_source(target.path), target, overrides, mode)
    except InputError as error:
        return FileResult(target.path, error=str(error))


def process_text(target: Target, text: str, overrides: Overrides | Settings,
                 mode: str) -> FileResult:
    """Text that claims to be `target.path` (an editor's buffer): never written anywhere."""
    try:
        raw = text.encode("utf-8", "surrogateescape")
        return _process(SourceFile(target.path, decode(target.path, raw), raw), target,
                        overrides, mode)
    except InputError as error:
        return FileResult(target.path, error=str(error))


def _process(source: SourceFile, target: Target, overrides: Overrides | Settings,
             mode: str) -> FileResult:
    path = source.path
    result = FileResult(path, before=source.text)
    try:
        settings = (overrides if isinstance(overrides, Settings)
                    else settings_for(path, overrides))
    except (ConfigError, KeyError) as error:
        raise InputError(path, f"configuration: {error}") from None
    try:
        doc = parse(source.text, path, target.kind or classify(path, source.text))
    except DocumentError as error:
        raise InputError(path, f"cannot parse: {error}") from None
    settings = replace(settings, surroundings=surroundings(target, doc))
    if mode == "check":
        findings = check(doc, settings.instances(doc.kind), settings)
        result.findings = [Located.of(doc, item) for item in findings]
        result.before = None  # not needed: keep memory flat over thousands of files
        return result
    outcome = fix(doc, settings)
    result.after = outcome.text
    result.applied = len(outcome.applied)
    result.findings = [Located.of(outcome.doc, item) for item in outcome.findings]
    companions = companion_sources(outcome.applied)
    if mode == "fix" and result.changed:
        write_source(source, outcome.text)
    for companion, text in companions:
        if mode == "fix":
            write_source(companion, text)
        result.companions.append(FileResult(companion.path, before=companion.text, after=text,
                                            companion=True))
    return result


def _process_star(arguments: tuple[Target, Overrides | Settings, str]) -> FileResult:
    return process(*arguments)


def run(targets: Iterable[Target], overrides: Overrides | Settings, mode: str,
        jobs: int = 1) -> Iterator[FileResult]:
    """Process the targets (`dfmod.workspace.targets.plan`), yielding results in order."""
    batch = list(targets)
    executor = None
    if jobs > 1 and len(batch) > 1:
        from concurrent.futures import ProcessPoolExecutor  # ~25 ms: only when it pays

        executor = ProcessPoolExecutor(min(jobs, len(batch)))
    try:
        if executor is not None:
            results: Iterable[FileResult] = executor.map(
                _process_star, [(target, overrides, mode) for target in batch],
                chunksize=max(1, len(batch) // (jobs * 8)))
        else:
            results = (process(target, overrides, mode) for target in batch)
        for result in results:
            yield result
            yield from result.companions
    finally:
        if executor is not None:
            executor.shutdown()
