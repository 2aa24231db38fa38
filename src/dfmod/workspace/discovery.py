"""Which files a run covers: paths given, and Dockerfiles found under directories."""

from __future__ import annotations

import os
from collections.abc import Callable

from dfmod.syntax.source import InputError
from dfmod.workspace.kinds import kind_of

SKIPPED_DIRECTORIES = frozenset({".git", ".hg", ".svn", "node_modules", ".venv", "venv",
                                 "__pycache__", ".tox", ".nox", ".mypy_cache", ".ruff_cache",
                                 ".pytest_cache", "site-packages"})


def is_dockerfile_name(name: str) -> bool:
    return kind_of(name) == "dockerfile"


WALKED_KINDS = ("dockerfile", "compose")


def discover(paths: list[str], excluded: Callable[[str], bool] | None = None) -> list[str]:
    """Files to process, each once, in a stable order.

    A file named on the command line is always taken; directories are walked for
    Dockerfiles and compose files (`compose.yaml`, `docker-compose.yml`, `compose.*.yml`
    overrides…), skipping VCS folders, `node_modules` and virtualenvs. A path that does
    not exist, or a directory named like a Dockerfile (surely a mistake), raises
    `InputError`. `excluded` (the configuration's `exclude`) applies to walked files only:
    a file named on the command line is always taken.
    """
    found: list[str] = []
    seen: set[str] = set()

    def add(path: str) -> None:
        key = os.path.realpath(path)
        if key not in seen:
            seen.add(key)
            found.append(os.path.normpath(path))  # `./a/Dockerfile` reads as `a/Dockerfile`

    for path in paths:
        if os.path.isdir(path) and os.path.basename(os.path.normpath(path)) in (
                "Dockerfile", "Containerfile"):
            raise InputError(path, "is a directory")
        if os.path.isdir(path):
            for root, directories, files in os.walk(path):
                directories[:] = sorted(
                    name for name in directories
                    if name not in SKIPPED_DIRECTORIES
                    and not os.path.exists(os.path.join(root, name, "pyvenv.cfg"))
                )
                for name in sorted(files):
                    path_ = os.path.join(root, name)
                    if kind_of(name) in WALKED_KINDS and not (excluded and excluded(path_)):
                        add(path_)
        elif os.path.lexists(path):
            add(path)
        else:
            raise InputError(path, "no such file or directory")
    return found


def display_path(path: str) -> str:
    """The path as a diff or report shows it: relative to the working directory if inside."""
    relative = os.path.relpath(path)
    if relative.startswith(".."):
        relative = os.path.abspath(path)
    return relative.replace(os.sep, "/")
