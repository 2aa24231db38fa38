"""Finds the codemods: every module of the `dfmod.codemods` package defines one."""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from dfmod.linting.codemod import Codemod


@cache
def all_codemods() -> dict[str, type[Codemod]]:
    """Codemod classes by id, in id order."""
    # Loaded by name, as a plug-in is: the codemods sit above this layer and import it.
    package = importlib.import_module("dfmod.codemods")
    found: dict[str, type[Codemod]] = {}
    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for value in vars(module).values():
            if (isinstance(value, type) and issubclass(value, Codemod) and value is not Codemod
                    and value.__module__ == module.__name__ and hasattr(value, "id")):
                found[value.id] = value
    return dict(sorted(found.items()))


# Rules the engine reports itself rather than a codemod (see dfmod.linting.suppressions).
ENGINE_RULES = frozenset({"unused-suppression"})


def is_known_rule(rule: str) -> bool:
    return rule in all_codemods() or rule in ENGINE_RULES


def select_codemods(select: list[str] | None, ignore: list[str] | None) -> list[type[Codemod]]:
    """The codemods to run; unknown ids raise `KeyError` naming them."""
    codemods = all_codemods()
    unknown = [rule for rule in (select or []) + (ignore or []) if not is_known_rule(rule)]
    if unknown:
        raise KeyError(", ".join(unknown))
    select = [rule for rule in select or [] if rule in codemods] if select else None
    chosen = [codemods[rule] for rule in select] if select else list(codemods.values())
    return [codemod for codemod in chosen if codemod.id not in set(ignore or [])]
