"""A service others depend on, without a healthcheck Compose can use.

## What it finds
A service named in another service's `depends_on` that has no healthcheck Compose can wait
for: none in the compose files Compose merges (its own, a merge key, the base or override
it is read with — `compose.yaml` + `compose.override.yaml`, a `docker-compose.X.yml` beside
`docker-compose.yml` — `include:`, `extends:`), none in the Dockerfile it builds (the stage
`build.target` names, else the last, and the stages it is built `FROM`), and none in its
image as far as that is known. It is reported in the file that first defines the service.

Left alone:
- images known to declare a `HEALTHCHECK` of their own (`gitlab/gitlab-ce`,
  `vaultwarden/server`, `axllent/mailpit` from v1.15.1, `qmcgaw/gluetun`,
  `ghcr.io/immich-app/postgres`; each read in the image's Dockerfile, listed in
  `dfmod.semantic.images`);
- a built service whose Dockerfile cannot be read (not in the checkout, a remote context,
  or paths that only resolve from another directory, as in an override used with
  `-f ../docker-compose.yml`): its image may declare one;
- a partial override (neither `image` nor `build` after the merge);
- dependants that wait for completion (`service_completed_successfully`) or that ask in
  writing for `condition: service_started`: they say that started is enough;
- a healthcheck turned off on purpose (`disable: true`, `test: ["NONE"]`, `HEALTHCHECK
  NONE`) — unless a dependant waits for it with `condition: service_healthy`.

## Why it is bad
A short-form `depends_on` (or `condition: service_started`) starts the dependant as soon as
the dependency's container is running, not when the database or API inside accepts
connections; the dependant then fails or retries at start-up. `condition: service_healthy`
waits for readiness, but only on a healthcheck. The message says when that cannot be had at
all: official images ship no `HEALTHCHECK` ("Explicit health checks are not added to
official images", docker-library/faq); for other images it says "unless its image has
one".

Worse, `condition: service_healthy` on a dependency with no healthcheck (or a disabled one)
does not wait forever: `docker compose up` fails at once with "dependency failed to start:
container … has no healthcheck configured" (docker/compose, `pkg/compose/convergence.go`).
That is reported as such, naming the dependants that ask for it (`required: false` entries
only make Compose warn, and are not).

## Fix
Display-only. A probe is suggested only where one is known to work in that image, version
and port: `pg_isready` (postgres, postgis, timescaledb, and builds `FROM` them), `redis-cli
ping` / `valkey-cli ping`, `mysqladmin ping` (mysql, and mariadb up to 10.x),
`healthcheck.sh --connect --innodb_initialized` (mariadb 11 and later, which no longer
ship `mysqladmin`), `mongo` up to 5.0 and `mongosh` from 6.0, `rabbitmq-diagnostics -q
ping` (3.8 and later), and BusyBox `wget` on `/-/ready` for `prom/prometheus`. A service
that lists its container ports without the probe's port gets none. Otherwise no probe is
suggested: `curl` is missing from many images (slim, Alpine, BusyBox, distroless), and an
HTTP probe is wrong on a UDP, gRPC, Redis or database port.

## Example
```yaml
# reported
services:
  app:
    build: .
    depends_on: [db]
  db:                 # ← no healthcheck
    image: postgres:16
# suggested
  db:
    image: postgres:16
    healthcheck:
      test: ["CMD-SHELL", "pg_isready -U postgres"]
      interval: 5s
      retries: 5
      start_period: 30s
```
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from dfmod.linting.codemod import Codemod, Context
from dfmod.linting.edits import Applicability, Finding
from dfmod.linting.wording import MOST, agree, join_names
from dfmod.semantic.composemerge import ComposeModel
from dfmod.semantic.images import ServiceImage, container_ports, probe, service_image
from dfmod.syntax.compose import compose_of
from dfmod.syntax.text import Span


class ComposeMissingHealthcheck(Codemod):
    id = "compose-missing-healthcheck"
    summary = "A service others depend on has no healthcheck"
    applicability = Applicability.DISPLAY_ONLY
    kind = "compose"

    def check(self, ctx: Context) -> Iterator[Finding]:
        doc = compose_of(ctx)
        model = ctx.compose
        waiting = _waiting(model)
        reported: set[str] = set()
        for service in doc.services():
            name = service.name
            merged = model.service(name)
            dependants = waiting.get(name)
            if (merged is None or not dependants or name in reported
                    or not merged.complete  # a partial override: its base is not known
                    or merged.files[0] != ctx.compose_index):  # said where it is first written
                continue
            state = model.healthcheck(name)
            image = service_image(merged.data, merged.base, merged.dockerfile())
            if state is None and image.healthcheck == "disabled":
                state = "disabled"  # `HEALTHCHECK NONE` in the Dockerfile: off on purpose too
            defined = image.defines_healthcheck()
            if state == "defined" or (state is None and defined) or not image.readable:
                continue  # a healthcheck Compose will use, or an image nobody can read
            healthy = [dependant for dependant, condition in dependants.items()
                       if condition == "service_healthy"
                       and model.service(dependant).required(name)]  # type: ignore[union-attr]
            if state == "disabled" and not healthy:
                continue  # turned off on purpose, and nobody waits for it
            if state == "disabled":
                defined = False  # disabled in the compose file: the image's does not count
            reported.add(name)
            message = (_fails(name, healthy, state, image, defined) if healthy
                       else _unready(name, sorted(dependants), image, defined))
            hint = probe(image.base, container_ports(merged.data))
            suggestion = f"; `{_program(hint)}` can probe it" if hint and state != "disabled" else ""
            if len(message) + len(suggestion) <= MOST:
                message += suggestion
            yield self.finding(Span(service.key.start, service.key.end), message)


def _unless(image: ServiceImage, defined: bool | None) -> str:
    """"" when the image is known to have no HEALTHCHECK, else the condition that could
    change that."""
    if defined is False:
        return ""
    if image.built and image.base:
        return f" (unless its base `{image.base.short}` has one)"
    return " (unless its image has one)"


def _program(test: str) -> str:
    """The program a suggested probe runs: `pg_isready` of `["CMD-SHELL", "pg_isready …"]`."""
    return str(json.loads(test)[1]).split()[0]


def _unready(name: str, dependants: list[str], image: ServiceImage, defined: bool | None) -> str:
    unless = _unless(image, defined)
    where = " in the compose files" if unless else ""
    return (f"`{name}` has no healthcheck{where}, so {join_names(dependants, limit=3)} can start "
            f"before it is ready{unless}")


def _fails(name: str, healthy: list[str], state: str | None, image: ServiceImage,
           defined: bool | None) -> str:
    healthy = sorted(healthy)
    asks = f"{join_names(healthy, limit=3)} {agree(healthy, 'waits', 'wait')} for `{name}` to be healthy"
    if state == "disabled":
        return f"{asks}, but its healthcheck is disabled: `docker compose up` fails"
    unless = _unless(image, defined)
    where = " in the compose files" if unless else ""
    return f"{asks}, but it has no healthcheck{where}: `docker compose up` fails{unless}"


def _waiting(model: ComposeModel) -> dict[str, dict[str, str]]:
    """Dependency → {dependant: condition} for the dependants that may want it ready: not
    those that wait for it to complete (a one-shot job), nor those that ask in writing for
    `condition: service_started` (they say that started is enough)."""
    found: dict[str, dict[str, str]] = {}
    for service in model.services.values():
        for name, condition in service.depends_on().items():
            if condition == "service_completed_successfully" or (
                    condition == "service_started"
                    and model.written_condition(service.name, name) == "service_started"):
                continue
            found.setdefault(name, {})[service.name] = condition
    return found
