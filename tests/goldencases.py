"""What a golden case (`golden/<rule>/<case>/`) asks for: its `options.toml` and the
settings the case is checked and fixed with. Shared by every golden test."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from dfmod.linting.engine import Settings
from dfmod.linting.registry import all_codemods

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

GOLDEN = Path(__file__).resolve().parent.parent / "golden"


def case_options(case: Path) -> dict[str, Any]:
    file = case / "options.toml"
    return tomllib.loads(file.read_text()) if file.exists() else {}


def case_settings(case: Path) -> Settings:
    """Only the case's rule, with the case's options (and unsafe fixes if it says so)."""
    rule = case.parent.name
    options = case_options(case)
    return Settings([all_codemods()[rule]], unsafe_fixes=options.get("unsafe-fixes", False),
                    options={rule: options.get("options", {})})
