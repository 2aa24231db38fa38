"""A service other services depend on, without a healthcheck.

## What it finds
A service named in another service's `depends_on` (short or long form) that has no
`healthcheck` — neither its own, nor through a merge key, nor in a file Compose merges with
this one (`compose.yaml` + `compose.override.yaml`, a `docker-compose.X.yml` beside
`docker-compose.yml`, `include:`, `extends:`), nor a `HEALTHCHECK` in the Dockerfile it
builds. It is reported in the file that first defines the service; a service that the
merged files give neither `image` nor `build` (a partial override) is not judged. Dependencies used only with
`condition: service_completed_successfully` (one-shot jobs such as migrations) and
services whose healthcheck is explicitly disabled are left alone.

## Why it is bad
Without a healthcheck Compose can only know that the container *started*. Dependants then
start while the database or API is still initialising and fail (connection refused, a
crash loop), and `condition: service_healthy` cannot be used at all: Compose refuses it
for a dependency without a healthcheck.

## Fix
Display-only: the right probe depends on the image. The message suggests one for common
images — `pg_isready` (postgres), `redis-cli ping` (redis), `mysqladmin ping` (mysql),
`healthcheck.sh --connect --innodb_initialized` (mariadb, whose recent images ship that
script and no longer `mysqladmin`), `mongosh … ping` (mongo) — and otherwise an HTTP probe
with `curl -f`, which only works if the image contains curl (slim images often do not).

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
      retries: 10
```
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from dfmod.linting.codemod import Codemod, Context
from dfmod.linting.edits import Applicability, Finding
from dfmod.semantic.composemerge import ComposeModel, MergedService
from dfmod.syntax.compose import compose_of
from dfmod.syntax.text import Span

_PROBES = (
    ("postgres", '["CMD-SHELL", "pg_isready -U $${POSTGRES_USER:-postgres}"]'),
    ("postgis", '["CMD-SHELL", "pg_isready -U $${POSTGRES_USER:-postgres}"]'),
    ("timescaledb", '["CMD-SHELL", "pg_isready -U $${POSTGRES_USER:-postgres}"]'),
    ("redis", '["CMD", "redis-cli", "ping"]'),
    ("valkey", '["CMD", "valkey-cli", "ping"]'),
    ("mysql", '["CMD", "mysqladmin", "ping", "-h", "localhost"]'),
    ("mariadb", '["CMD", "healthcheck.sh", "--connect", "--innodb_initialized"]'),
    ("mongo", '["CMD", "mongosh", "--quiet", "--eval", "db.adminCommand(\'ping\')"]'),
)


def _image_name(image: str) -> str:
    """`docker.io/library/postgres:16-alpine` → `postgres`."""
    name = image.split("@", 1)[0].rsplit("/", 1)[-1]
    return name.split(":", 1)[0].lower()


def suggestion(image: str | None, port: str | None) -> str:
    """A healthcheck `test:` for the image, or an HTTP probe."""
    if image:
        name = _image_name(image)
        for known, probe in _PROBES:
            if name == known:
                return f"healthcheck: test: {probe}"
    where = f"http://localhost:{port}/" if port else "http://localhost:PORT/"
    return (f'healthcheck: test: ["CMD", "curl", "-f", "{where}"] '
            "(the image must contain curl)")


def _container_port(data: object) -> str | None:
    if not hasattr(data, "get"):
        return None
    for key in ("expose", "ports"):
        values = data.get(key)  # type: ignore[attr-defined]
        if isinstance(values, list) and values:
            first = values[0]
            if hasattr(first, "get"):
                target = first.get("target")
                return str(target) if target is not None else None
            match = re.search(r"(\d+)(?:/\w+)?$", str(first))
            if match:
                return match.group(1)
    return None


class ComposeMissingHealthcheck(Codemod):
    id = "compose-missing-healthcheck"
    summary = "A service others depend on has no healthcheck"
    applicability = Applicability.DISPLAY_ONLY
    kind = "compose"

    def check(self, ctx: Context) -> Iterator[Finding]:
        doc = compose_of(ctx)
        model = ctx.compose
        waited_for = _waited_for(model)
        reported: set[str] = set()
        for service in doc.services():
            merged = model.service(service.name)
            dependants = waited_for.get(service.name)
            if (merged is None or not dependants or service.name in reported
                    or not merged.complete  # a partial override: its base is not known
                    or merged.files[0] != ctx.compose_index  # said where it is first written
                    or model.healthcheck(service.name)):
                continue
            if _dockerfile_has_healthcheck(merged):
                continue
            reported.add(service.name)
            image = merged.data.get("image")
            hint = suggestion(image if isinstance(image, str) else None,
                              _container_port(merged.data))
            names = ", ".join(f"`{name}`" for name in sorted(dependants))
            yield self.finding(
                Span(service.key.start, service.key.end),
                f"{names} depend{'s' if len(dependants) == 1 else ''} on `{service.name}`, "
                "which has no healthcheck: Compose cannot tell when it is ready, and "
                f"`condition: service_healthy` is impossible; e.g. {hint}")


def _waited_for(model: ComposeModel) -> dict[str, set[str]]:
    """Dependency name → the services that depend on it (not only to completion)."""
    found: dict[str, set[str]] = {}
    for service in model.services.values():
        for name, condition in service.depends_on().items():
            if condition != "service_completed_successfully":
                found.setdefault(name, set()).add(service.name)
    return found


def _dockerfile_has_healthcheck(service: MergedService) -> bool:
    """Whether the Dockerfile the service builds declares a `HEALTHCHECK` (not NONE)."""
    path = service.dockerfile()
    if path is None:
        return False
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError):
        return False
    from dfmod.syntax.dockerfile import Dockerfile
    from dfmod.syntax.document import DocumentError

    try:
        dockerfile_doc = Dockerfile(text, path)
    except DocumentError:
        return False
    checks = [item for item in dockerfile_doc.instructions if item.keyword == "HEALTHCHECK"]
    return bool(checks) and checks[-1].arg_text.strip().upper() != "NONE"
