"""A service image without a version: no tag, `latest`, or a tag that only names a channel.

## What it finds
`image:` values with no tag (`redis`, `ghcr.io/tbphp/gpt-load`), the tag `latest` or a
`latest-…` variant of it (`yym68686/uni-api:latest`, `ollama/ollama:latest-rocm`), and
tags that look like a choice but name no version:

- a release channel: `stable`, `lts`, `current`, `mainline` (`node:lts-alpine`);
- a development branch: `main`, `master`, `develop`, `edge`, `unstable`, `nightly`;
- a variant alone: `alpine`, `slim` (`redis:alpine` is the newest release, on Alpine).

An image is reported once per file, naming every service that runs it. An image pinned by
digest (`…@sha256:…`) is pinned, with or without a tag; values built from variables
(`${IMAGE}`) are not judged.

A service that builds its image (`build:` next to `image:`) is not reported, with any tag
or none: `image:` names what the build produces, so its tag pins nothing. (Where that
image is not present yet, Compose's default pull policy first tries to pull the name and
runs what a registry serves, if anything, instead of building; `pull_policy: build`
prevents that, whatever the tag.) Services that run an image another service of the file
builds are not reported either.

## Why it is bad
`latest` is not "the latest release": it is whatever the publisher last pushed under that
name, and a missing tag means `latest`. `stable`, `lts` or `alpine` move the same way, to
each new release (a new major version included); `main` or `edge` move with every build.
The same compose file then runs different software on different machines and days —
`docker compose pull` on a server can bring a new major version with a changed
configuration format or database schema, and a rollback has nothing to roll back to.

## Fix
Display-only: only you know which version you tested. Pin a release tag (`postgres:16.4`,
`node:22.11-alpine`), or a digest for byte-for-byte reproducibility
(`image: name:tag@sha256:…`, from `docker buildx imagetools inspect name:tag`), and let
Renovate or Dependabot propose updates.

## Example
```yaml
# reported
services:
  gpt-load:
    image: ghcr.io/tbphp/gpt-load:latest
  cache:
    image: redis:alpine
# pinned
services:
  gpt-load:
    image: ghcr.io/tbphp/gpt-load:v1.0.0
  cache:
    image: redis:7.4-alpine
```
"""

from __future__ import annotations

from collections.abc import Iterator

from dfmod.linting.codemod import Codemod, Context
from dfmod.linting.edits import Applicability, Finding
from dfmod.linting.wording import agree, join_names
from dfmod.syntax.compose import Node, compose_of
from dfmod.syntax.text import Span

_CHANNELS = {"stable", "lts", "current", "mainline"}
_BRANCHES = {"main", "master", "develop", "edge", "unstable", "nightly"}
_VARIANTS = {"alpine", "slim"}


def image_tag(reference: str) -> str | None:
    """The tag of an image reference (`None` without one); `registry:5000/x` has none."""
    name = reference.rsplit("/", 1)[-1]
    return name.split(":", 1)[1] if ":" in name else None


def unpinned(tag: str | None) -> str | None:
    """Why a tag names no version, as words after the image (`None` if it may name one)."""
    if tag is None:
        return " with no tag, that is `latest`, which moves with every push"
    parts = tag.lower().split("-")
    if parts[0] == "latest":
        return ", which moves with every push"
    if not all(part in _CHANNELS | _BRANCHES | _VARIANTS for part in parts):
        return None
    if parts[0] in _BRANCHES:
        return ", a development branch that moves with every build"
    if parts[0] in _CHANNELS:
        return ", a release channel that moves to each new release"
    if all(part in _VARIANTS for part in parts):
        return ", a variant that moves to each new release"
    return None


class _Use:
    """Where one image reference is used in the file, and whether a service builds it."""

    __slots__ = ("built", "node", "services")

    def __init__(self, node: Node, services: list[str] | None = None, built: bool = False) -> None:
        self.node = node
        self.services = [] if services is None else services
        self.built = built


class ComposeUnpinnedImage(Codemod):
    id = "compose-unpinned-image"
    summary = "A service image has no version: no tag, `latest`, or a floating tag"
    applicability = Applicability.DISPLAY_ONLY
    kind = "compose"

    def check(self, ctx: Context) -> Iterator[Finding]:
        doc = compose_of(ctx)
        uses: dict[str, _Use] = {}
        for service in doc.services():
            value = service.node.get("image") if service.node.kind == "map" else None
            if value is None or value.kind != "scalar" or not value.value:
                continue
            reference = value.value.strip()
            if "$" in reference or "@" in reference:
                continue
            use = uses.setdefault(reference, _Use(value))
            use.services.append(service.name)
            use.built |= hasattr(service.data, "get") and service.data.get("build") is not None
        for reference, use in uses.items():
            why = unpinned(image_tag(reference))
            if why is not None and not use.built:
                services = join_names(use.services, limit=3)
                yield self.finding(
                    Span(use.node.start, use.node.end),
                    f"{services} {agree(use.services, 'runs', 'run')} `{reference}`{why}")
