"""Codemods and the fix machinery: what a codemod is, the registry, findings and edits, the
shell-edit helpers, suppressions, companion edits and the fix loop.

A codemod author imports from here::

    from dfmod.linting import Applicability, Codemod, Context, Edit, Finding, Fix

The names load on first use (PEP 562), so importing this package costs nothing until a
codemod needs them.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: importing typing costs ~7 ms (tests/test_startup.py)
if TYPE_CHECKING:
    from typing import Any

    from dfmod.linting.codemod import Codemod, Context
    from dfmod.linting.edits import Applicability, Edit, Finding, Fix

__all__ = ["Applicability", "Codemod", "Context", "Edit", "Finding", "Fix"]
_HOMES = {"Codemod": "codemod", "Context": "codemod",
          "Applicability": "edits", "Edit": "edits", "Finding": "edits", "Fix": "edits"}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
