"""Which kind of document a path is, by its name."""

from __future__ import annotations

import fnmatch
import os

DOCKERFILE_PATTERNS = ("Dockerfile", "Dockerfile.*", "*.Dockerfile", "*.dockerfile",
                       "Containerfile", "Containerfile.*")
COMPOSE_PATTERNS = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml",
                    "compose.*.yaml", "compose.*.yml", "docker-compose.*.yaml",
                    "docker-compose.*.yml")


def _matches(name: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def kind_of(path: str) -> str | None:
    """"dockerfile", "compose", or None for a name dfmod does not recognise."""
    name = os.path.basename(path)
    if _matches(name, COMPOSE_PATTERNS):
        return "compose"
    if _matches(name, DOCKERFILE_PATTERNS):
        return "dockerfile"
    return None


def document_kind(path: str) -> str:
    """The kind to parse `path` as: its name's, else a Dockerfile (a file named on purpose)."""
    return kind_of(path) or "dockerfile"
