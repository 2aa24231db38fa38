"""No fix breaks a working build (issue #12, item 3).

`cases/<name>/context/` is a build context with a Dockerfile in a shape real projects use
(multi-stage venvs, non-root users, installs under an ARG, `--target` and `--prefix`
installs, optional requirements files, apps copied after their dependencies,
`docker/Dockerfile` built from the root, uv and poetry layouts…); `cases/<name>/case.toml`
says how to build it and what its container answers:

    description = "…"
    dockerfile = "docker/Dockerfile"   # relative to the context (default: Dockerfile)
    probe = ["python", "-m", "app"]    # what to run (default: the image's CMD)
    expect = "app 1.0"                 # a substring of what the probe prints
    reveals = { rule = "…", log = "…" }  # the fixes' point is to fail this build, saying this
    [[build]]                          # build variants (default: one, no args); each may
    args = { INSTALL_EXTRAS = "true" } # override target, probe and expect
    target = "dev"

The property, for every case and variant: the Dockerfile builds and its probe answers today;
after `dfmod apply --fix --unsafe-fixes --context <context>` (every fix, safe and unsafe) it
still builds and the probe prints exactly the same. A case with `reveals` is one whose
hidden failure a fix makes visible: its fixed build fails with that message instead.

A case that a rule breaks today is marked `xfail(strict=True)` in KNOWN_BROKEN with the rule
and what it does wrong; when the rule is fixed the mark must go (strict: an XPASS fails).

The cases are built concurrently (support.JOBS at a time) by one module fixture, since most of
the time goes to waiting for the daemon and PyPI; each test then reads its case's outcome.
"""

from __future__ import annotations

import shutil
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from buildkit import BuildResult, RunResult, build, run
from support import JOBS, apply_fixes, findings

from dfmod.linting.registry import all_codemods

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

pytestmark = pytest.mark.build

CASES_DIR = Path(__file__).resolve().parent / "cases"

KNOWN_BROKEN: dict[str, str] = {
}
"""Cases a rule breaks today: case name -> "<rule>: <what it does wrong>"."""


@dataclass(frozen=True)
class Variant:
    args: dict[str, str]
    target: str | None
    probe: tuple[str, ...]
    expect: str

    @property
    def label(self) -> str:
        parts = [f"{key}={value}" for key, value in self.args.items()]
        if self.target:
            parts.append(f"--target {self.target}")
        return " ".join(parts) or "default"


@dataclass(frozen=True)
class Case:
    name: str
    description: str
    dockerfile: str
    variants: tuple[Variant, ...]
    reveals: dict[str, str] | None

    @property
    def context(self) -> Path:
        return CASES_DIR / self.name / "context"


def _load(directory: Path) -> Case:
    spec = tomllib.loads((directory / "case.toml").read_text())
    probe = tuple(spec.get("probe", ()))
    builds = spec.get("build", [{}])
    variants = tuple(Variant(dict(item.get("args", {})), item.get("target"), tuple(item.get("probe", probe)),
                             item.get("expect", spec.get("expect", ""))) for item in builds)
    assert all(variant.expect for variant in variants), f"{directory}: every build needs an `expect`"
    return Case(directory.name, spec["description"], spec.get("dockerfile", "Dockerfile"), variants,
                spec.get("reveals"))


CASES = [_load(path) for path in sorted(CASES_DIR.iterdir()) if (path / "case.toml").is_file()]


@dataclass
class Outcome:
    """What one case did: dfmod's findings on it, the fixed text, and per variant the builds
    and probes before and after."""

    found: list[dict] = field(default_factory=list)
    original: str = ""
    fixed: str = ""
    before: dict[str, tuple[BuildResult, RunResult | None]] = field(default_factory=dict)
    after: dict[str, tuple[BuildResult, RunResult | None]] = field(default_factory=dict)

    @property
    def fixed_rules(self) -> set[str]:
        return {item["rule"] for item in self.found if item.get("fix")}


def _copy(case: Case, root: Path) -> Path:
    target = root / case.name
    shutil.copytree(case.context, target, symlinks=True)
    return target


def _build_and_probe(context: Path, case: Case, variant: Variant) -> tuple[BuildResult, RunResult | None]:
    result = build(context, dockerfile=case.dockerfile, build_args=variant.args, target=variant.target)
    if not result.ok:
        return result, None
    assert result.image is not None
    return result, run(result.image, *variant.probe)


def _evaluate(case: Case, root: Path) -> Outcome:
    outcome = Outcome()
    before_ctx = _copy(case, root / "before")
    after_ctx = _copy(case, root / "after")
    dockerfile = after_ctx / case.dockerfile
    outcome.original = dockerfile.read_text()
    outcome.found = findings(dockerfile, context=after_ctx)
    outcome.fixed = apply_fixes(dockerfile, context=after_ctx, unsafe=True)
    for variant in case.variants:
        outcome.before[variant.label] = _build_and_probe(before_ctx, case, variant)
        outcome.after[variant.label] = _build_and_probe(after_ctx, case, variant)
    return outcome


def _selected(request: pytest.FixtureRequest) -> set[str]:
    """The cases whose tests this session runs (so `-k one_case` builds one case)."""
    names = set()
    for item in request.session.items:
        callspec = getattr(item, "callspec", None)
        if item.module is sys.modules[__name__] and callspec is not None and "case" in callspec.params:
            names.add(callspec.params["case"].name)
    return names


@pytest.fixture(scope="module")
def outcomes(request: pytest.FixtureRequest,
             tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome | BaseException]:
    root = tmp_path_factory.mktemp("no-breakage")
    wanted = [case for case in CASES if case.name in _selected(request)]
    results: dict[str, Outcome | BaseException] = {}
    with ThreadPoolExecutor(max_workers=JOBS) as pool:
        futures = {case.name: pool.submit(_evaluate, case, root) for case in wanted}
        for name, future in futures.items():
            try:
                results[name] = future.result()
            except Exception as error:  # reported by the case's own test
                results[name] = error
    return results


def _params() -> list:
    return [pytest.param(case, id=case.name, marks=[pytest.mark.xfail(strict=True, reason=KNOWN_BROKEN[case.name])]
                         if case.name in KNOWN_BROKEN else []) for case in CASES]


def test_at_least_25_working_dockerfiles() -> None:
    assert len(CASES) >= 25
    assert not set(KNOWN_BROKEN) - {case.name for case in CASES}, "KNOWN_BROKEN names a case that does not exist"


@pytest.mark.parametrize("case", _params())
def test_no_fix_breaks_a_working_build(case: Case, outcomes: dict[str, Outcome | BaseException]) -> None:
    outcome = outcomes[case.name]
    if isinstance(outcome, BaseException):
        raise outcome
    diff = f"--- {case.dockerfile}\n{outcome.original}\n+++ fixed ({sorted(outcome.fixed_rules)})\n{outcome.fixed}"
    for variant in case.variants:
        before, before_run = outcome.before[variant.label]
        assert before.ok, f"[{variant.label}] the case does not build as it is:\n{before}"
        assert before_run is not None
        assert before_run.returncode == 0 and variant.expect in before_run.stdout, (
            f"[{variant.label}] the case does not answer as it should:\n{before_run}")
        after, after_run = outcome.after[variant.label]
        if case.reveals:
            assert case.reveals["rule"] in outcome.fixed_rules, diff
            assert not after.ok, f"[{variant.label}] the fix should make this build fail:\n{diff}\n{after}"
            assert case.reveals["log"] in after.log, after
            continue
        assert after.ok, f"[{variant.label}] the fixed Dockerfile no longer builds:\n{diff}\n{after}"
        assert after_run is not None
        assert after_run.returncode == 0, f"[{variant.label}] the fixed image no longer starts:\n{diff}\n{after_run}"
        assert after_run.stdout == before_run.stdout, (
            f"[{variant.label}] the fixed image answers differently:\n{diff}\nbefore: {before_run.stdout!r}\n"
            f"after: {after_run.stdout!r}")


def test_no_breakage_cases_exercise_every_fix(tmp_path: Path) -> None:
    # The property means something only if the cases get fixed: every Dockerfile rule that
    # has fixes applies one to some case. (dfmod check only: no build.)
    fixed: set[str] = set()
    for case in CASES:
        context = _copy(case, tmp_path)
        fixed |= {item["rule"] for item in findings(context / case.dockerfile, context=context) if item.get("fix")}
    dockerfile_rules = {rule for rule, codemod in all_codemods().items() if codemod.kind == "dockerfile"}
    assert dockerfile_rules - fixed == NOT_ON_WORKING_BUILDS


NOT_ON_WORKING_BUILDS = {"user-site-not-on-path"}
"""Rules that report only Dockerfiles that do not work today, so no working case can take
their fix: user-site-not-on-path reports a CMD that cannot start (its console script is not
on PATH). test_rules.py proves its fix on the broken shapes."""
