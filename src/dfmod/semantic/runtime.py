"""What a Python image runs when it starts: interpreter, console script, application module.

The final stage's `ENTRYPOINT` + `CMD` (following `FROM <stage>` lineage, and Docker's rule
that a new `ENTRYPOINT` drops an inherited `CMD`) is split into the commands it runs: exec
form as is, shell form and `sh -c "…"` through dfmod's shell model, wrappers such as
`tini --`, `dumb-init`, `gosu USER`, `exec`, `env A=1` and `entrypoint.sh` (assumed to end
in `exec "$@"`) peeled off. Each command that starts Python is described by a
`RuntimeCommand`: which interpreter runs it, which console script (if any), and which
application module or file it names (`uvicorn main:app`, `python app.py`,
`celery -A proj worker`, `gunicorn -k uvicorn.workers.UvicornWorker app:app`).
"""

from __future__ import annotations

import re

from dfmod.semantic.tools import basename, is_python
from dfmod.syntax.dockerfile import Dockerfile, Instruction, Stage
from dfmod.syntax.records import Record
from dfmod.syntax.shell import Command, parse_shell
from dfmod.syntax.text import MappedText


class Server(Record):
    """A console script that starts an application, and what it needs to import."""

    __slots__ = ("module", "version_flag", "app_option", "app_positional", "app_file_after")

    def __init__(self, module: str, version_flag: bool, app_option: tuple[str, ...] = (),
                 app_positional: bool = False, app_file_after: str | None = None) -> None:
        self.module = module  # the package that provides it
        self.version_flag = version_flag  # `<script> --version` exits 0 (checked against the tool's CLI)
        self.app_option = app_option  # options naming the application (`-A`, `--app`)
        self.app_positional = app_positional  # `module:attr` as a positional argument
        self.app_file_after = app_file_after  # `streamlit run FILE`


SERVERS: dict[str, Server] = {
    "alembic": Server("alembic", True),
    "celery": Server("celery", True, ("-A", "--app")),
    "daphne": Server("daphne", False, app_positional=True),
    "dramatiq": Server("dramatiq", False),
    "fastapi": Server("fastapi", False, app_file_after="run"),
    "flask": Server("flask", True, ("--app", "-A")),
    "gradio": Server("gradio", False, app_file_after=""),
    "granian": Server("granian", False, app_positional=True),
    "gunicorn": Server("gunicorn", True, app_positional=True),
    "hypercorn": Server("hypercorn", False, app_positional=True),
    "huey_consumer": Server("huey", False),
    "rq": Server("rq", False),
    "streamlit": Server("streamlit", True, app_file_after="run"),
    "uvicorn": Server("uvicorn", True, app_positional=True),
    "waitress-serve": Server("waitress", False, app_positional=True),
}

_WORKER_OPTIONS = ("-k", "--worker-class")  # gunicorn: the worker's package must import
_WRAPPERS = {"tini", "tini-static", "dumb-init", "catatonit", "exec", "nohup"}
_USER_WRAPPERS = {"gosu", "su-exec"}
_SHELLS = {"sh", "bash", "dash", "ash"}
# A string, compiled on first use (`re` caches it): few images name a `module:app`.
_APP_REFERENCE = r"^([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)(?::\S+)?$"


class RuntimeCommand:
    """One command the container runs that starts Python."""

    __slots__ = ("argv", "interpreter", "script", "server", "modules", "app_modules", "app_files",
                 "launcher")

    def __init__(self, argv: list[str], interpreter: str | None, script: str | None = None,
                 server: Server | None = None, modules: list[str] | None = None,
                 app_modules: list[str] | None = None, app_files: list[str] | None = None,
                 launcher: tuple[str, ...] = ()) -> None:
        self.argv = argv
        self.interpreter = interpreter  # as CMD spells it (`/opt/venv/bin/python`); None: a bare script
        self.script = script  # console script as spelled (`uvicorn`, `/opt/venv/bin/uvicorn`)
        self.server = server
        self.modules = [] if modules is None else modules  # packages it imports (server, worker)
        self.app_modules = [] if app_modules is None else app_modules  # `main`, `app.main`
        self.app_files = [] if app_files is None else app_files  # `app.py`
        self.launcher = launcher  # `uv run`, `poetry run`: runs it in the project's env


class Runtime:
    """The start-up command of an image and where it was declared."""

    __slots__ = ("instruction", "commands")

    def __init__(self, instruction: Instruction, commands: list[RuntimeCommand]) -> None:
        self.instruction = instruction  # the CMD or ENTRYPOINT that carries the command
        self.commands = commands


def _argv(doc: Dockerfile, instruction: Instruction) -> list[list[str]] | None:
    """The commands of a CMD/ENTRYPOINT; a shell form becomes one argv per simple command."""
    if instruction.json_args is not None:
        return [instruction.json_args]
    script = parse_shell(instruction.args)
    if script.has_error:
        return None
    return [argv for argv in map(_literal_argv, script.commands) if argv]


_UNKNOWN = "${…}"  # a word known only at run time; never a module, file or option name


def _literal_argv(command: Command) -> list[str] | None:
    """A command's words, read when its first word is literal: `uvicorn app:app --port
    ${PORT}` still says what it starts; a run-time word stands as `_UNKNOWN`. The script of
    `sh -c "… ${PORT}"` is kept as written, so its own commands are read the same way."""
    values = command.argv
    if not values or values[0] is None:
        return None
    out: list[str] = []
    for index, (value, word) in enumerate(zip(values, command.words, strict=False)):
        if value is None and index > 0 and values[index - 1] == "-c" and len(word.raw) >= 2 \
                and word.raw[0] == word.raw[-1] == '"':
            value = word.raw[1:-1]
        out.append(_UNKNOWN if value is None else value)
    return out


def _peel(argv: list[str]) -> list[str]:
    """Drop init and privilege wrappers that exec the rest of the command line."""
    while argv:
        name = basename(argv[0])
        if name in _WRAPPERS or name.endswith(".sh"):
            argv = argv[1:]
            while argv and argv[0].startswith("-"):
                done = argv[0] == "--"
                argv = argv[1:]
                if done:
                    break
        elif name in _USER_WRAPPERS:
            argv = argv[2:]
        elif name == "env":
            argv = argv[1:]
            while argv and ("=" in argv[0] or argv[0].startswith("-")):
                argv = argv[1:]
        else:
            return argv
    return argv


def _option_values(args: list[str], names: tuple[str, ...]) -> list[str]:
    values: list[str] = []
    for index, arg in enumerate(args):
        for name in names:
            if arg == name and index + 1 < len(args):
                values.append(args[index + 1])
            elif name.startswith("--") and arg.startswith(name + "="):
                values.append(arg[len(name) + 1:])
            elif not name.startswith("--") and arg.startswith(name) and len(arg) > len(name):
                values.append(arg[len(name):])
    return values


def _module_of(reference: str) -> str | None:
    match = re.match(_APP_REFERENCE, reference)
    return match.group(1) if match else None


def describe(argv: list[str]) -> RuntimeCommand | None:
    """What a single command line starts, or None if it does not start Python.

    `poetry run X` and `uv run [options] X` start `X` in the project's environment; the
    command is `X`'s, with that launcher kept (an interpreter check must run the same way)."""
    argv = _peel(argv)
    launcher = launcher_words(argv)
    if launcher:
        command = describe(argv[len(launcher):])
        if command is not None:
            command.launcher = tuple(launcher)
        return command
    if not argv:
        return None
    name = basename(argv[0])
    if name in _SHELLS and len(argv) >= 3 and argv[1] == "-c":
        return None  # handled by the caller, which parses the inner script
    if is_python(name):
        command = RuntimeCommand(argv, argv[0])
        rest = argv[1:]
        while rest and rest[0].startswith("-") and rest[0] not in ("-m", "-c"):
            rest = rest[1:]
        if not rest or rest[0] == "-c":
            return command
        if rest[0] == "-m" and len(rest) > 1:
            module = rest[1]
            server = SERVERS.get(module.split(".")[0])
            command.modules.append(module.split(".")[0])
            if server is not None:
                command.server = server
                _server_app(command, server, rest[2:])
            return command
        if rest[0].endswith(".py"):
            command.app_files.append(rest[0])
        return command
    server = SERVERS.get(name)
    if server is None:
        return None
    interpreter = None
    if "/" in argv[0]:
        interpreter = argv[0].rsplit("/", 1)[0] + "/python"
    command = RuntimeCommand(argv, interpreter, script=argv[0], server=server)
    command.modules.append(server.module)
    _server_app(command, server, argv[1:])
    return command


_LAUNCHER_VALUE_OPTIONS = {"--with", "-w", "--with-requirements", "--with-editable", "--python",
                           "-p", "--env-file", "--project", "--directory", "--extra", "--group",
                           "--package", "--index", "--index-url", "--default-index"}


def launcher_words(argv: list[str]) -> list[str]:
    """The words of a `poetry run` / `uv run …options` prefix (empty if there is none)."""
    if len(argv) < 3 or basename(argv[0]) not in ("poetry", "uv") or argv[1] != "run":
        return []
    index = 2
    while index < len(argv) and argv[index].startswith("-"):
        if argv[index] == "--":
            return argv[:index + 1]
        index += 2 if argv[index] in _LAUNCHER_VALUE_OPTIONS else 1
    return argv[:index] if index < len(argv) else []


def _server_app(command: RuntimeCommand, server: Server, args: list[str]) -> None:
    for option in server.app_option:
        for value in _option_values(args, (option,)):
            module = _module_of(value)
            if module:
                command.app_modules.append(module)
    if server.app_positional:
        for arg in args:
            if ":" in arg and not arg.startswith("-"):
                module = _module_of(arg)
                if module:
                    command.app_modules.append(module)
                    break
    if server.module == "gunicorn":
        for value in _option_values(args, _WORKER_OPTIONS):
            module = _module_of(value)
            if module and "." in module:
                command.modules.append(module.split(".")[0])
    if server.app_file_after is not None:
        positional = [arg for arg in args if not arg.startswith("-")]
        if server.app_file_after:  # `streamlit run FILE`: the file follows the subcommand
            named = positional[:1] == [server.app_file_after]
            positional = positional[1:] if named else []
        if positional and positional[0].endswith(".py"):
            command.app_files.append(positional[0])


def runtime(doc: Dockerfile, stage: Stage) -> Runtime | None:
    """The Python commands the image built by `stage` runs at start, or None."""
    entrypoint: Instruction | None = None
    cmd: Instruction | None = None
    for item in doc.lineage(stage):
        inherited_cmd = cmd
        for instruction in item.instructions:
            if instruction.keyword == "ENTRYPOINT":
                entrypoint = instruction
                if cmd is inherited_cmd:
                    cmd = None  # a new ENTRYPOINT resets a CMD inherited from the base
            elif instruction.keyword == "CMD":
                cmd = instruction
    lines: list[list[str]] = []
    carrier = cmd or entrypoint
    if carrier is None:
        return None
    if entrypoint is not None and entrypoint.json_args is not None:
        tail = (cmd.json_args or []) if cmd is not None else []
        if cmd is not None and cmd.json_args is None:
            return None  # shell-form CMD after an exec ENTRYPOINT: `/bin/sh -c` as arguments
        lines = [entrypoint.json_args + tail]
    else:
        found = _argv(doc, entrypoint if entrypoint is not None else carrier)
        if found is None:
            return None
        lines = found
    commands: list[RuntimeCommand] = []
    for argv in lines:
        peeled = _peel(argv)
        if peeled and basename(peeled[0]) in _SHELLS and len(peeled) >= 3 and peeled[1] == "-c":
            inner = parse_shell(MappedText(peeled[2], list(range(len(peeled[2]))), 0))
            if inner.has_error:
                continue
            for argv in map(_literal_argv, inner.commands):
                described = describe(argv) if argv else None
                if described is not None:
                    commands.append(described)
            continue
        described = describe(argv)
        if described is not None:
            commands.append(described)
    if not commands:
        return None
    return Runtime(carrier, commands)
