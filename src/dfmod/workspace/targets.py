"""Every file a run covers, with its kind, its build context and the files Compose merges
with it — decided before any file is checked, so `--show-files` can print it.

From the files discovery found, compose files bring in what they name: the Dockerfiles
their services build (with the build context they state), the files of `include:` and of
`extends: file:`. A Dockerfile's build context comes from the first source that knows it:
`--context`, the configuration's `context`, a compose service's `build:`; without one it is
left to the Dockerfile's own `COPY` sources (`dfmod.linting.buildcontext.default_context`).

Compose files are grouped as Compose reads them without `-f`: in a directory the base
file is the first of `compose.yaml`, `compose.yml`, `docker-compose.yaml`,
`docker-compose.yml`; the base is read with its `*.override.*` file, and every other file
named as a compose variant beside a base (`docker-compose.prod.yml`, `compose-tls.yaml`)
as `-f base -f that`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from functools import cache

from dfmod.syntax.records import Record, replace
from dfmod.syntax.source import InputError, read_source
from dfmod.workspace.discovery import Discovery, display_path
from dfmod.workspace.kinds import COMPOSE, DOCKERFILE, classify, kind_of

BASE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
OVERRIDE_NAMES = ("compose.override.yaml", "compose.override.yml",
                  "docker-compose.override.yaml", "docker-compose.override.yml")


class Target(Record):
    """One file of the run. `kind` None: a named file its content decides (when it is read);
    `context` and `context_how`: a build context a source states; `group`: the compose files
    read together with this one, in `-f` order (itself included)."""

    __slots__ = ("path", "kind", "origin", "context", "context_how", "group", "stage")

    def __init__(self, path: str, kind: str | None, origin: str = "", context: str | None = None,
                 context_how: str = "", group: tuple[str, ...] = (), stage: str | None = None) -> None:
        self.path = path
        self.kind = kind
        self.origin = origin  # why a file nobody named is covered ("built by compose.yaml")
        self.context = context
        self.context_how = context_how
        self.group = group
        self.stage = stage  # the stage a compose `build.target` ships


def plan(found: Discovery, context: str | None = None,
         configured: Callable[[str], tuple[str, str] | None] | None = None) -> list[Target]:
    """The targets of a run, in discovery order, followed by the files brought in.

    `context` is `--context`; `configured(path)` gives the configuration's context for a
    Dockerfile as (directory, where it is configured), or None.
    """
    targets: dict[str, Target] = {}  # by real path, in order
    queue: list[Target] = []

    def add(path: str, kind: str | None, origin: str = "") -> None:
        key = os.path.realpath(path)
        if key not in targets:
            targets[key] = Target(os.path.normpath(path), kind, origin)
            queue.append(targets[key])

    for item in found.files:
        add(item.path, item.kind or _sniff(item.path))
    stated: dict[str, tuple[str, str]] = {}  # Dockerfile → (context, the service stating it)
    stages: dict[str, str] = {}  # Dockerfile → the stage a compose service ships
    for target in queue:  # grows while compose files bring files in
        if target.kind != COMPOSE or not _names_files(target.path):
            continue
        # The compose model (ruamel.yaml): imported only when a compose file names files.
        from dfmod.semantic.composemerge import extended_paths, included_paths, load_compose

        doc = load_compose(target.path)
        if doc is None:
            continue  # the run reports why it cannot be read
        shown = display_path(target.path)
        for build in doc.builds():
            if os.path.isfile(build.dockerfile):
                add(build.dockerfile, DOCKERFILE, f"built by {shown}")
                stated.setdefault(os.path.realpath(build.dockerfile),
                                  (build.context, f"{shown}, service {build.service}"))
                if build.target:
                    stages.setdefault(os.path.realpath(build.dockerfile), build.target)
        for path in included_paths(doc) + extended_paths(doc):
            if os.path.isfile(path):
                add(path, COMPOSE, f"named by {shown}")
    result = []
    for key, target in targets.items():
        if target.kind == COMPOSE:
            target = replace(target, group=compose_group(target.path))
        elif target.kind == DOCKERFILE:
            known = ((context, "--context") if context else
                     (configured(target.path) if configured else None) or stated.get(key))
            if known is not None:
                target = replace(target, context=os.path.abspath(known[0]), context_how=known[1])
            if key in stages:
                target = replace(target, stage=stages[key])
        result.append(target)
    return result


def compose_group(path: str) -> tuple[str, ...]:
    """The files Compose reads together with the compose file `path`, in `-f` order."""
    directory = os.path.dirname(path)
    name = os.path.basename(path)
    present = set(_listing(directory))
    base = next((candidate for candidate in BASE_NAMES if candidate in present), None)
    override = next((candidate for candidate in OVERRIDE_NAMES if candidate in present), None)
    if base is None or kind_of(name) != COMPOSE:  # `common.yml`: not a variant of the base
        return (path,)
    join = os.path.join
    if name == base:
        return (path, join(directory, override)) if override else (path,)
    return (join(directory, base), path)


def _listing(directory: str) -> list[str]:
    try:
        return os.listdir(directory or ".")
    except OSError:
        return []


@cache
def _naming_key() -> re.Pattern[str]:
    """Compiled on first use: only compose files need it."""
    return re.compile(r"(?:^|[\s{,])(?:build|include|extends|dockerfile)[\"']?\s*:", re.M)


def _names_files(path: str) -> bool:
    """Whether a compose file can name other files at all (a YAML parse costs ~10 ms)."""
    try:
        return _naming_key().search(read_source(path).text) is not None
    except InputError:
        return False


def _sniff(path: str) -> str | None:
    """The kind of a named file its name does not tell (None if it cannot be read: the run
    reports that when it reads the file)."""
    try:
        return classify(path, read_source(path).text)
    except InputError:
        return None
