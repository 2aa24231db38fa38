"""Which kind of document a file is: by its name, then by its content.

Names, as measured on a few hundred real repositories: Dockerfiles are `Dockerfile` with
any suffix after `.`, `-`, `_` or `@` (`Dockerfile.prod`, `Dockerfile-test`, `Dockerfile_amd`,
`Dockerfile@sha`), `*.Dockerfile`, `*.dockerfile`, lower-case `dockerfile`, and the same for
`Containerfile` — except names whose extension says they are something else
(`Dockerfile.dockerignore`, `dockerfile.yaml`, `Dockerfile.md`, backups). Compose files are
YAML: `compose.yaml`, `docker-compose.yml` and every `compose…`/`docker-compose…` name
(`docker-compose-base.yml`, `compose.override.yaml`) are compose files by name; any other
YAML name containing `compose` (`ci-compose.yml`) is one only if its content is a compose
model. A GitHub workflow called `dockerfile.yaml` is neither.

A file named on the command line (or through `--stdin-filename`) is never guessed at: its
name decides, else its content (`FROM`/`ARG` first: a Dockerfile; compose's top-level keys:
a compose file); a file that neither says is an `InputError`, never a silent pass.
"""

from __future__ import annotations

import os
import re
from functools import cache

from dfmod.syntax.source import InputError

DOCKERFILE, COMPOSE = "dockerfile", "compose"

_DOCKERFILE_STEMS = ("Dockerfile", "dockerfile", "Containerfile", "containerfile")
# Extensions that say a Dockerfile-like name is another kind of file.
_NOT_DOCKERFILE = frozenset({
    ".dockerignore", ".yml", ".yaml", ".json", ".md", ".rst", ".txt", ".toml", ".ini",
    ".cfg", ".sh", ".bash", ".ps1", ".py", ".js", ".ts", ".go", ".lock", ".patch", ".diff",
    ".html", ".xml", ".bak", ".orig", ".rej", ".swp", ".tmp", ".old",
})
# Compose's top-level elements (the compose-spec), `x-` extensions aside.
COMPOSE_KEYS = frozenset({"version", "name", "services", "networks", "volumes", "secrets",
                          "configs", "include", "models"})


# Compiled on first use: a file named like a Dockerfile or a compose file never needs them.
@cache
def _yaml_name() -> re.Pattern[str]:
    return re.compile(r"\.ya?ml$", re.IGNORECASE)


@cache
def _top_level_key() -> re.Pattern[str]:
    return re.compile(r"""^(?:"([^"]*)"|'([^']*)'|([^\s#'"\-?:,\[\]{}&*!|>%@`][^:#]*?))[ \t]*:(?:[ \t]|$)""")


@cache
def _first_instruction() -> re.Pattern[str]:
    return re.compile(r"^[ \t]*(FROM|ARG)[ \t]", re.IGNORECASE)


def kind_of(path: str) -> str | None:
    """"dockerfile" or "compose" when the name alone says so, else None."""
    name = os.path.basename(path)
    if _is_compose_name(name):
        return COMPOSE
    if _is_dockerfile_name(name) and os.path.splitext(name)[1].lower() not in _NOT_DOCKERFILE:
        return DOCKERFILE
    return None


# The names are read with string methods, not patterns: every run classifies a path, and
# compiling the two patterns cost more than a millisecond of start-up.
def _is_compose_name(name: str) -> bool:
    """`compose`, then nothing or `.`/`-`/`_` and anything, then `.yml` or `.yaml`; the whole
    maybe after `docker-`."""
    rest = name.removeprefix("docker-")
    for extension in (".yml", ".yaml"):
        if rest.startswith("compose") and rest.endswith(extension):
            middle = rest[len("compose"):-len(extension)]
            if not middle or middle[0] in ".-_":
                return True
    return False


def _is_dockerfile_name(name: str) -> bool:
    """`Dockerfile` (or `dockerfile`, `Containerfile`, `containerfile`) alone, or followed by
    `.`/`-`/`_`/`@` and anything, or after something and a dot (`api.Dockerfile`)."""
    for stem in _DOCKERFILE_STEMS:
        if name.startswith(stem) and (len(name) == len(stem) or name[len(stem)] in ".-_@"):
            return True
        if len(name) > len(stem) + 1 and name.endswith("." + stem):
            return True
    return False


def is_compose_candidate(path: str) -> bool:
    """A YAML name containing `compose`: a compose file if its content is a compose model."""
    name = os.path.basename(path)
    return bool(_yaml_name().search(name)) and "compose" in name.lower()


def is_yaml_name(path: str) -> bool:
    return bool(_yaml_name().search(os.path.basename(path)))


def top_level_keys(text: str) -> list[str] | None:
    """The top-level mapping keys of every YAML document in `text`, read line by line.

    None when the top level is not a block mapping (a sequence, a scalar, flow style):
    a line scan is exact for the block mappings compose files are written in, and cheap
    enough to run on every candidate of a walk without loading a YAML parser.
    """
    keys: list[str] = []
    top_level_key = _top_level_key()
    for line in text.lstrip("\ufeff").splitlines():
        if not line or line[0] in " \t#" or line.startswith(("---", "...", "%")):
            continue
        match = top_level_key.match(line)
        if match is None:
            return None
        keys.append(next(group for group in match.groups() if group is not None).strip())
    return keys


def is_compose_model(text: str) -> bool:
    """Whether the top level is a compose model: only compose elements and `x-` extensions,
    at least one of them more than `version`."""
    keys = top_level_keys(text)
    if not keys or not all(key in COMPOSE_KEYS or key.startswith("x-") for key in keys):
        return False
    return any(key != "version" for key in keys)


def _looks_like_dockerfile(text: str) -> bool:
    """The first instruction (after comments, parser directives and blank lines) is FROM or
    ARG, as BuildKit requires."""
    for line in text.lstrip("\ufeff").splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            return bool(_first_instruction().match(line))
    return False


def classify(path: str, text: str) -> str:
    """The kind of a file someone named: its name's, else its content's; else `InputError`."""
    kind = kind_of(path)
    if kind is not None:
        return kind
    if is_compose_model(text):
        return COMPOSE
    if is_yaml_name(path):
        keys = top_level_keys(text)
        shown = f" (top-level keys: {', '.join(keys[:5])})" if keys else ""
        raise InputError(path, f"is YAML but not a compose model{shown}; dfmod reads "
                               "Dockerfiles and compose files only")
    if _looks_like_dockerfile(text):
        return DOCKERFILE
    raise InputError(path, "is neither a Dockerfile (no FROM first) nor a compose file; "
                           "dfmod reads Dockerfiles and compose files only")
