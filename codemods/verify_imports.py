"""Nothing checks at build time that the image can import what it runs.

## What it finds
An image whose `CMD`/`ENTRYPOINT` starts Python (`python app.py`, `python -m uvicorn`,
`uvicorn main:app`, `gunicorn -k uvicorn.workers.UvicornWorker app:app`,
`celery -A proj worker`, `/opt/venv/bin/alembic upgrade head && …`) while no `RUN` in the
final stage, after the last step that can change what that interpreter sees, imports the
packages the application needs. What it needs is read from:

- the requirements files and `pyproject.toml` the Dockerfile installs (`pip install -r X`,
  `uv pip install -r X`, `pip install .`, `uv sync`, `poetry install`, and package names on
  the command line), read from the build context (see `dfmod check --show-files`) with
  distribution names mapped to import names (`PyYAML` → `yaml`, `python-dotenv` → `dotenv`,
  `beautifulsoup4` → `bs4`, otherwise lower case with `-` as `_`); lines whose environment
  marker is false for a Linux image, or cannot be decided, are left out, as are URLs,
  editable installs and build tools (pip, setuptools, wheel…);
- the server that `CMD` starts (uvicorn, gunicorn and its worker class, celery, alembic,
  flask, streamlit, gradio, hypercorn, daphne…);
- the module-level imports of the application module `CMD` names (`main` for
  `uvicorn main:app`, `app.py` for `python app.py`), read with libcst; standard library
  modules and modules the build context sends (present there, not left out by
  `.dockerignore`) are the application's own, not third-party, and are skipped.

A verification that already imports everything (a `RUN python -c "import …"` at or after
that point in the final stage, and `<script> --version` for the console scripts) is read,
so the fix is added once; if it covers only some modules, the missing ones are reported.

## Why it is bad
`/usr/local/bin/python: No module named uvicorn` at container start means the interpreter
that `CMD` runs cannot see the package — not that pip's cache was involved (it cannot be:
pip installs the same files with or without its cache). The real causes are all about
*where* the packages went: `pip install --user` as root followed by `USER app` (the user
site of root is not on the new user's `sys.path`), a virtualenv that is not on `PATH` in
the final stage, site-packages or a venv that a multi-stage build did not copy, a venv
copied to another path (its console scripts keep the old shebang), or metadata deleted by a
cleanup step. The build succeeds in all of these cases; the container fails on start. A
verification step in the builder stage, or before the last `USER` / `COPY --from` / `ENV
PATH`, runs in a different situation and catches none of them.

## Fix
Unsafe (it adds a build step, which fails the build when an import fails — that is its
purpose): append a `RUN` in the final stage, after the last `USER`, `COPY --from`, package
install and `ENV` of `PATH`/`VIRTUAL_ENV`/`PYTHON*`, with the interpreter `CMD` uses
(`/opt/venv/bin/python` when `CMD` runs `/opt/venv/bin/uvicorn`; `python` for a bare
console script found on `PATH`, or `python3` on images that are not Python images), and
`--version` for the console scripts known to support it (uvicorn, gunicorn, celery,
alembic, flask, streamlit). The `RUN` is placed where no flag-less `RUN` with at most two
commands is its neighbour when such a place exists, so hadolint's DL3059 ("multiple
consecutive RUN instructions") stays quiet; otherwise it goes right after that last step
and DL3059 may note it. Options: `modules` and `scripts` (extra names to verify), and
`read-app = false` to skip reading the application's imports. When the interpreter or a
script path contains characters that would need quoting, the finding has no fix.

## Example
```dockerfile
# before
FROM python:3.12-slim
COPY requirements.txt .
RUN --mount=type=cache,target=/root/.cache/pip pip install -r requirements.txt
USER app
CMD ["uvicorn", "main:app", "--host", "0.0.0.0"]
# after
FROM python:3.12-slim
COPY requirements.txt .
RUN --mount=type=cache,target=/root/.cache/pip pip install -r requirements.txt
USER app
RUN python -c "import fastapi, uvicorn" && uvicorn --version
CMD ["uvicorn", "main:app", "--host", "0.0.0.0"]
```
"""

from __future__ import annotations

import ast
import json
import os
import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from dfmod.linting.buildcontext import context_sources
from dfmod.linting.codemod import Codemod, Context
from dfmod.linting.edits import Applicability, Finding, Fix, insert_after
from dfmod.semantic.pydeps import (
    import_names,
    is_stdlib,
    parse_requirement,
    read_pyproject,
    read_requirements,
    top_level_imports,
    verification_module,
)
from dfmod.semantic.runtime import PYTHON, Runtime, runtime
from dfmod.semantic.tools import ToolCall, basename, tool_call
from dfmod.syntax.dockerfile import Dockerfile, Instruction, Stage, env_pairs, stage_shell
from dfmod.syntax.shell import is_posix_shell

_SAFE_WORD = re.compile(r"^[A-Za-z0-9_./+-]+$")
_MODULE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_INTERPRETER_ENV = {"PATH", "VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTHONUSERBASE",
                    "PYTHONNOUSERSITE"}
_WINDOWS = ("windows", "nanoserver", "servercore")
_LAST_GAPS = {"CMD", "ENTRYPOINT", "HEALTHCHECK", "ONBUILD", "STOPSIGNAL"}
_PIP_VALUE_OPTIONS = {
    "-i", "--index-url", "--extra-index-url", "-f", "--find-links", "-t", "--target",
    "--prefix", "--root", "--python", "-p", "--platform", "--python-version",
    "--implementation", "--abi", "--only-binary", "--no-binary", "--trusted-host",
    "--progress-bar", "--src", "--upgrade-strategy", "--cache-dir", "--log", "--report",
    "--config-settings", "-C", "--global-option", "--index-strategy", "--keyring-provider",
}


@dataclass
class _Wanted:
    """Modules and scripts to verify, each with the reason it is needed."""

    modules: dict[str, str] = field(default_factory=dict)
    scripts: dict[str, str] = field(default_factory=dict)

    def module(self, name: str, reason: str) -> None:
        if _MODULE.match(name) and not is_stdlib(name):
            self.modules.setdefault(verification_module(name), reason)


class VerifyImports(Codemod):
    id = "verify-imports"
    summary = ("Nothing verifies at build time that the interpreter CMD runs can import the "
               "application's packages")
    applicability = Applicability.UNSAFE
    changes_instruction_count = True
    default_options: ClassVar[dict[str, Any]] = {"modules": [], "scripts": [],
                                                  "read-app": True}

    def check(self, ctx: Context) -> Iterator[Finding]:
        doc = ctx.doc
        final = doc.final_stage
        if final is None:
            return
        found = runtime(doc, final)
        if found is None:
            return
        sources = _contributing_stages(doc, final)
        copies = _context_copies(sources)
        version = _python_version(doc, final)
        wanted = _Wanted()
        self._from_installs(ctx, sources, copies, version, wanted)
        self._from_runtime(ctx, found, copies, wanted)
        for name in self.options.get("modules") or []:
            wanted.module(str(name), "listed in the options")
        for name in self.options.get("scripts") or []:
            wanted.scripts.setdefault(str(name), "listed in the options")
        if not wanted.modules and not wanted.scripts:
            return
        anchor = _anchor(ctx, final)
        covered_modules, covered_scripts = _covered(ctx, final, anchor)
        missing = sorted((name for name in wanted.modules if name not in covered_modules),
                         key=lambda name: (name.lower(), name))
        scripts = [name for name in wanted.scripts if basename(name) not in covered_scripts]
        if not missing and not scripts:
            return
        interpreter = _interpreter(doc, final, found)
        yield self._finding(ctx, final, anchor, found, interpreter, missing, scripts, wanted)

    # -- what to verify --------------------------------------------------------------
    def _from_installs(self, ctx: Context, stages: list[Stage], copies: list[str],
                       version: str | None, wanted: _Wanted) -> None:
        for stage in stages:
            for instruction in stage.instructions:
                for script in ctx.scripts(instruction):
                    for command in script.commands:
                        call = tool_call(command)
                        if call is None or not call.is_install:
                            continue
                        for requirement, reason in _installed(ctx, call, copies, version):
                            for module in import_names(requirement):
                                wanted.module(module, reason)

    def _from_runtime(self, ctx: Context, found: Runtime, copies: list[str],
                      wanted: _Wanted) -> None:
        roots = _search_roots(ctx, copies)
        where = f"{found.instruction.keyword} at line {found.instruction.start_line}"
        for command in found.commands:
            app_modules = list(command.app_modules)
            for module in command.modules:
                if _local(ctx, roots, module):
                    app_modules.append(module)
                else:
                    wanted.module(module, f"run by {where}")
            if command.script and command.server and command.server.version_flag:
                wanted.scripts.setdefault(command.script, f"run by {where}")
            if not self.options.get("read-app", True):
                continue
            files = [_find_file(ctx, roots, path) for path in command.app_files]
            files += [_module_file(ctx, roots, module) for module in app_modules]
            for path in files:
                if path is None:
                    continue
                imports = _read_imports(path)
                for module in imports:
                    if not _local(ctx, roots, module):
                        wanted.module(module, f"imported by {os.path.basename(path)}")

    # -- the finding -----------------------------------------------------------------
    def _finding(self, ctx: Context, final: Stage, anchor: int, found: Runtime,
                 interpreter: str, missing: list[str], scripts: list[str],
                 wanted: _Wanted) -> Finding:
        doc = ctx.doc
        subject = []
        if missing:
            subject.append(f"imports {', '.join(missing)} with `{interpreter}`")
        if scripts:
            subject.append("runs " + ", ".join(f"`{name} --version`" for name in scripts))
        reasons: dict[str, list[str]] = {}
        for name in missing:
            reasons.setdefault(wanted.modules[name], []).append(name)
        for name in scripts:
            reasons.setdefault(wanted.scripts[name], []).append(basename(name))
        why = "; ".join(f"{', '.join(names)}: {reason}" for reason, names in reasons.items())
        message = (
            "nothing in the final stage (after its last install, `USER` or `COPY --from`) "
            f"{' and '.join(subject)} as {found.instruction.keyword} at line "
            f"{found.instruction.start_line} will ({why}): if a package went to another "
            "interpreter, user or stage (`pip install --user` before `USER`, a venv not on "
            "PATH or not copied), the build passes and the container fails at start with "
            "`No module named …`")
        if ctx.build.note:
            message += f" ({ctx.build.note})"
        base = doc.lineage(final)[0].base.lower()
        if any(name in base for name in _WINDOWS):
            return self.finding(found.instruction.keyword_span, message)
        if not all(_SAFE_WORD.match(word) for word in [interpreter, *scripts]):
            return self.finding(found.instruction.keyword_span, message)
        if _has_no_shell(base):
            # No /bin/sh to run a shell-form RUN: an exec-form RUN can still import.
            if not missing:
                return self.finding(found.instruction.keyword_span, message)
            after = _placement(ctx, final, anchor, 1)
            line = "RUN " + json.dumps([interpreter, "-c", f"import {', '.join(missing)}"])
        else:
            parts = []
            if missing:
                parts.append(f'{interpreter} -c "import {", ".join(missing)}"')
            parts.extend(f"{name} --version" for name in scripts)
            after = _placement(ctx, final, anchor, len(parts))
            if not is_posix_shell(_shell_at(doc, after)):
                return self.finding(found.instruction.keyword_span, message)
            line = "RUN " + " && ".join(parts)
        edit = insert_after(doc, after, line)
        if edit is None:
            return self.finding(found.instruction.keyword_span, message)
        return self.finding(found.instruction.keyword_span, message, Fix(
            (edit,), Applicability.UNSAFE,
            f"Add `{line}` after line {after.end_line}"))


def _has_no_shell(base: str) -> bool:
    """Images without `/bin/sh`: scratch, distroless, Chainguard's non-`-dev` images."""
    if base == "scratch" or "distroless" in base:
        return True
    return base.startswith("cgr.dev/chainguard/") and "-dev" not in base


# -- stages, files and the build context ----------------------------------------------

def _contributing_stages(doc: Dockerfile, final: Stage) -> list[Stage]:
    """Stages whose files can end up in the final image: its lineage and, transitively,
    the stages it copies from (`COPY --from=builder`)."""
    result: list[Stage] = []
    pending = [final]
    while pending:
        stage = pending.pop()
        for item in doc.lineage(stage):
            if item in result:
                continue
            result.append(item)
            for instruction in item.instructions:
                source = instruction.flag("from")
                if instruction.keyword in ("COPY", "ADD") and source and source.value:
                    other = doc.stage_named(source.value)
                    if other is not None and other.index < item.index:
                        pending.append(other)
    return sorted(result, key=lambda stage: stage.index)


def _context_copies(stages: list[Stage]) -> list[str]:
    """Build-context paths that `COPY`/`ADD` (without `--from`) put in those stages."""
    return [posixpath.normpath(source.lstrip("/")) for stage in stages
            for instruction in stage.instructions for source in context_sources(instruction)]


def _context_file(ctx: Context, copies: list[str], path: str) -> str | None:
    """The build-context file behind a path used in a RUN (`-r /app/requirements.txt`)."""
    name = posixpath.basename(path.rstrip("/"))
    candidates = [source for source in copies if posixpath.basename(source) == name]
    candidates += [posixpath.join(source, name) for source in copies]
    candidates += [posixpath.normpath(path.lstrip("/")), name]
    for candidate in candidates:
        full = ctx.build.file(candidate) if candidate else None
        if full is not None:
            return full
    return None


def _search_roots(ctx: Context, copies: list[str]) -> list[str]:
    """Context-relative directories the app's modules may sit in: the root, and each
    directory a `COPY` brings in (`COPY src/ /app/`)."""
    return ["."] + [source for source in copies
                    if source != "." and ctx.build.directory(source) is not None]


def _local(ctx: Context, roots: list[str], module: str) -> bool:
    """Whether a module's top-level package is part of what the build context sends (the
    app's own): present there and not excluded by `.dockerignore`."""
    top = module.split(".", 1)[0]
    return any(ctx.build.file(posixpath.join(root, top + ".py"))
               or ctx.build.directory(posixpath.join(root, top)) for root in roots)


def _find_file(ctx: Context, roots: list[str], path: str) -> str | None:
    for root in roots:
        for candidate in (path.lstrip("/"), posixpath.basename(path)):
            full = ctx.build.file(posixpath.join(root, candidate))
            if full is not None:
                return full
    return None


def _module_file(ctx: Context, roots: list[str], module: str) -> str | None:
    relative = module.replace(".", "/")
    for root in roots:
        for candidate in (relative + ".py", relative + "/__init__.py", relative + "/__main__.py"):
            full = ctx.build.file(posixpath.join(root, candidate))
            if full is not None:
                return full
    return None


def _read_imports(path: str) -> list[str]:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            source = handle.read()
    except OSError:
        return []
    return top_level_imports(source) or []


def _python_version(doc: Dockerfile, final: Stage) -> str | None:
    """`3.11` from a `python:3.11-slim` base (through `FROM <stage>` lineage)."""
    base = doc.lineage(final)[0].base
    match = re.match(r"^(?:[^\s]*/)?python:(\d+)\.(\d+)", base)
    return f"{match.group(1)}.{match.group(2)}" if match else None


def _installed(ctx: Context, call: ToolCall, copies: list[str],
               version: str | None) -> Iterator[tuple[str, str]]:
    """(distribution, reason) for everything an install command brings in."""
    if call.tool in ("uv", "poetry") and call.subcommand in ("sync", "install"):
        path = _context_file(ctx, copies, "pyproject.toml")
        if path is not None:
            for item in read_pyproject(path, version):
                yield item.name, f"a dependency in {_shown(ctx, item.source)}"
        return
    args = [word.value for word in call.args]
    no_deps = "--no-deps" in args
    index = 0
    while index < len(args):
        value = args[index]
        index += 1
        if value is None:
            continue
        following = args[index] if index < len(args) else None
        if value in ("-r", "--requirement", "-e", "--editable") or value.startswith(
                ("--requirement=", "--editable=")) or (
                value.startswith(("-r", "-e")) and not value.startswith("--")
                and len(value) > 2):
            if value in ("-r", "--requirement", "-e", "--editable"):
                target = following
                index += 1
            elif value.startswith("--"):
                target = value.split("=", 1)[1]
            else:
                target = value[2:]
            if target is None:
                continue
            if value.startswith(("-e", "--editable")):
                if not no_deps:
                    yield from _project(ctx, copies, target, version)
                continue
            path = _context_file(ctx, copies, target)
            if path is None:
                continue
            reader = read_pyproject if path.endswith(".toml") else read_requirements
            for item in reader(path, version):
                yield item.name, f"a requirement in {_shown(ctx, item.source)}"
            continue
        if value in _PIP_VALUE_OPTIONS or value in ("-c", "--constraint"):
            index += 1
            continue
        if value.startswith("-"):
            continue
        if value.startswith((".", "/")) and "://" not in value:
            if not no_deps:
                yield from _project(ctx, copies, value, version)
            continue
        name = parse_requirement(value, version)
        if name is not None:
            yield name, f"installed by the RUN at line {_line_of(ctx, call)}"


def _project(ctx: Context, copies: list[str], target: str,
             version: str | None) -> Iterator[tuple[str, str]]:
    if "://" in target or target.startswith("git+"):
        return
    path = _context_file(ctx, copies, posixpath.join(target, "pyproject.toml"))
    if path is not None:
        for item in read_pyproject(path, version):
            yield item.name, f"a dependency in {_shown(ctx, item.source)}"


def _shown(ctx: Context, path: str) -> str:
    return ctx.build.shown(path)


def _line_of(ctx: Context, call: ToolCall) -> int:
    return ctx.doc.position(call.command.span.start)[0]


# -- where the verification goes ------------------------------------------------------

def _anchor(ctx: Context, final: Stage) -> int:
    """Index (in the final stage) of the last step that changes what the interpreter sees:
    `USER`, `COPY --from`, a package install, or `ENV` of PATH/VIRTUAL_ENV/PYTHON*."""
    anchor = 0
    for position, instruction in enumerate(final.instructions):
        if _changes_interpreter(ctx, instruction):
            anchor = position
    return anchor


def _changes_interpreter(ctx: Context, instruction: Instruction) -> bool:
    keyword = instruction.keyword
    if keyword == "USER" or (keyword in ("COPY", "ADD") and instruction.flag("from")):
        return True
    if keyword == "ENV":
        return any(pair.name in _INTERPRETER_ENV for pair in env_pairs(instruction))
    for script in ctx.scripts(instruction):
        for command in script.commands:
            call = tool_call(command)
            if call is not None and call.is_install:
                return True
    return False


def _covered(ctx: Context, final: Stage, anchor: int) -> tuple[set[str], set[str]]:
    """Modules imported by `python -c` and scripts run with `--version` in RUNs at or after
    the anchor of the final stage."""
    modules: set[str] = set()
    scripts: set[str] = set()
    for instruction in final.instructions[anchor:]:
        for argv in _run_argvs(ctx, instruction):
            if not argv or argv[0] is None:
                continue
            name = basename(argv[0])
            if PYTHON.match(name):
                for index, value in enumerate(argv[:-1]):
                    code = argv[index + 1]
                    if value == "-c" and code is not None:
                        modules |= _imported_by(code)
            elif any(value in ("--version", "-V") for value in argv[1:]):
                scripts.add(name)
    return modules, scripts


def _run_argvs(ctx: Context, instruction: Instruction) -> list[list[str | None]]:
    """The simple commands of a RUN: its exec form, or each command of its shell."""
    if instruction.keyword != "RUN":
        return []
    if instruction.json_args is not None:
        return [list(instruction.json_args)]
    return [command.argv for script in ctx.scripts(instruction)
            for command in script.commands]


def _imported_by(code: str) -> set[str]:
    """Every module (and parent package) a `python -c` program imports."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set()
    names: set[str] = set()
    for node in ast.walk(tree):
        found: list[str] = []
        if isinstance(node, ast.Import):
            found = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found = [node.module]
        for name in found:
            parts = name.split(".")
            names.update(".".join(parts[:end]) for end in range(1, len(parts) + 1))
    return names


def _interpreter(doc: Dockerfile, final: Stage, found: Runtime) -> str:
    """The interpreter CMD runs: as spelled, or next to its console script, or the one on
    PATH (`python` on Python images and with a venv, `python3` elsewhere)."""
    for command in reversed(found.commands):
        if command.interpreter:
            return command.interpreter
    return _bare_python(doc, final)


def _bare_python(doc: Dockerfile, final: Stage) -> str:
    stages = doc.lineage(final)
    if _has_no_shell(stages[0].base.lower()):
        return "python3"  # distroless/python3 has /usr/bin/python3
    if "python" in stages[0].base.lower():
        return "python"  # python:*, and images that name their Python in the tag
    for stage in stages:
        for instruction in stage.instructions:
            if instruction.keyword == "ENV":
                for pair in env_pairs(instruction):
                    if pair.name == "VIRTUAL_ENV" or (pair.name == "PATH" and "venv" in pair.value):
                        return "python"
    return "python3"  # Debian/Ubuntu/Alpine packages install `python3`, not `python`


def _shell_at(doc: Dockerfile, after: Instruction) -> list[str] | None:
    """The `SHELL` in force just after `after` (None: the default `/bin/sh -c`)."""
    shell: list[str] | None = stage_shell(doc, after)
    if after.keyword == "SHELL":
        shell = after.json_args
    return shell


def _run_count(ctx: Context, instruction: Instruction) -> int:
    scripts = ctx.scripts(instruction)
    return sum(len(script.commands) for script in scripts) if scripts else 1


def _placement(ctx: Context, final: Stage, anchor: int, count: int) -> Instruction:
    """The instruction after which the verification goes: the first place at or after the
    anchor where hadolint's DL3059 stays quiet (no neighbouring flag-less RUN with at most
    two commands), not after CMD/ENTRYPOINT/HEALTHCHECK; else right after the anchor."""
    items = final.instructions

    def clashes(item: Instruction | None) -> bool:
        return (item is not None and item.keyword == "RUN" and not item.flags
                and count <= 2 and _run_count(ctx, item) <= 2)

    for position in range(anchor, len(items)):
        item = items[position]
        if position > anchor and item.keyword in _LAST_GAPS:
            break
        following = items[position + 1] if position + 1 < len(items) else None
        if not clashes(item) and not clashes(following):
            return item
    return items[anchor]
