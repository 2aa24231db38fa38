"""Finds the codemods: every module of the `dfmod.codemods` package defines one.

The codemods are listed in a static table (id, module, class, the document kind it checks,
its needs) so that choosing them costs no import: a run imports a codemod's module only
when a document it may report on is checked — of its kind (a Dockerfile never loads the
compose rules and the compose model behind them) and holding one of its needs (a
Dockerfile without `find` never loads find-cleanup-errors) — and `dfmod rules`/`explain`
load them all. tests/test_registry.py checks the table against the classes, so it cannot
drift from them.
"""

from __future__ import annotations

import sys
from functools import cache

from dfmod.linting.needs import keyword_cases, spellings

TYPE_CHECKING = False  # not typing's: importing typing costs ~7 ms (tests/test_startup.py)
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

    from dfmod.linting.codemod import Codemod, Context
    from dfmod.linting.edits import Finding

PACKAGE = "dfmod.codemods"  # the top-level `codemods/` folder, as the wheel ships it

# id: (module in PACKAGE, class, document kind, needs, also_needs), in id order. The needs
# are the codemod's own (`Codemod.needs`, `Codemod.also_needs`), here so that a run imports a
# codemod only for a document that holds them (`Deferred`).
TABLE: dict[str, tuple[str, str, str, tuple[str, ...], tuple[str, ...]]] = {
    "cache-mount-no-cache-dir": ("cache_mount_no_cache_dir", "CacheMountNoCacheDir", "dockerfile",
                                 spellings("mount"), ()),
    "compose-depends-on-healthy": ("compose_depends_on_healthy", "ComposeDependsOnHealthy", "compose", (), ()),
    "compose-missing-healthcheck": ("compose_missing_healthcheck", "ComposeMissingHealthcheck", "compose", (), ()),
    "compose-obsolete-version": ("compose_obsolete_version", "ComposeObsoleteVersion", "compose", (), ()),
    "compose-secret-literal": ("compose_secret_literal", "ComposeSecretLiteral", "compose", (), ()),
    "compose-unpinned-image": ("compose_unpinned_image", "ComposeUnpinnedImage", "compose", (), ()),
    "copy-before-install": ("copy_before_install", "CopyBeforeInstall", "dockerfile",
                            spellings("pip", "uv", "poetry", "mount"), ()),
    "find-cleanup-errors": ("find_cleanup_errors", "FindCleanupErrors", "dockerfile", spellings("find"), ()),
    "keep-dist-info": ("keep_dist_info", "KeepDistInfo", "dockerfile", spellings("info", any_case=True), ()),
    "masked-failure": ("masked_failure", "MaskedFailure", "dockerfile", ("||", "<<"), ()),
    "masked-install-failure": ("masked_install_failure", "MaskedInstallFailure", "dockerfile", ("||",), ()),
    "pip-cache-purge": ("pip_cache_purge", "PipCachePurge", "dockerfile", spellings("purge", "remove"), ()),
    "undefined-env-var": ("undefined_env_var", "UndefinedEnvVar", "dockerfile",
                          ("PYTHONPATH", "LD_LIBRARY_PATH", "CPATH", "C_INCLUDE_PATH", "CPLUS_INCLUDE_PATH"), ()),
    "user-site-not-on-path": ("user_site_not_on_path", "UserSiteNotOnPath", "dockerfile",
                              spellings("user", any_case=True), ()),
    "venv-relocated": ("venv_relocated", "VenvRelocated", "dockerfile", spellings("from"), ()),
    "verify-imports": ("verify_imports", "VerifyImports", "dockerfile", keyword_cases("CMD", "YPO"),
                       ("from", "--user", "PIP_USER", "-t", "--prefix", "||", "site-packages",
                        "dist-packages", "venv", "virtualenv", "sync", "poetry", "VIRTUAL_ENV")),
}


@cache
def load(rule: str) -> type[Codemod]:
    """The class of codemod `rule` (a key of TABLE), importing its module on first use."""
    # Loaded by name, as a plug-in is: the codemods sit above this layer and import it.
    # (`__import__`, not importlib.import_module: the importlib package imports `warnings`.)
    module, name, _, _, _ = TABLE[rule]
    __import__(f"{PACKAGE}.{module}")
    codemod: type[Codemod] = getattr(sys.modules[f"{PACKAGE}.{module}"], name)
    return codemod


@cache
def all_codemods() -> dict[str, type[Codemod]]:
    """Codemod classes by id, in id order (imports every codemod)."""
    return {rule: load(rule) for rule in TABLE}


class Deferred:
    """Codemod `rule` before its module is imported: what a run asks of a codemod class
    before a document needs it (`id`, `kind`, `needs`, `also_needs`) comes from the TABLE; calling it
    gives a `DeferredCodemod`; anything else imports the class and asks it."""

    __slots__ = ("id", "kind", "needs", "also_needs")

    def __init__(self, rule: str) -> None:
        self.id = rule
        self.kind = TABLE[rule][2]
        self.needs = TABLE[rule][3]
        self.also_needs = TABLE[rule][4]

    def __call__(self, options: dict[str, Any] | None = None) -> Codemod | DeferredCodemod:
        if options:  # made now, so that wrong options are an error before any file
            return load(self.id)(options)
        return DeferredCodemod(self)

    def __getattr__(self, name: str) -> Any:
        return getattr(load(self.id), name)

    def __repr__(self) -> str:
        return f"Deferred({self.id!r})"


class DeferredCodemod:
    """An instance of a `Deferred` codemod (default options), made on first use: the engine
    asks for `id` and the needs, and calls `check` only on a document that holds them."""

    __slots__ = ("id", "needs", "also_needs", "_rule", "_codemod")

    def __init__(self, rule: Deferred) -> None:
        self.id = rule.id
        self.needs = rule.needs
        self.also_needs = rule.also_needs
        self._rule = rule
        self._codemod: Codemod | None = None

    def _made(self) -> Codemod:
        if self._codemod is None:
            self._codemod = load(self.id)()
        return self._codemod

    def check(self, ctx: Context) -> Iterator[Finding]:
        return self._made().check(ctx)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._made(), name)


def preload(kinds: set[str]) -> None:
    """Import the codemods of documents of `kinds` now: a run does this before the first
    file's time budget starts (and before workers fork), so a budget is spent on its file."""
    for rule, (_, _, kind, _, _) in TABLE.items():
        if kind in kinds:
            load(rule)


# Rules the engine reports itself rather than a codemod (see dfmod.linting.suppressions).
ENGINE_RULES = frozenset({"unused-suppression"})


def is_known_rule(rule: str) -> bool:
    return rule in TABLE or rule in ENGINE_RULES


def check_rules(select: list[str] | None, ignore: list[str] | None) -> None:
    """`KeyError` naming the ids that are no rule, without importing any codemod."""
    unknown = [rule for rule in (select or []) + (ignore or []) if not is_known_rule(rule)]
    if unknown:
        raise KeyError(", ".join(unknown))


def select_rules(select: list[str] | None, ignore: list[str] | None,
                 kind: str | None = None) -> list[str]:
    """The ids of the codemods to run (of documents of `kind` only, when given); unknown ids
    raise `KeyError` naming them."""
    check_rules(select, ignore)
    chosen = [rule for rule in select or [] if rule in TABLE] or list(TABLE)
    ignored = set(ignore or [])
    return [rule for rule in chosen if rule not in ignored and (kind is None or TABLE[rule][2] == kind)]


def select_codemods(select: list[str] | None, ignore: list[str] | None,
                    kind: str | None = None) -> list[type[Codemod]]:
    """The classes of `select_rules` (those of other kinds are not imported)."""
    return [load(rule) for rule in select_rules(select, ignore, kind)]


def defer_codemods(select: list[str] | None, ignore: list[str] | None,
                   kind: str | None = None) -> list[type[Codemod]]:
    """`select_codemods`, each imported only when a document needs it (`Deferred`)."""
    return [Deferred(rule) for rule in select_rules(select, ignore, kind)]  # type: ignore[misc]
