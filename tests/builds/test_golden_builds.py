"""Golden cases build (issue #12, item 4).

`golden/<rule>/<case>/expected/` is what dfmod's fix makes of `input/`. Where the input is a
build context that has what the Dockerfile needs, the expected output is built here too,
with `input/` as its context: a fix whose output does not build would be a wrong fix.

Most golden inputs are not buildable here, and are skipped with the reason, decided before
any build from the Dockerfile's text:
- a base image other than `python:*` (nothing can be pulled; every `python:*` is the
  stand-in, see README.md) or a `# syntax=` frontend image;
- package managers that need a mirror or a binary download (apt-get, apk, dnf, yum, npm,
  yarn, poetry, uv, conda, curl | sh…);
- a `COPY`/`ADD` source the input does not have, or `pip install -r` of a file not in it;
- pip installs of packages other than the few small pure-Python ones builds may download
  (SMALL): fastapi, torch and their like would make CI slow, and some golden inputs name
  packages that do not exist at all (the masked-install-failure seed's `gpt-load`).
Of the golden cases that pass these tests, one per rule is built (the first in name
order; `DFMOD_GOLDEN_BUILDS=all` builds every one: about 15 minutes on 2 cores). The input
is built first, and a case whose input does not build here is skipped with BuildKit's
reason: the expected output is held to building only where the input did.

Where the rule's fix makes a failure visible (masked-failure, masked-install-failure: the
build must now fail when the install fails), a buildable expected output builds only if
what it installs exists; that is what these builds check.
"""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

import pytest
from buildkit import build
from support import Proven

from dfmod.linting.registry import all_codemods
from dfmod.syntax.dockerfile import Dockerfile
from dfmod.syntax.document import DocumentError
from dfmod.workspace.kinds import kind_of

pytestmark = pytest.mark.build

GOLDEN = Path(__file__).resolve().parents[2] / "golden"

SURFACING = {"masked-failure", "masked-install-failure", "verify-imports"}
"""The rules whose fix may fail a build on purpose: it makes a hidden failure visible."""

SMALL = {"six", "termcolor", "pyflakes", "idna", "packaging", "click", "itsdangerous", "pip", "setuptools", "wheel"}
"""Packages the golden builds may download (pip, setuptools and wheel are in the image)."""

TOOLS = ("apt-get", "apt ", "apk ", "dnf ", "yum ", "microdnf", "zypper", "npm ", "yarn", "pnpm", "poetry",
         "uv ", "uv\n", "conda", "mamba", "curl", "wget", "git ", "gem ")

_PIP = re.compile(r"(?:^|[\s;&|(])(?:\S*/)?(?:pip3?|python3?\s+-m\s+pip)\s+(install|wheel)\s+([^;&|\n]*)")
_WITH_VALUE = {"-r", "--requirement", "-c", "--constraint", "-i", "--index-url", "--extra-index-url", "-t",
               "--target", "--prefix", "--root", "-f", "--find-links", "-w", "--wheel-dir", "--cache-dir",
               "--progress-bar", "--platform", "--python-version", "--only-binary", "--no-binary"}


def _instructions(doc: Dockerfile) -> list[tuple[str, str]]:
    """(keyword, everything after it) per instruction, as BuildKit reads it
    (`Dockerfile.read_text`: continuations joined, heredoc bodies after the line)."""
    return [(instruction.keyword, doc.read_text(instruction).strip().partition(" ")[2].strip())
            for instruction in doc.instructions]


def _requirement_names(path: Path, seen: set[Path]) -> tuple[set[str], str | None]:
    names: set[str] = set()
    if path in seen:
        return names, None
    seen.add(path)
    for raw in path.read_text().splitlines():
        line = raw.split(" #")[0].strip()
        if not line or line.startswith("#") or line.startswith("--hash"):
            continue
        if line.startswith(("-r ", "-c ", "--requirement", "--constraint")):
            included = path.parent / line.split(None, 1)[1].strip()
            if not included.is_file():
                return names, f"{path.name} includes {included.name}, which the input lacks"
            more, why = _requirement_names(included, seen)
            if why:
                return names, why
            names |= more
            continue
        if line.startswith("-"):
            continue
        names.add(re.split(r"[\s\[<>=!~;@]", line, maxsplit=1)[0].lower().replace("_", "-"))
    return names, None


def unbuildable(case: Path, dockerfile: Path) -> str | None:
    """Why the expected Dockerfile of `case` cannot be built here, or None."""
    context = case / "input"
    text = dockerfile.read_text(encoding="utf-8", errors="replace")
    if re.match(r"(?i)\s*#\s*syntax\s*=", text.lstrip("\ufeff")):
        return "a `# syntax=` frontend image cannot be pulled here"
    try:
        doc = Dockerfile(text)
    except DocumentError as error:
        return f"BuildKit rejects it ({error})"
    stages: set[str] = set()
    copied: set[str] = set()
    for keyword, args in _instructions(doc):
        if keyword == "FROM":
            words = [word for word in args.split() if not word.startswith("--")]
            image = words[0]
            if image.lower() not in stages and not image.startswith("python:") and image != "scratch":
                return f"base image {image} cannot be pulled here (only python:* stand-ins)"
            if len(words) >= 3 and words[1].lower() == "as":
                stages.add(words[2].lower())
        elif keyword in {"COPY", "ADD"}:
            if "<<" in args:
                continue
            words = args.split("\n", 1)[0].split()
            if any(word.startswith("--from") for word in words):
                continue
            sources = [word for word in words if not word.startswith("--")][:-1]
            if args.lstrip().startswith("["):
                continue
            for source in sources:
                if source.startswith(("http://", "https://")):
                    return f"{keyword} of a URL ({source})"
                pattern = re.sub(r"^(\./)+", "", source).strip("/")
                if pattern in {"", "."}:
                    continue
                if "$" in pattern or not list(context.glob(pattern)):
                    return f"{keyword} {source}: the input lacks it"
                copied.add(source)
        elif keyword == "RUN":
            body = " " + args + "\n"
            for tool in TOOLS:
                if re.search(rf"(?:^|[\s;&|(/]){re.escape(tool)}", body):
                    return f"runs {tool.strip()}, which needs a mirror or a download these builds do not make"
            for match in _PIP.finditer(body):
                try:
                    words = shlex.split(match.group(2), comments=False)
                except ValueError:
                    return "a pip command line that cannot be read"
                position = 0
                while position < len(words):
                    word = words[position]
                    position += 1
                    if word in _WITH_VALUE and position < len(words):
                        value = words[position]
                        position += 1
                        if word in {"-r", "--requirement", "-c", "--constraint"}:
                            file = context / value
                            if "$" in value or not file.is_file():
                                return f"pip installs -r {value}, which the input lacks"
                            names, why = _requirement_names(file, set())
                            if why:
                                return why
                            if names - SMALL:
                                return f"{value} needs {', '.join(sorted(names - SMALL))}: not one of SMALL"
                        continue
                    if word.startswith("-") or word in {"&&", "||"}:
                        continue
                    if word.startswith(("/", ".", "$")) or word.endswith((".whl", ".tar.gz")):
                        return f"pip installs a local path ({word})"
                    name = re.split(r"[\[<>=!~;@]", word, maxsplit=1)[0].lower().replace("_", "-")
                    if name not in SMALL:
                        return f"pip installs {name}: not one of SMALL"
    return None


SAMPLE = os.environ.get("DFMOD_GOLDEN_BUILDS") != "all"
"""Build one case per rule (the first buildable one, in name order) unless
DFMOD_GOLDEN_BUILDS=all: every buildable case is two builds, and the whole set takes about
15 minutes on 2 cores, which would put CI past its 20."""


def _cases() -> list:
    params = []
    sampled: set[str] = set()  # the rules that have their case in this run
    for case in sorted(GOLDEN.glob("*/*")):
        codemod = all_codemods().get(case.parent.name)
        if codemod is None or codemod.kind != "dockerfile" or not (case / "expected").is_dir():
            continue
        for dockerfile in sorted(path for path in (case / "expected").rglob("*") if kind_of(path.name) == "dockerfile"):
            relative = dockerfile.relative_to(case / "expected")
            node = f"{case.parent.name}/{case.name}" + ("" if str(relative) == "Dockerfile" else f"/{relative}")
            why = unbuildable(case, dockerfile)
            if why is None and SAMPLE and case.parent.name in sampled:
                why = "sampled out: one case per rule is built (DFMOD_GOLDEN_BUILDS=all builds all)"
            elif why is None:
                sampled.add(case.parent.name)
            marks = [pytest.mark.skip(reason=why)] if why else []
            params.append(pytest.param(case, str(relative), id=node, marks=marks))
    return params


CASES = _cases()



def _first_error(log: str) -> str:
    """The line of a failed build that says why (BuildKit's `ERROR: …`), shortened."""
    lines = [line for line in log.splitlines() if "ERROR:" in line] or log.splitlines()[-1:]
    return lines[0].split("ERROR:", 1)[-1].strip()[:200] if lines else "no log"


def prove_golden_expected_output_builds(tmp_path: Path, case: Path, dockerfile: str) -> None:
    # The input first: a case whose input does not build here (a tool the stand-in image
    # lacks, a file no COPY brings, a user nobody creates) says nothing about its fix. Where
    # the input builds, the expected Dockerfile must build too, with the same context.
    before = build(case / "input", dockerfile=(case / "input" / dockerfile).resolve())
    if not before.ok:
        pytest.skip(f"the input does not build here: {_first_error(before.log)}")
    after = build(case / "input", dockerfile=(case / "expected" / dockerfile).resolve())
    if not after.ok and case.parent.name in SURFACING:
        # The fix's point is to fail where the input hid a failure: allowed only at a step
        # the fix wrote (verify-imports' check: a `USER app` nobody creates fails there).
        step = re.search(r'process "/bin/sh -c (.*?)" did not complete', after.log)
        written = (case / "expected" / dockerfile).read_text(encoding="utf-8")
        original = (case / "input" / dockerfile).read_text(encoding="utf-8")
        command = step.group(1).replace('\\"', '"') if step else ""  # BuildKit quotes it
        assert command and command in written and command not in original, after
        return
    assert after.ok, after


@pytest.mark.parametrize(("case", "dockerfile"), CASES)
def test_golden_expected_output_builds(proven: Proven, case: Path, dockerfile: str) -> None:
    proven()


def test_some_golden_cases_are_built() -> None:
    built = [param for param in CASES if not param.marks]
    assert len(built) >= 8, [param.id for param in built]
