"""A service image without a version: no tag, or `:latest`.

## What it finds
`image:` values with no tag (`redis`, `ghcr.io/tbphp/gpt-load`) or the tag `latest`
(`yym68686/uni-api:latest`). An image pinned by digest (`…@sha256:…`) is pinned, with or
without a tag; values built from variables (`${IMAGE}`) are not judged.

## Why it is bad
`latest` is not "the latest release": it is whatever the publisher last pushed under that
name, and a missing tag means `latest`. The same compose file then runs different software
on different machines and days — `docker compose pull` on a server can bring a new major
version with a changed configuration format or database schema, and a rollback has nothing
to roll back to. (A service that also has `build:` uses `image:` as the name of the image
it builds; the tag still says which build you run.)

## Fix
Display-only: only you know which version you tested. Pin a release tag (`postgres:16.4`),
or a digest for byte-for-byte reproducibility (`image: name:tag@sha256:…`, from
`docker buildx imagetools inspect name:tag`), and let Renovate or Dependabot propose
updates.

## Example
```yaml
# reported
services:
  gpt-load:
    image: ghcr.io/tbphp/gpt-load:latest
# pinned
services:
  gpt-load:
    image: ghcr.io/tbphp/gpt-load:v1.0.0
```
"""

from __future__ import annotations

from collections.abc import Iterator

from dfmod.linting.codemod import Codemod, Context
from dfmod.linting.edits import Applicability, Finding
from dfmod.syntax.compose import compose_of
from dfmod.syntax.text import Span


def image_tag(reference: str) -> str | None:
    """The tag of an image reference (`None` without one); `registry:5000/x` has none."""
    name = reference.rsplit("/", 1)[-1]
    return name.split(":", 1)[1] if ":" in name else None


class ComposeUnpinnedImage(Codemod):
    id = "compose-unpinned-image"
    summary = "A service image has no tag or uses `latest`"
    applicability = Applicability.DISPLAY_ONLY
    kind = "compose"

    def check(self, ctx: Context) -> Iterator[Finding]:
        doc = compose_of(ctx)
        for service in doc.services():
            value = service.node.get("image") if service.node.kind == "map" else None
            if value is None or value.kind != "scalar" or not value.value:
                continue
            reference = value.value.strip()
            if "$" in reference or "@" in reference:
                continue
            tag = image_tag(reference)
            if tag is None:
                why = "has no tag, so it means `latest`"
            elif tag == "latest":
                why = "uses the `latest` tag"
            else:
                continue
            yield self.finding(
                Span(value.start, value.end),
                f"image `{reference}` {why}, which moves with every push: each pull can run "
                "a different version; pin a release tag or a digest")
