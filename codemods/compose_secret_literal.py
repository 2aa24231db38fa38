"""A literal secret in a compose file's `environment`.

## What it finds
An `environment` entry whose name looks like a secret — ending in `_KEY`, `_TOKEN` or
`_SECRET`, or containing `PASSWORD` (a `…_FILE` name holds a path, not a secret) — with a
literal value, in both forms:

```yaml
environment:
  - AUTH_KEY=sk-123456        # list form
  DB_PASSWORD: hunter2        # map form
```

Values that already use interpolation (`${AUTH_KEY}`, `$AUTH_KEY`,
`postgres://u:${PW}@db`) and empty values are fine. Services and `x-` extension blocks
are both checked, and an environment reached through an alias (`environment: *env`) or a
merge key (`<<: *env`) is checked — and fixed — where it is written, once.

## Why it is bad
A compose file is committed: the secret is then in the repository's history for good,
readable by everyone with access to the repository or any fork, CI log or image of it, and
rotating it means changing code. The same key is also the same in every environment.

## Fix
Unsafe: replace the value with `${NAME}` interpolation, which Compose fills from the
shell environment or the `.env` file next to the compose file. Put the real value in that
`.env` (and keep `.env` out of git) — until then Compose warns that the variable is not set
and passes an empty string, which is why the fix is unsafe. When the project has a
`.env.example` next to the compose file, the fix also appends `NAME=` (without the value)
to it unless it lists the name already, so whoever sets the project up next knows the
variable exists. The secret stays in git history: rotate it.

## Example
```yaml
# before
    environment:
      - AUTH_KEY=sk-123456
# after
    environment:
      - AUTH_KEY=${AUTH_KEY}
```
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

from dfmod.linting.codemod import Codemod, Context
from dfmod.linting.edits import Applicability, Edit, EnsureLine, Finding, Fix
from dfmod.syntax.compose import ComposeFile, Node, compose_of
from dfmod.syntax.text import Span

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def is_secret_name(name: str) -> bool:
    upper = name.upper()
    if upper.endswith("_FILE"):
        return False
    return upper.endswith(("_KEY", "_TOKEN", "_SECRET")) or "PASSWORD" in upper


def is_literal(value: str) -> bool:
    """Non-empty and not interpolated (`$$` is an escaped, literal dollar)."""
    return value.strip() != "" and "$" not in value.replace("$$", "")


def _environments(doc: ComposeFile) -> Iterator[Node]:
    """`environment` nodes of services and of `x-` extension blocks, as written."""
    for service in doc.services():
        if service.node.kind == "map":
            found = service.node.get("environment")
            if found is not None:
                yield found
    for root in doc.documents:
        for key, value in root.pairs if root is not None else []:
            if key.kind == "scalar" and str(key.value).startswith("x-"):
                yield from _nested_environments(value)


def _nested_environments(node: Node) -> Iterator[Node]:
    for key, value in node.pairs:
        if key.kind == "scalar" and key.value == "environment":
            yield value
        elif value.kind == "map":
            yield from _nested_environments(value)


def _entries(doc: ComposeFile, environment: Node) -> Iterator[tuple[str, Node, bool]]:
    """(name, value node, list form?) of secret-named literal entries, through aliases and `<<`."""
    environment = doc.resolve(environment)
    if environment.kind == "seq":
        for item in environment.items:
            if item.kind == "scalar" and item.value and "=" in item.value:
                name, _, value = item.value.partition("=")
                if is_secret_name(name) and is_literal(value):
                    yield name, item, True
    elif environment.kind == "map":
        for key, value in environment.pairs:
            if key.kind == "scalar" and key.value == "<<" and key.style is None:
                for source in value.items if value.kind == "seq" else [value]:
                    yield from _entries(doc, source)
            elif (key.kind == "scalar" and key.value and is_secret_name(key.value)
                    and value.kind == "scalar" and not value.is_null
                    and is_literal(value.value or "")):
                yield key.value, value, False


class ComposeSecretLiteral(Codemod):
    id = "compose-secret-literal"
    summary = "A literal secret in a service's environment"
    applicability = Applicability.UNSAFE
    kind = "compose"

    def check(self, ctx: Context) -> Iterator[Finding]:
        doc = compose_of(ctx)
        example = os.path.join(os.path.dirname(doc.path), ".env.example")
        listed = _example_names(example)
        seen: set[int] = set()
        for environment in _environments(doc):
            for name, node, list_form in _entries(doc, environment):
                if node.start not in seen:
                    seen.add(node.start)
                    yield self._finding(doc, name, node, example, listed, list_form)

    def _finding(self, doc: ComposeFile, name: str, node: Node, example: str,
                 listed: set[str] | None, list_form: bool) -> Finding:
        message = (f"`{name}` has a literal secret value: it is committed with the compose "
                   f"file; use `${{{name}}}` and set it in `.env`")
        companions: tuple[EnsureLine, ...] = ()
        if listed is not None and name not in listed:
            message += f" (and list `{name}=` in .env.example)"
            companions = (EnsureLine(example, f"{name}="),)
        return self.finding(Span(node.start, node.end), message,
                            self._fix(doc, name, node, list_form, companions))

    def _fix(self, doc: ComposeFile, name: str, node: Node, list_form: bool,
             companions: tuple[EnsureLine, ...]) -> Fix | None:
        inner = doc.scalar_inner(node)
        if inner is None or node.anchor or not _NAME.match(name):
            return None
        start, end = inner
        if list_form:
            start += (node.value or "").index("=") + 1
        interpolation = f"${{{name}}}"
        if node.style is None and node.inside_flow():
            # `{` and `}` end a plain scalar inside `[...]` / `{...}`: quote the entry.
            text = f"{name}={interpolation}" if list_form else interpolation
            edit = Edit(node.start, node.end, f'"{text}"')
        else:
            edit = Edit(start, end, interpolation)
        return Fix((edit,), Applicability.UNSAFE, f"Use `{interpolation}` interpolation",
                   companions)


def _example_names(path: str) -> set[str] | None:
    """Variable names listed in a `.env.example`, or None if there is none."""
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    names = set()
    for line in lines:
        line = line.strip()
        if line and not line.startswith("#"):
            names.add(line.removeprefix("export ").partition("=")[0].strip())
    return names
