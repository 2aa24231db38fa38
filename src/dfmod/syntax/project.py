"""The project a run covers: the one rule for which files dfmod may read and write.

A platform team's bot runs dfmod over repositories it does not control, so what a
repository contains is input from strangers: a `Dockerfile` that is a symlink to a file
elsewhere, a compose file whose `build:` names `../elsewhere`, an `include:` of an absolute
path. The rule: dfmod reads and writes only files whose real path (every symlink resolved)
lies inside the project. A symlink inside the project is followed only when its target is
inside too; anything else is reported and left alone (`dfmod.syntax.source.guard`).

The project is the git top-level of each path the run was given (the nearest directory
at or above it holding a `.git` entry — a directory, or the file a worktree or submodule
has — as `git -C PATH rev-parse --show-toplevel` finds it), or outside git the path itself
(a file's directory). A named file is placed by its directory, not by what it links to: a
committed `Dockerfile` linking to `/etc/passwd` is outside, wherever the link points.

Why a process-wide setting rather than a parameter: the rule must hold for every reader —
discovery, compose merging, build contexts, codemods reading an `.env.example`, companion
edits, `dfmod pr` — and one of them forgetting a parameter would be a hole. So `source`
asks `current()` on every read and write; a run sets the project once (`active`), and a
worker process gets it from its parent (`activate`). Without a run (a library caller, a
test) there is no project: only the file-type and size rules apply. It sits at the bottom
of the layers because `source`, which every layer reads and writes through, needs it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from dfmod.syntax.records import Record

DEFAULT_MAX_FILE_SIZE = 4 * 1024 * 1024  # bytes: a Dockerfile or compose file is a few KiB


class Project(Record):
    """Where a run may read and write (`roots`, real paths; None: anywhere) and how large
    a file it reads may be."""

    __slots__ = ("roots", "max_file_size")

    def __init__(self, roots: tuple[str, ...] | None = None,
                 max_file_size: int = DEFAULT_MAX_FILE_SIZE) -> None:
        self.roots = roots
        self.max_file_size = max_file_size

    @classmethod
    def of(cls, paths: Iterable[str], max_file_size: int = DEFAULT_MAX_FILE_SIZE) -> Project:
        """The project of a run over `paths` (see the module docstring)."""
        roots = tuple(dict.fromkeys(project_root(path) for path in paths))
        return cls(roots, max_file_size)

    def contains(self, real_path: str) -> bool:
        """Whether an already resolved path lies inside the project."""
        if self.roots is None:
            return True
        return any(real_path == root or real_path.startswith(root.rstrip(os.sep) + os.sep)
                   for root in self.roots)


def project_root(path: str) -> str:
    """The real path of the project `path` belongs to: its git top-level, else itself
    (a directory) or its directory (anything else)."""
    directory = path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path))
    start = os.path.realpath(directory)
    current = start
    while True:
        if os.path.lexists(os.path.join(current, ".git")):
            return current
        parent = os.path.dirname(current)
        if parent == current:
            return start
        current = parent


_current = Project()


def current() -> Project:
    """The project of the run in progress (unrestricted outside a run)."""
    return _current


def activate(project: Project) -> None:
    """Make `project` the current one for this process (a worker's initializer)."""
    global _current
    _current = project


class active:  # named as the function it replaced: `with active(project):`
    """`project` is the current one inside the block, the previous one again after it.

    A class rather than a `contextlib.contextmanager`: contextlib is not otherwise
    imported by a check, and costs about a millisecond of its start-up."""

    __slots__ = ("_previous", "_project")

    def __init__(self, project: Project) -> None:
        self._project = project
        self._previous = _current

    def __enter__(self) -> Project:
        self._previous = _current
        activate(self._project)
        return self._project

    def __exit__(self, *_: object) -> None:
        activate(self._previous)
