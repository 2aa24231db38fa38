"""An `ENV` that appends to a path list which is not set, leaving an empty entry.

## What it finds
`ENV X=…:$X` (or `${X}`, at the end, the start `$X:…` or in the middle `…:$X:…`, quoted
or not, legacy `ENV X value` too) where `X` is a list whose empty entry means the current
directory — `PYTHONPATH`, `LD_LIBRARY_PATH`, `CPATH`, `C_INCLUDE_PATH`,
`CPLUS_INCLUDE_PATH` — and is not defined before the instruction: no
earlier `ENV X` or `ARG X` in the stage or the stages it is built `FROM`, and not a
variable the base image is known to set. `PATH` is never reported: BuildKit sets a default
`PATH` when the base image has none. Known base-image variables are a small documented
table in `dfmod.semantic.state.BASE_IMAGE_ENV` (e.g. the official `python` images set `PATH`,
`LANG`, `GPG_KEY`, `PYTHON_VERSION`, `PYTHON_SHA256` — not `PYTHONPATH`, and no image
config sets `HOME`, which a `RUN` only gets at run time from `/etc/passwd`).

## Why it is bad
BuildKit expands `ENV` values with the base image's config env plus the `ENV`/`ARG`s seen
so far; an unset name expands to the empty string (frontend/dockerfile/shell/lex.go,
`processDollar`). `ENV PYTHONPATH=/home/user/app:$PYTHONPATH` therefore stores
`/home/user/app:` — a list with an empty last entry. An empty entry means "the current
directory" in most search paths:
- `PYTHONPATH`: Python replaces an empty entry with the absolute current working
  directory when it starts, so whatever directory the container (or a `docker exec`, or a
  subprocess) starts in becomes importable, and files there shadow installed packages —
  even under `python -P` / `PYTHONSAFEPATH=1`, which exist to keep the cwd off `sys.path`.
  (Checked: `PYTHONPATH=/x: python3 -P s.py` run in `/tmp/w` lists `/x`, `/tmp/w`.)
- `LD_LIBRARY_PATH`: glibc's loader searches the current directory for libraries; `CPATH`,
  `C_INCLUDE_PATH`, `CPLUS_INCLUDE_PATH`: GCC searches it for headers (both checked).
Other variables are not reported: an empty entry there is skipped (`NODE_PATH`,
`LD_PRELOAD`), means the default list (`MANPATH`), or does something dfmod has not checked.
`docker build --check` reports the reference as `UndefinedVar` ("Usage of undefined
variable '$PYTHONPATH'"); note that it reports *every* lookup of an unset name, so it still
warns about the fixed form below.

## Fix (safe)
Keep the separator only when there is something to separate: `:$X` becomes `${X:+:$X}`,
a leading `$X:` becomes `${X:+$X:}`. BuildKit supports `${X:+word}` (lex.go: `case '+'`
returns `word` when `X` is set and, with `:`, non-empty, else the empty string), and it
means the same in every POSIX shell. When `X` *is* set (a base image dfmod does not know),
the value is exactly what it was; when it is unset or empty, the empty entry is gone.
Only the reference and its adjacent `:` are edited.

## Proof
Built with BuildKit by `tests/builds/test_rules.py`:
`test_undefined_env_var_empty_pythonpath_entry_imports_from_the_cwd` (before the fix a
module in the container's working directory shadows an installed one; after it, not). Not
built: `docker build --check` (the harness's buildx 0.13 has none), and the `PATH`-like lists
other than `PYTHONPATH` (the same expansion). `dfmod verify` probe: the variable has no
empty entry, `printf %s "$PYTHONPATH"` in both images.

## Example
```dockerfile
# before
ENV PYTHONPATH=/home/user/app:$PYTHONPATH
# after
ENV PYTHONPATH=/home/user/app${PYTHONPATH:+:$PYTHONPATH}
```
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from dfmod.linting.codemod import Codemod, Context
from dfmod.linting.edits import Applicability, Edit, Finding, Fix
from dfmod.semantic.state import base_image_env, defined_names
from dfmod.syntax.dockerfile import EnvPair, Instruction, env_pairs
from dfmod.syntax.records import Record

# Patterns are strings, compiled on first use (`re` caches them), not at start-up.
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"

_INCLUDES = "the compiler searches the current directory for headers"
_CONSEQUENCES = {
    "PYTHONPATH": "the working directory shadows the standard library",
    "LD_LIBRARY_PATH": "the loader searches the current directory for libraries",
    "CPATH": _INCLUDES,
    "C_INCLUDE_PATH": _INCLUDES,
    "CPLUS_INCLUDE_PATH": _INCLUDES,
}
"""The lists whose empty entry means the current directory (each checked: CPython, glibc's
loader, GCC). Others are left alone: `NODE_PATH` and `LD_PRELOAD` skip an empty entry, and
an empty `MANPATH` entry means the default path, so there the empty entry does no harm."""


class _Reference(Record):
    __slots__ = ("end", "name", "quoted", "start")

    def __init__(self, start: int, end: int, name: str, quoted: bool) -> None:
        self.start = start  # offsets in the raw value text
        self.end = end
        self.name = name
        self.quoted = quoted  # inside double quotes


def _references(raw: str, escape: str) -> list[_Reference]:
    """`$NAME` / `${NAME}` references BuildKit expands in a raw ENV value.

    Single-quoted text and escaped `$` are literal; `${NAME…}` with a modifier is skipped
    whole (it is already a conditional form, or something dfmod does not rewrite).
    """
    found: list[_Reference] = []
    quote = ""
    index = 0
    while index < len(raw):
        char = raw[index]
        if quote == "'":
            quote = "" if char == "'" else quote
            index += 1
            continue
        if char == escape:
            index += 2
            continue
        if char in "'\"":
            if not quote:
                quote = char
            elif quote == char:
                quote = ""
            index += 1
            continue
        if char != "$":
            index += 1
            continue
        if raw.startswith("{", index + 1):
            match = re.compile(_NAME).match(raw, index + 2)
            if match and raw.startswith("}", match.end()):
                found.append(_Reference(index, match.end() + 1, match.group(), quote == '"'))
                index = match.end() + 1
                continue
            depth, index = 1, index + 2
            while index < len(raw) and depth:
                depth += {"{": 1, "}": -1}.get(raw[index], 0)
                index += 1
            continue
        match = re.compile(_NAME).match(raw, index + 1)
        if match:
            found.append(_Reference(index, match.end(), match.group(), quote == '"'))
            index = match.end()
            continue
        index += 1
    return found


def _conditional(raw: str, ref: _Reference, escape: str) -> tuple[int, int, str] | None:
    """The edit `(start, end, text)` that keeps the ':' only when the variable is non-empty."""
    text = raw[ref.start:ref.end]
    before = raw[ref.start - 1] if ref.start > 0 else ""
    escaped_before = ref.start >= 2 and raw[ref.start - 2] == escape
    if before == ":" and not escaped_before:
        return ref.start - 1, ref.end, f"${{{ref.name}:+:{text}}}"
    at_start = ref.start == 0 or (ref.start == 1 and raw[0] == '"')
    if at_start and raw[ref.end:ref.end + 1] == ":":
        return ref.start, ref.end + 1, f"${{{ref.name}:+{text}:}}"
    return None


class UndefinedEnvVar(Codemod):
    id = "undefined-env-var"
    summary = "ENV X=…:$X with X unset leaves an empty path entry (the current directory)"
    applicability = Applicability.SAFE
    needs = tuple(_CONSEQUENCES)  # a finding is a `$NAME` of _CONSEQUENCES in a one-line ENV value: the name as written

    def check(self, ctx: Context) -> Iterator[Finding]:
        for instruction in ctx.doc.instructions:
            if instruction.keyword != "ENV" or instruction.stage is None:
                continue
            defined: Callable[[str], bool] | None = None
            for pair in env_pairs(instruction):
                raw = ctx.doc.text[pair.value_span.start:pair.value_span.end]
                if "$" not in raw or "\n" in raw:
                    continue
                for ref in _references(raw, ctx.doc.escape):
                    if ref.name != pair.name or ref.name not in _CONSEQUENCES:
                        continue
                    if defined is None:
                        defined = self._defined(ctx, instruction)
                    if defined(ref.name):
                        continue
                    edit = _conditional(raw, ref, ctx.doc.escape)
                    if edit is None:
                        continue
                    yield self._finding(ctx, instruction, pair, raw, edit)

    def _defined(self, ctx: Context, instruction: Instruction) -> Callable[[str], bool]:
        """Whether a name is set at `instruction`: by the lineage or by its base image
        (a test, not a new set: the lineage may define thousands of names)."""
        assert instruction.stage is not None
        names = defined_names(ctx.doc, instruction)
        base = base_image_env(ctx.doc, instruction.stage) or frozenset()
        return lambda name: name in names or name in base

    def _finding(self, ctx: Context, instruction: Instruction, pair: EnvPair, raw: str,
                 edit: tuple[int, int, str]) -> Finding:
        assert instruction.stage is not None
        name = pair.name
        consequence = _CONSEQUENCES[name]
        if not edit[2].startswith(f"${{{name}:+:"):
            shape = "starts with"
        elif raw[edit[1]:].strip('"'):
            shape = "has"
        else:
            shape = "ends in"
        effect = f"the value {shape} an empty entry and {consequence}"
        if base_image_env(ctx.doc, instruction.stage) is not None:
            message = f"`${name}` is unset here, so {effect}"
        else:
            message = f"unless the base image sets `${name}`, {effect}"
        start = pair.value_span.start
        fix = Fix((Edit(start + edit[0], start + edit[1], edit[2]),), Applicability.SAFE,
                  f"Add the separator only when ${name} is set: `{edit[2]}`")
        return self.finding(pair.name_span, message, fix)
