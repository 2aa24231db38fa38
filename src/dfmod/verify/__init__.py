"""`dfmod verify`, `dfmod apply --fix --verify` and `dfmod pr --verify`: every fix proven
with the user's own Docker and BuildKit.

For each Dockerfile dfmod would change, the original and the fixed file are built with the
user's builder (`dfmod.verify.docker`: `docker buildx build`, else `docker build`;
`--builder`, `--build-arg`, `--target`, `--platform`, `--network` passed through; the
build context the run already knows for the file), and each fix gets a verdict
(`dfmod.verify.core`): it keeps the build working, it surfaces a failure that was there
all along, it broke the build (and is withheld: never written, never committed), or the
build fails before any fix. Probes in the images show what a fix changes
(`dfmod.verify.probes`); the report is one line per fix in every output format, and a
summary (`dfmod.verify.report`).

Builds share the builder's cache; `--jobs` builds files in parallel. Dockerfiles and logs
go to a temporary directory, kept (and its path printed) when a build failed; images are
tagged `dfmod-verify/…` and removed at the end unless `--keep-images`.

Layer: above `dfmod.output` (whose formats it extends) and below `dfmod.pr` (which puts
the verdicts in the pull request). Imported only when verification is asked for.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import TYPE_CHECKING

from dfmod.verify.core import BEFORE_FAILS, WITHHELD, FileJob, FileVerification, Session, prepare, verify_file
from dfmod.verify.docker import BuildOptions, Docker, VerifyError

if TYPE_CHECKING:
    from dfmod.linting.codemod import Codemod
    from dfmod.verify.report import Entry, Row
    from dfmod.workspace.config import Overrides
    from dfmod.workspace.targets import Target

EXIT_CLEAN, EXIT_FAILED, EXIT_ERROR = 0, 1, 2
DEFAULT_BUILD_JOBS = 4


def options_from(args: SimpleNamespace) -> BuildOptions:
    return BuildOptions(builder=args.builder, build_args=tuple(args.build_arg or ()),
                        target=args.target, platform=args.platform, network=args.network)


def build_jobs(args: SimpleNamespace) -> int:
    return args.jobs if getattr(args, "jobs", 0) else min(DEFAULT_BUILD_JOBS, os.cpu_count() or 1)


@dataclass
class Verification:
    """The verdicts of a run, ready for any report."""

    results: list[FileVerification] = field(default_factory=list)
    builder: str = ""  # how builds were made ("docker buildx build")
    log_dir: str | None = None  # kept: a build failed
    images: list[str] = field(default_factory=list)  # kept with --keep-images

    def entries(self, writing: bool = False) -> list[Entry]:
        from dfmod.verify.report import entries

        return entries(self.results, writing)

    def withheld(self) -> dict[str, set[str]]:
        """The rules withheld, by the file's shown path."""
        return {result.job.shown: set(result.withheld) for result in self.results if result.withheld}

    def rows(self) -> list[Row]:
        from dfmod.verify.report import rows

        return rows(self.entries())

    def summary(self) -> str:
        from dfmod.verify.report import summary

        return summary(self.entries())


def verify(jobs: Sequence[FileJob], args: SimpleNamespace, progress: bool = False,
           quiet: bool = False) -> Verification:
    """Build and probe every Dockerfile job (others get "not built"); `quiet`: without the
    line that says what is built. Raises VerifyError when no Docker daemon answers."""
    from concurrent.futures import ThreadPoolExecutor

    outcome = Verification()
    dockerfiles = [job for job in jobs if job.kind == "dockerfile"]
    built: dict[int, FileVerification] = {}
    if dockerfiles:
        docker = Docker()
        options = options_from(args)
        version = docker.check(options)
        outcome.builder = docker.describe(options)
        session = Session(docker, options, probes=not args.no_probes, smoke=tuple(args.smoke or ()),
                          keep_images=args.keep_images)
        count = len(dockerfiles)
        if not quiet:
            sys.stderr.write(f"dfmod verify: building {count} Dockerfile{'s' if count != 1 else ''} "
                             f"before and after the fixes with `{outcome.builder}` (Docker {version})\n")
        try:
            with ThreadPoolExecutor(max_workers=build_jobs(args)) as pool:
                futures = {id(job): pool.submit(verify_file, session, job, number)
                           for number, job in enumerate(dockerfiles, 1)}
                for job in dockerfiles:
                    result = futures[id(job)].result()
                    built[id(job)] = result
                    if progress:
                        sys.stderr.write(f"dfmod verify: {job.shown}: {result.builds} builds, "
                                         f"{result.seconds:.1f} s\n")
        finally:
            session.close()
        outcome.log_dir = session.directory if session.failed else None
        outcome.images = list(session.images) if args.keep_images else []
    outcome.results = [built.get(id(job)) or FileVerification(job, final_text=job.fixed) for job in jobs]
    return outcome


def run_cli(args: SimpleNamespace, targets: list[Target], overrides: Overrides,
            codemods: Sequence[type[Codemod]]) -> int:
    """`dfmod verify PATHS` and `dfmod apply --fix --verify PATHS`."""
    from dfmod.syntax.source import InputError, SourceFile, write_source
    from dfmod.verify import report
    from dfmod.workspace.discovery import display_path
    from dfmod.workspace.runner import FileResult, run

    writing = args.command == "apply"
    by_path = {target.path: target for target in targets}
    failed = outside = False
    left = 0
    jobs: list[FileJob] = []
    companions: list[FileResult] = []
    analysis = args.jobs if args.jobs else (os.cpu_count() or 1)
    for result in run(targets, overrides, "diff", jobs=analysis, budget=args.timeout_per_file):
        if result.error:
            sys.stderr.write(f"dfmod: error: {result.error}\n")
            failed = True
            continue
        if result.outside:
            sys.stderr.write(f"dfmod: warning: {result.outside}\n")
            outside = True
            continue
        left += len(result.findings)
        if not result.changed:
            continue
        if result.companion:
            companions.append(result)
            continue
        assert result.before is not None
        job = prepare(by_path[result.path], result.before, overrides, display_path(result.path))
        if job is not None:
            jobs.append(job)
    quiet, exit_zero = getattr(args, "quiet", False), getattr(args, "exit_zero", False)
    fmt = getattr(args, "format", "concise")  # `full` (from `apply --fix --verify`) reads as concise
    human = fmt in ("concise", "full")  # else the summary goes to stderr: stdout is the report
    if not jobs:
        if not human:
            sys.stdout.write(report.render(fmt, [], codemods))  # an empty report, still one a reader parses
        if not quiet:
            (sys.stdout if human else sys.stderr).write(
                f"Nothing to verify: dfmod changes nothing in {len(targets)} file{'s' if len(targets) != 1 else ''}.\n")
        return EXIT_ERROR if failed else EXIT_FAILED if not exit_zero and (outside or (writing and left)) \
            else EXIT_CLEAN
    try:
        outcome = verify(jobs, args, progress=args.verbose, quiet=quiet)
    except VerifyError as error:
        sys.stderr.write(f"dfmod: error: {error}\n")
        return EXIT_ERROR
    items = outcome.entries(writing)
    if writing:
        for result in outcome.results:
            job = result.job
            if result.final_text != job.original:
                try:
                    write_source(SourceFile(job.path, job.original, job.original.encode("utf-8")),
                                 result.final_text)
                except InputError as error:
                    sys.stderr.write(f"dfmod: error: {error}\n")
                    failed = True
        for companion in companions:
            assert companion.before is not None and companion.after is not None
            try:
                write_source(SourceFile(companion.path, companion.before, companion.before.encode("utf-8")),
                             companion.after)
            except InputError as error:
                sys.stderr.write(f"dfmod: error: {error}\n")
                failed = True
    sys.stdout.write(report.render(fmt, items, codemods))
    if not quiet:
        (sys.stdout if human else sys.stderr).write(report.summary(items) + "\n")
    if outcome.log_dir:
        sys.stderr.write(f"dfmod verify: build logs and Dockerfiles kept in {outcome.log_dir}\n")
    if outcome.images:
        sys.stderr.write(f"dfmod verify: images kept: {' '.join(outcome.images)}\n")
    counted = report.counts(items)
    withheld_fixes = counted[WITHHELD]
    if failed:
        return EXIT_ERROR
    unproven = withheld_fixes or counted[BEFORE_FAILS] or report.regressions(items) or outside
    if (unproven or (writing and left)) and not exit_zero:
        return EXIT_FAILED
    return EXIT_CLEAN


def verify_for_pr(items: Sequence[tuple[Target, str, str]], overrides: Overrides,
                  args: SimpleNamespace) -> Verification:
    """`dfmod pr --verify`: `items` are (target, base text, repository path) of the files the
    combined fix changes; raises VerifyError without a daemon."""
    jobs = [job for target, text, rel in items
            if (job := prepare(target, text, overrides, rel)) is not None]
    return verify(jobs, args)
