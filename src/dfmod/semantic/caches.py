"""Where pip and uv keep their caches, and whether a BuildKit cache mount serves them.

Shared by every codemod that reasons about cache mounts, so they can never disagree (two
codemods with different answers would undo each other's fixes forever).
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping

from dfmod.syntax.dockerfile import Mount
from dfmod.syntax.records import Record


class CacheTool(Record):
    __slots__ = ("label", "subdirectory", "cache_dir_env", "no_cache_env", "no_cache_flags",
                 "cache_on_values")

    def __init__(self, label: str, subdirectory: str, cache_dir_env: str, no_cache_env: str,
                 no_cache_flags: tuple[str, ...], cache_on_values: frozenset[str]) -> None:
        self.label = label
        self.subdirectory = subdirectory
        self.cache_dir_env = cache_dir_env
        self.no_cache_env = no_cache_env
        self.no_cache_flags = no_cache_flags
        # Values of `no_cache_env` that leave the cache on. pip disables its cache for any
        # boolean value, "0" and "false" included (a backwards-compatibility quirk of its
        # option callback; checked with `PIP_NO_CACHE_DIR=0 pip cache purge` → exit 1);
        # uv parses the variable as a boolean.
        self.cache_on_values = cache_on_values

    def disables_cache(self, value: str) -> bool:
        return value.strip("'\"").lower() not in self.cache_on_values


PIP = CacheTool("pip", "pip", "PIP_CACHE_DIR", "PIP_NO_CACHE_DIR", ("--no-cache-dir",),
                  frozenset({""}))
UV = CacheTool("uv", "uv", "UV_CACHE_DIR", "UV_NO_CACHE", ("--no-cache", "-n", "--no-cache-dir"),
                 frozenset({"", "0", "false", "no", "off"}))
"""uv takes pip's `--no-cache-dir` as an alias of `--no-cache` (uv 0.13: `uv pip install
--no-cache-dir six` writes no cache)."""
CACHE_TOOLS = {"pip": PIP, "uv": UV, "uv-pip": UV}


def cache_dir(tool: CacheTool, env: Mapping[str, str], home: str) -> str:
    """The tool's cache directory: `$PIP_CACHE_DIR`, else `$XDG_CACHE_HOME/pip`, else
    `HOME/.cache/pip` (uv likewise). `env` holds expanded values (`state.known_env`)."""
    if env.get(tool.cache_dir_env):
        return posixpath.normpath(env[tool.cache_dir_env])
    if env.get("XDG_CACHE_HOME"):
        return posixpath.normpath(env["XDG_CACHE_HOME"] + "/" + tool.subdirectory)
    return f"{home}/.cache/{tool.subdirectory}"


def serves(mount: Mount, directory: str) -> bool:
    """A mount serves a directory it targets or contains."""
    target = posixpath.normpath(mount.target or "")
    return directory == target or directory.startswith(target.rstrip("/") + "/")
