"""Recognising the tools people call in a RUN, however they spell them.

`pip`, `pip3`, `pip3.11`, `/opt/venv/bin/pip`, `python -m pip`, `python3.12 -m pip`,
`uv pip install`, `uv sync`, `poetry install` — a codemod asks `tool_call(command)` and gets
the tool, its subcommand and the words after it, instead of matching strings itself.
"""

from __future__ import annotations

from dfmod.syntax.records import Record
from dfmod.syntax.shell import Command, Element, ShellWord

# Options of `pip install` / `uv pip install` that take the next word as their value.
PIP_VALUE_OPTIONS = frozenset({
    "-r", "--requirement", "-c", "--constraint", "-e", "--editable", "-i", "--index-url",
    "--extra-index-url", "-f", "--find-links", "--trusted-host", "--python-version",
    "--platform", "--implementation", "--abi", "--src", "--progress-bar", "--cache-dir",
    "--log", "--proxy", "--timeout", "--retries", "--upgrade-strategy", "--no-binary",
    "--only-binary", "--config-settings", "-C", "--global-option", "-t", "--target",
    "--prefix", "--root", "--report", "--python", "-p", "--exists-action", "--cert",
    "--client-cert", "--index-strategy", "--keyring-provider", "--resolution",
})


def versioned(name: str, program: str) -> bool:
    """Whether `name` is `program` with an optional version (`python`, `python3`,
    `python3.12`; `pip3`): what `program(\\d+(\\.\\d+)*)?` matches, without a pattern
    to compile at start-up."""
    if not name.startswith(program):
        return False
    version = name[len(program):]
    return not version or all(part.isdecimal() for part in version.split("."))


def is_python(name: str) -> bool:
    """A Python interpreter by its program name: `python`, `python3`, `python3.12`."""
    return versioned(name, "python")


class ToolCall(Record):
    __slots__ = ("tool", "subcommand", "command", "first_arg")

    def __init__(self, tool: str, subcommand: str | None, command: Command, first_arg: int) -> None:
        self.tool = tool  # "pip", "uv" (uv's own commands), "uv-pip" (`uv pip …`) or "poetry"
        self.subcommand = subcommand
        self.command = command
        self.first_arg = first_arg  # index in command.words of the first word after the subcommand

    @property
    def args(self) -> list[ShellWord]:
        return self.command.words[self.first_arg:]

    def has_option(self, *names: str) -> bool:
        return any(word.value in names for word in self.args)

    def option_values(self, *names: str) -> list[str | None]:
        """The values of an option in each spelling pip accepts: `-r F`, `-rF`,
        `--requirement F`, `--requirement=F` (None where the value is only known at run
        time, such as `$FILE`). `names` are its short and long forms."""
        values: list[str | None] = []
        args = self.args
        for index, word in enumerate(args):
            value = word.value
            if value in names:
                if index + 1 < len(args):
                    values.append(args[index + 1].value)
                continue
            if value is None:
                continue
            for name in names:
                if name.startswith("--") and value.startswith(name + "="):
                    values.append(value[len(name) + 1:])
                elif not name.startswith("--") and value.startswith(name) and not value.startswith("--") \
                        and len(value) > len(name):
                    values.append(value[len(name):])
        return values

    def operands(self) -> list[ShellWord]:
        """The words that are not options nor option values: what is installed by name."""
        out: list[ShellWord] = []
        skip = False
        for word in self.args:
            value = word.value
            if skip:
                skip = False
            elif value in PIP_VALUE_OPTIONS:
                skip = True
            elif value is None or not value.startswith("-"):
                out.append(word)
        return out

    def requirement_files(self) -> list[str | None]:
        """The requirements files a pip (or `uv pip`) install reads with `-r`."""
        return self.option_values("-r", "--requirement") if self.tool in ("pip", "uv-pip") else []

    @property
    def is_install(self) -> bool:
        return (self.tool in ("pip", "uv-pip") and self.subcommand == "install") or (
            self.tool == "uv" and self.subcommand in ("sync", "add")) or (
            self.tool == "poetry" and self.subcommand in ("install", "add"))


_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def is_true(value: str) -> bool:
    """Whether a boolean setting in the environment is on (`PIP_USER=1`,
    `POETRY_VIRTUALENVS_IN_PROJECT=true`, `UV_VENV_RELOCATABLE=yes`), in any case."""
    return value.lower() in _TRUE


def is_false(value: str) -> bool:
    """Whether a boolean setting is explicitly off (`POETRY_VIRTUALENVS_CREATE=false`)."""
    return value.lower() in _FALSE


def inline_env(command: Command) -> dict[str, str]:
    """The variables a command sets for itself (`PIP_USER=1 pip install x`), quotes dropped."""
    found: dict[str, str] = {}
    for assignment in command.assignments:
        name, _, value = assignment.raw.partition("=")
        found[name] = value.strip("'\"")
    return found


def basename(word: str | None) -> str:
    return (word or "").rsplit("/", 1)[-1]


def _subcommand(command: Command, start: int) -> tuple[str | None, int]:
    """The first word from `start` that is not an option, and the index after it."""
    words = command.words
    index = start
    while index < len(words):
        value = words[index].value
        if value is None or not value.startswith("-"):
            return value, index + 1
        index += 1
    return None, index


def is_test(element: Element) -> bool:
    """`[ … ]`, `[[ … ]]` or `test …`: a question, whose "no" is an answer, not a failure."""
    if element.kind == "test_command":
        return True
    return element.kind == "command" and element.command is not None and (
        basename(element.command.name) in ("[", "test"))


def tool_call(command: Command) -> ToolCall | None:
    """What Python packaging tool `command` runs, if any (worked out once per command)."""
    return command.memo("tool_call", _tool_call)  # type: ignore[no-any-return]


def _tool_call(command: Command) -> ToolCall | None:
    words = command.words
    if not words:
        return None
    name = basename(words[0].value)
    if versioned(name, "pip"):
        subcommand, after = _subcommand(command, 1)
        return ToolCall("pip", subcommand, command, after)
    if is_python(name):
        for index in range(1, len(words) - 1):
            value = words[index].value
            if value == "-m" and versioned(words[index + 1].value or "", "pip"):
                subcommand, after = _subcommand(command, index + 2)
                return ToolCall("pip", subcommand, command, after)
            if value is None or not value.startswith("-"):
                return None
        return None
    if name == "uv":
        subcommand, after = _subcommand(command, 1)
        if subcommand == "pip":
            inner, after = _subcommand(command, after)
            return ToolCall("uv-pip", inner, command, after)
        return ToolCall("uv", subcommand, command, after)
    if name == "poetry":
        subcommand, after = _subcommand(command, 1)
        return ToolCall("poetry", subcommand, command, after)
    return None
