"""Reading BuildKit's plain-progress log (`--progress=plain`): which step failed, where, why.

A step opens with `#N [stage i/n] RUN …`, prints its output as `#N 1.234 text`, and ends
with `#N DONE 1.2s`, `#N CACHED` or `#N ERROR: …`. A failed build then repeats the step's
last lines, names the Dockerfile line (`Dockerfile:12`, with the instruction's lines marked
`>>>`), and ends with `ERROR: failed to solve: …`. The same log comes from `docker buildx
build` and from `docker build` with BuildKit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TAIL = 12  # lines of a failing step's output kept for the report

_HEADER = re.compile(r"^#(\d+) \[([^\]]*)\] (.*)$", re.M)
_ERROR = re.compile(r"^#(\d+) ERROR: (.*)$", re.M)
_SOLVE = re.compile(r"^ERROR: (?:failed to solve: )?(.*)$", re.M)
_MARKED = re.compile(r"^\s*(\d+) \| >>> ", re.M)
_EXIT = re.compile(r"did not complete successfully: exit code: (\d+)")
_METADATA = re.compile(r"(?:source metadata for|pull access denied for) (\S+?)(?::? |,|$)")
_NOISE = re.compile(r"WARNING: Running pip as the 'root' user|\[notice\] ")  # said by every pip as root
_MISSING = re.compile(r"failed to compute cache key: .*?(?:\"/?([^\"]+)\": not found|"
                      r"buildkit-mount\d+/([^:\s]+): no such file or directory)")


@dataclass(frozen=True)
class Failure:
    """Why a build failed. `kind`: "base-image" (a FROM image cannot be had), "frontend"
    (the `# syntax=` image), "context" (a COPY/ADD source is not in the build context),
    "step" (a RUN exited non-zero), "other". `lines` are the Dockerfile lines BuildKit
    marks; `tail` the step's last output lines (or the error's)."""

    kind: str
    reason: str
    lines: tuple[int, ...] = ()
    step: str = ""
    exit_code: int | None = None
    tail: tuple[str, ...] = ()
    image: str = ""  # the image that cannot be had ("base-image", "frontend")
    missing: str = ""  # the context path ("context")

    @property
    def line(self) -> int | None:
        return self.lines[0] if self.lines else None

    def where(self) -> str:
        """`the RUN at line 12` — the step as the reader finds it in the file."""
        keyword = self.step.split(" ", 1)[0] if self.step else ""
        if self.kind == "base-image":
            keyword = "FROM"
        if self.line is None:
            return "the build"
        if keyword.isupper() and keyword.isalpha() and self.kind != "frontend":
            return f"the {keyword} at line {self.line}"
        return f"line {self.line}"

    def telling_line(self) -> str:
        """The output line that says why: the last that reports an error, else the last."""
        lines = [line.strip() for line in self.tail if line.strip()]
        telling = [line for line in lines if re.search(r"\berror\b|^E: |: cannot |not found|No such file", line, re.I)]
        line = (telling or lines or [""])[-1]
        return line if len(line) <= 160 else line[:159] + "…"

    def sentence(self) -> str:
        """`the RUN at line 12 exits 1`, `the base image `x` is not available (the FROM at line 1)`."""
        where = self.where()
        if self.kind == "step":
            return f"{where} {self.reason}" if where != "the build" else f"a step {self.reason}"
        return self.reason if where == "the build" else f"{self.reason} ({where})"

    def same(self, other: Failure | None) -> bool:
        """Whether `other` is this failure again: the same kind and reason (the fixes may
        move its line), or both a missing context file (BuildKit checks the sources of
        all COPYs at once and names whichever is found missing first)."""
        return other is not None and self.kind == other.kind and (
            self.reason == other.reason or self.kind == "context")

    def to_json(self) -> dict[str, object]:
        return {"kind": self.kind, "reason": self.reason, "line": self.line,
                "lines": list(self.lines), "step": self.step or None,
                "exit_code": self.exit_code, "tail": list(self.tail)}


def step_output(log: str, number: str) -> list[str]:
    """The output lines of step `#number`, without the `#N 1.234 ` prefix."""
    prefix = re.compile(rf"^#{number} \d+\.\d+ ?(.*)$", re.M)
    return [match.group(1) for match in prefix.finditer(log)]


def failure(log: str, syntax: str | None = None) -> Failure:
    """Why the build whose log this is failed (the log of a build that exited non-zero);
    `syntax` is the Dockerfile's `# syntax=` image, if any."""
    solve = _SOLVE.findall(log)
    message = solve[-1].strip() if solve else ""
    lines = tuple(int(number) for number in _MARKED.findall(_error_block(log)))
    failed = _ERROR.findall(log)
    number, step_error = failed[-1] if failed else ("", "")
    headers = {match.group(1): match.group(3).strip() for match in _HEADER.finditer(log)}
    step = headers.get(number, "")
    text = message or step_error
    found = _METADATA.search(text)
    if found is not None or "pull access denied" in text:
        image = found.group(1) if found else ""
        if syntax and _short(image) == _short(syntax):
            return Failure("frontend", f"the `# syntax=` frontend image `{syntax}` is not available",
                           lines, step, None, _last(text), image=image)
        return Failure("base-image", f"the base image `{_short(image)}` is not available",
                       lines, step, None, _last(text), image=image)
    missing = _MISSING.search(text)
    if missing is not None:
        path = missing.group(1) or missing.group(2)
        return Failure("context", f"`{path}` is not in the build context", lines, step, None,
                       _last(text), missing=path)
    code = _EXIT.search(step_error or text)
    if code is not None:
        output = [line for line in (step_output(log, number) if number else []) if not _NOISE.match(line)]
        return Failure("step", f"exits {code.group(1)}", lines, step,
                       int(code.group(1)), tuple(output[-TAIL:]))
    return Failure("other", _first_line(text) or "the build failed", lines, step, None,
                   _last(text))


def ran_steps(log: str) -> set[str]:
    """The numbers of the steps that ran (not taken from the cache)."""
    cached = set(re.findall(r"^#(\d+) CACHED$", log, re.M))
    return {match.group(1) for match in _HEADER.finditer(log)} - cached


def cache_hits(log: str) -> int:
    """How many wheels pip took from its cache in the steps that ran (`Using cached …`)."""
    hits = 0
    for number in ran_steps(log):
        hits += sum(1 for line in step_output(log, number) if line.strip().startswith("Using cached "))
    return hits


def wheels_built(log: str) -> int:
    """How many wheels pip built in the steps that ran (`Building wheel for …`)."""
    total = 0
    for number in ran_steps(log):
        total += sum(1 for line in step_output(log, number)
                     if line.strip().startswith("Building wheel for ") and "started" in line)
    return total


def _error_block(log: str) -> str:
    """The part of the log after the last step: the repeated output and the marked lines."""
    index = log.rfind("\n------\n")
    start = log.rfind("\n------\n", 0, index) if index >= 0 else -1
    return log[start if start >= 0 else 0:]


def _short(image: str) -> str:
    """`docker.io/library/python:3.12` as it is written in a Dockerfile: `python:3.12`."""
    for prefix in ("docker.io/library/", "docker.io/", "library/"):
        if image.startswith(prefix):
            return image[len(prefix):]
    return image


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def _last(text: str) -> tuple[str, ...]:
    return tuple(line for line in text.strip().splitlines()[-TAIL:] if line.strip())
