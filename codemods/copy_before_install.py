"""The whole build context is copied before the dependencies are installed.

## What it finds
`COPY . <dest>` (or `ADD . <dest>`) followed, in the same stage, by a `RUN` that installs
from files of the build context — `pip install -r requirements.txt` (any pip spelling,
`uv pip install`/`uv pip sync` too), `pip install .` / `-e .`, `poetry install`, `uv sync`
— when no dependency layer comes before the copy. A dependency layer is an earlier `RUN`
(in the stage or the stages it is built `FROM`) that installs only the dependencies:
`pip install -r FILE` without local paths or `-e`, `uv pip sync FILE`,
`uv sync --no-install-project` (or `--no-install-workspace`), `poetry install --no-root`,
whether its files were copied on their own or bind-mounted into the `RUN`
(`--mount=type=bind,source=uv.lock,target=uv.lock`). After such a layer, `COPY . .` and an
install of the project itself (`pip install -e .`, `uv sync`, `poetry install`) are the
right order and are not reported — unless that install also reads a requirements file the
layer did not install (`-r requirements-dev.txt`). A narrower `COPY requirements.txt .`
*before* `COPY . .` does not count: the install after `COPY . .` still depends on every
file, so it is reported.

## Why it is bad
BuildKit reuses a layer only while everything it depends on is unchanged, and a `COPY`
depends on the content of every file it copies. `COPY .` therefore changes with any edit
to any file of the context — a README, a test, one line of application code — and every
instruction after it is rebuilt: the dependency install downloads and installs everything
again on each code change, usually the slowest step of the build. The files in the image are
the same either way; only the build (and every CI run) is slower.

## Fix
Unsafe, because it changes the layers and the order of the instructions:

1. where `COPY . <dest>` was, copy only the install's input files that the `RUN` would not
   find otherwise, with the same flags (`--chown`, `--chmod`, `--link`), to the place the
   install reads them from — nothing when an earlier narrower `COPY` or the `RUN`'s bind
   mounts already put them there;
2. move `COPY . <dest>` (with the comment lines directly above it) to just after the
   install's `RUN`.

The install layer then depends only on the requirement files. The fix is offered only when
the inputs are known files that the build context sends (`dfmod check --show-files` shows
which directory that is; `.dockerignore` is read): requirement and constraint files named
by `-r`/`-c` (and the files those include), or `pyproject.toml` plus `poetry.lock` /
`uv.lock` (and `.python-version`) for `poetry install --no-root` and
`uv sync --no-install-project` (without those options both also install the project
itself, which needs all of its sources). It is not offered when the install also reads
other files (`pip install .`, `-e`, local paths in a requirements file, path dependencies),
when the `RUN` runs anything but package tools and simple file commands (it might read the
sources), when it bind-mounts a directory of the context, when the context holds a `.venv`
that the moved copy would write over the one uv or poetry makes, when instructions between
the `COPY` and the `RUN` could depend on the copied files or change where they land, or
when paths cannot be resolved — then the finding is reported without a fix.

## Proof
Built with BuildKit by `tests/builds/test_rules.py`:
`test_copy_before_install_code_edit_reinstalls` (before the fix an edit to an application
file reruns the install; after it the install layer comes from the cache). `dfmod verify`
has no probe for it: its effect is the layer cache of the next build, not the image.

## Example
```dockerfile
# before
WORKDIR /app
COPY --chown=app:app . /app
RUN pip install -r requirements.txt
# after
WORKDIR /app
COPY --chown=app:app requirements.txt /app/
RUN pip install -r requirements.txt
COPY --chown=app:app . /app
```
"""

from __future__ import annotations

import os
import posixpath
import re
import sys
from collections.abc import Iterator

from dfmod.linting.buildcontext import BuildContext
from dfmod.linting.codemod import Codemod, Context
from dfmod.linting.edits import Applicability, Edit, Finding, Fix
from dfmod.linting.needs import mentions, spellings
from dfmod.semantic.state import relative_to, resolve_in, workdir_at
from dfmod.semantic.tools import ToolCall, basename, tool_call
from dfmod.syntax.dockerfile import Dockerfile, Flag, Instruction, exec_form, readable_scripts
from dfmod.syntax.records import Record
from dfmod.syntax.shell import Command
from dfmod.syntax.text import line_end, line_start

_COPY_FLAGS_KEPT = frozenset({"chown", "chmod", "link"})
# Instructions that may sit between `COPY .` and the install without depending on the copy.
_NEUTRAL = frozenset({"ENV", "ARG", "LABEL", "EXPOSE", "USER", "STOPSIGNAL", "HEALTHCHECK",
                      "CMD", "ENTRYPOINT", "SHELL", "MAINTAINER", "WORKDIR"})
# Commands that cannot read the application's sources by themselves.
_SIMPLE_COMMANDS = frozenset({"apt-get", "apt", "apk", "yum", "dnf", "microdnf", "rm", "echo",
                              "true", "set", "mkdir", "export", "useradd", "adduser",
                              "groupadd", "addgroup", "ln", "virtualenv", "printf", ":"})
_PYTHON_MODULES = frozenset({"pip", "venv", "ensurepip", "uv", "poetry"})
_PIP_VALUE_OPTIONS = frozenset({
    "-i", "--index-url", "--extra-index-url", "--index", "--default-index", "-t", "--target",
    "--prefix", "--root", "--trusted-host", "--platform", "--python-version",
    "--implementation", "--abi", "--only-binary", "--no-binary", "--progress-bar", "--src",
    "--upgrade-strategy", "--cache-dir", "--log", "--timeout", "--retries", "--proxy",
    "--python", "-p", "-C", "--config-settings", "--report", "--exists-action",
    "--global-option", "--root-user-action", "--cert", "--client-cert", "--keyring-provider",
    "--index-strategy", "--resolution", "--prerelease", "--link-mode", "--extra",
    "--group", "--only-group", "--python-platform", "--torch-backend",
})
_FILE_OPTIONS = {"-r": "-r", "--requirement": "-r", "-c": "-c", "--constraint": "-c",
                 "--build-constraint": "-c", "-o": "-c", "--override": "-c"}
_LOCAL_OPTIONS = frozenset({"-e", "--editable", "-f", "--find-links"})
# Patterns are strings, compiled on first use (`re` caches them), not at start-up.
_SAFE_PATH = r"^[A-Za-z0-9._+@/=-]+$"
_SAFE_DEST = r"^[A-Za-z0-9._+@/=${}-]+$"
# What a RUN that installs names: `_tool_inputs` and `_dependency_only` read only these tools.
_INSTALLERS = spellings("pip", "uv", "poetry")
_POETRY_ROOT = "\0poetry-root"  # marker: `poetry install` also installs the project


class _Inputs:
    """The files an install reads from the build context (paths as the RUN names them)."""

    __slots__ = ("blocker", "files", "optional", "reads_context")

    def __init__(self, files: list[str] | None = None, optional: list[str] | None = None,
                 blocker: str | None = None, reads_context: bool = False) -> None:
        self.files = [] if files is None else files
        self.optional = [] if optional is None else optional  # read only if present
        self.blocker = blocker  # why the inputs are not a known set of files
        self.reads_context = reads_context

    def block(self, reason: str) -> None:
        self.reads_context = True
        if self.blocker is None:
            self.blocker = reason


def _copies_context(instruction: Instruction) -> tuple[list[str], str] | None:
    """(sources, destination) of a `COPY`/`ADD` from the build context."""
    if instruction.keyword not in ("COPY", "ADD") or instruction.heredocs:
        return None
    if instruction.flag("from") is not None:
        return None
    values = instruction.json_args
    if values is None:
        values = [word.value for word in instruction.words]
    if len(values) < 2:
        return None
    return values[:-1], values[-1]


def _is_whole_context(instruction: Instruction) -> bool:
    found = _copies_context(instruction)
    return found is not None and any(posixpath.normpath(source) == "." for source in found[0])


def _is_local_path(value: str) -> bool:
    if "://" in value:
        return False
    return value.startswith((".", "/", "~")) or "/" in value or value.endswith(
        (".whl", ".tar.gz", ".zip", ".tar.bz2"))


def _pip_inputs(call: ToolCall, inputs: _Inputs) -> None:
    args = call.args
    index = 0
    while index < len(args):
        value = args[index].value
        index += 1
        if value is None:
            inputs.block("an argument of the install depends on a shell variable")
            continue
        name, equals, attached = value.partition("=") if value.startswith("--") else (
            value, "", "")
        if not equals and value[:2] in ("-r", "-c", "-e", "-f") and len(value) > 2:
            name, attached, equals = value[:2], value[2:], "="
        if name in _FILE_OPTIONS or name in _LOCAL_OPTIONS or name in _PIP_VALUE_OPTIONS:
            operand = attached if equals else (args[index].value if index < len(args) else None)
            if not equals:
                index += 1
            if name in _FILE_OPTIONS:
                if operand is None:
                    inputs.block("a requirement file name depends on a shell variable")
                else:
                    inputs.reads_context = True
                    inputs.files.append(operand)
            elif name in ("-e", "--editable"):
                inputs.block("the install is editable (`-e`): it needs the project's sources")
            elif name in ("-f", "--find-links") and (operand is None or _is_local_path(operand)):
                inputs.block("the install reads a local wheel directory (`--find-links`)")
            continue
        if value.startswith("-"):
            continue
        if _is_local_path(value):
            inputs.block(f"the install reads the local path `{value}`, not just requirement "
                         "files")


def _tool_inputs(call: ToolCall, inputs: _Inputs) -> None:
    if call.tool in ("pip", "uv-pip") and call.subcommand == "install":
        _pip_inputs(call, inputs)
    elif call.tool == "poetry" and call.subcommand == "install":
        inputs.reads_context = True
        inputs.files.append("pyproject.toml")
        inputs.optional.extend(["poetry.lock", "poetry.toml"])
        if not call.has_option("--no-root"):
            inputs.files.append(_POETRY_ROOT)
    elif call.tool == "uv" and call.subcommand == "sync":
        inputs.reads_context = True
        inputs.files.append("pyproject.toml")
        inputs.optional.extend(["uv.lock", "uv.toml", ".python-version"])
        if not call.has_option("--no-install-project", "--no-install-workspace"):
            inputs.block("`uv sync` without `--no-install-project` also installs the project, "
                         "which needs its sources")


def _reads_nothing_else(command: Command, call: ToolCall | None) -> bool:
    """Whether a command of the install's RUN is known not to read the application's files."""
    if call is not None:
        return True
    name = basename(command.name)
    if not command.words:
        return True  # a bare assignment
    if name in _SIMPLE_COMMANDS:
        return True
    if re.fullmatch(r"python(\d+(\.\d+)*)?", name):
        values = command.argv
        return len(values) >= 3 and values[1] == "-m" and values[2] in _PYTHON_MODULES
    return False


class _Install:
    __slots__ = ("inputs", "mounted", "others_readable", "run")

    def __init__(self, run: Instruction, inputs: _Inputs, others_readable: bool,
                 mounted: frozenset[str] = frozenset()) -> None:
        self.run = run
        self.inputs = inputs
        self.others_readable = others_readable  # every other command is known not to read the sources
        self.mounted = mounted  # paths the RUN's bind mounts of context files provide


def _install(ctx: Context, run: Instruction) -> _Install | None:
    """The install of this RUN that reads files of the build context, if any."""
    inputs = _Inputs()
    simple = True
    scripts = ctx.scripts(run)
    if not scripts and run.keyword == "RUN":
        return None
    for script in scripts:
        for command in sorted(script.commands, key=lambda item: item.span.start):
            call = tool_call(command)
            if call is not None:
                _tool_inputs(call, inputs)
            if basename(command.name) == "cd" and inputs.blocker is None:
                # Not `block`: a `cd` alone reads nothing (`cd docs && make html` installs
                # nothing); it only makes an install's relative paths unknown.
                inputs.blocker = "the RUN changes directory with `cd`"
            simple = simple and _reads_nothing_else(command, call)
    mounted = _mounted_files(ctx, run, inputs)
    if not inputs.reads_context:
        return _Install(run, inputs, simple, mounted) if simple else None
    return _Install(run, inputs, simple, mounted)


def _mounted_files(ctx: Context, run: Instruction, inputs: _Inputs) -> frozenset[str]:
    """Where the RUN's bind mounts of single context files put them (`--mount=type=bind,
    source=uv.lock,target=uv.lock`); a mount of the whole context or a directory blocks the
    fix (moving the `COPY` would not change what the RUN depends on)."""
    found: set[str] = set()
    for mount in run.mounts:
        if mount.type != "bind" or mount.get("from") is not None:
            continue
        source = mount.get("source", "src")
        target = mount.target
        name = posixpath.normpath(source.value.lstrip("/")) if source is not None else "."
        if name == "." or ctx.build.directory(name) is not None or target is None:
            inputs.block("the RUN bind-mounts a directory of the context")
            continue
        where = resolve_in(ctx.doc, run, target)
        if where is not None:
            found.add(where)
    return frozenset(found)


class _Layer(Record):
    """A dependency-only install before the whole-context copy: the dependency layer."""

    __slots__ = ("requirements", "run")

    def __init__(self, run: Instruction, requirements: frozenset[str]) -> None:
        self.run = run
        self.requirements = requirements  # basenames of the requirements files it installed


def _dependency_only(call: ToolCall) -> frozenset[str] | None:
    """The requirements files (basenames) of an install that brings in only the project's
    dependencies — `pip install -r F` (no local path, no `-e`), `uv pip sync F`,
    `uv sync --no-install-project`, `poetry install --no-root` — else None."""
    if call.tool in ("pip", "uv-pip") and call.subcommand == "install":
        files = call.requirement_files()
        if not files or None in files or call.option_values("-e", "--editable"):
            return None
        if any(word.value is None or _is_local_path(word.value) for word in call.operands()):
            return None
        return frozenset(basename(name) for name in files)
    if call.tool == "uv-pip" and call.subcommand == "sync":
        names = [word.value for word in call.operands()]
        return frozenset(map(basename, names)) if names and None not in names else None
    if call.tool == "uv" and call.subcommand == "sync" and call.has_option(
            "--no-install-project", "--no-install-workspace"):
        return frozenset()
    if call.tool == "poetry" and call.subcommand == "install" and call.has_option("--no-root"):
        return frozenset()
    return None


def _dependency_layer(ctx: Context, copy: Instruction) -> _Layer | None:
    """The last dependency-only install that runs before `copy` (in its stage or the stages
    it is built FROM): its files came from somewhere else than this copy. (A fold: one pass
    over the file, however many copies ask.)"""
    return ctx.doc.fold(_layer_step, None)[copy.index]


def _layer_step(doc: Dockerfile, layer: _Layer | None, item: Instruction) -> _Layer | None:
    if item.keyword != "RUN" or not mentions(item, _INSTALLERS):
        return layer
    for script in readable_scripts(doc, item):
        for command in script.commands:
            call = tool_call(command)
            found = _dependency_only(call) if call is not None else None
            if found is not None:
                layer = _Layer(item, found | (layer.requirements if layer else frozenset()))
    return layer


def _installs_more(ctx: Context, install: _Install, layer: _Layer) -> bool:
    """Whether the install after the copy brings in dependencies the layer did not: a
    requirements file it did not install. The project itself (`pip install -e .`, `uv
    sync`, `poetry install`) and the same files again (already satisfied) are not more."""
    for script in ctx.scripts(install.run):
        for command in script.commands:
            call = tool_call(command)
            if call is None or call.tool not in ("pip", "uv-pip"):
                continue
            files = call.requirement_files() if call.subcommand == "install" else (
                [word.value for word in call.operands()] if call.subcommand == "sync" else [])
            if any(name is None or basename(name) not in layer.requirements for name in files):
                return True
    return False


def _requirement_includes(path: str, text: str, inputs: _Inputs, seen: set[str],
                          build: BuildContext) -> None:
    """Follow `-r`/`-c` lines of a requirements file; block on local paths and `-e`."""
    joined = re.sub(r"\\\r?\n", " ", text)
    for raw in joined.splitlines():
        line = re.sub(r"(^|\s)#.*$", "", raw).strip()
        if not line:
            continue
        parts = line.split()
        option, _, attached = parts[0].partition("=")
        if option in ("-r", "--requirement", "-c", "--constraint"):
            target = attached or (parts[1] if len(parts) > 1 else "")
            _add_requirement_file(posixpath.normpath(posixpath.join(
                posixpath.dirname(path), target)), inputs, seen, build)
        elif option in ("-e", "--editable") or line.startswith((".", "/", "file:")) or (
                "@ file:" in line):
            inputs.block(f"{path} installs a local path (`{line}`)")
        elif option in ("-f", "--find-links") and _is_local_path(
                attached or (parts[1] if len(parts) > 1 else "")):
            inputs.block(f"{path} reads a local wheel directory (`{line}`)")


def _missing(path: str, build: BuildContext) -> str:
    """Why a context file the install needs cannot be copied on its own."""
    full = build.path(path)
    if full is not None and os.path.isfile(full):
        return f"{path} is excluded by .dockerignore"
    return f"{path} is not in the build context ({build.root})"


def _add_requirement_file(path: str, inputs: _Inputs, seen: set[str], build: BuildContext) -> None:
    if path in seen:
        return
    seen.add(path)
    file = build.file(path)
    if file is None:
        inputs.block(_missing(path, build))
        return
    try:
        with open(file, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError):
        inputs.block(f"{path} cannot be read")
        return
    _requirement_includes(path, text, inputs, seen, build)


class CopyBeforeInstall(Codemod):
    id = "copy-before-install"
    summary = "COPY of the whole context before the dependency install: reinstall on every edit"
    applicability = Applicability.UNSAFE
    # an install reads the context only through a pip/uv/poetry command (tool_call) or a `--mount` bind
    needs = (*_INSTALLERS, *spellings("mount"))
    changes_instruction_count = True

    def check(self, ctx: Context) -> Iterator[Finding]:
        for stage in ctx.doc.stages:
            items = stage.instructions
            for index, copy in enumerate(items):
                if not _is_whole_context(copy):
                    continue
                layer = _dependency_layer(ctx, copy)
                between: list[Instruction] = []
                for item in items[index + 1:]:
                    if _is_whole_context(item):
                        break
                    install = _install(ctx, item) if item.keyword == "RUN" and mentions(item, self.needs) else None
                    if install is not None and install.inputs.reads_context and (
                            layer is None or _installs_more(ctx, install, layer)):
                        yield self._finding(ctx, copy, between, install)
                        break
                    between.append(item)

    def _finding(self, ctx: Context, copy: Instruction, between: list[Instruction],
                 install: _Install) -> Finding:
        found = _copies_context(copy)
        assert found is not None
        dest = found[1]
        plan = _Plan(ctx, copy, dest, install)
        message = (f"`{ctx.doc.text[copy.keyword_span.start:copy.keyword_span.end]} . {dest}` "
                   f"precedes the dependency install at line {install.run.start_line}, so "
                   "an edit to any file reruns it")
        if ctx.build.note:
            message += f" ({ctx.build.note})"
        if plan.blocker(between) is not None:
            return self.finding(copy.span, message)
        if not plan.missing:
            return self.finding(copy.span, message, Fix(
                tuple(plan.edits()), Applicability.UNSAFE,
                f"Move the copy after line {install.run.end_line}, whose files are already there"))
        sources = " ".join(plan.missing)
        return self.finding(copy.span, message, Fix(
            tuple(plan.edits()), Applicability.UNSAFE,
            f"Copy {sources} first and the rest after the install"))


class _Plan:
    """Where the install's inputs come from in the context, and the edits that split the copy."""

    def __init__(self, ctx: Context, copy: Instruction, dest: str, install: _Install) -> None:
        self.ctx = ctx
        self.copy = copy
        self.dest = dest
        self.install = install
        self.inputs = install.inputs
        self.context_files: list[str] = []
        self.reason: str | None = self.inputs.blocker
        self._locate()

    def _locate(self) -> None:
        """Map the install's file names to paths in the build context (follow includes)."""
        doc = self.ctx.doc
        target = resolve_in(doc, self.copy, self.dest)
        seen: set[str] = set()
        names = [(name, False) for name in self.inputs.files if name != _POETRY_ROOT]
        names += [(name, True) for name in self.inputs.optional]
        for name, optional in names:
            read = resolve_in(doc, self.install.run, name)
            inner = None if read is None or target is None else relative_to(read, target)
            if inner is None or inner == ".":
                self._block(f"cannot tell where `{name}` comes from in the copy")
                self.context_files.append(posixpath.normpath(name))
                continue
            exists = self.ctx.build.file(inner) is not None
            if inner in self.context_files or (optional and not exists):
                continue
            if posixpath.basename(inner) == "pyproject.toml" or optional:
                if not exists:
                    self._block(_missing(inner, self.ctx.build))
                elif posixpath.basename(inner) == "pyproject.toml":
                    self._check_pyproject(inner)
                self.context_files.append(inner)
                continue
            _add_requirement_file(inner, self.inputs, seen, self.ctx.build)
            self._block_if(self.inputs.blocker)
        self.context_files.extend(sorted(item for item in seen if item not in self.context_files))
        if _POETRY_ROOT in self.inputs.files and not self._package_mode_false():
            self._block("`poetry install` without `--no-root` also installs the project, "
                        "which needs its sources")

    def _block(self, reason: str) -> None:
        self.reason = self.reason or reason

    def _block_if(self, reason: str | None) -> None:
        if reason is not None:
            self._block(reason)

    def _pyproject(self) -> dict | None:
        for name in self.context_files:
            file = self.ctx.build.file(name)
            if file is not None and posixpath.basename(name) == "pyproject.toml":
                if sys.version_info >= (3, 11):  # imported only when a pyproject.toml is read
                    import tomllib
                else:  # pragma: no cover
                    import tomli as tomllib
                try:
                    with open(file, "rb") as handle:
                        return tomllib.load(handle)
                except (OSError, tomllib.TOMLDecodeError):
                    return None
        return None

    def _check_pyproject(self, inner: str) -> None:
        file = self.ctx.build.file(inner)
        if file is None:
            return
        try:
            with open(file, encoding="utf-8") as handle:
                text = handle.read()
        except (OSError, UnicodeDecodeError):
            return
        if re.search(r"^\s*path\s*=|[{,]\s*path\s*=|\[tool\.uv\.workspace\]", text, re.M):
            self._block(f"{inner} names local path dependencies or a workspace")

    def _package_mode_false(self) -> bool:
        data = self._pyproject() or {}
        return data.get("tool", {}).get("poetry", {}).get("package-mode") is False

    def _provided(self) -> set[str]:
        """Paths the install's RUN finds without this copy: its bind mounts, and files an
        earlier `COPY` of named context files put there (before this copy, in the stage or
        the stages it is built FROM)."""
        doc = self.ctx.doc
        found = set(self.install.mounted)
        for item in doc.instructions_before(self.copy):
            copied = _copies_context(item)
            if copied is None or _is_whole_context(item):
                continue
            sources, dest = copied
            where = resolve_in(doc, item, dest)
            if where is None:
                continue
            into_directory = dest.endswith("/") or len(sources) > 1 or where == workdir_at(doc, item)
            for source in sources:
                name = posixpath.normpath(source.lstrip("/"))
                if into_directory:
                    found.add(posixpath.join(where, posixpath.basename(name)))
                else:
                    found.add(where)
        return found

    @property
    def missing(self) -> list[str]:
        """The input files the install's RUN would not find once the copy moves after it."""
        target = resolve_in(self.ctx.doc, self.copy, self.dest)
        provided = self._provided()
        return [name for name in self.context_files
                if target is None or posixpath.normpath(posixpath.join(target, name)) not in provided]

    def blocker(self, between: list[Instruction]) -> str | None:
        if self.reason is not None:
            return self.reason
        if self.install.run.open_continuation:
            return "the file ends inside the install's continuation line"
        if not self.install.others_readable:
            return ("the install's RUN runs other commands, which might need the rest of the "
                    "sources")
        if not self.context_files:
            return "the install's input files are not known"
        missing = self.missing
        if any(not re.match(_SAFE_PATH, name) for name in missing) or (self.dest_text() is None):
            return "a path needs quoting"
        if len({posixpath.dirname(name) for name in missing}) > 1:
            return "the input files are in different directories"
        if self._overwrites_environment():
            return "the context's `.venv` would be copied over the environment the install makes"
        extra = [flag.name for flag in self.copy.flags if flag.name not in _COPY_FLAGS_KEPT]
        if extra:
            return f"the COPY has `--{extra[0]}`, which the narrower COPY cannot simply repeat"
        dynamic = "$" in self.dest or any("$" in (flag.value or "") for flag in self.copy.flags)
        relative = not self.dest.startswith("/")
        for item in between:
            if item.keyword == "RUN":
                found = _install(self.ctx, item)
                if found is None or found.inputs.reads_context or not found.others_readable:
                    return f"the RUN at line {item.start_line} might read the copied files"
            elif item.keyword not in _NEUTRAL:
                return (f"the {item.keyword} at line {item.start_line} would change order "
                        "with the copy")
            elif item.keyword == "WORKDIR" and relative:
                return f"the WORKDIR at line {item.start_line} changes where `{self.dest}` lands"
            elif item.keyword in ("ENV", "ARG") and dynamic:
                return f"the {item.keyword} at line {item.start_line} may change the COPY"
        return None

    # -- the edits ------------------------------------------------------------------
    def _flags_text(self, flags: tuple[Flag, ...]) -> str:
        text = self.ctx.doc.text
        return "".join(text[flag.span.start:flag.span.end] + " " for flag in flags)

    def _overwrites_environment(self) -> bool:
        """Whether the install makes a `.venv` (uv, poetry in-project) that the moved copy
        would overwrite with the context's own `.venv`."""
        makes = any(call.tool in ("uv", "poetry")
                    for script in self.ctx.scripts(self.install.run)
                    for call in map(tool_call, script.commands) if call is not None)
        return makes and self.ctx.build.directory(".venv") is not None

    def _new_copy(self, indent: str, dest: str, files: list[str]) -> str:
        text = self.ctx.doc.text
        keyword = text[self.copy.keyword_span.start:self.copy.keyword_span.end]
        keyword = "COPY" if keyword.isupper() else "copy"
        directory = posixpath.dirname(files[0])
        base = dest.rstrip("/")
        if base == "" and dest.startswith("/"):
            base = ""  # the root directory: `/` + the files' directory
        target = base + "/" + (directory + "/" if directory else "")
        words = [*files, target]
        args = exec_form(words) if self.copy.json_args is not None else " ".join(words)
        return f"{indent}{keyword} {self._flags_text(self.copy.flags)}{args}{self.ctx.doc.newline}"

    def dest_text(self) -> str | None:
        """The destination as the new COPY writes it: as written, or unquoted if needed."""
        if self.copy.json_args is not None:
            return self.dest if re.match(_SAFE_DEST, self.dest) else None
        raw = self.copy.words[-1].raw
        if re.match(_SAFE_DEST, raw):
            return raw
        return self.dest if re.match(_SAFE_PATH, self.dest) else None

    def _block_start(self) -> int:
        """Start of the COPY's line, or of the comment lines directly above it."""
        doc = self.ctx.doc
        own = {comment.line: comment for comment in doc.comments if not comment.inside_instruction}
        start = line_start(doc.text, self.copy.keyword_span.start)
        line = self.copy.start_line - 1
        while line in own:
            start = line_start(doc.text, own[line].span.start)
            line -= 1
        return start

    def edits(self) -> list[Edit]:
        text = self.ctx.doc.text
        keyword_line = line_start(text, self.copy.keyword_span.start)
        indent = text[keyword_line:self.copy.keyword_span.start]
        start = self._block_start()
        end = line_end(text, self.copy.span.end)
        moved = text[start:end]
        after = line_end(text, self.install.run.span.end)
        if after == len(text) and not text.endswith("\n"):
            moved = self.ctx.doc.newline + moved.rstrip("\r\n")
        dest = self.dest_text()
        assert dest is not None
        missing = self.missing
        narrower = self._new_copy(indent, dest, missing) if missing else ""
        return [Edit(start, end, narrower), Edit(after, after, moved)]
