"""Where a Dockerfile builds its virtual environments.

A virtualenv is not relocatable: `python -m venv`, `virtualenv`, `uv venv`, `uv sync` and
poetry all write console scripts (`bin/alembic`, `bin/uvicorn`…) whose first line is the
absolute path of the venv's interpreter, `#!/app/.venv/bin/python`. Codemods that follow a
venv from stage to stage (`venv-relocated`, and any rule that needs the interpreter a
`CMD` runs) ask `find_venvs` where each one was created.

Recognised (paths resolved against the `WORKDIR` and `cd` in force, `$VARS` expanded with the
stage's `ENV`):

- `python -m venv [options] DIR…`, `virtualenv [options] DIR`, `uv venv [options] [DIR]`
  (default `.venv`);
- `uv sync` → `UV_PROJECT_ENVIRONMENT`, else `<project>/.venv` (`--directory`/`--project`);
- `poetry install` with in-project venvs (`POETRY_VIRTUALENVS_IN_PROJECT=1|true` from `ENV`
  or inline, or an earlier `poetry config virtualenvs.in-project true`) → `<cwd>/.venv`,
  unless `POETRY_VIRTUALENVS_CREATE` is false;
- `ENV VIRTUAL_ENV=DIR` (the Dockerfile declares where its venv is).
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping

from dfmod.semantic.state import expand, known_env, resolve_path, workdir_at
from dfmod.semantic.tools import basename, inline_env, is_false, is_python, is_true, tool_call
from dfmod.syntax.dockerfile import Dockerfile, Instruction, Stage, env_pairs, readable_scripts
from dfmod.syntax.records import Record
from dfmod.syntax.shell import Command, ShellWord

# Options that take a value, per tool (so the value is not read as the venv directory).
_VENV_VALUE_OPTIONS = {"--prompt"}
_VIRTUALENV_VALUE_OPTIONS = {"-p", "--python", "--prompt", "--activators", "--app-data",
                             "--extra-search-dir", "--pip", "--setuptools", "--wheel",
                             "--creator", "--seeder", "--discovery"}
_UV_VALUE_OPTIONS = {"-p", "--python", "--prompt", "--index", "--default-index", "--index-url",
                     "-i", "--extra-index-url", "--find-links", "-f", "--index-strategy",
                     "--keyring-provider", "--exclude-newer", "--link-mode", "--cache-dir",
                     "--directory", "--project", "--config-file", "--color", "--python-preference",
                     "--allow-insecure-host"}


class Venv(Record):
    __slots__ = ("path", "instruction", "how")

    def __init__(self, path: str, instruction: Instruction, how: str) -> None:
        self.path = path  # normalised absolute path
        self.instruction = instruction  # where it is created (or declared, for ENV VIRTUAL_ENV)
        self.how = how  # "python -m venv", "virtualenv", "uv venv", "uv sync", "poetry", "VIRTUAL_ENV"


def _word_text(word: ShellWord, env: Mapping[str, str]) -> str | None:
    """A shell word's value, with `$VAR` references expanded from the ENV in force."""
    if word.value is not None:
        return word.value
    raw = word.raw
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        raw = raw[1:-1]
    if "`" in raw or "$(" in raw or "'" in raw or '"' in raw:
        return None
    return expand(raw, env)


def _positionals(command: Command, start: int, value_options: set[str],
                 env: Mapping[str, str]) -> list[str | None]:
    out: list[str | None] = []
    words = command.words[start:]
    index = 0
    while index < len(words):
        value = words[index].value
        if value is not None and value.startswith("-"):
            if value in value_options:
                index += 1
        else:
            out.append(_word_text(words[index], env))
        index += 1
    return out


def _option(command: Command, names: tuple[str, ...], env: Mapping[str, str]) -> str | None:
    words = command.words
    for index, word in enumerate(words):
        value = word.value or ""
        if value in names and index + 1 < len(words):
            return _word_text(words[index + 1], env)
        for name in names:
            if name.startswith("--") and value.startswith(name + "="):
                return value.split("=", 1)[1]
    return None


def _command_venvs(command: Command, cwd: str | None, env: Mapping[str, str],
                   poetry_in_project: bool) -> list[tuple[str | None, str]]:
    words = command.words
    if not words:
        return []
    name = basename(words[0].value)
    if is_python(name):
        argv = [word.value for word in words]
        if len(argv) >= 3 and argv[1] == "-m" and argv[2] in ("venv", "virtualenv"):
            options = _VENV_VALUE_OPTIONS if argv[2] == "venv" else _VIRTUALENV_VALUE_OPTIONS
            return [(resolve_path(item, cwd), f"python -m {argv[2]}")
                    for item in _positionals(command, 3, options, env)]
        return []
    if name == "virtualenv":
        return [(resolve_path(item, cwd), "virtualenv")
                for item in _positionals(command, 1, _VIRTUALENV_VALUE_OPTIONS, env)]
    call = tool_call(command)
    if call is None:
        return []
    inline = inline_env(command)
    local = {**env, **inline} if inline else env
    directory = _option(command, ("--directory",), local)
    if directory is not None:
        cwd = resolve_path(directory, cwd)
    if call.tool == "uv" and call.subcommand == "venv":
        items = _positionals(command, call.first_arg, _UV_VALUE_OPTIONS, local) or [".venv"]
        return [(resolve_path(item, cwd), "uv venv") for item in items]
    if call.tool == "uv" and call.subcommand == "sync":
        if local.get("UV_PROJECT_ENVIRONMENT"):
            return [(resolve_path(expand(local["UV_PROJECT_ENVIRONMENT"], local), cwd), "uv sync")]
        project = _option(command, ("--project",), local)
        root = resolve_path(project, cwd) if project is not None else cwd
        return [(resolve_path(".venv", root), "uv sync")]
    if call.tool == "poetry" and call.is_install:
        in_project = local.get("POETRY_VIRTUALENVS_IN_PROJECT")
        create = local.get("POETRY_VIRTUALENVS_CREATE", "")
        if is_false(create) or local.get("VIRTUAL_ENV"):
            return []
        if (in_project is not None and is_true(in_project)) or (
                in_project is None and poetry_in_project):
            return [(resolve_path(".venv", cwd), "poetry")]
    return []


def _is_poetry_in_project_config(command: Command) -> bool:
    argv = [word.value for word in command.words]
    return (basename(argv[0]) == "poetry" and "config" in argv
            and "virtualenvs.in-project" in argv and argv[-1] in ("true", "1"))


def _cd(command: Command, cwd: str | None) -> str | None:
    argv = [word.value for word in command.words]
    if len(argv) == 2 and argv[1] is not None:
        return resolve_path(argv[1], cwd)
    return None


def find_venvs(doc: Dockerfile, stage: Stage) -> list[Venv]:
    """Every venv created (or declared with `ENV VIRTUAL_ENV`) in `stage` and its lineage.

    Paths that cannot be resolved (unknown WORKDIR, run-time values) are left out. Found in
    one pass over the file (`Dockerfile.fold`), however many stages ask.
    """
    last = stage.instructions[-1]
    return list(_venvs_step(doc, doc.fold(_venvs_step, _Found())[last.index], last).venvs)


class _Found(Record):
    __slots__ = ("venvs", "poetry_in_project")

    def __init__(self, venvs: tuple[Venv, ...] = (), poetry_in_project: bool = False) -> None:
        self.venvs = venvs
        self.poetry_in_project = poetry_in_project  # an earlier `poetry config virtualenvs.in-project true`


def _venvs_step(doc: Dockerfile, found: _Found, item: Instruction) -> _Found:
    """The venvs known after `item`."""
    new: list[Venv] = []
    poetry_in_project = found.poetry_in_project
    if item.keyword == "ENV":
        for pair in env_pairs(item):
            if pair.name == "VIRTUAL_ENV":
                path = resolve_path(expand(pair.value, known_env(doc, item)), None)
                if path is not None:
                    new.append(Venv(path, item, "VIRTUAL_ENV"))
    elif item.keyword == "RUN":
        env = known_env(doc, item)
        cwd = workdir_at(doc, item)
        for script in readable_scripts(doc, item):
            for command in script.commands:
                if basename(command.name) == "cd":
                    cwd = _cd(command, cwd)
                    continue
                if command.words and _is_poetry_in_project_config(command):
                    poetry_in_project = True
                for path, how in _command_venvs(command, cwd, env, poetry_in_project):
                    if path is not None:
                        new.append(Venv(path, item, how))
    if not new and poetry_in_project == found.poetry_in_project:
        return found
    return _Found((*found.venvs, *new), poetry_in_project)


def is_inside(path: str, directory: str) -> bool:
    """Whether `path` is `directory` or below it (both normalised absolute paths)."""
    return path == directory or path.startswith(directory.rstrip("/") + "/")


def relocate(path: str, source: str, destination: str) -> str:
    """Where `path` (inside `source`) lands when `source` is copied to `destination`."""
    if path == source:
        return destination
    return posixpath.normpath(destination + "/" + path[len(source):].lstrip("/"))
