"""`dfmod verify` without a daemon: BuildKit's logs read, the verdict logic driven by a
stand-in builder, the reports rendered, and the command's start-up cost kept off other
commands. The real builds are in `tests/builds/test_verify_builds.py`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from test_output_formats import check_junit

from dfmod.linting import Applicability, Codemod, Context, Edit, Finding, Fix
from dfmod.linting.engine import Settings
from dfmod.linting.registry import all_codemods
from dfmod.syntax.text import Span
from dfmod.verify import buildlog, report
from dfmod.verify.core import (
    BEFORE_FAILS,
    KEEPS,
    NOT_BUILT,
    SURFACES,
    WITHHELD,
    FileVerification,
    Session,
    prepare,
    verify_file,
)
from dfmod.verify.docker import Build, BuildOptions, Docker, Run
from dfmod.workspace.targets import Target

# --- BuildKit's plain logs ---------------------------------------------------------------

STEP_LOG = """#0 building with "default" instance using docker driver

#6 [2/3] RUN echo hi
#6 0.750 hi
#6 DONE 0.9s

#7 [3/3] RUN echo one &&     echo two >&2 && false
#7 0.498 one
#7 0.501 two
#7 ERROR: process "/bin/sh -c echo one &&     echo two >&2 && false" did not complete successfully: exit code: 1
------
 > [3/3] RUN echo one &&     echo two >&2 && false:
0.498 one
0.501 two
------
Dockerfile:3
--------------------
   2 |     RUN echo hi
   3 | >>> RUN echo one && \\
   4 | >>>     echo two >&2 && false
   5 |
--------------------
""" + ('ERROR: failed to solve: process "/bin/sh -c echo one &&     echo two >&2 && false" '
       "did not complete successfully: exit code: 1\n")


def test_a_failing_run_step_is_read_with_its_lines_and_output() -> None:
    failure = buildlog.failure(STEP_LOG)
    assert failure.kind == "step" and failure.exit_code == 1
    assert failure.lines == (3, 4) and failure.step.startswith("RUN echo one")
    assert failure.tail == ("one", "two")
    assert failure.sentence() == "the RUN at line 3 exits 1"


def test_a_missing_base_image_a_frontend_and_a_context_file() -> None:
    base = buildlog.failure(
        "Dockerfile:2\n--------------------\n   2 | >>> FROM registry.example/python:3.10\n"
        "--------------------\nERROR: failed to solve: registry.example/python:3.10: failed to resolve "
        "source metadata for registry.example/python:3.10: failed to do request: no such host\n")
    assert base.kind == "base-image" and base.image == "registry.example/python:3.10"
    assert base.sentence() == "the base image `registry.example/python:3.10` is not available (the FROM at line 2)"
    frontend = buildlog.failure(
        "Dockerfile:1\n--------------------\n   1 | >>> # syntax=docker/dockerfile:1\n--------------------\n"
        "ERROR: failed to solve: failed to resolve source metadata for docker.io/docker/dockerfile:1: "
        "failed to do request\n", syntax="docker/dockerfile:1")
    assert frontend.kind == "frontend" and "`# syntax=` frontend image `docker/dockerfile:1`" in frontend.reason
    for message in ('failed to compute cache key: failed to calculate checksum of ref x::y: "/pyproject.toml": '
                    "not found",
                    "failed to compute cache key: failed to calculate checksum of ref x::y: failed to walk "
                    "/data/tmp/buildkit-mount1/backend: lstat /data/tmp/buildkit-mount1/backend: no such file "
                    "or directory"):
        context = buildlog.failure(f"ERROR: failed to solve: {message}\n")
        assert context.kind == "context" and context.missing in ("pyproject.toml", "backend")
        assert context.reason.endswith("is not in the build context")


def test_cache_hits_count_only_steps_that_ran() -> None:
    log = ("#5 [2/2] RUN pip install termcolor\n#5 1.0 Collecting termcolor\n"
           "#5 1.1   Using cached termcolor-1.1.0-py3-none-any.whl\n#5 DONE 2.0s\n"
           "#6 [3/3] RUN pip install six\n#6 CACHED\n")
    assert buildlog.cache_hits(log) == 1
    assert buildlog.wheels_built("#5 [1/1] RUN x\n#5 0.1   Building wheel for a (setup.py): started\n") == 1


# --- the verdicts, with a stand-in builder -------------------------------------------------


class FakeDocker(Docker):
    """Builds by rule: `fails(text)` gives (line, output) of the first failing step, or None."""

    def __init__(self, fails: Callable[[str], tuple[int, str] | None]) -> None:
        super().__init__("docker-not-called", env={})
        self.fails = fails
        self.built: list[str] = []

    def build(self, dockerfile, context, tag, options, log_path, build_args=None, syntax=None) -> Build:  # type: ignore[override]
        text = Path(dockerfile).read_text()
        self.built.append(text)
        found = self.fails(text)
        if found is None:
            return Build(True, "#1 DONE 0.1s\n", log_path, tag)
        line, output = found
        step = text.splitlines()[line - 1]
        log = (f"#7 [2/3] {step}\n#7 0.100 {output}\n#7 ERROR: process \"/bin/sh -c x\" did not complete "
               f"successfully: exit code: 1\n------\n > [2/3] {step}:\n------\nDockerfile:{line}\n"
               f"--------------------\n {line:3d} | >>> {step}\n--------------------\n"
               "ERROR: failed to solve: process \"/bin/sh -c x\" did not complete successfully: exit code: 1\n")
        return Build(False, log, log_path, None, failure=buildlog.failure(log))

    def run(self, image, args, entrypoint=None, platform=None, timeout=0.0) -> Run:  # type: ignore[override]
        return Run(0, "", "")

    def remove(self, images) -> None:  # type: ignore[override]
        pass


class RequireHashes(Codemod):
    """A stand-in for a codemod whose fix breaks the build: pip refuses unhashed installs."""

    id = "zz-require-hashes"
    summary = "pip install without --require-hashes"
    applicability = Applicability.SAFE

    def check(self, ctx: Context) -> Iterator[Finding]:
        yield from _insert_after(ctx, "pip install", " --require-hashes", self)


class NoDeps(Codemod):
    """Another breaking stand-in: `--no-deps` on `pip install`."""

    id = "zz-no-deps"
    summary = "pip install with dependencies"
    applicability = Applicability.SAFE

    def check(self, ctx: Context) -> Iterator[Finding]:
        yield from _insert_after(ctx, "pip install", " --no-deps", self)


def _insert_after(ctx: Context, needle: str, text: str, codemod: Codemod) -> Iterator[Finding]:
    source = ctx.doc.text
    for item in ctx.doc.instructions:
        body = source[item.span.start:item.span.end]
        at = source.find(needle, item.span.start, item.span.end)
        if item.keyword == "RUN" and at >= 0 and text not in body:
            end = at + len(needle)
            yield codemod.finding(Span(at, end), f"no{text}",
                                  Fix((Edit(end, end, text),), Applicability.SAFE, f"Add{text}"))


def _line_of(text: str, needle: str) -> int | None:
    return next((number for number, line in enumerate(text.splitlines(), 1) if needle in line), None)


def _verify(tmp_path: Path, dockerfile: str, rules: list[str], extra: list[type[Codemod]],
            fails: Callable[[str], tuple[int, str] | None], unsafe: bool = True
            ) -> tuple[FileVerification, FakeDocker]:
    path = tmp_path / "Dockerfile"
    path.write_text(dockerfile)
    codemods = [all_codemods()[rule] for rule in rules] + extra
    target = Target(str(path), "dockerfile", context=str(tmp_path), context_how="test")
    job = prepare(target, dockerfile, Settings(codemods=codemods, unsafe_fixes=unsafe), "Dockerfile")
    assert job is not None
    docker = FakeDocker(fails)
    session = Session(docker, BuildOptions(), probes=False)
    try:
        return verify_file(session, job, 1), docker
    finally:
        session.close()


BREAKS = """FROM python:3.12-slim
RUN pip install --no-cache-dir demo
ENV PYTHONPATH=/srv:$PYTHONPATH
"""


def test_a_fix_that_breaks_the_build_is_found_by_leaving_rules_out_and_withheld(tmp_path: Path) -> None:
    def fails(text: str) -> tuple[int, str] | None:
        line = _line_of(text, "--require-hashes")
        return None if line is None else (line, "ERROR: Hashes are required in --require-hashes mode")

    result, docker = _verify(tmp_path, BREAKS, ["undefined-env-var"], [RequireHashes], fails)
    assert result.verdicts["zz-require-hashes"].kind == WITHHELD
    assert result.verdicts["undefined-env-var"].kind == KEEPS
    assert result.withheld == {"zz-require-hashes"}
    assert "--require-hashes" not in result.final_text and "${PYTHONPATH:+:$PYTHONPATH}" in result.final_text
    failure = result.verdicts["zz-require-hashes"].failure
    assert failure is not None and failure.line == 2 and "Hashes are required" in failure.tail[-1]
    # before, all fixes, without the culprit: three builds, each text once.
    assert len(docker.built) == len(set(docker.built)) == 3


def test_two_breaking_fixes_are_found_one_by_one(tmp_path: Path) -> None:
    def fails(text: str) -> tuple[int, str] | None:
        line = _line_of(text, "--require-hashes") or _line_of(text, "--no-deps")
        return None if line is None else (line, "ERROR: broken")

    result, _ = _verify(tmp_path, BREAKS, ["undefined-env-var"], [RequireHashes, NoDeps], fails)
    assert result.withheld == {"zz-require-hashes", "zz-no-deps"}
    assert result.verdicts["undefined-env-var"].kind == KEEPS
    assert "--no-deps" not in result.final_text and "--require-hashes" not in result.final_text


SURFACING = """FROM python:3.12-slim
RUN pip install --no-cache-dir gpt-load || echo "not available"
RUN cp /etc/app.conf /tmp/ && rm -rf /tmp/cache 2>/dev/null || true && echo copied
ENV PYTHONPATH=/srv:$PYTHONPATH
"""


def test_surfaced_failures_are_pinned_to_the_fix_on_the_failing_line(tmp_path: Path) -> None:
    def fails(text: str) -> tuple[int, str] | None:
        if "not available" not in text:  # the install now fails the build
            return _line_of(text, "gpt-load") or 0, "ERROR: No matching distribution found for gpt-load"
        if "{ rm" in text:  # the scoped tolerance no longer hides cp's failure
            return _line_of(text, "{ rm") or 0, "cp: cannot stat '/etc/app.conf': No such file or directory"
        return None

    result, _ = _verify(tmp_path, SURFACING, ["masked-failure", "masked-install-failure", "undefined-env-var"],
                        [], fails)
    install, masked = result.verdicts["masked-install-failure"], result.verdicts["masked-failure"]
    assert install.kind == SURFACES and install.failure is not None and install.failure.line == 2
    assert "No matching distribution" in install.failure.tail[-1]
    assert masked.kind == SURFACES and masked.failure is not None and masked.failure.line == 3
    assert result.verdicts["undefined-env-var"].kind == KEEPS
    assert not result.withheld and result.final_text.count("{ rm") == 1  # surfaced fixes are kept


def test_before_fails_says_whether_the_fix_addresses_the_failure(tmp_path: Path) -> None:
    dockerfile = ("FROM python:3.12-slim\nENV PIP_NO_CACHE_DIR=1\n"
                  "RUN pip install demo && pip cache purge\nENV PYTHONPATH=/srv:$PYTHONPATH\n")

    def fails(text: str) -> tuple[int, str] | None:
        line = _line_of(text, "pip cache purge")
        return None if line is None else (line, "ERROR: pip cache commands can not function since cache is disabled.")

    result, _ = _verify(tmp_path, dockerfile, ["pip-cache-purge", "undefined-env-var"], [], fails)
    purge, env = result.verdicts["pip-cache-purge"], result.verdicts["undefined-env-var"]
    assert purge.kind == env.kind == BEFORE_FAILS
    assert purge.addressed is True and purge.after_ok is True
    assert "this fix addresses it; the fixed file builds" in purge.text
    assert env.addressed is False and "the fixed file builds" in env.text


# --- the reports ---------------------------------------------------------------------------


def _entries(tmp_path: Path) -> list[report.Entry]:
    def fails(text: str) -> tuple[int, str] | None:
        line = _line_of(text, "--require-hashes")
        return None if line is None else (line, "ERROR: Hashes are required")

    result, _ = _verify(tmp_path, BREAKS, ["undefined-env-var"], [RequireHashes], fails)
    return report.entries([result], writing=True)


def test_the_text_report_has_a_line_per_fix_and_the_summary(tmp_path: Path) -> None:
    items = _entries(tmp_path)
    text = report.text_report(items)
    assert text.splitlines()[0].startswith("Dockerfile:2:5: zz-require-hashes breaks the build: with this fix the "
                                           "RUN at line 2 exits 1, without it the build passes; withheld, not written")
    assert "    | ERROR: Hashes are required" in text
    assert "Dockerfile:3:5: undefined-env-var keeps the build working (passes → passes)" in text
    assert report.summary(items) == ("2 fixes verified with BuildKit: 1 keeps the build working, "
                                     "0 surface hidden failures; 1 withheld.")


def test_json_sarif_and_github_carry_the_verdict(tmp_path: Path) -> None:
    items = _entries(tmp_path)
    records = report.json_records(items)
    assert [record["verified"]["verdict"] for record in records] == [WITHHELD, KEEPS]  # type: ignore[index]
    assert records[0]["verified"]["written"] is False  # type: ignore[index]
    assert records[0]["rule"] == "zz-require-hashes" and records[0]["line"] == 2
    log = json.loads(report.sarif(items, [all_codemods()["undefined-env-var"]]))
    verified = [result["properties"]["dfmodVerified"]["verdict"] for result in log["runs"][0]["results"]]
    assert verified == [WITHHELD, KEEPS]
    annotations = report.github(items).splitlines()
    assert len(annotations) == 2 and annotations[1].startswith("::warning file=")
    assert "BuildKit: keeps the build working" in annotations[1]


def test_junit_fails_exactly_the_fixes_that_are_not_proven(tmp_path: Path) -> None:
    """One case per fix: the withheld one fails with its verdict, the one that keeps the
    build passes with it as output, and a fix outside a Dockerfile is skipped; in the
    elements and attributes Jenkins's junit-10.xsd allows (test_output_formats.check_junit)."""
    items = _entries(tmp_path)
    not_built = report.Entry("compose.yaml", items[1].applied, report.Verdict(
        NOT_BUILT, "not built: dfmod verify builds Dockerfiles"))
    root = check_junit(report.junit([*items, not_built]),
                       case_children=([], ["failure"], ["skipped"], ["system-out"]))
    assert (root.get("tests"), root.get("failures")) == ("3", "1")
    dockerfile, compose = root.findall("testsuite")
    assert (dockerfile.get("name"), compose.get("name"), compose.get("skipped")) == ("Dockerfile", "compose.yaml", "1")
    withheld, keeps = dockerfile.findall("testcase")
    assert withheld.get("name") == "zz-require-hashes at 2:5"
    failure = withheld.find("failure")
    assert failure is not None and failure.get("type") == WITHHELD
    assert failure.get("message", "").startswith("breaks the build: with this fix the RUN at line 2 exits 1")
    assert (failure.text or "").startswith("Dockerfile:2:5: zz-require-hashes breaks the build")
    assert keeps.findtext("system-out", "").endswith("undefined-env-var keeps the build working (passes → passes)")
    assert compose.find("testcase/skipped") is not None


def test_pr_rows_say_before_and_after(tmp_path: Path) -> None:
    rows = report.rows(_entries(tmp_path))
    assert [(row.rule, row.before_after) for row in rows] == [
        ("zz-require-hashes", "passes → fails at line 2: withheld, not committed"),
        ("undefined-env-var", "passes → passes")]
    assert rows[0].result == "the RUN at line 2 exits 1: `ERROR: Hashes are required`"


# --- the command line ----------------------------------------------------------------------


def test_other_commands_do_not_import_the_verify_package(tmp_path: Path) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM python:3.12-slim\nENV PYTHONPATH=/srv:$PYTHONPATH\n")
    code = ("import sys; from dfmod.cli import main; main(['check', sys.argv[1]]); "
            "main(['apply', sys.argv[1]]); "
            "sys.exit(3 if any(name.startswith('dfmod.verify') for name in sys.modules) else 0)")
    proc = subprocess.run([sys.executable, "-c", code, str(dockerfile)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


def test_verify_without_a_daemon_is_an_error_naming_it(tmp_path: Path) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM python:3.12-slim\nENV PYTHONPATH=/srv:$PYTHONPATH\n")
    proc = subprocess.run([sys.executable, "-m", "dfmod", "verify", str(dockerfile)], capture_output=True,
                          text=True, check=False,
                          env={"PATH": "/nonexistent", "DOCKER_HOST": "unix:///nonexistent.sock"})
    assert proc.returncode == 2
    assert "dfmod: error: no Docker client: `docker` is not on PATH" in proc.stderr


def test_apply_verify_needs_fix(tmp_path: Path) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM python:3.12-slim\n")
    proc = subprocess.run([sys.executable, "-m", "dfmod", "apply", "--verify", str(dockerfile)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 2 and "--verify needs --fix" in proc.stderr


def test_the_probed_rules() -> None:
    from dfmod.verify.probes import PROBED

    assert {"venv-relocated", "user-site-not-on-path", "undefined-env-var", "cache-mount-no-cache-dir",
            "verify-imports", "keep-dist-info"} == PROBED
