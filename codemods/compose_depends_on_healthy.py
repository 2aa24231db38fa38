"""A short-form `depends_on` on a service that has a healthcheck.

## What it finds
A service whose `depends_on` is a list (`depends_on: [db]` or `- db` lines) naming at least
one service that defines a `healthcheck` (its own, through a merge key `<<: *x`, or in a
file Compose merges with this one, such as the base of an override; a healthcheck with
`disable: true` or `test: ["NONE"]` does not count). An entry that a later file of the merge
writes again is that file's to fix.

## Why it is bad
The short form means `condition: service_started`: Compose starts the dependant as soon as
the dependency's container has *started*, not when it is ready. A database or API that
takes seconds to accept connections makes the dependant fail at start-up (connection
refused, a crash loop, or a migration that runs against nothing) — even though the
dependency's healthcheck already says when it is ready. Only the long form with
`condition: service_healthy` makes Compose wait for that healthcheck to pass.

## Fix
Unsafe: rewrite the list as the long form, in the file's own indentation. Services with a
healthcheck get `condition: service_healthy`; the others keep what the short form meant,
`condition: service_started`. It changes behaviour on purpose: `docker compose up` now
waits for the healthcheck, and fails with "dependency failed to start" if the dependency
never becomes healthy. Comments on the list's lines are kept. A list reached through an
alias (`depends_on: *deps`), one whose items are not plain names on their own lines, or a
flow list spanning several lines is reported without a fix.

## Example
```yaml
# before
services:
  app:
    build: .
    depends_on:
      - db      # postgres
      - cache
  db:
    image: postgres:16
    healthcheck:
      test: ["CMD-SHELL", "pg_isready -U postgres"]
  cache:
    image: redis:7
# after
services:
  app:
    build: .
    depends_on:
      db:      # postgres
        condition: service_healthy
      cache:
        condition: service_started
  db:
    image: postgres:16
    healthcheck:
      test: ["CMD-SHELL", "pg_isready -U postgres"]
  cache:
    image: redis:7
```
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from dfmod.linting.codemod import Codemod, Context
from dfmod.linting.edits import Applicability, Edit, Finding, Fix
from dfmod.syntax.compose import ComposeFile, Node, Service, compose_of
from dfmod.syntax.text import Span

_DASH = re.compile(r"[ \t]*-[ \t]+\Z")


class ComposeDependsOnHealthy(Codemod):
    id = "compose-depends-on-healthy"
    summary = "Short-form depends_on does not wait for a dependency's healthcheck"
    applicability = Applicability.UNSAFE
    kind = "compose"

    def check(self, ctx: Context) -> Iterator[Finding]:
        doc = compose_of(ctx)
        model = ctx.compose
        for service in doc.services():
            if service.node.kind != "map" or not hasattr(service.data, "get"):
                continue
            pair = service.node.pair("depends_on")
            listed = service.data.get("depends_on")
            if pair is None or not isinstance(listed, list):
                continue
            names = [name for name in listed if isinstance(name, str)]
            healthy = [name for name in names if model.healthcheck(name) == "defined"
                       and not model.set_after(ctx.compose_index, service.name, name)]
            if not healthy:
                continue
            key, value = pair
            quoted = " and ".join(f"`{name}`" for name in healthy)
            its = "its healthcheck" if len(healthy) == 1 else "their healthchecks"
            message = (f"short-form `depends_on` only waits for {quoted} to start, not to pass "
                       f"{its}: `{service.name}` can start before it is ready")
            edits = self._edits(doc, service, key, value, names, set(healthy))
            fix = None if edits is None else Fix(
                tuple(edits), Applicability.UNSAFE,
                "Use the long form with `condition: service_healthy`")
            yield self.finding(Span(key.start, value.end), message, fix)

    def _edits(self, doc: ComposeFile, service: Service, key: Node, value: Node,
               names: list[str], healthy: set[str]) -> list[Edit] | None:
        if (value.kind != "seq" or value.anchor or value.tag or service.node.flow
                or not doc.owns_line(key) or len(set(names)) != len(names)
                or len(value.items) != len(names)
                or any(item.kind != "scalar" or doc.scalar_inner(item) is None
                       for item in value.items)):
            return None
        unit = doc.indent_unit(service)
        key_column = doc.column(key.start)
        newline = doc.newline

        def condition(item: Node, column: int) -> str:
            state = "service_healthy" if item.value in healthy else "service_started"
            return f"{' ' * column}condition: {state}"

        def after_line(offset: int, lines: list[str]) -> Edit:
            end = doc.line_end(offset)
            body = "".join(line + newline for line in lines)
            if end == len(doc.text) and doc.line_start(end) != end:
                body = newline + body[:-len(newline)]  # the file ends without a newline
            return Edit(end, end, body)

        if value.flow:
            if (not doc.single_line(value) or doc.line_start(value.start) != doc.line_start(key.start)
                    or not doc.rest_of_line_is_comment(value.end)
                    or "#" in doc.raw(value)):
                return None
            column = key_column + unit
            lines: list[str] = []
            for item in value.items:
                lines += [f"{' ' * column}{doc.raw(item)}:", condition(item, column + unit)]
            return [Edit(key.end, value.end, ":"), after_line(value.end, lines)]

        edits: list[Edit] = []
        for item in value.items:
            start = doc.line_start(item.start)
            prefix = doc.text[start:item.start]
            if not _DASH.match(prefix) or not doc.rest_of_line_is_comment(item.end):
                return None
            dash_column = len(prefix) - len(prefix.lstrip(" \t")) if "\t" not in prefix else -1
            if dash_column < 0:
                return None
            column = dash_column if dash_column > key_column else key_column + unit
            edits.append(Edit(start, item.end, f"{' ' * column}{doc.raw(item)}:"))
            edits.append(after_line(item.end, [condition(item, column + unit)]))
        return edits
