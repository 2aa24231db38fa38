"""A virtualenv copied from another stage to a different path.

## What it finds
`COPY --from=<stage> A B` where `A` is a virtualenv built in that stage (`python -m venv A`,
`virtualenv A`, `uv venv A`, `uv sync` → `<WORKDIR>/.venv` or `UV_PROJECT_ENVIRONMENT`,
`poetry install` with `POETRY_VIRTUALENVS_IN_PROJECT=true` → `<WORKDIR>/.venv`, or
`ENV VIRTUAL_ENV=A`) and `B` is another path. Paths are normalised; a relative venv path is
resolved against the builder's `WORKDIR` (and `cd`), a relative `COPY` destination against
the final stage's `WORKDIR`. Copying a parent directory to another place (`COPY --from=b
/app /srv` with the venv at `/app/.venv`) is reported too.

Not reported: a `RUN ln -s B A` (or a link of a parent directory, `ln -s /srv /app`) in the
final image, which puts the built path back so the shebangs resolve; and a venv whose
scripts survive a move — made with `uv venv --relocatable` (or `UV_VENV_RELOCATABLE=1`),
whose launchers start `python` from their own directory, as long as only uv installs into
it (pip and poetry write absolute shebangs even there, checked with uv 0.13.9), or turned
relocatable with legacy `virtualenv --relocatable`. (`UV_VENV_RELOCATABLE` does not make
`uv sync` create a relocatable `.venv`: uv 0.13.9 writes absolute shebangs then.)

## Why it is bad
A venv is not relocatable. Every console script pip, uv or poetry writes into `A/bin`
(`alembic`, `uvicorn`, `celery`, `pip`…) starts with the absolute shebang `#!A/bin/python`.
After the copy, `B/bin/alembic` still names `A/bin/python`, which does not exist in the
final stage, so the kernel refuses to start it: Docker reports
`exec B/bin/alembic: no such file or directory`, bash `cannot execute: required file not
found` — a message about the *interpreter*, although the script itself is right there.
(This, not deleted `*.dist-info` metadata, is the real cause of the incident that started
the rule: the venv was built at `/app/.venv` and the error named `/opt/venv`.)
`B/bin/python -m alembic` would still work, which makes the failure look random.

## Fix (unsafe)
Copy the venv to the path it was built at (`COPY --from=builder /app/.venv /app/.venv`),
and keep the stage consistent: in `ENV PATH` entries `B/bin` becomes `A/bin`, and
`ENV VIRTUAL_ENV=B` becomes `A` (only those substrings are edited). Unsafe because anything
outside the Dockerfile that names `B` (a compose `command: /opt/venv/bin/alembic`, scripts)
must change too. When the stage mentions `B` anywhere else (a `CMD ["/opt/venv/bin/…"]`, an
`ENV VENV=/opt/venv` used through a variable), when several sources are copied at once, or
when a parent directory is copied, the finding is reported without a fix. When a later
`COPY . …` would copy the build context over the venv's new place, the fix's description
says that `.dockerignore` must exclude it. The alternatives — building the venv at its
final path in the builder, `uv venv --relocatable`, a symlink — are left to you.

## Proof
Built with BuildKit by `tests/builds/test_rules.py`:
`test_venv_relocated_console_script_exec_no_such_file` (before the fix the copied venv's
script fails with `exec …: no such file or directory`; after it, it starts). Not built:
anything outside the Dockerfile that names the old path (compose files, scripts). `dfmod
verify` probe: a console script of the venv starts, `<venv>/bin/<script> --version`.

## Example
```dockerfile
# before
FROM python:3.12 AS builder
WORKDIR /app
ENV POETRY_VIRTUALENVS_IN_PROJECT=1
RUN poetry install --only=main --no-root
FROM python:3.12-slim
COPY --from=builder /app/.venv /opt/venv
ENV PATH="/opt/venv/bin:$PATH"
# after
FROM python:3.12 AS builder
WORKDIR /app
ENV POETRY_VIRTUALENVS_IN_PROJECT=1
RUN poetry install --only=main --no-root
FROM python:3.12-slim
COPY --from=builder /app/.venv /app/.venv
ENV PATH="/app/.venv/bin:$PATH"
```
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator

from dfmod.linting.buildcontext import context_sources
from dfmod.linting.codemod import Codemod, Context
from dfmod.linting.edits import Applicability, Edit, Finding, Fix
from dfmod.linting.needs import spellings
from dfmod.semantic.environments import install_environment
from dfmod.semantic.state import expand, known_env, resolve_path, workdir_at
from dfmod.semantic.tools import basename, inline_env, is_true, tool_call
from dfmod.semantic.venvs import Venv, find_venvs, is_inside, relocate
from dfmod.syntax.dockerfile import Instruction, Stage, env_pairs
from dfmod.syntax.shell import Command
from dfmod.syntax.text import Span

# Patterns are strings, compiled on first use (`re` caches them), not at start-up.
_PLAIN_PATH = r"/[A-Za-z0-9._/@+-]*"


def _mentions(text: str, path: str) -> list[int]:
    """Offsets in `text` where `path` occurs as a whole path (or a path prefix)."""
    pattern = re.compile(rf"(?<![A-Za-z0-9._/@+-]){re.escape(path)}(?![A-Za-z0-9._@+-])")
    return [match.start() for match in pattern.finditer(text)]


def _descendants(ctx: Context, stage: Stage) -> list[Stage]:
    """`stage` and the stages built FROM it (directly or not), which inherit its files."""
    out = [stage]
    for other in ctx.doc.stages[stage.index + 1:]:
        parent = ctx.doc.stage_named(other.base)
        seen: set[int] = set()
        while parent is not None and parent.index not in seen and parent.index != stage.index:
            seen.add(parent.index)
            parent = ctx.doc.stage_named(parent.base)
        if parent is not None and parent.index == stage.index:
            out.append(other)
    return out


class VenvRelocated(Codemod):
    id = "venv-relocated"
    summary = "A virtualenv is copied from another stage to a different path; its scripts break"
    applicability = Applicability.UNSAFE
    needs = spellings("from")  # a finding is a `COPY --from=STAGE`: the flag's name, lower case, unquoted like a word

    def check(self, ctx: Context) -> Iterator[Finding]:
        for instruction in ctx.doc.instructions:
            if instruction.keyword not in ("COPY", "ADD") or instruction.stage is None:
                continue
            source_flag = instruction.flag("from")
            if instruction.keyword != "COPY" or source_flag is None or not source_flag.value:
                continue
            source_stage = ctx.doc.stage_named(source_flag.value)
            if source_stage is None or source_stage is instruction.stage:
                continue
            yield from self._check_copy(ctx, instruction, source_stage, source_flag.value)

    def _check_copy(self, ctx: Context, copy: Instruction, source_stage: Stage,
                    stage_name: str) -> Iterator[Finding]:
        json_args = copy.json_args
        values = json_args if json_args is not None else [word.value for word in copy.words]
        if len(values) < 2 or copy.heredocs:
            return
        env = known_env(ctx.doc, copy)
        destination_raw = values[-1]
        destination = resolve_path(expand(destination_raw, env), workdir_at(ctx.doc, copy))
        if destination is None:
            return
        sources = [resolve_path(value, "/") for value in values[:-1]]
        venvs: dict[str, Venv] = {}
        for venv in find_venvs(ctx.doc, source_stage):
            if venv.path not in venvs or venvs[venv.path].how == "VIRTUAL_ENV":
                venvs[venv.path] = venv
        for venv in venvs.values():
            for source in sources:
                if source is None or not is_inside(venv.path, source):
                    continue
                landed = destination if len(sources) > 1 else relocate(venv.path, source, destination)
                if landed == venv.path or _relocatable(ctx, source_stage, venv):
                    continue
                if len(sources) == 1 and _restored(ctx, copy, venv.path, landed):
                    continue
                yield self._report(ctx, copy, venv, source, landed, stage_name, len(sources))

    def _report(self, ctx: Context, copy: Instruction, venv: Venv, source: str, landed: str,
                stage_name: str, source_count: int) -> Finding:
        message = (f"`COPY --from={stage_name}` moves the venv from {venv.path} to {landed}, where "
                   "its console scripts fail: their shebangs name the old path")
        fix = None
        if source_count == 1 and source == venv.path and copy.json_args is None:
            fix = self._fix(ctx, copy, venv.path, landed)
        return self.finding(copy.words[-1].span if copy.json_args is None else copy.span,
                            message, fix)

    def _context_copy_note(self, ctx: Context, copy: Instruction, built: str) -> str:
        """A caveat for the fix when a later `COPY . …` would write the build context over
        the venv — unless the context's `.dockerignore` leaves the venv's directory out."""
        name = posixpath.basename(built)
        assert copy.stage is not None
        for item in copy.stage.instructions[copy.stage.instructions.index(copy) + 1:]:
            sources = context_sources(item)
            if not sources or len(item.words) < 2:
                continue
            target = resolve_path(item.words[-1].value, workdir_at(ctx.doc, item))
            if target is None or not is_inside(built, target) or built == target:
                continue
            inside = posixpath.relpath(built, target)
            if all(not ctx.build.sends(posixpath.join(source, inside)) for source in sources):
                return ""
            return f" (`.dockerignore` must exclude `{name}`: line {item.start_line} copies over it)"
        return ""

    def _fix(self, ctx: Context, copy: Instruction, built: str, landed: str) -> Fix | None:
        """Copy to `built`; rewrite `landed` in `ENV PATH` entries and `ENV VIRTUAL_ENV`."""
        text = ctx.doc.text
        if not re.fullmatch(_PLAIN_PATH, built):
            return None
        destination = copy.words[-1]
        suffix = "/" if destination.value.endswith("/") else ""
        edits = [Edit(destination.span.start, destination.span.end, built + suffix)]
        for stage in _descendants(ctx, copy.stage) if copy.stage else []:
            for item in stage.instructions:
                if item is copy:
                    continue
                handled: list[Span] = []
                if item.keyword == "ENV":
                    for pair in env_pairs(item):
                        if pair.name not in ("PATH", "VIRTUAL_ENV"):
                            continue
                        raw = text[pair.value_span.start:pair.value_span.end]
                        if "\n" in raw:
                            return None
                        for offset in _mentions(raw, landed):
                            after = raw[offset + len(landed):]
                            entry_ok = (after.startswith("/bin") and not after[4:5].strip(":\"'/")
                                        if pair.name == "PATH" else not after.strip("/\"'"))
                            if not entry_ok:
                                return None
                            start = pair.value_span.start + offset
                            edits.append(Edit(start, start + len(landed), built))
                            handled.append(Span(start, start + len(landed)))
                body = text[item.span.start:item.span.end]
                for offset in _mentions(body, landed):
                    start = item.span.start + offset
                    if not any(span.start == start for span in handled):
                        return None
        return Fix(tuple(edits), Applicability.UNSAFE,
                   f"Copy the virtualenv to {built}, where it was built"
                   + self._context_copy_note(ctx, copy, built))


def _relocatable(ctx: Context, stage: Stage, venv: Venv) -> bool:
    """Whether the venv's scripts survive a move: made with `uv venv --relocatable` (or
    `UV_VENV_RELOCATABLE`), whose launchers find the interpreter beside them — as long as only
    uv installs into it (pip and poetry write absolute shebangs there too) — or turned
    relocatable with legacy `virtualenv --relocatable`."""
    doc = ctx.doc
    relocatable = False
    for item in [item for lineage in doc.lineage(stage) for item in lineage.instructions]:
        for script in ctx.scripts(item):
            for command in script.commands:
                call = tool_call(command)
                if item is venv.instruction and call is not None and (call.tool, call.subcommand) == (
                        "uv", "venv"):
                    env = {**known_env(doc, item), **inline_env(command)}
                    relocatable = call.has_option("--relocatable") or (
                        is_true(env.get("UV_VENV_RELOCATABLE", "")))
                elif basename(command.name) == "virtualenv" and "--relocatable" in command.argv:
                    relocatable = relocatable or any(
                        resolve_path(value, workdir_at(doc, item)) == venv.path
                        for value in command.argv[1:] if value and not value.startswith("-"))
                elif relocatable and call is not None and call.is_install and call.tool in (
                        "pip", "poetry") and install_environment(doc, item, call) == venv.path:
                    relocatable = False  # pip and poetry write `#!<venv>/bin/python`
    return relocatable


def _restored(ctx: Context, copy: Instruction, built: str, landed: str) -> bool:
    """Whether a `ln -s` in the final image puts the built path back: `ln -s /opt/venv
    /app/.venv` (or a link of a parent, `ln -s /srv /app`), so the shebangs resolve."""
    doc = ctx.doc
    assert copy.stage is not None
    stages = [*doc.lineage(copy.stage)[:-1], *_descendants(ctx, copy.stage)]
    for item in (item for stage in stages for item in stage.instructions):
        cwd = workdir_at(doc, item)
        for script in ctx.scripts(item):
            for command in script.commands:
                link = _symlink(command)
                if link is None:
                    continue
                target, name = link
                where = resolve_path(name, cwd)
                if where is None:
                    continue
                if name.endswith("/"):
                    where = posixpath.join(where, posixpath.basename(target.rstrip("/")))
                points_to = resolve_path(target, posixpath.dirname(where))
                if points_to is not None and is_inside(built, where) and relocate(
                        built, where, points_to) == landed:
                    return True
    return False


def _symlink(command: Command) -> tuple[str, str] | None:
    """(target, link name) of `ln -s[fnTr…] TARGET LINK`."""
    argv = command.argv
    if not argv or basename(argv[0]) != "ln" or None in argv:
        return None
    options = [value for value in argv[1:] if value and value.startswith("-")]
    operands = [value for value in argv[1:] if value and not value.startswith("-")]
    symbolic = any(value == "--symbolic" or (not value.startswith("--") and "s" in value)
                   for value in options)
    if not symbolic or len(operands) != 2:
        return None
    return operands[0], operands[1]
