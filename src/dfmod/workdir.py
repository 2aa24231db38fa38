"""Where an instruction runs and where its relative paths land: `WORKDIR` as BuildKit reads it.

A relative `WORKDIR` is joined to the one before it, a relative `COPY` destination and a
`RUN`'s relative file names are taken from the `WORKDIR` in force, and a stage built `FROM`
another stage inherits that stage's `WORKDIR`. The base image's own `WORKDIR` is unknown
here, so a path that depends on it stays relative (`app/requirements.txt` means "below the
base image's working directory"); two such paths in one stage lineage can still be compared,
because they share that unknown start.
"""

from __future__ import annotations

import posixpath
import re

from dfmod.dockerfile import Dockerfile, Instruction
from dfmod.state import expand, known_env

_VARIABLE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")


def _expanded(doc: Dockerfile, instruction: Instruction, value: str) -> str | None:
    """`value` with `$VAR` expanded from earlier `ENV`s, or None if a variable is unknown."""
    if "$" not in value:
        return value
    env = known_env(doc, instruction)
    if any(name not in env for name in _VARIABLE.findall(value)):
        return None
    return expand(value, env)


def workdir_before(doc: Dockerfile, instruction: Instruction) -> str | None:
    """The working directory in force at `instruction`: absolute, or relative to the base
    image's working directory ("." when no `WORKDIR` was set); None if it cannot be known
    (a variable dfmod cannot resolve)."""
    current = "."
    for item in doc.instructions_before(instruction):
        if item.keyword != "WORKDIR":
            continue
        value = _expanded(doc, item, item.arg_text)
        if value is None:
            return None
        current = posixpath.normpath(posixpath.join(current, value))
    return current


def resolve(doc: Dockerfile, instruction: Instruction, path: str) -> str | None:
    """`path` as seen from `instruction`'s working directory (see `workdir_before`)."""
    value = _expanded(doc, instruction, path)
    base = workdir_before(doc, instruction)
    if value is None or base is None:
        return None
    return posixpath.normpath(posixpath.join(base, value))


def relative_to(path: str, directory: str) -> str | None:
    """`path` relative to `directory` if it lies inside it ("." for the directory itself).

    Both come from `resolve`; an absolute and a base-relative path cannot be compared.
    """
    if path.startswith("/") != directory.startswith("/"):
        return None
    if directory in (".", "/"):
        inner = path.lstrip("/") if directory == "/" else path
        if inner == "" or inner == ".":
            return "."
        return None if inner == ".." or inner.startswith("../") else inner
    if path == directory:
        return "."
    if path.startswith(directory + "/"):
        return path[len(directory) + 1:]
    return None
