"""A short-form `depends_on` on a service that has a healthcheck.

## What it finds
A service whose `depends_on` is a list (`depends_on: [db]` or `- db` lines) naming at least
one service that defines a `healthcheck` (its own, through a merge key `<<: *x`, or in a
file Compose merges with this one, such as the base of an override; a healthcheck with
`disable: true` or `test: ["NONE"]` does not count). An entry that a later file of the merge
writes again is that file's to fix.

The message also says when waiting would go wrong:
- a dependency's healthcheck has no `start_period` and `retries` × `interval` is under a
  minute (Docker's defaults are 3 × 30s): Docker marks the container unhealthy after that
  many failed probes, and `docker compose up` then fails ("dependency failed to start: …
  is unhealthy"), so a dependency that is slower than that to start needs a `start_period`;
- a dependency's healthcheck runs `curl` or `wget` in an image known not to contain it
  (`python:*-slim` has neither, `python:*-alpine` and `alpine` no curl, `debian` and
  `ubuntu` neither; a build that installs packages or copies from another stage may add
  them and is trusted): it never passes, and waiting for it would make `docker compose up`
  fail. The message names it when no other dependency has a healthcheck to wait for (then
  there is no fix); otherwise the fix keeps `condition: service_started` for it.

## Why it is bad
The short form means `condition: service_started`: Compose starts the dependant as soon as
the dependency's container has *started*, not when it is ready. A database or API that
takes seconds to accept connections makes the dependant fail at start-up (connection
refused, a crash loop, or a migration that runs against nothing) — even though the
dependency's healthcheck already says when it is ready. Only the long form with
`condition: service_healthy` makes Compose wait for that healthcheck to pass.

## Fix
Unsafe: rewrite the list as the long form, in the file's own indentation. Services with a
healthcheck get `condition: service_healthy`; the others, and those whose healthcheck can
never pass, keep what the short form meant, `condition: service_started`. It changes
behaviour on purpose: `docker compose up` now waits for the healthcheck, and fails with
"dependency failed to start" if the dependency never becomes healthy. Comments on the
list's lines are kept. A list reached through an alias (`depends_on: *deps`), one whose
items are not plain names on their own lines, a flow list spanning several lines, or one
whose only healthchecks can never pass is reported without a fix.

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
from typing import Any

from dfmod.linting.codemod import Codemod, Context
from dfmod.linting.edits import Applicability, Edit, Finding, Fix
from dfmod.linting.wording import agree, join_names
from dfmod.semantic.composemerge import ComposeModel
from dfmod.semantic.images import PROGRAMS, service_image
from dfmod.syntax.compose import ComposeFile, Node, Service, compose_of
from dfmod.syntax.text import Span

_DASH = re.compile(r"[ \t]*-[ \t]+\Z")
_SHORT_WINDOW = 60.0  # seconds: below this, a first start (a database's init) may not fit


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
            checked = [name for name in dict.fromkeys(names) if model.healthcheck(name) == "defined"
                       and not model.set_after(ctx.compose_index, service.name, name)]
            if not checked:
                continue
            broken = {name: why for name in checked if (why := _never_passes(model, name))}
            healthy = [name for name in checked if name not in broken]
            key, value = pair
            message = _message(service.name, healthy, broken, model)
            edits = self._edits(doc, service, key, value, names, set(healthy)) if healthy else None
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


def _message(name: str, healthy: list[str], broken: dict[str, tuple[str, str]],
             model: ComposeModel) -> str:
    """What the short form costs here, each service named once. A dependency whose
    healthcheck can never pass is named only when it is the reason nothing is rewritten;
    the documentation says why the fix leaves it as it is."""
    if healthy:
        slow = [window for dependency in healthy
                if (window := _short_window(model.service(dependency).data)) is not None]  # type: ignore[union-attr]
        window = "" if not slow else (
            f" (waiting gives up after {slow[0] if len(set(slow)) == 1 else 'under a minute'}: "
            "no `start_period`)")
        return (f"`{name}` starts as soon as {join_names(healthy)} "
                f"{agree(healthy, 'starts', 'start')}, before "
                f"{agree(healthy, 'its healthcheck passes', 'their healthchecks pass')}{window}")
    return "; ".join(f"`{dependency}`'s healthcheck runs `{program}`, which {image} lacks, so "
                     f"`{name}` cannot wait for it to be healthy"
                     for dependency, (program, image) in broken.items())


def _never_passes(model: ComposeModel, name: str) -> tuple[str, str] | None:
    """(program, the image) when the healthcheck runs `curl` or `wget` in an image known
    not to contain it."""
    service = model.service(name)
    if service is None:
        return None
    check = service.data.get("healthcheck")
    program = _program(check.get("test") if hasattr(check, "get") else None)
    if program not in PROGRAMS:
        return None
    image = service_image(service.data, service.base, service.dockerfile())
    if not image.lacks(program) or image.base is None:
        return None
    where = f"its base `{image.base.short}`" if image.built else f"`{image.base.short}`"
    return program, where


def _program(test: Any) -> str | None:
    """The program a healthcheck `test:` runs first (`CMD`, `CMD-SHELL` or a string)."""
    if isinstance(test, list) and len(test) > 1 and test[0] == "CMD":
        word = str(test[1])
    elif isinstance(test, list) and len(test) > 1 and test[0] == "CMD-SHELL":
        word = str(test[1]).split(maxsplit=1)[0] if str(test[1]).split() else ""
    elif isinstance(test, str) and test.split():
        word = test.split(maxsplit=1)[0]
    else:
        return None
    return word.rsplit("/", 1)[-1]


_DURATION = re.compile(r"(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+")
_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def _seconds(value: Any) -> float | None:
    """A Compose duration (`1m30s`, `500ms`) in seconds, or None."""
    if not isinstance(value, str) or not _DURATION.fullmatch(value):
        return None
    return sum(float(number) * _UNITS[unit] for number, unit in _PART.findall(value))


def _short_window(data: Any) -> str | None:
    """"5 × 2s" when a healthcheck has no `start_period` and gives up in under a minute
    (`retries` × `interval`; Docker's defaults are 3 and 30s)."""
    check = data.get("healthcheck") if hasattr(data, "get") else None
    if not hasattr(check, "get"):
        return None
    start = check.get("start_period")
    if start is not None and (_seconds(start) or 0) > 0:
        return None
    interval = check.get("interval", "30s")
    retries = check.get("retries", 3)
    seconds = _seconds(interval)
    if seconds is None or not isinstance(retries, int) or isinstance(retries, bool) or retries < 1:
        return None
    if retries * seconds >= _SHORT_WINDOW:
        return None
    return f"{retries} × {interval}"
