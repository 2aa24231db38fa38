"""Nothing checks at build time that the image can import what it runs — where it can miss.

## What it finds
An image whose `CMD`/`ENTRYPOINT` starts Python (`python app.py`, `python -m uvicorn`,
`uvicorn main:app`, `gunicorn -k uvicorn.workers.UvicornWorker app:app`,
`celery -A proj worker`, `uv run uvicorn …`, `poetry run python …`, `sh -c "gunicorn
--bind :${PORT} app:app"`) **and** a way, visible in the Dockerfile, for the installed
packages to miss the interpreter it runs:
- packages (a venv, site-packages, a `--prefix` tree, a user base) copied from another stage;
- `pip install --user` as one user and `CMD` as another;
- an install into a `--target`/`--prefix` directory;
- an install whose failure is masked (`pip install x || true`);
- a cleanup that deletes files of installed packages;
- a venv that is not on `PATH` for a `CMD` that runs a bare `python` or script.

Three ways are certain misses, and the message says so ("`python` cannot import …"):
- a venv copied onto an image whose Python lives elsewhere — built on a `python` image
  (its `bin/python` links to /usr/local/bin) and run on Debian, Ubuntu, Alpine or
  distroless (Python in /usr/bin, or none), or built on Debian/Ubuntu and run on a slim or
  Alpine `python` image: the link dangles, so the venv's own path cannot start and a bare
  `python3` falls through to a system interpreter without the packages; or copied onto
  another Python version of the same image family (`python:3.12` → `python:3.11-slim`),
  which reads `lib/python3.11/site-packages`. Only venvs made by the image's own
  interpreter count (not `uv python install`, `--python`, or `UV_PYTHON*`), and not when
  the final stage copies, builds or installs a Python into that directory;
- a user base (`pip install --user`: `/root/.local`) copied where CMD's user does not read
  it — another user's home, or anywhere but that user's `PYTHONUSERBASE` (else
  `$HOME/.local`, the home from `useradd -d`), unless it lands on `/usr/local`, `/usr`, `/`
  or `PYTHONPATH`;
- `uv pip install --system` while a venv is first on `PATH` and is the environment CMD
  runs, and nothing installs into that venv: uv skips virtual environments with
  `--system` (its documentation: "uv will ignore any interpreters that are in virtual
  environments") and installs into the system Python, so the venv stays empty.

A plain install into the image `CMD` runs is not reported: the install itself proved what a
check would. The stage judged is the one a compose file's `build.target` names, else the
last. Nothing in the final stage, after the last step that can change what that
interpreter sees, verifies the packages the application needs. What it needs is read from:

- the requirements files and `pyproject.toml` the Dockerfile installs (`pip install -r X`,
  `uv pip install -r X`, `pip install .`, `uv sync`, `poetry install`, and package names on
  the command line), read from the build context; lines whose environment marker is false
  for a Linux image, or cannot be decided, are left out, as are URLs, editable installs,
  build and test tools (pip, setuptools, pytest, ruff…), installs that run only under a
  condition (`if`, `case`, `[ "$DEV" = 1 ] && …`, a build argument), and installs into a
  `--target` directory that is not on `PYTHONPATH`. A distribution is checked by importing
  its module only where the import name is known for sure — from the wheel's own metadata
  (a `--find-links` directory in the build context) or a table of checked names; otherwise
  the distribution itself is looked up with `importlib.metadata` (`msgpack-python` is
  imported as `msgpack`, `llama-cpp-python` as `llama_cpp`: a guessed name would fail a
  build that is fine). When the Dockerfile deletes `*.dist-info`, no lookup is made;
- the server that `CMD` starts (uvicorn, gunicorn and its worker class, celery, alembic,
  flask, streamlit, gradio, hypercorn, daphne…);
- the module-level imports of the application module `CMD` names (`main` for
  `uvicorn main:app`, `app.py` for `python app.py`), read with libcst; standard library
  modules and modules present in the build context (the app's own) are skipped, and an app
  module that extends `sys.path` itself is not read.

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
purpose): append a `RUN` in the final stage, after the last `USER`, `COPY`/`ADD`, package
install or cleanup and `ENV` of `PATH`/`VIRTUAL_ENV`/`PYTHON*`, with the interpreter `CMD`
uses behind the launcher it uses (`uv run python`)
(`/opt/venv/bin/python` when `CMD` runs `/opt/venv/bin/uvicorn`; `python` for a bare
console script found on `PATH`, or `python3` on images that are not Python images), and
`--version` for the console scripts known to support it (uvicorn, gunicorn, celery,
alembic, flask, streamlit). The `RUN` is placed where no flag-less `RUN` with at most two
commands is its neighbour when such a place exists, so hadolint's DL3059 ("multiple
consecutive RUN instructions") stays quiet; otherwise it goes right after that last step
and DL3059 may note it. Options: `modules` and `scripts` (extra names to verify), and
`read-app = false` to skip reading the application's imports. When the interpreter or a
script path contains characters that would need quoting, the finding has no fix.

## Proof
Built with BuildKit by `tests/builds/test_rules.py`:
`test_verify_imports_user_install_before_user_fails_at_start` (the image builds and the
container fails at start before the fix; with the fix the build fails at the added check)
and `test_verify_imports_virtualenv_not_on_path_fails_at_start` (the same for a venv made by
`virtualenv` that is not on `PATH`).
Not built: the placement lint DL3059 (hadolint). `dfmod verify` probe: the check the fix
adds, run in both images.

## Example
```dockerfile
# before
FROM python:3.12-slim
COPY requirements.txt .
RUN --mount=type=cache,target=/root/.cache/pip pip install --user -r requirements.txt
USER app
CMD ["uvicorn", "main:app", "--host", "0.0.0.0"]
# after
FROM python:3.12-slim
COPY requirements.txt .
RUN --mount=type=cache,target=/root/.cache/pip pip install --user -r requirements.txt
USER app
RUN python -c "import fastapi, uvicorn" && uvicorn --version
CMD ["uvicorn", "main:app", "--host", "0.0.0.0"]
```
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Iterator, Mapping

from dfmod.linting.buildcontext import context_sources
from dfmod.linting.codemod import Codemod, Context
from dfmod.linting.edits import Applicability, Finding, Fix, insert_after
from dfmod.linting.needs import keyword_cases
from dfmod.semantic.environments import (
    SYSTEM,
    install_environment,
    interpreter_environment,
    program_environment,
)
from dfmod.semantic.interpreters import image_python, lacks, read_user_bases, user_bases, venv_python
from dfmod.semantic.runtime import Runtime, launcher_words, runtime
from dfmod.semantic.state import account, known_env, resolve_in, resolve_path, user_before
from dfmod.semantic.tools import PIP_VALUE_OPTIONS, ToolCall, basename, is_python, is_test, tool_call
from dfmod.semantic.venvs import find_venvs, is_inside, relocate
from dfmod.syntax.dockerfile import Dockerfile, Instruction, Stage, env_pairs, exec_form, stage_shell
from dfmod.syntax.records import Record
from dfmod.syntax.shell import Chain, Command, ShellScript, is_posix_shell

TYPE_CHECKING = False  # not typing's: importing typing costs ~7 ms (tests/test_startup.py)
if TYPE_CHECKING:
    from typing import Any, ClassVar

# Patterns are strings, compiled on first use (`re` caches them), not at start-up.
_SAFE_WORD = r"^[A-Za-z0-9_./+-]+$"
_MODULE = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$"
_INTERPRETER_ENV = {"PATH", "VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTHONUSERBASE",
                    "PYTHONNOUSERSITE"}
_WINDOWS = ("windows", "nanoserver", "servercore")
_LAST_GAPS = {"CMD", "ENTRYPOINT", "HEALTHCHECK", "ONBUILD", "STOPSIGNAL"}
_PACKAGE_DIRS = ("site-packages", "dist-packages")
_SKIPPED_CLEANUP = ("__pycache__", "*.pyc", "*.pyo")
# Shell compounds whose commands run only when a condition says so.
_CONDITIONAL_KINDS = {"if_statement", "case_statement", "while_statement", "for_statement",
                      "c_style_for_statement", "function_definition"}


class _Wanted:
    """What to verify, each with the reason it is needed: modules to import (their names
    known for sure), distributions whose import name is not known (checked installed with
    `importlib.metadata`), and console scripts to run with `--version`."""

    __slots__ = ("distributions", "modules", "scripts")

    def __init__(self, modules: dict[str, str] | None = None,
                 distributions: dict[str, str] | None = None,
                 scripts: dict[str, str] | None = None) -> None:
        self.modules = {} if modules is None else modules
        self.distributions = {} if distributions is None else distributions
        self.scripts = {} if scripts is None else scripts

    def module(self, name: str, reason: str) -> None:
        # pydeps is imported where an install or an app module is read: a file whose CMD
        # is not exposed to a miss (most files) needs none of it, and it costs start-up.
        from dfmod.semantic.pydeps import is_stdlib, verification_module

        if re.match(_MODULE, name) and not is_stdlib(name):
            self.modules.setdefault(verification_module(name), reason)

    def distribution(self, name: str, reason: str, known: dict[str, tuple[str, ...]]) -> None:
        """A distribution an install brings in: its modules where they are known (a wheel's
        own metadata first, then `IMPORT_NAMES`), else the distribution itself."""
        from dfmod.semantic.pydeps import import_names, normalize_name

        modules = known.get(normalize_name(name))
        if modules is None:
            modules = import_names(name)
        if modules is None:
            if re.fullmatch(r"[A-Za-z0-9._-]+", name):
                self.distributions.setdefault(normalize_name(name), reason)
            return
        for module in modules:
            self.module(module, reason)


class VerifyImports(Codemod):
    id = "verify-imports"
    summary = ("Nothing verifies at build time that the interpreter CMD runs can import the "
               "application's packages")
    applicability = Applicability.UNSAFE
    # runtime() needs a CMD or ENTRYPOINT (any case; "YPO" is part of ENTRYPOINT) in the lineage
    needs = keyword_cases("CMD", "YPO")
    # ... and a way for the packages to miss it (every finding has one, `_exposure`/`_missed`):
    # a `COPY --from`, a `--user`/`PIP_USER` install, a `-t`/`--target`/`--prefix` one, a `||`,
    # a deletion in site-packages, or a venv (`python -m venv`, `virtualenv` (which does not
    # hold "venv"), `uv venv`, `uv sync`, poetry, `ENV VIRTUAL_ENV`; `find_venvs`). A file
    # with none is a plain install.
    also_needs = ("from", "--user", "PIP_USER", "-t", "--prefix", "||", "site-packages",
                  "dist-packages", "venv", "virtualenv", "sync", "poetry", "VIRTUAL_ENV")
    changes_instruction_count = True
    default_options: ClassVar[dict[str, Any]] = {"modules": [], "scripts": [],
                                                  "read-app": True}

    def check(self, ctx: Context) -> Iterator[Finding]:
        doc = ctx.doc
        final = _deployable(ctx)
        if final is None:
            return
        found = runtime(doc, final)
        if found is None:
            return
        sources = _contributing_stages(doc, final)
        runs_in = interpreter_environment(doc, found.instruction, _interpreter(doc, final, found),
                                          next((c.launcher for c in found.commands if c.launcher), ()))
        miss = _missed(ctx, final, found, runs_in)
        exposure = miss.cause if miss is not None else _exposure(ctx, final, sources, found)
        if exposure is None:
            return  # a plain install in the image CMD runs: nothing a check would catch
        copies = _context_copies(sources)
        version = _python_version(doc, final)
        wanted = _Wanted()
        self._from_installs(ctx, final, sources, copies, version, wanted, runs_in,
                            miss.counted if miss is not None else frozenset())
        self._from_runtime(ctx, found, copies, wanted)
        for name in self.options.get("modules") or []:
            wanted.module(str(name), "listed in the options")
        for name in self.options.get("scripts") or []:
            wanted.scripts.setdefault(str(name), "listed in the options")
        if _deletes_metadata(ctx, sources):
            wanted.distributions.clear()  # without metadata, a distribution check would fail
        if not wanted.modules and not wanted.scripts and not wanted.distributions:
            return
        anchor = _anchor(ctx, final)
        covered_modules, covered_scripts, covered_distributions = _covered(ctx, final, anchor)
        missing = sorted((name for name in wanted.modules if name not in covered_modules),
                         key=lambda name: (name.lower(), name))
        distributions = sorted(name for name in wanted.distributions
                               if name not in covered_distributions)
        scripts = [name for name in wanted.scripts if basename(name) not in covered_scripts]
        if not missing and not scripts and not distributions:
            return
        interpreter = _interpreter(doc, final, found)
        yield self._finding(ctx, final, anchor, found, interpreter, missing, distributions,
                            scripts, exposure, miss is not None)

    # -- what to verify --------------------------------------------------------------
    def _from_installs(self, ctx: Context, final: Stage, stages: list[Stage], copies: list[str],
                       version: str | None, wanted: _Wanted, runs_in: str | None,
                       counted: frozenset[str] = frozenset()) -> None:
        """The distributions the installs bring in — except those installed only under a
        condition (`if`, `case`, `[ "$DEV" = 1 ] && …`, a build argument), into another
        environment than the one CMD's interpreter runs in (or one dfmod cannot tell), into a
        `--target`/`--prefix` directory the interpreter does not search, and test tools."""
        from dfmod.semantic.pydeps import is_tooling

        # The same install line is read once: thousands of `pip install -r requirements.txt`
        # would otherwise look for and parse the file thousands of times.
        installed: dict[tuple[str | None, ...], list[tuple[str, str]]] = {}
        env = known_env(ctx.doc, final.instructions[-1])
        for stage in stages:
            for instruction in stage.instructions:
                for script in ctx.scripts(instruction):
                    conditional = _conditional_commands(script)
                    for command in script.commands:
                        call = tool_call(command)
                        if call is None or not call.is_install or id(command) in conditional:
                            continue
                        where = install_environment(ctx.doc, instruction, call)
                        if runs_in is None or (where != runs_in and where not in counted):
                            continue
                        if not _searched(ctx, call, final, env):
                            continue
                        key = (call.tool, call.subcommand, *(word.value for word in call.args))
                        if key not in installed:
                            installed[key] = list(_installed(ctx, call, copies, version))
                        known = _wheel_names(ctx, call, copies)
                        for requirement, reason in installed[key]:
                            if not is_tooling(requirement):
                                wanted.distribution(requirement, reason, known)

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
                 interpreter: str, missing: list[str], distributions: list[str],
                 scripts: list[str], exposure: str, definite: bool = False) -> Finding:
        from dfmod.linting.wording import fitted, join_names  # a finding's: a clean file needs none

        doc = ctx.doc
        names = [*missing, *distributions, *(basename(name) for name in scripts)]
        note = f" ({ctx.build.note})" if ctx.build.note else ""
        if definite:
            message = fitted(lambda limit: f"{exposure}: `{interpreter}` cannot import "
                             f"{join_names(names, limit)}{note}")
        else:
            message = fitted(lambda limit: f"{exposure}, and no RUN checks that `{interpreter}` "
                             f"imports {join_names(names, limit)}: a miss fails at run time{note}")
        base = doc.lineage(final)[0].base.lower()
        keyword_span = found.instruction.keyword_span
        if any(name in base for name in _WINDOWS):
            return self.finding(keyword_span, message)
        launcher = next((command.launcher for command in found.commands if command.launcher), ())
        program = [*launcher, interpreter[len(" ".join(launcher)):].strip()] if launcher else [interpreter]
        if not all(re.match(_SAFE_WORD, word) for word in [*program, *scripts]):
            return self.finding(keyword_span, message)
        code = _verification_code(missing, distributions)
        if _has_no_shell(base):
            # No /bin/sh to run a shell-form RUN: an exec-form RUN can still import.
            if not code:
                return self.finding(keyword_span, message)
            after = _placement(ctx, final, anchor, 1)
            line = "RUN " + exec_form([*program, "-c", code])
        else:
            parts = [f'{interpreter} -c "{code}"'] if code else []
            parts.extend(" ".join([*launcher, name, "--version"]) for name in scripts)
            after = _placement(ctx, final, anchor, len(parts))
            if not is_posix_shell(_shell_at(doc, after)):
                return self.finding(keyword_span, message)
            line = "RUN " + " && ".join(parts)
        edit = insert_after(doc, after, line)
        if edit is None:
            return self.finding(keyword_span, message)
        return self.finding(keyword_span, message, Fix(
            (edit,), Applicability.UNSAFE, f"Check the imports in a RUN after line {after.end_line}"))


def _verification_code(modules: list[str], distributions: list[str]) -> str:
    """`import a, b` for the modules, and an `importlib.metadata` lookup for each
    distribution whose import name is not known (it raises PackageNotFoundError)."""
    parts = [f"import {', '.join(modules)}"] if modules else []
    if distributions:
        parts.append("from importlib.metadata import distribution as d")
        parts.append("; ".join(f"d('{name}')" for name in distributions))
    return "; ".join(parts)


def _has_no_shell(base: str) -> bool:
    """Images without `/bin/sh`: scratch, distroless, Chainguard's non-`-dev` images."""
    if base == "scratch" or "distroless" in base:
        return True
    return base.startswith("cgr.dev/chainguard/") and "-dev" not in base


# -- when a check can catch something -------------------------------------------------

def _deployable(ctx: Context) -> Stage | None:
    """The stage that is shipped: the one a compose file's `build.target` names, else the
    last."""
    doc = ctx.doc
    named = ctx.build.stage
    return (doc.stage_named(named) if named else None) or doc.final_stage


def _exposure(ctx: Context, final: Stage, sources: list[Stage], found: Runtime) -> str | None:
    """How the installed packages can miss the interpreter CMD runs, as this Dockerfile
    shows it — or None for a plain install into the image that runs (a check would then
    repeat what the install already proved)."""
    doc = ctx.doc
    lineage = doc.lineage(final)
    installer: str | None = None  # who ran a `pip install --user`
    for stage in lineage:
        for instruction in stage.instructions:
            origin = instruction.flag("from")
            if instruction.keyword in ("COPY", "ADD") and origin is not None and origin.value:
                other = doc.stage_named(origin.value)
                if other is not None and other not in lineage and _copies_installed(
                        ctx, instruction, other):
                    return f"line {instruction.start_line} copies packages from `{other.name or other.index}`"
            for script in ctx.scripts(instruction):
                for command in script.commands:
                    call = tool_call(command)
                    if call is None or not call.is_install:
                        continue
                    if call.has_option("--user") or known_env(doc, instruction).get("PIP_USER"):
                        installer = user_before(doc, instruction) or "root"
                    if call.option_values("-t", "--target") or call.option_values("--prefix"):
                        return f"line {instruction.start_line} installs into a `--target`/`--prefix` directory"
                for chain in script.chains:
                    if _tolerated_install(chain):
                        return f"the install at line {instruction.start_line} may fail unnoticed (`||`)"
                if any(_deletes_package_files(command) for command in script.commands):
                    return f"line {instruction.start_line} deletes files of installed packages"
    runner = user_before(doc, found.instruction) or "root"
    if installer is not None and runner != installer:
        return f"`pip install --user` runs as `{installer}` but CMD as `{runner}`"
    interpreter = _interpreter(doc, final, found)
    path = known_env(doc, found.instruction).get("PATH", "").split(":")
    for venv in find_venvs(doc, final):
        if not interpreter.startswith(venv.path + "/") and venv.path + "/bin" not in path:
            return f"the venv {venv.path} is not on PATH for CMD"
    return None


class _Miss(Record):
    """Where the Dockerfile shows that CMD's interpreter cannot see the packages at all;
    `counted`: other environments whose installs it needs (checked all the same)."""

    __slots__ = ("cause", "counted")

    def __init__(self, cause: str, counted: frozenset[str] = frozenset()) -> None:
        self.cause = cause
        self.counted = counted


def _missed(ctx: Context, final: Stage, found: Runtime, runs_in: str | None) -> _Miss | None:
    """A venv copied onto an image without its interpreter (or onto another Python), a user
    base copied where CMD's user does not read it, `uv pip install --system` beside the venv
    CMD runs — each a certain miss, not just a way to miss."""
    if runs_in is None:
        return None
    return (_foreign_venv(ctx, final, runs_in) or _misplaced_user_base(ctx, final, found, runs_in)
            or _system_beside_venv(ctx, final, runs_in))


def _copies_from_other_stages(ctx: Context, final: Stage) -> Iterator[tuple[Instruction, Stage, str, str]]:
    """(COPY, its source stage, source, destination) for the single-source `COPY --from` of
    stages outside the final stage's lineage, with resolved paths."""
    doc = ctx.doc
    lineage = doc.lineage(final)
    for stage in lineage:
        for copy in stage.instructions:
            origin = copy.flag("from")
            if copy.keyword != "COPY" or origin is None or not origin.value or copy.heredocs:
                continue
            other = doc.stage_named(origin.value)
            values = copy.json_args if copy.json_args is not None else [word.value for word in copy.words]
            if other is None or other in lineage or len(values) != 2:
                continue
            source = resolve_path(values[0], "/")
            destination = resolve_in(doc, copy, values[1])
            if source is not None and destination is not None and destination.startswith("/"):
                yield copy, other, source, destination


def _foreign_venv(ctx: Context, final: Stage, runs_in: str) -> _Miss | None:
    doc = ctx.doc
    base = doc.lineage(final)[0].base
    here = image_python(base)
    for copy, other, source, destination in _copies_from_other_stages(ctx, final):
        for venv in find_venvs(doc, other):
            if not is_inside(venv.path, source) or relocate(venv.path, source, destination) != runs_in:
                continue
            built = venv_python(doc, other, venv)
            if built is None:
                continue
            if lacks(doc, final, built.directory):
                return _Miss(f"line {copy.start_line} copies a venv tied to {built.directory}'s "
                             f"Python, which `{base}` lacks")
            if here is not None and here.directory == built.directory and None not in (
                    here.version, built.version) and here.version != built.version:
                return _Miss(f"line {copy.start_line} copies a venv built for Python "
                             f"{built.version} onto Python {here.version}")
    return None


def _misplaced_user_base(ctx: Context, final: Stage, found: Runtime, runs_in: str) -> _Miss | None:
    doc = ctx.doc
    if runs_in != SYSTEM:
        return None
    read = read_user_bases(doc, found.instruction)
    if read is None:
        return None
    searched = [posixpath.normpath(entry) for entry in
                known_env(doc, found.instruction).get("PYTHONPATH", "").split(":") if entry]
    misplaced: list[tuple[Instruction, str]] = []
    for copy, other, source, destination in _copies_from_other_stages(ctx, final):
        for base in user_bases(doc, other):
            if not is_inside(base, source):
                continue
            landed = relocate(base, source, destination)
            if landed in read or landed in ("/", "/usr", "/usr/local") or any(
                    is_inside(entry, landed) for entry in searched):
                return None  # read there: a user base, a prefix the system searches, PYTHONPATH
            misplaced.append((copy, landed))
    if not misplaced:
        return None
    copy, landed = misplaced[0]
    runner = user_before(doc, found.instruction) or "root"
    return _Miss(f"line {copy.start_line} copies a user base to {landed}, but CMD's user "
                 f"`{runner}` reads {read[0]}")


def _system_beside_venv(ctx: Context, final: Stage, runs_in: str) -> _Miss | None:
    doc = ctx.doc
    if runs_in == SYSTEM or runs_in not in {venv.path for venv in find_venvs(doc, final)}:
        return None
    system: list[Instruction] = []
    for stage in doc.lineage(final):
        for instruction in stage.instructions:
            origin = instruction.flag("from")
            if instruction.keyword in ("COPY", "ADD") and origin is not None and instruction.words:
                landed = resolve_in(doc, instruction, instruction.words[-1].value)
                if landed is None or is_inside(runs_in, landed) or is_inside(landed, runs_in):
                    return None  # the venv may be filled from elsewhere
            for script in ctx.scripts(instruction):
                for command in script.commands:
                    call = tool_call(command)
                    if call is None or not call.is_install:
                        continue
                    where = install_environment(doc, instruction, call)
                    if where is None or where == runs_in:
                        return None  # something goes into the venv (or may)
                    if call.tool == "uv-pip" and call.has_option("--system") and program_environment(
                            "python", known_env(doc, instruction)) == runs_in:
                        system.append(instruction)
    if not system:
        return None
    return _Miss(f"line {system[0].start_line} runs `uv pip install --system`, which skips the "
                 f"venv {runs_in} on PATH", frozenset({SYSTEM}))


def _copies_installed(ctx: Context, copy: Instruction, stage: Stage) -> bool:
    """Whether a `COPY --from=stage` takes what an install of that stage wrote: a venv or
    project environment, a `--target`/`--prefix` directory, a user base, site-packages —
    or a directory holding one (`/app` with its `.venv`). Wheels or an app built there and
    installed here are not: the install that counts is then this stage's own."""
    written = _install_destinations(ctx, stage)
    sources = [posixpath.normpath(word.value) for word in copy.words[:-1] if word.value.startswith("/")]
    return any(source == place or place.startswith(source.rstrip("/") + "/")
               or source.startswith(place + "/") for source in sources for place in written)


def _install_destinations(ctx: Context, stage: Stage) -> list[str]:
    doc = ctx.doc
    places: list[str] = []
    for item in doc.lineage(stage):
        for instruction in item.instructions:
            for script in ctx.scripts(instruction):
                for command in script.commands:
                    call = tool_call(command)
                    if call is None or not call.is_install:
                        continue
                    places += [value for value in call.option_values("-t", "--target", "--prefix", "--root")
                               if value and value.startswith("/")]
                    where = install_environment(doc, instruction, call)
                    if where == SYSTEM:
                        places += ["/usr/local/lib", "/usr/lib/python3"]
                        home = account(doc, instruction, user_before(doc, instruction)).home
                        places.append(posixpath.join(home or "/root", ".local"))
                    elif where is not None and where.startswith("/"):
                        places.append(where)
    return [posixpath.normpath(place) for place in places]


def _tolerated_install(chain: Chain) -> bool:
    """Whether an install in `chain` is tolerated by a `||` (masking: imported only for a
    chain with one)."""
    if not any(operator.text == "||" for operator in chain.operators):
        return False
    from dfmod.semantic.masking import element_install, masks

    return any(element_install(mask.guarded) for mask in masks(chain))


def _deletes_package_files(command: Command) -> bool:
    """`rm -rf …/site-packages/x`, `find …/site-packages … -delete`: a cleanup inside installed
    packages other than bytecode caches."""
    if not command.words or basename(command.words[0].value) not in ("rm", "find"):
        return False  # neither (findcmd: imported only for the two)
    from dfmod.semantic.findcmd import parse_find, rm_operands

    operands = rm_operands(command)
    if operands is not None:
        return any(_inside_packages(word.value) and not _bytecode(word.value) for word in operands)
    find = parse_find(command)
    if find is None or not find.actions or not any(_inside_packages(word.value) for word in find.paths):
        return False
    patterns = [word.value or "" for _, word in find.arguments("-name", "-iname", "-path")]
    return not patterns or not all(_bytecode(pattern) for pattern in patterns)


def _inside_packages(path: str | None) -> bool:
    return path is not None and any(part in path for part in _PACKAGE_DIRS)


def _bytecode(path: str | None) -> bool:
    name = posixpath.basename((path or "").rstrip("/"))
    return name in _SKIPPED_CLEANUP or name.endswith((".pyc", ".pyo"))


def _conditional_commands(script: ShellScript) -> set[int]:
    """The commands (by id) that run only under a condition: inside `if`/`case`/loops, after
    a test (`[ "$DEV" = 1 ] && pip install …`) or after `||` in their and-or list."""
    found: set[int] = set()
    for chain in script.chains:
        for element in chain.elements:
            if element.kind in _CONDITIONAL_KINDS:
                found.update(id(command) for command in element.commands)
        for first, last in chain.and_or_lists():
            guarded = chain.condition
            for index in range(first, last + 1):
                element = chain.elements[index]
                if index > first and chain.operators[index - 1].text == "||":
                    guarded = True
                if guarded:
                    found.update(id(command) for command in element.commands)
                if is_test(element):
                    guarded = True
    return found


def _searched(ctx: Context, call: ToolCall, final: Stage, env: Mapping[str, str]) -> bool:
    """Whether the interpreter CMD runs searches where the install puts its packages: a
    `--target` directory only when it is on `PYTHONPATH` (an app that extends `sys.path`
    itself is beyond reading), a `--prefix` only when it is `/usr/local` or copied there."""
    targets = call.option_values("-t", "--target")
    if targets:
        searched = [entry.rstrip("/") for entry in env.get("PYTHONPATH", "").split(":") if entry]
        return all(target is not None and target.rstrip("/") in searched for target in targets)
    prefixes = call.option_values("--prefix")
    if prefixes:
        return all(prefix is not None and (prefix.rstrip("/") in ("/usr/local", "/usr")
                                           or _copied_to_usr(ctx, final, prefix))
                   for prefix in prefixes)
    return True


def _copied_to_usr(ctx: Context, final: Stage, prefix: str) -> bool:
    for stage in ctx.doc.lineage(final):
        for instruction in stage.instructions:
            words = [word.value.rstrip("/") for word in instruction.words]
            if (instruction.keyword in ("COPY", "ADD") and instruction.flag("from") is not None
                    and len(words) >= 2 and prefix.rstrip("/") in words[:-1]
                    and words[-1] in ("/usr/local", "/usr")):
                return True
    return False


def _wheel_names(ctx: Context, call: ToolCall, copies: list[str]) -> dict[str, tuple[str, ...]]:
    """Import names read from the wheels of the install's `--find-links` directories that
    the build context holds (a wheel's own metadata is the surest source there is)."""
    from dfmod.semantic.pydeps import normalize_name, wheel_import_names

    found: dict[str, tuple[str, ...]] = {}
    for link in call.option_values("-f", "--find-links"):
        if link is None or "://" in link:
            continue
        name = posixpath.basename(link.rstrip("/"))
        candidates = [source for source in copies if posixpath.basename(source) == name]
        candidates += [link.lstrip("/"), name]
        directory = next((full for full in map(ctx.build.directory, candidates) if full), None)
        if directory is None:
            continue
        for entry in sorted(os.listdir(directory))[:500]:
            if entry.endswith(".whl"):
                read = wheel_import_names(os.path.join(directory, entry))
                if read is not None:
                    found[normalize_name(read[0])] = read[1]
    return found


def _deletes_metadata(ctx: Context, stages: list[Stage]) -> bool:
    """Whether a RUN deletes `*.dist-info`/`*.egg-info` (then a distribution lookup would
    fail although the package imports; see keep-dist-info)."""
    return any(re.search(r"(dist|egg)-info", script.source.text)
               for stage in stages for instruction in stage.instructions
               for script in ctx.scripts(instruction))


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
    """The module's top-level imports — none when it extends `sys.path` itself
    (`sys.path.insert(0, "/app/vendor")`, `site.addsitedir`): what it imports then comes
    from directories no check outside the app can see."""
    from dfmod.semantic.pydeps import top_level_imports

    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            source = handle.read()
    except OSError:
        return []
    if re.search(r"\bsys\.path\.(insert|append|extend)\b|\bsite\.addsitedir\b", source):
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
    from dfmod.semantic.pydeps import parse_requirement, read_pyproject, read_requirements

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
        if value in PIP_VALUE_OPTIONS:
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
    from dfmod.semantic.pydeps import read_pyproject

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
    `USER`, `COPY`/`ADD`, a package install or cleanup, or `ENV` of PATH/VIRTUAL_ENV/PYTHON*."""
    anchor = 0
    for position, instruction in enumerate(final.instructions):
        if _changes_interpreter(ctx, instruction):
            anchor = position
    return anchor


def _changes_interpreter(ctx: Context, instruction: Instruction) -> bool:
    """Whether an instruction can change what is installed, or what is copied into the
    app's directory (a copied module can shadow a package)."""
    keyword = instruction.keyword
    if keyword in ("USER", "COPY", "ADD"):
        return True
    if keyword == "ENV":
        return any(pair.name in _INTERPRETER_ENV for pair in env_pairs(instruction))
    for script in ctx.scripts(instruction):
        for command in script.commands:
            call = tool_call(command)
            if (call is not None and call.is_install) or _deletes_package_files(command):
                return True
    return False


def _covered(ctx: Context, final: Stage, anchor: int) -> tuple[set[str], set[str], set[str]]:
    """Modules imported and distributions looked up by `python -c`, and scripts run with
    `--version`, in RUNs at or after the anchor of the final stage."""
    modules: set[str] = set()
    scripts: set[str] = set()
    distributions: set[str] = set()
    for instruction in final.instructions[anchor:]:
        for argv in _run_argvs(ctx, instruction):
            if not argv or argv[0] is None:
                continue
            launcher = launcher_words([value or "" for value in argv])
            if launcher and any(value in ("--version", "-V") for value in argv[len(launcher):]):
                scripts.add(basename(argv[len(launcher)]))
                continue
            argv = argv[len(launcher):]
            name = basename(argv[0] or "")
            if is_python(name):
                for index, value in enumerate(argv[:-1]):
                    code = argv[index + 1]
                    if value == "-c" and code is not None:
                        modules |= _imported_by(code)
                        distributions |= _looked_up(code)
            elif any(value in ("--version", "-V") for value in argv[1:]):
                scripts.add(name)
    return modules, scripts, distributions


def _looked_up(code: str) -> set[str]:
    """The distributions a `python -c` program looks up: `distribution('x')`, `d('x')`,
    `version('x')` (normalised)."""
    import ast  # only a `python -c` probe needs it: not loaded at start-up

    from dfmod.semantic.pydeps import normalize_name

    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set()
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            function = node.func
            name = function.attr if isinstance(function, ast.Attribute) else (
                function.id if isinstance(function, ast.Name) else "")
            if name in ("distribution", "version", "metadata", "d"):
                found.add(normalize_name(node.args[0].value))
    return found


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
    import ast  # only a `python -c` probe needs it: not loaded at start-up

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
    PATH (`python` on Python images and with a venv, `python3` elsewhere) — behind the
    launcher CMD uses (`uv run python`), so the check runs where the app will."""
    for command in reversed(found.commands):
        if command.launcher:
            return " ".join([*command.launcher, command.interpreter or "python"])
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
