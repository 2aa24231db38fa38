"""Finds the codemods: every module of the `dfmod.codemods` package defines one.

The codemods are listed in a static table (id, module, class, the document kind it checks)
so that choosing them costs no import: a run imports a codemod's module only when a
document of its kind is checked (a Dockerfile never loads the compose rules and the
compose model behind them), and `dfmod rules`/`explain` load them all. tests/test_registry.py
checks the table against the classes, so it cannot drift from them.
"""

from __future__ import annotations

import importlib
from functools import cache

TYPE_CHECKING = False  # not typing's: importing typing costs ~7 ms (tests/test_startup.py)
if TYPE_CHECKING:
    from dfmod.linting.codemod import Codemod

PACKAGE = "dfmod.codemods"  # the top-level `codemods/` folder, as the wheel ships it

# id: (module in PACKAGE, class, document kind), in id order.
TABLE: dict[str, tuple[str, str, str]] = {
    "cache-mount-no-cache-dir": ("cache_mount_no_cache_dir", "CacheMountNoCacheDir", "dockerfile"),
    "compose-depends-on-healthy": ("compose_depends_on_healthy", "ComposeDependsOnHealthy", "compose"),
    "compose-missing-healthcheck": ("compose_missing_healthcheck", "ComposeMissingHealthcheck", "compose"),
    "compose-obsolete-version": ("compose_obsolete_version", "ComposeObsoleteVersion", "compose"),
    "compose-secret-literal": ("compose_secret_literal", "ComposeSecretLiteral", "compose"),
    "compose-unpinned-image": ("compose_unpinned_image", "ComposeUnpinnedImage", "compose"),
    "copy-before-install": ("copy_before_install", "CopyBeforeInstall", "dockerfile"),
    "find-cleanup-errors": ("find_cleanup_errors", "FindCleanupErrors", "dockerfile"),
    "keep-dist-info": ("keep_dist_info", "KeepDistInfo", "dockerfile"),
    "masked-failure": ("masked_failure", "MaskedFailure", "dockerfile"),
    "masked-install-failure": ("masked_install_failure", "MaskedInstallFailure", "dockerfile"),
    "pip-cache-purge": ("pip_cache_purge", "PipCachePurge", "dockerfile"),
    "undefined-env-var": ("undefined_env_var", "UndefinedEnvVar", "dockerfile"),
    "user-site-not-on-path": ("user_site_not_on_path", "UserSiteNotOnPath", "dockerfile"),
    "venv-relocated": ("venv_relocated", "VenvRelocated", "dockerfile"),
    "verify-imports": ("verify_imports", "VerifyImports", "dockerfile"),
}


@cache
def load(rule: str) -> type[Codemod]:
    """The class of codemod `rule` (a key of TABLE), importing its module on first use."""
    # Loaded by name, as a plug-in is: the codemods sit above this layer and import it.
    module, name, _ = TABLE[rule]
    codemod: type[Codemod] = getattr(importlib.import_module(f"{PACKAGE}.{module}"), name)
    return codemod


@cache
def all_codemods() -> dict[str, type[Codemod]]:
    """Codemod classes by id, in id order (imports every codemod)."""
    return {rule: load(rule) for rule in TABLE}


def preload(kinds: set[str]) -> None:
    """Import the codemods of documents of `kinds` now: a run does this before the first
    file's time budget starts (and before workers fork), so a budget is spent on its file."""
    for rule, (_, _, kind) in TABLE.items():
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


def select_codemods(select: list[str] | None, ignore: list[str] | None,
                    kind: str | None = None) -> list[type[Codemod]]:
    """The codemods to run (of documents of `kind` only, when given: the others are not
    imported); unknown ids raise `KeyError` naming them."""
    check_rules(select, ignore)
    chosen = [rule for rule in select or [] if rule in TABLE] or list(TABLE)
    ignored = set(ignore or [])
    return [load(rule) for rule in chosen
            if rule not in ignored and (kind is None or TABLE[rule][2] == kind)]
