"""Helpers for behaviour tests: run a Dockerfile's RUN shells, before and after a fix, in bash.

Golden cases show what the text becomes; these helpers show what the shell then *does*.
`run_shells` returns the shell programs of a Dockerfile's RUNs exactly as dfmod reads them
(continuations joined, as BuildKit hands them to `/bin/sh -c`); `fixed_text` applies one
codemod through the real engine; `run_bash` runs a program with real bash, optionally with
shell functions standing in for tools the test machine lacks (`poetry`, `pip`).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

from dfmod.linting.codemod import Codemod
from dfmod.linting.engine import Settings, fix
from dfmod.syntax.dockerfile import Dockerfile, run_scripts

GOLDEN = Path(__file__).resolve().parent.parent / "golden"


def golden_input(rule: str, case: str) -> str:
    return (GOLDEN / rule / case / "input" / "Dockerfile").read_text(encoding="utf-8")


def run_shells(text: str) -> list[str]:
    """The shell program of every RUN, in file order (RUNs without one are skipped)."""
    doc = Dockerfile(text)
    return [script.source.text for instruction in doc.instructions
            for script in run_scripts(doc, instruction)]


def fixed_text(text: str, codemod: type[Codemod], options: dict[str, Any] | None = None,
               unsafe: bool = False) -> str:
    """`text` after `dfmod apply --fix` with only `codemod` selected."""
    settings = Settings([codemod], unsafe_fixes=unsafe, options={codemod.id: options or {}})
    return fix(Dockerfile(text), settings).text


def stub(name: str, status: int) -> str:
    """A shell function standing in for a tool: it prints its call and exits `status`."""
    return f'{name}() {{ echo "{name} $*"; return {status}; }}\n'


def run_bash(program: str, stubs: str = "", cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run `program` with real `bash -c` (no errexit, like `/bin/sh -c` in a RUN)."""
    return subprocess.run(["bash", "-c", stubs + program], capture_output=True, text=True,
                          cwd=cwd, env={"PATH": os.environ["PATH"], "LC_ALL": "C"}, timeout=60)
