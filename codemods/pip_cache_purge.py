"""`pip cache purge` after a pip install: keep the cache from being written instead.

## What it finds
A `pip cache purge` (or `pip cache remove …`) in a `RUN` after a `pip install` in the same
`RUN`, with any spelling of pip: `pip3`, `python -m pip`, `/opt/venv/bin/pip`.

## Why it is bad
- When pip's cache is disabled — `ENV PIP_NO_CACHE_DIR=…` (pip reads *any* non-empty
  boolean value there, `0` and `false` included, as "disable"), or `--no-cache-dir` / the variable on the
  purge itself — `pip cache purge` exits 1 with "ERROR: pip cache commands can not function
  since cache is disabled", and the build fails. A later `ENV PIP_NO_CACHE_DIR=1` added to
  the base image or the stage is enough to break a build that worked.
- When a cache mount (`RUN --mount=type=cache,target=/root/.cache/pip`) serves pip, the purge
  empties that shared mount: the next build, and every other build sharing the mount,
  downloads and builds every wheel again. The mount is not part of the image, so there was
  nothing to clean.
- When the installs of the `RUN` already pass `--no-cache-dir`, it has nothing of this
  `RUN` to delete (a cache of an earlier `RUN` stays in that layer anyway): it is a command
  that can only fail.
- Otherwise it deletes the files the installs of the same `RUN` just wrote. The layer ends
  up without them either way; `--no-cache-dir` on the installs gets there without writing
  them at all, and without a command that can fail.

## Fix
Safe. The purge is removed from its chain (with one adjacent operator; comment lines stay)
and `--no-cache-dir` is added right after the subcommand to each `pip install`, `pip wheel`
and `pip download` of the `RUN` that lacks it (each writes the cache). Under a cache mount
that serves pip, only the purge is removed: `--no-cache-dir` would make the mount dead
weight (see `cache-mount-no-cache-dir`). When `ENV PIP_NO_CACHE_DIR` already disables the
cache, only the purge is removed. The image keeps the same files: the cache of this `RUN` is
not written instead of being deleted. (A cache left by an *earlier* `RUN` stays in that
earlier layer with or without the purge.) A purge that cannot be removed without changing
what the rest of the chain means (`a && pip cache purge || b`) or that sits in a pipeline is
reported without a fix, and so is one followed, in its RUN or a later instruction, by
something naming pip's cache or a directory above it (`rm -r /root/.cache`): with
`--no-cache-dir` that directory is never made, and `rm -r` without `-f` fails on it.

## Proof
Built with BuildKit by `tests/builds/test_rules.py`:
`test_pip_cache_purge_fails_once_the_cache_is_disabled` (`PIP_NO_CACHE_DIR` set to `1`,
`0` or `false`: the purge exits 1; the fixed file builds),
`test_pip_cache_purge_empties_the_cache_mount`,
`test_pip_cache_purge_no_cache_dir_leaves_the_same_image` (the fix leaves the same files in
the image, and no /root/.cache) and
`test_pip_cache_purge_offers_no_fix_when_a_later_rm_needs_the_cache` (an `rm -r
/root/.cache` after the purge, in the same RUN or a later one, would fail once pip no
longer makes the directory: no fix is offered, and the withheld one is built to fail).
`dfmod verify` has no probe: the build's outcome is the proof.

## Example
```dockerfile
# before
RUN pip install --upgrade pip && \\
    pip install -r requirements.txt && \\
    pip cache purge
# after
RUN pip install --no-cache-dir --upgrade pip && \\
    pip install --no-cache-dir -r requirements.txt
```
"""

from __future__ import annotations

from collections.abc import Iterator

from dfmod.linting.codemod import Codemod, Context
from dfmod.linting.edits import Applicability, Edit, Finding, Fix, insert_text, remove_element
from dfmod.linting.needs import spellings
from dfmod.semantic.caches import PIP, cache_dir, serves
from dfmod.semantic.state import account, known_env, user_before
from dfmod.semantic.tools import ToolCall, tool_call
from dfmod.syntax.dockerfile import Instruction, Mount
from dfmod.syntax.shell import Command, Element, ShellScript

_NO_CACHE_FLAG = "--no-cache-dir"
_NO_CACHE_ENV = "PIP_NO_CACHE_DIR"
_CACHE_ACTIONS = ("purge", "remove")
_WRITE_CACHE = ("install", "wheel", "download")
"""The pip commands that write its cache: the fix gives each `--no-cache-dir`, or a `pip
wheel` before the purge would leave its cache in the layer."""


def _action(call: ToolCall) -> str | None:
    """`purge` / `remove` for `pip cache purge` / `pip cache remove …`, else None."""
    if call.tool != "pip" or call.subcommand != "cache":
        return None
    for word in call.args:
        if word.value is None:
            return None
        if not word.value.startswith("-"):
            return word.value if word.value in _CACHE_ACTIONS else None
    return None


def _inline_no_cache(command: Command) -> bool:
    for item in command.assignments:
        name, _, value = item.raw.partition("=")
        if name == _NO_CACHE_ENV and value.strip("'\"") != "":
            return True
    return False


def _disables_cache(command: Command) -> bool:
    """Whether this pip command runs with its cache disabled by its own words."""
    return _inline_no_cache(command) or any(
        word.value == _NO_CACHE_FLAG for word in command.words[1:])


def _pip_cache_mount(ctx: Context, instruction: Instruction) -> Mount | None:
    """The cache mount serving pip in this RUN, decided as `cache-mount-no-cache-dir` does.

    Both codemods must agree on this, or one would add `--no-cache-dir` that the other
    removes again; hence the shared helpers.
    """
    mounts = [mount for mount in instruction.mounts if mount.type == "cache" and mount.target]
    if not mounts:
        return None
    directory = _pip_cache_dir(ctx, instruction)
    return next((mount for mount in mounts if serves(mount, directory)), None)


def _element_of(script: ShellScript, command: Command) -> Element | None:
    """The chain element that is exactly this simple command (None inside a pipeline)."""
    for chain in script.chains:
        for element in chain.elements:
            if element.command is command:
                return element
    return None


def _pip_cache_dir(ctx: Context, instruction: Instruction) -> str:
    """Where pip keeps its cache in this RUN (`$PIP_CACHE_DIR`, `$XDG_CACHE_HOME/pip`, or
    the user's `~/.cache/pip`)."""
    owner = account(ctx.doc, instruction, user_before(ctx.doc, instruction))
    return cache_dir(PIP, known_env(ctx.doc, instruction), owner.home)


def _named_later(ctx: Context, instruction: Instruction, after: int) -> bool:
    """Whether what runs after offset `after` (the purge) may name pip's cache or a
    directory above it: the rest of this RUN (`&& rm -r /root/.cache`) or a later
    instruction (`rm -r ~/.cache/pip`, `rm -r "$PIP_CACHE_DIR"`).

    With `--no-cache-dir` pip never makes those directories (built: the fixed image has no
    /root/.cache), and such a command can then fail on them (`rm -r` without `-f` exits 1
    on a missing path): no fix then. A text test (any `.cache`, the directory itself, the
    variables that move it), so it errs toward offering no fix rather than one that breaks
    a build.
    """
    names = (".cache", "PIP_CACHE_DIR", "XDG_CACHE_HOME", _pip_cache_dir(ctx, instruction))
    text = ctx.doc.text
    rest = [text[after:instruction.span.end]] + [
        text[item.span.start:item.span.end] for item in ctx.doc.instructions[instruction.index + 1:]]
    return any(name in part for part in rest for name in names)


class PipCachePurge(Codemod):
    id = "pip-cache-purge"
    summary = "`pip cache purge` after a pip install: use --no-cache-dir instead"
    applicability = Applicability.SAFE
    # a finding is a `pip cache purge` / `pip cache remove` (_action), the action a shell word
    needs = spellings(*_CACHE_ACTIONS)

    def check(self, ctx: Context) -> Iterator[Finding]:
        for instruction, script in ctx.run_scripts(self.needs):
            yield from self._check_script(ctx, instruction, script)

    def _check_script(self, ctx: Context, instruction: Instruction,
                      script: ShellScript) -> Iterator[Finding]:
        calls = [call for call in map(tool_call, sorted(script.commands,
                                                        key=lambda item: item.span.start))
                 if call is not None]
        installs = [call for call in calls if call.tool == "pip" and call.subcommand in _WRITE_CACHE]
        for call in calls:
            action = _action(call)
            if action is None:
                continue
            if not any(install.command.span.end <= call.command.span.start
                       for install in installs):
                continue
            yield self._finding(ctx, instruction, script, call, action, installs)

    def _finding(self, ctx: Context, instruction: Instruction, script: ShellScript,
                 purge: ToolCall, action: str, installs: list[ToolCall]) -> Finding:
        env = known_env(ctx.doc, instruction)
        mount = _pip_cache_mount(ctx, instruction)
        spelled = f"pip cache {action}"
        env_disabled = bool(env.get(_NO_CACHE_ENV))  # pip ignores an empty value
        if env_disabled or _disables_cache(purge.command):
            cause = (f"`ENV {_NO_CACHE_ENV}`" if env_disabled
                     else f"`{_NO_CACHE_FLAG}` / `{_NO_CACHE_ENV}` on the command")
            message = (f"`{spelled}` fails the build (exit 1): {cause} turns off the cache "
                       "it needs")
        elif mount is not None:
            message = (f"`{spelled}` empties the cache mount at {mount.target}, which is not in "
                       "the image: the next build downloads everything again")
        elif all(_disables_cache(install.command) for install in installs):
            message = (f"`{spelled}` has nothing to delete (the installs use `{_NO_CACHE_FLAG}`) "
                       "and fails the build once the cache is turned off")
        else:
            message = (f"`{spelled}` deletes the cache this RUN's pip installs just wrote, and "
                       "fails the build once the cache is turned off")
        element = _element_of(script, purge.command)
        removal = None if element is None else remove_element(
            ctx.doc.text, element, ctx.doc.escape)
        if removal is None or _named_later(ctx, instruction, purge.command.span.end):
            return self.finding(purge.command.span, message)
        edits: list[Edit] = list(removal)
        if mount is None and not env_disabled:
            for install in installs:
                if _disables_cache(install.command):
                    continue
                word = install.command.words[install.first_arg - 1]
                edits.append(insert_text(word.span.end, f" {_NO_CACHE_FLAG}"))
        added = len(edits) > len(removal)
        description = f"Remove `{spelled}`" + (
            f" and add `{_NO_CACHE_FLAG}` to the pip installs" if added else "")
        return self.finding(purge.command.span, message,
                            Fix(tuple(edits), Applicability.SAFE, description))
