"""Configuration: `[tool.dfmod]` in pyproject.toml or a `dfmod.toml`, nearest to the file.

    [tool.dfmod]                      # in dfmod.toml: the same keys at the top level
    select = ["cache-mount-no-cache-dir", "masked-failure"]   # default: every codemod
    extend-select = []                # add to select
    ignore = ["verify-imports"]
    unsafe-fixes = false
    exclude = ["vendor/**"]           # globs, relative to the config file's directory
    per-file-ignores = { "legacy/*" = ["masked-failure"] }
    context = { "docker/*" = "." }    # build context by Dockerfile glob (or one directory for
                                      # all), both relative to the config file's directory

    [tool.dfmod.options.verify-imports]   # a codemod's own options
    modules = ["myapp"]

As in ruff, the configuration nearest to a file wins (no merging across files), and the
command line overrides it: `--select` replaces the configured selection (codemods named on
the command line run), `--ignore` adds to `ignore`, `--unsafe-fixes` turns unsafe fixes
on. An unknown key, an unknown codemod id, or an unknown codemod option is an error naming
the key and the file: a typo in a linter's configuration must not silently turn a rule off.
"""

from __future__ import annotations

import os
import sys
from functools import cache

from dfmod.linting.engine import Settings
from dfmod.linting.registry import TABLE, defer_codemods, is_known_rule, load
from dfmod.syntax.records import Record

TYPE_CHECKING = False  # not typing's: importing typing costs ~7 ms (tests/test_startup.py)
if TYPE_CHECKING:
    from typing import Any

KEYS = {"select", "extend-select", "ignore", "unsafe-fixes", "exclude", "per-file-ignores",
        "options", "context"}



def _matches(name: str, pattern: str) -> bool:
    """`fnmatch.fnmatchcase`, imported only for a configuration with patterns."""
    import fnmatch

    return fnmatch.fnmatchcase(name, pattern)

class ConfigError(Exception):
    """A configuration file dfmod cannot use; the message names the file and the key."""


class Config(Record):
    __slots__ = ("path", "select", "extend_select", "ignore", "unsafe_fixes", "exclude",
                 "per_file_ignores", "options", "contexts")

    def __init__(self, path: str | None, select: tuple[str, ...] | None = None,
                 extend_select: tuple[str, ...] = (), ignore: tuple[str, ...] = (),
                 unsafe_fixes: bool = False, exclude: tuple[str, ...] = (),
                 per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = (),
                 options: dict[str, dict[str, Any]] | None = None,
                 contexts: tuple[tuple[str, str], ...] = ()) -> None:
        self.path = path  # the file it came from (None: defaults)
        self.select = select
        self.extend_select = extend_select
        self.ignore = ignore
        self.unsafe_fixes = unsafe_fixes
        self.exclude = exclude
        self.per_file_ignores = per_file_ignores
        self.options = {} if options is None else options
        self.contexts = contexts  # (Dockerfile glob, context directory)

    @property
    def root(self) -> str:
        return os.path.dirname(self.path) if self.path else os.getcwd()

    def relative(self, path: str) -> str:
        return os.path.relpath(os.path.abspath(path), self.root).replace(os.sep, "/")

    def excludes(self, path: str) -> bool:
        relative = self.relative(path)
        return any(_matches(relative, pattern) or
                   _matches(relative, pattern.rstrip("/") + "/*")
                   for pattern in self.exclude)

    def context_for(self, path: str) -> str | None:
        """The build context configured for the Dockerfile `path` (absolute), or None."""
        relative = self.relative(path)
        name = os.path.basename(path)
        for pattern, directory in self.contexts:
            if _matches(relative, pattern) or _matches(name, pattern):
                return os.path.normpath(os.path.join(self.root, directory))
        return None

    def ignored_for(self, path: str) -> set[str]:
        relative = self.relative(path)
        name = os.path.basename(path)
        return {rule for pattern, rules in self.per_file_ignores
                if _matches(relative, pattern) or _matches(name, pattern)
                for rule in rules}


def _rules(value: Any, key: str, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{where}: `{key}` must be a list of codemod ids")
    unknown = [item for item in value if not is_known_rule(item)]
    if unknown:
        raise ConfigError(f"{where}: `{key}` names unknown codemod(s): {', '.join(unknown)}")
    return tuple(value)


def parse_config(table: dict[str, Any], path: str) -> Config:
    """Validate one `[tool.dfmod]` table (or a dfmod.toml's top level)."""
    unknown = sorted(set(table) - KEYS)
    if unknown:
        raise ConfigError(f"{path}: unknown key `{unknown[0]}` (known: {', '.join(sorted(KEYS))})")
    options: dict[str, dict[str, Any]] = {}
    for rule, values in table.get("options", {}).items():
        if rule not in TABLE:
            raise ConfigError(f"{path}: `options.{rule}`: unknown codemod")
        codemod = load(rule)
        bad = sorted(set(values) - set(codemod.default_options))
        if bad:
            raise ConfigError(f"{path}: `options.{rule}.{bad[0]}`: unknown option "
                              f"(known: {', '.join(sorted(codemod.default_options)) or 'none'})")
        options[rule] = dict(values)
    per_file = table.get("per-file-ignores", {})
    if not isinstance(per_file, dict):
        raise ConfigError(f"{path}: `per-file-ignores` must be a table of glob = [ids]")
    exclude = table.get("exclude", [])
    if not isinstance(exclude, list) or not all(isinstance(item, str) for item in exclude):
        raise ConfigError(f"{path}: `exclude` must be a list of globs")
    context = table.get("context", {})
    if isinstance(context, str):
        context = {"*": context}
    if not isinstance(context, dict) or not all(isinstance(item, str) for item in context.values()):
        raise ConfigError(f"{path}: `context` must be a directory or a table of glob = directory")
    unsafe = table.get("unsafe-fixes", False)
    if not isinstance(unsafe, bool):
        raise ConfigError(f"{path}: `unsafe-fixes` must be true or false")
    return Config(
        path=path,
        select=_rules(table["select"], "select", path) if "select" in table else None,
        extend_select=_rules(table.get("extend-select", []), "extend-select", path),
        ignore=_rules(table.get("ignore", []), "ignore", path),
        unsafe_fixes=unsafe,
        exclude=tuple(exclude),
        per_file_ignores=tuple((pattern, _rules(rules, f"per-file-ignores.{pattern}", path))
                               for pattern, rules in per_file.items()),
        options=options,
        contexts=tuple(context.items()),
    )


def _load(path: str) -> Config | None:
    """The configuration in `path`, or None if it is a pyproject.toml without [tool.dfmod]."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from None
    if os.path.basename(path) == "pyproject.toml":
        table = data.get("tool", {}).get("dfmod")
        return None if table is None else parse_config(table, path)
    return parse_config(data, path)


@cache
def config_for_directory(directory: str) -> Config:
    """The nearest configuration at or above `directory` (defaults if there is none)."""
    current = os.path.abspath(directory)
    while True:
        for name in ("dfmod.toml", "pyproject.toml"):
            candidate = os.path.join(current, name)
            if os.path.isfile(candidate):
                config = _load(candidate)
                if config is not None:
                    return config
        parent = os.path.dirname(current)
        if parent == current:
            return Config(path=None)
        current = parent


class Overrides(Record):
    """What the command line says; it wins over every configuration file."""

    __slots__ = ("select", "ignore", "unsafe_fixes", "config_file")

    def __init__(self, select: tuple[str, ...] | None = None, ignore: tuple[str, ...] = (),
                 unsafe_fixes: bool = False, config_file: str | None = None) -> None:
        self.select = select
        self.ignore = ignore
        self.unsafe_fixes = unsafe_fixes
        self.config_file = config_file  # --config: use this file for every path


def config_for(path: str, overrides: Overrides) -> Config:
    if overrides.config_file:
        config = _load(overrides.config_file)
        return config if config is not None else Config(path=overrides.config_file)
    return config_for_directory(os.path.dirname(os.path.abspath(path)))


def settings_for(path: str, overrides: Overrides, kind: str | None = None) -> Settings:
    """The codemods, fix applicability and options that apply to `path` (a document of
    `kind`, when given: only its codemods are selected, and imported)."""
    config = config_for(path, overrides)
    ignore = list(overrides.ignore)
    if overrides.select is not None:
        select: list[str] | None = list(overrides.select)  # explicitly asked for: runs
    else:
        ignore += list(config.ignore) + sorted(config.ignored_for(path))
        select = None if config.select is None else [*config.select, *config.extend_select]
    unused = "unused-suppression"
    return Settings(defer_codemods(select, ignore, kind),
                    unsafe_fixes=overrides.unsafe_fixes or config.unsafe_fixes,
                    options=config.options,
                    report_unused_suppressions=unused not in ignore and (
                        select is None or unused in select))
