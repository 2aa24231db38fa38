"""A top-level `version:` in a compose file.

## What it finds
The `version` key at the top level of a compose file (`version: "3.8"`, `version: '2.4'`),
in every YAML document of the file.

## Why it is bad
The Compose Specification, which Docker Compose v2 implements, made `version` obsolete:
Compose does not use it to choose a file format or to validate keys, so `version: "3.8"`
promises a schema nothing checks. Compose v2 prints a warning on every command
(`the attribute `version` is obsolete, it will be ignored, please remove it to avoid
potential confusion`), which trains people to ignore its warnings. Only the legacy Python
`docker-compose` v1 (end of life since 2023) read it.

## Fix
Safe: delete the `version:` line (with a comment at the end of that line, which is about
it). When it is the file's first line, the blank lines that followed it go too, so the
file does not start with an empty line. Comment lines above it and everything else in the
file stay as they are. A `version` written inside a flow mapping
(`{version: "3", services: …}`) is reported without a fix.

## Example
```yaml
# before
# stack for local development
version: "3.8"  # compose file format
services:
  web:
    image: nginx:1.27
# after
# stack for local development
services:
  web:
    image: nginx:1.27
```
"""

from __future__ import annotations

from collections.abc import Iterator

from dfmod.linting.codemod import Codemod, Context
from dfmod.linting.edits import Applicability, Edit, Finding, Fix
from dfmod.syntax.compose import compose_of
from dfmod.syntax.text import Span


class ComposeObsoleteVersion(Codemod):
    id = "compose-obsolete-version"
    summary = "Top-level `version:` is obsolete in the Compose Specification"
    applicability = Applicability.SAFE
    kind = "compose"

    def check(self, ctx: Context) -> Iterator[Finding]:
        doc = compose_of(ctx)
        for root in doc.documents:
            if root is None:
                continue
            pair = root.pair("version")
            if pair is None:
                continue
            key, value = pair
            message = ("`version` is obsolete: Compose v2 ignores it and warns about it on "
                       "every command")
            span = Span(key.start, value.end)
            if (root.flow or value.style in ("|", ">") or not doc.owns_line(key)
                    or not doc.rest_of_line_is_comment(value.end)):
                yield self.finding(span, message)
                continue
            start = doc.line_start(key.start)
            end = doc.line_end(value.end)
            if doc.text[:start].lstrip("\ufeff") == "":
                while end < len(doc.text) and doc.text[end:doc.line_end(end)].strip() == "":
                    end = doc.line_end(end)
            edit = Edit(start, end, "")
            yield self.finding(span, message, Fix((edit,), Applicability.SAFE,
                                                  "Remove the `version` line"))
