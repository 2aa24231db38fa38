"""Which Python environment an install writes to, and which one a command runs in.

An image can hold several: the system site (`/usr/local/lib/python3.X/site-packages`), a
venv or two, a project environment uv or poetry manages. `pip3 install frappe-bench` in a
stage whose `CMD` runs `/home/frappe/frappe-bench/env/bin/gunicorn` installs into the system
site, which that venv's interpreter does not see; checking the package with the venv's
`python` would fail a build that is fine. So a check only pairs an install with the
interpreter that reads what it wrote.

An environment is named by its root: a venv's directory (`/opt/venv`), or `SYSTEM` for the
interpreter on the image's system `PATH` (user-site installs included: whose user site is
the question of `USER`, not of the environment). None where dfmod cannot tell.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping

from dfmod.semantic.state import known_env, resolve_in
from dfmod.semantic.tools import ToolCall, basename, inline_env, is_false, is_true
from dfmod.syntax.dockerfile import Dockerfile, Instruction

SYSTEM = "<system>"
_SYSTEM_BINS = frozenset({"/usr/local/bin", "/usr/bin", "/bin", "/usr/local/sbin", "/usr/sbin",
                          "/sbin"})
# A string, compiled on first use (`re` caches it): start-up pays only for what a file needs.
_BIN_PROGRAM = r"^(/.+)/bin/[^/]+$"


def program_environment(program: str, env: Mapping[str, str]) -> str | None:
    """The environment of a program as a command spells it: by its directory when it has a
    path (`/opt/venv/bin/pip`), else by the first `PATH` entry that holds one — a venv's
    `bin` (which always holds `python` and `pip`) or the system. A user base's `~/.local/bin`
    is passed over: it holds no interpreter, and a pip there runs the system's."""
    if "/" in program:
        directory = posixpath.dirname(posixpath.normpath(program))
        if directory in _SYSTEM_BINS:
            return SYSTEM
        match = re.match(_BIN_PROGRAM, posixpath.normpath(program))
        return match.group(1) if match else None
    path = env.get("PATH")
    if path is None:
        return None
    for entry in path.split(":"):
        entry = posixpath.normpath(entry) if entry else ""
        if entry in _SYSTEM_BINS:
            return SYSTEM
        if entry.endswith("/.local/bin"):
            continue  # a user base's scripts: no interpreter there, and its pip is the system's
        if entry.endswith("/bin") and entry.startswith("/"):
            return entry[:-len("/bin")]
    return None


def install_environment(doc: Dockerfile, instruction: Instruction, call: ToolCall) -> str | None:
    """Where the packages of an install go: pip's (and `python -m pip`'s) interpreter,
    `uv pip`'s `--system`/`--python`/`VIRTUAL_ENV`, `uv sync`'s project `.venv`, poetry's
    environment where its configuration says (`POETRY_VIRTUALENVS_CREATE=false`: the
    system; `POETRY_VIRTUALENVS_IN_PROJECT`: `.venv` beside the project)."""
    env = {**known_env(doc, instruction), **inline_env(call.command)}
    program = call.command.words[0].value if call.command.words else None
    if program is None:
        return None
    if call.tool == "pip":
        return program_environment(program, env)
    if call.tool == "uv-pip":
        if call.has_option("--system"):
            return SYSTEM
        python = call.option_values("-p", "--python")
        if python:
            return program_environment(python[0], env) if python[0] else None
        venv = env.get("VIRTUAL_ENV")
        return posixpath.normpath(venv) if venv else None
    if call.tool == "uv":
        project = env.get("UV_PROJECT_ENVIRONMENT")
        return resolve_in(doc, instruction, project or ".venv")
    if call.tool == "poetry":
        if is_false(env.get("POETRY_VIRTUALENVS_CREATE", "")):
            return SYSTEM
        if is_true(env.get("POETRY_VIRTUALENVS_IN_PROJECT", "")):
            return resolve_in(doc, instruction, ".venv")
    return None


def interpreter_environment(doc: Dockerfile, instruction: Instruction, interpreter: str,
                            launcher: tuple[str, ...] = ()) -> str | None:
    """The environment a command's interpreter runs in (`uv run` runs the project's
    `.venv`; `poetry run`'s is poetry's business, not known here)."""
    if launcher:
        if basename(launcher[0]) == "uv":
            project = known_env(doc, instruction).get("UV_PROJECT_ENVIRONMENT")
            return resolve_in(doc, instruction, project or ".venv")
        return None
    return program_environment(interpreter, known_env(doc, instruction))
