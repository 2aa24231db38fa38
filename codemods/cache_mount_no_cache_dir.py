"""A cache mount that pip or uv is told not to use.

## What it finds
A `RUN --mount=type=cache,…` whose mount serves pip's or uv's cache directory while the same
`RUN` disables that cache: `pip install --no-cache-dir` (any spelling of pip:
`pip3`, `python -m pip`, `/opt/venv/bin/pip`), `uv pip install --no-cache` / `-n` / `--no-cache-dir` (uv's alias),
`uv sync --no-cache`, or an inline `PIP_NO_CACHE_DIR=1` / `UV_NO_CACHE=1`. Also an
`ENV PIP_NO_CACHE_DIR` / `ENV UV_NO_CACHE` that disables the cache for such a `RUN`, and a
mount at root's cache (`/root/.cache/pip`) in a stage that runs pip as a non-root `USER`.

A mount serves the tool when its target is the tool's cache directory or a parent of it:
`$PIP_CACHE_DIR` / `$UV_CACHE_DIR` if set by `ENV`, else `$XDG_CACHE_HOME/pip`, else
`~/.cache/pip` (`~/.cache/uv`) of the user the `RUN` runs as.

Not reported: installs that download and build nothing, so the cache would stay empty
anyway — local `.whl` files (or `/wheels/*`, a directory a `pip wheel` stage filled), or
`--no-index` from a local wheel directory. (A local source
tree or sdist is still reported: pip caches the wheel it builds from it.)

## Why it is bad
With `--no-cache-dir` pip neither reads nor writes its cache (uv's `--no-cache` likewise),
so the cache mount is dead weight: every build downloads and builds every wheel again.
Nothing fails and the image is the same — the build is only slower. pip reads every
value of `PIP_NO_CACHE_DIR` as "disable the cache", `0`, `false`, `no` and `off` included
(pip 23 and 26: `pip cache dir` then reports the cache as disabled). (The incident that
started this rule blamed the combination for `No module named uvicorn`; it cannot cause
that: pip installs the same packages with or without its cache.)

As a non-root `USER`, pip caches in that user's home (`/home/app/.cache/pip`), so a mount at
`/root/.cache/pip` is never used; a cache mount is also owned by root unless `uid=` says
otherwise, and pip then cannot write to it.

## Fix
- Safe: remove `--no-cache-dir` / `--no-cache` / `-n` or the inline variable. Cached files
  go to the mount, which is not part of the image, so the image does not grow.
- Unsafe (non-root user): point the mount at the user's cache directory and add `uid=`
  (the user's uid must be known from `USER 1000` or a `useradd -u`). Only for a user a
  `useradd`/`adduser` of the file creates: another user's home is the base image's to say
  (Docker gives a uid without a passwd entry `HOME=/`, where pip cannot write its cache at
  all), so such a mount is reported without a fix.
- Display-only: an `ENV PIP_NO_CACHE_DIR` also applies to every later `RUN` and to the
  running container; dfmod reports it and leaves the decision to you.

## Proof
Built with BuildKit by `tests/builds/test_rules.py`:
`test_cache_mount_no_cache_dir_mount_stays_empty` (with `--no-cache-dir`, or
`PIP_NO_CACHE_DIR=0` inline, the mount stays empty and a rebuild builds the wheel again; after
the fix the rebuild takes it from the mount) and
`test_cache_mount_no_cache_dir_root_mount_unused_by_non_root_user` (a mount at
`/root/.cache/pip` is never read by a RUN as another user). Not built: "pip caches nothing with
`--no-cache-dir`" shows as a wheel built again, since pip's HTTP cache stays empty in these
builds; uv's `--no-cache` (uv is a binary download). `dfmod verify` probe: the cache mount
fills — the RUN built twice more, the second reports `Using cached …`.

## Example
```dockerfile
# before
RUN --mount=type=cache,target=/root/.cache/pip \\
    pip install --no-cache-dir -r requirements.txt
# after
RUN --mount=type=cache,target=/root/.cache/pip \\
    pip install -r requirements.txt
```
"""

from __future__ import annotations

from collections.abc import Iterator

from dfmod.linting.codemod import Codemod, Context
from dfmod.linting.edits import Applicability, Edit, Finding, Fix, remove_word
from dfmod.linting.needs import spellings
from dfmod.semantic.caches import CACHE_TOOLS, CacheTool, cache_dir, serves
from dfmod.semantic.state import Account, account, env_source, is_root, known_env, user_before
from dfmod.semantic.tools import ToolCall, tool_call
from dfmod.syntax.dockerfile import Instruction, Mount


def _nothing_to_cache(call: ToolCall) -> bool:
    """An install that downloads and builds nothing, so its cache stays empty with or
    without the flag: local `.whl` files (or all of a directory, `/wheels/*`, as a `pip
    wheel` stage fills it), or `--no-index` (wheels from a local directory,
    as a `pip wheel` stage makes them) with no local source tree or sdist to build — pip
    caches the wheels it builds, so those still count."""
    operands = [word.value or "" for word in call.operands()]
    local = [value for value in operands if value.startswith((".", "/", "~")) or value.endswith(
        (".tar.gz", ".tgz", ".zip", ".whl"))]
    if any(not value.endswith((".whl", "/*")) for value in local):
        return False
    offline = call.has_option("--no-index", "--offline")
    return offline or (bool(operands) and len(local) == len(operands) and not call.requirement_files())


def _even_false(value: str) -> str:
    """pip reads every value of `PIP_NO_CACHE_DIR`, `0` and `false` included, as "no cache"."""
    return " (any value does)" if value.strip("'\"").lower() in (
        "0", "false", "no", "off") else ""


class CacheMountNoCacheDir(Codemod):
    id = "cache-mount-no-cache-dir"
    summary = "A RUN cache mount serves pip/uv while the RUN disables their cache"
    applicability = Applicability.SAFE
    # a finding is about a pip or uv command in a RUN with a cache mount: the RUN's `--mount` flag
    needs = spellings("mount")

    def check(self, ctx: Context) -> Iterator[Finding]:
        reported_env: set[int] = set()
        reported_mounts: set[int] = set()
        for instruction in ctx.doc.instructions:
            mounts = [mount for mount in instruction.mounts
                      if mount.type == "cache" and mount.target]
            if not mounts:
                continue
            for script in ctx.scripts(instruction):
                for command in script.commands:
                    call = tool_call(command)
                    if call is None or call.tool not in CACHE_TOOLS:
                        continue
                    yield from self._check_call(ctx, instruction, mounts, call,
                                                reported_env, reported_mounts)

    def _check_call(self, ctx: Context, instruction: Instruction, mounts: list[Mount],
                    call: ToolCall, reported_env: set[int],
                    reported_mounts: set[int]) -> Iterator[Finding]:
        tool = CACHE_TOOLS[call.tool]
        env = known_env(ctx.doc, instruction)
        user = user_before(ctx.doc, instruction)
        owner = account(ctx.doc, instruction, user)
        directory = cache_dir(tool, env, owner.home)
        serving = [mount for mount in mounts if serves(mount, directory)]
        if not serving:
            if not is_root(user):
                root_dir = cache_dir(tool, env, "/root")
                for mount in mounts:
                    if serves(mount, root_dir) and mount.flag.span.start not in reported_mounts:
                        reported_mounts.add(mount.flag.span.start)
                        yield self._misdirected(ctx, mount, tool, owner, directory)
            return
        if _nothing_to_cache(call):
            return
        target = serving[0].target
        for word in call.command.words[1:]:  # options may precede the subcommand
            if word.value in tool.no_cache_flags:
                yield self.finding(
                    word.span,
                    f"`{word.value}` turns off {tool.label}'s cache: the cache mount at {target} "
                    "goes unused and every build downloads again",
                    Fix((remove_word(ctx.doc.text, word.span, ctx.doc.escape),),
                        Applicability.SAFE, f"Remove `{word.value}`"),
                )
        for assignment in call.command.assignments:
            name, _, value = assignment.raw.partition("=")
            if name == tool.no_cache_env and tool.disables_cache(value):
                yield self.finding(
                    assignment.span,
                    f"`{assignment.raw}` turns off {tool.label}'s cache{_even_false(value)}: the "
                    f"cache mount at {target} goes unused and every build downloads again",
                    Fix((remove_word(ctx.doc.text, assignment.span, ctx.doc.escape),),
                        Applicability.SAFE, f"Remove `{assignment.raw}`"),
                )
        value = env.get(tool.no_cache_env)
        if value is not None and tool.disables_cache(value):
            source = env_source(ctx.doc, instruction, tool.no_cache_env)
            if source is not None and source.start not in reported_env:
                reported_env.add(source.start)
                yield self.finding(
                    source,
                    f"`ENV {tool.no_cache_env}={value}` turns off {tool.label}'s cache"
                    f"{_even_false(value)}: the cache mount of the RUN at line "
                    f"{instruction.start_line} ({target}) goes unused",
                )

    def _misdirected(self, ctx: Context, mount: Mount, tool: CacheTool, owner: Account,
                     directory: str) -> Finding:
        if not owner.created:  # its home, so its cache, is the base image's to decide
            return self.finding(mount.flag.span, f"{tool.label} runs as `{owner.name}`, not root: "
                                f"the cache mount at {mount.target} is never used")
        message = (f"{tool.label} runs as `{owner.name}`, whose cache is {directory}: the "
                   f"cache mount at {mount.target} is never used")
        target_field = mount.get("target", "dst", "destination")
        exact = mount.flag.value_span is not None and len(mount.flag.value_span) == len(
            mount.flag.value or "")
        if owner.uid is None or target_field is None or not exact:
            return self.finding(mount.flag.span, message)
        edits = [Edit(target_field.span.start, target_field.span.end,
                      f"{target_field.key}={directory}")]
        uid_field = mount.get("uid")
        if uid_field is None:
            end = mount.fields[-1].span.end
            edits.append(Edit(end, end, f",uid={owner.uid}"))
        elif uid_field.value != str(owner.uid):
            edits.append(Edit(uid_field.span.start, uid_field.span.end, f"uid={owner.uid}"))
        return self.finding(mount.flag.span, message, Fix(
            tuple(edits), Applicability.UNSAFE,
            f"Mount the cache at {directory} with uid={owner.uid}"))
