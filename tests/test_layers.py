"""The names a codemod author imports, and a codemod written only with them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dfmod.linting import Applicability, Codemod, Context, Edit, Finding, Fix
from dfmod.linting.engine import Settings, fix
from dfmod.syntax.dockerfile import Dockerfile


class UpperFrom(Codemod):
    """Writes `from` as `FROM` (a stand-in for a third-party codemod)."""

    id = "upper-from"
    summary = "lower-case FROM"
    applicability = Applicability.SAFE

    def check(self, ctx: Context) -> Iterator[Finding]:
        for instruction in ctx.doc.instructions:
            start = instruction.span.start
            if ctx.text(start, start + 4) == "from":
                span = instruction.keyword_span
                yield self.finding(span, "lower-case `from`",
                                   Fix((Edit(span.start, span.end, "FROM"),), self.applicability, "upper-case it"))


def test_a_codemod_written_with_the_public_names_runs_through_the_engine() -> None:
    doc = Dockerfile("from python:3.12-slim\nRUN true\n", "Dockerfile")
    outcome = fix(doc, Settings(codemods=[UpperFrom]))
    assert outcome.text == "FROM python:3.12-slim\nRUN true\n"


def test_an_unknown_name_is_an_attribute_error() -> None:
    import dfmod.linting

    with pytest.raises(AttributeError, match="no attribute 'Nothing'"):
        _ = dfmod.linting.Nothing
