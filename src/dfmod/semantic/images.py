"""What a compose service's image ships, as far as it can be known without pulling it.

Compose waits for `condition: service_healthy` on whatever healthcheck the container has:
one written in the compose files, or the `HEALTHCHECK` its image was built with — in the
Dockerfile the service builds, in a stage it is built `FROM`, or in the image at the root
of that chain. A pulled image is known only through the tables here, each entry with the
place it was read from:

- `SHIPS_HEALTHCHECK`: images whose own Dockerfile declares a `HEALTHCHECK`;
- official images (Docker Hub's `library/…`) ship none: "Explicit health checks are not
  added to official images" (docker-library/faq, section `HEALTHCHECK`);
- `PROBES`: a healthcheck that works in an image, by version where the image changed
  (MariaDB dropped `mysqladmin` in 11.0, MongoDB's legacy `mongo` shell is gone from 6.0);
- `WITHOUT`: base images known not to contain `curl` or `wget`, so a healthcheck that runs
  one of them there can never pass.

Anything else is unknown, and callers say so ("unless its image defines a HEALTHCHECK")
rather than guess.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from dfmod.syntax.records import Record

_DOCKER_HUB = ("docker.io", "index.docker.io", "registry-1.docker.io")


class ImageRef(Record):
    """`ghcr.io/immich-app/postgres:14-vectorchord0.4.3` as registry, repository, tag."""

    __slots__ = ("registry", "repository", "tag")

    def __init__(self, registry: str, repository: str, tag: str | None) -> None:
        self.registry = registry  # "docker.io" when the reference names none
        self.repository = repository  # "library/postgres" for an official image
        self.tag = tag

    @property
    def official(self) -> bool:
        return self.registry == "docker.io" and self.repository.startswith("library/")

    @property
    def short(self) -> str:
        """The name as people write it: `postgres`, `prom/prometheus`, `ghcr.io/x/y`."""
        name = self.repository.removeprefix("library/") if self.registry == "docker.io" else (
            f"{self.registry}/{self.repository}")
        return f"{name}:{self.tag}" if self.tag else name

    def version(self) -> tuple[int, ...] | None:
        """The version a tag starts with (`16-alpine` → (16,), `v3.13.2` → (3, 13, 2)),
        or None for a tag that names none (`latest`, `alpine`, no tag)."""
        match = re.match(r"v?(\d+(?:\.\d+)*)", self.tag or "")
        return tuple(int(part) for part in match.group(1).split(".")) if match else None


def parse_image(image: Any) -> ImageRef | None:
    """An image reference as Docker reads it; None for an interpolated or odd value."""
    if not isinstance(image, str) or not image or "$" in image or any(c.isspace() for c in image):
        return None
    name = image.split("@", 1)[0]
    tag = None
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = name.rsplit(":", 1)
    parts = name.split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        registry, path = parts[0].lower(), "/".join(parts[1:])
    else:
        registry, path = "docker.io", name
    if registry in _DOCKER_HUB:
        registry = "docker.io"
        if "/" not in path:
            path = f"library/{path}"
    return ImageRef(registry, path.lower(), tag or None)


class Shipped(Record):
    """An image known to declare a `HEALTHCHECK`, from version `since` (None: all)."""

    __slots__ = ("names", "since", "source")

    def __init__(self, names: tuple[str, ...], since: tuple[int, ...] | None, source: str) -> None:
        self.names = names  # registry/repository, as `_key` spells them
        self.since = since
        self.source = source


SHIPS_HEALTHCHECK = (
    Shipped(("docker.io/gitlab/gitlab-ce", "docker.io/gitlab/gitlab-ee"), None,
            "gitlabhq/omnibus-gitlab docker/Dockerfile: `HEALTHCHECK … CMD "
            "/opt/gitlab/bin/gitlab-healthcheck --fail` (since 8.17, 2016)"),
    Shipped(("docker.io/vaultwarden/server", "ghcr.io/dani-garcia/vaultwarden",
             "quay.io/vaultwarden/server"), None,
            "dani-garcia/vaultwarden docker/Dockerfile.debian and Dockerfile.alpine: "
            "`HEALTHCHECK … CMD [\"/healthcheck.sh\"]` (since 1.11.0, before the image was "
            "renamed vaultwarden/server)"),
    Shipped(("docker.io/axllent/mailpit", "ghcr.io/axllent/mailpit"), (1, 15, 1),
            "axllent/mailpit Dockerfile: `HEALTHCHECK … CMD [\"/mailpit\", \"readyz\"]` "
            "(since v1.15.1)"),
    Shipped(("docker.io/qmcgaw/gluetun", "ghcr.io/qdm12/gluetun"), None,
            "qdm12/gluetun Dockerfile: `HEALTHCHECK … CMD /gluetun-entrypoint healthcheck` "
            "(since 2018)"),
    Shipped(("ghcr.io/immich-app/postgres",), None,
            "immich-app/base-images postgres/Dockerfile: `HEALTHCHECK … CMD "
            "/usr/local/bin/healthcheck.sh` (since the first image, 2025)"),
)


def _key(ref: ImageRef) -> str:
    return f"{ref.registry}/{ref.repository}"


def _at_least(version: tuple[int, ...], bound: tuple[int, ...]) -> bool:
    """`version` ≥ `bound`, a tag that names fewer parts being the newest release under
    them (`3` is the latest 3.x: at least 3.8, and `10` is below 11)."""
    padded = version + (10**9,) * (len(bound) - len(version))
    return padded >= bound


def image_healthcheck(ref: ImageRef | None) -> bool | None:
    """True: the image declares a `HEALTHCHECK`; False: it is known to declare none (an
    official image); None: not known."""
    if ref is None:
        return None
    for entry in SHIPS_HEALTHCHECK:
        if _key(ref) in entry.names:
            version = ref.version()
            fits = entry.since is None or version is None or _at_least(version, entry.since)
            return True if fits else None
    return False if ref.official else None


# -- probes that work ---------------------------------------------------------------------

_PG_ISREADY = '["CMD-SHELL", "pg_isready -U $${POSTGRES_USER:-postgres}"]'
_MYSQLADMIN = '["CMD", "mysqladmin", "ping", "-h", "localhost"]'


class Probe(Record):
    """A healthcheck `test:` for the images `names`, for versions from `since` up to
    (excluding) `until`; an image whose tag names no version is taken as the newest. `port`
    is the port the probe talks to (None: it uses none, or the server's own socket)."""

    __slots__ = ("names", "test", "port", "since", "until")

    def __init__(self, names: tuple[str, ...], test: str, port: int | None,
                 since: tuple[int, ...] | None = None, until: tuple[int, ...] | None = None) -> None:
        self.names = names
        self.test = test
        self.port = port
        self.since = since
        self.until = until

    def fits(self, ref: ImageRef) -> bool:
        version = ref.version()
        if version is None:
            return self.until is None
        return ((self.since is None or _at_least(version, self.since))
                and (self.until is None or not _at_least(version, self.until)))


PROBES = (
    # pg_isready ships with PostgreSQL since 9.3; postgis and timescaledb are built FROM postgres.
    Probe(("docker.io/library/postgres", "docker.io/postgis/postgis",
           "docker.io/timescale/timescaledb"), _PG_ISREADY, 5432, since=(9, 3)),
    Probe(("docker.io/library/redis",), '["CMD", "redis-cli", "ping"]', 6379),
    Probe(("docker.io/valkey/valkey", "docker.io/library/valkey"),
          '["CMD", "valkey-cli", "ping"]', 6379),
    Probe(("docker.io/library/mysql",), _MYSQLADMIN, 3306),
    # MariaDB 11.0 removed the mysql* names (MariaDB/mariadb-docker#512); its images ship
    # healthcheck.sh since January 2022 (MDEV-25434), every 10.x image has mysqladmin.
    Probe(("docker.io/library/mariadb",), _MYSQLADMIN, 3306, until=(11,)),
    Probe(("docker.io/library/mariadb",),
          '["CMD", "healthcheck.sh", "--connect", "--innodb_initialized"]', 3306, since=(11,)),
    # The legacy `mongo` shell is in the images up to 5.0, `mongosh` from 6.0 (docker-library/mongo).
    Probe(("docker.io/library/mongo",),
          '["CMD", "mongo", "--quiet", "--eval", "db.adminCommand(\'ping\')"]', 27017, until=(6,)),
    Probe(("docker.io/library/mongo",),
          '["CMD", "mongosh", "--quiet", "--eval", "db.adminCommand(\'ping\')"]', 27017, since=(6,)),
    # rabbitmq.com/docs/monitoring, health checks: `rabbitmq-diagnostics -q ping`.
    Probe(("docker.io/library/rabbitmq",), '["CMD", "rabbitmq-diagnostics", "-q", "ping"]',
          None, since=(3, 8)),
    # Prometheus images are BusyBox (quay.io/prometheus/busybox): wget, no curl; /-/ready since 2.0.
    Probe(("docker.io/prom/prometheus", "quay.io/prometheus/prometheus"),
          '["CMD", "wget", "-q", "-O", "/dev/null", "http://localhost:9090/-/ready"]', 9090,
          since=(2,)),
)


def probe(ref: ImageRef | None, ports: Iterable[int] = ()) -> str | None:
    """A healthcheck `test:` known to work in the image, or None. A service that lists its
    container ports but not the one the probe talks to listens elsewhere: no probe."""
    if ref is None:
        return None
    listed = set(ports)
    for entry in PROBES:
        if _key(ref) in entry.names and entry.fits(ref):
            if entry.port is not None and listed and entry.port not in listed:
                return None
            return entry.test
    return None


# -- programs an image does not contain ----------------------------------------------------

def _python_variant(ref: ImageRef) -> str | None:
    tag = ref.tag or ""
    return "slim" if "slim" in tag else "alpine" if "alpine" in tag else None


def lacks(ref: ImageRef | None, program: str) -> bool:
    """Whether the image is known not to contain `program` (`curl` or `wget`).

    The official `python:*-slim` images carry neither (their build removes the wget it
    downloads with), `python:*-alpine` and `alpine` have BusyBox's wget but no curl,
    `debian` and `ubuntu` have neither.
    """
    if ref is None or not ref.official or program not in ("curl", "wget"):
        return False
    name = ref.repository.removeprefix("library/")
    if name == "python":
        variant = _python_variant(ref)
        return variant == "slim" or (variant == "alpine" and program == "curl")
    if name == "alpine":
        return program == "curl"
    return name in ("debian", "ubuntu")


# -- a compose service's image -------------------------------------------------------------

# A string, compiled on first use (`re` caches it): only a service that builds a Dockerfile needs it.
_PACKAGE_INSTALL = r"\b(?:apt-get|apt|apk|yum|dnf|microdnf|zypper|tdnf)\b[^;&|]*?\b(?:install|add)\b"


class ServiceImage(Record):
    """What runs a service: the image it pulls, or the Dockerfile it builds.

    `base` is the pulled image, or for a build the image at the root of the stage it ships
    (`build.target`, else the last). `healthcheck` is the Dockerfile's own: "defined" or
    "disabled" (`HEALTHCHECK NONE`) by the last `HEALTHCHECK` in that stage or a stage it is
    built `FROM`, None when it has none. `readable` is False for a build whose Dockerfile
    cannot be read (absent, outside the project, remote): then nothing is known. `adds`:
    the programs of `PROGRAMS` the build may add (a package manager install, a `COPY
    --from`, any mention of the name).
    """

    __slots__ = ("built", "readable", "base", "healthcheck", "adds")

    def __init__(self, built: bool, readable: bool, base: ImageRef | None,
                 healthcheck: str | None = None, adds: frozenset[str] = frozenset()) -> None:
        self.built = built
        self.readable = readable
        self.base = base
        self.healthcheck = healthcheck
        self.adds = adds

    def defines_healthcheck(self) -> bool | None:
        """True: the image has a `HEALTHCHECK` (not NONE); False: known to have none; None:
        not known."""
        if not self.readable:
            return None
        if self.healthcheck is not None:
            return self.healthcheck == "defined"
        return image_healthcheck(self.base)

    def lacks(self, program: str) -> bool:
        return self.readable and program not in self.adds and lacks(self.base, program)


PROGRAMS = ("curl", "wget")


def service_image(data: Any, base_directory: str, dockerfile: str | None) -> ServiceImage:
    """The image of a service whose merged compose data is `data` (`dockerfile`: the path
    its `build:` names, resolved, or None)."""
    build = data.get("build") if hasattr(data, "get") else None
    if build is None:
        return ServiceImage(False, True, parse_image(data.get("image") if hasattr(data, "get") else None))
    if dockerfile is None:
        return ServiceImage(True, False, None)
    from dfmod.syntax.compose import build_target
    from dfmod.syntax.dockerfile import Dockerfile
    from dfmod.syntax.document import DocumentError
    from dfmod.syntax.source import InputError, read_source

    try:
        doc = Dockerfile(read_source(dockerfile).text, dockerfile)  # a file outside the project is not read
    except (InputError, DocumentError):
        return ServiceImage(True, False, None)
    target = build_target(build)
    stage = doc.stage_named(target) if target else doc.final_stage
    if stage is None:
        return ServiceImage(True, False, None)
    lineage = doc.lineage(stage)
    healthcheck = None
    for instruction in (item for part in reversed(lineage) for item in reversed(part.instructions)):
        if instruction.keyword == "HEALTHCHECK":
            healthcheck = "disabled" if instruction.arg_text.strip().upper() == "NONE" else "defined"
            break
    adds: set[str] = set()
    for instruction in (item for part in lineage for item in part.instructions):
        text = instruction.arg_text
        if (instruction.keyword == "RUN" and re.search(_PACKAGE_INSTALL, text)) or (
                instruction.keyword in ("COPY", "ADD") and instruction.flag("from") is not None):
            adds.update(PROGRAMS)
        adds.update(program for program in PROGRAMS if re.search(rf"\b{program}\b", text))
    return ServiceImage(True, True, parse_image(_expand(lineage[0].base, doc)), healthcheck,
                        frozenset(adds))


def _expand(base: str, doc: Any) -> str:
    """A `FROM` image with the defaults of the global `ARG`s filled in (`python:${V}-slim`);
    a name still holding `$` is not known (parse_image gives None)."""
    defaults: dict[str, str] = {}
    for instruction in doc.instructions:
        if instruction.keyword == "FROM":
            break
        if instruction.keyword == "ARG":
            for word in instruction.words:
                name, equals, value = word.value.partition("=")
                if equals:
                    defaults[name] = value
    return re.sub(r"\$\{(\w+)\}|\$(\w+)",
                  lambda match: defaults.get(match[1] or match[2], match[0]), base)


def container_ports(data: Any) -> list[int]:
    """The container ports a service lists in `expose` and `ports` (short and long syntax)."""
    found: list[int] = []
    for key in ("expose", "ports"):
        values = data.get(key) if hasattr(data, "get") else None
        for value in values if isinstance(values, list) else []:
            if hasattr(value, "get"):
                target = value.get("target")
                text = str(target) if target is not None else ""
            else:
                text = str(value).rsplit(":", 1)[-1].split("/", 1)[0]
            if text.isascii() and text.isdigit():
                found.append(int(text))
    return found
