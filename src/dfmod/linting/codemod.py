"""What a codemod is, and the context it works in.

A codemod is a class with an id, a one-line summary, the applicability of its fix and a
`check` method that yields `Finding`s for one document. Its module docstring is its
documentation (what it finds, why that is bad, the fix, an example), shown by
`dfmod explain ID`. Codemods share everything else through the engine: spans, the shell
model and the edit helpers.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from functools import cached_property

from dfmod.linting.buildcontext import BuildContext, default_context
from dfmod.linting.edits import Applicability, Finding
from dfmod.linting.needs import mentions
from dfmod.syntax.dockerfile import Dockerfile, Instruction, readable_scripts
from dfmod.syntax.records import Record
from dfmod.syntax.shell import ShellScript

TYPE_CHECKING = False  # not typing's: importing typing costs ~7 ms (tests/test_startup.py)
if TYPE_CHECKING:
    from typing import Any, ClassVar

    from dfmod.semantic.composemerge import ComposeModel
    from dfmod.syntax.compose import ComposeFile


class Surroundings(Record):
    """What a document is judged with besides its own text, as the workspace found it.

    `build`: a Dockerfile's build context when a source states it (`--context`, the
    configuration, a compose file's `build:`); None lets the Dockerfile's `COPY` sources
    decide (`dfmod.linting.buildcontext.default_context`). `before`/`after`: the compose
    files Compose reads before and after this one (`-f base -f override`).
    """

    __slots__ = ("build", "before", "after")

    def __init__(self, build: BuildContext | None = None, before: tuple[ComposeFile, ...] = (),
                 after: tuple[ComposeFile, ...] = ()) -> None:
        self.build = build
        self.before = before
        self.after = after


class Context:
    """One document under check, with its shell scripts, its build context and, for a compose
    file, the merged model of the files Compose reads with it."""

    def __init__(self, doc: Dockerfile, options: dict[str, dict[str, Any]] | None = None,
                 surroundings: Surroundings | None = None) -> None:
        self.doc = doc
        self.options = options or {}
        self.surroundings = surroundings or Surroundings()

    def scripts(self, instruction: Instruction) -> list[ShellScript]:
        """The shell programs of a RUN that parse (`dfmod.syntax.dockerfile.readable_scripts`)."""
        return readable_scripts(self.doc, instruction)

    def run_scripts(self, needs: tuple[str, ...] = ()) -> Iterator[tuple[Instruction, ShellScript]]:
        """Every readable RUN script of the document, with its instruction; given `needs`,
        only those of the RUNs that may mention one of them (`needs.mentions`), the others
        left unparsed: for a codemod whose finding about a RUN needs one in that RUN."""
        for instruction in self.doc.instructions:
            if needs and (instruction.keyword != "RUN" or not mentions(instruction, needs)):
                continue
            for script in self.scripts(instruction):
                yield instruction, script

    @cached_property
    def build(self) -> BuildContext:
        """The Dockerfile's build context: what `COPY`/`ADD` read, minus `.dockerignore`."""
        return self.surroundings.build or default_context(self.doc)

    @cached_property
    def compose(self) -> ComposeModel:
        """The compose model this document is part of (it alone when nothing is merged)."""
        from dfmod.semantic.composemerge import ComposeModel, load_compose

        files = [*self.surroundings.before, self.doc, *self.surroundings.after]
        return ComposeModel(files, load_compose)  # type: ignore[arg-type]

    @property
    def compose_index(self) -> int:
        """This document's place in `compose.files`."""
        return len(self.surroundings.before)

    def text(self, offset_start: int, offset_end: int) -> str:
        return self.doc.text[offset_start:offset_end]


class Codemod:
    """Base class of every codemod; subclasses set the class attributes and `check`."""

    id: ClassVar[str]
    summary: ClassVar[str]
    applicability: ClassVar[Applicability]
    default_options: ClassVar[dict[str, Any]] = {}
    kind: ClassVar[str] = "dockerfile"  # the document kind it checks: "dockerfile" or "compose"
    # True for codemods whose fix adds, removes or moves whole instructions (the property
    # tests check that every other fix keeps the instruction count).
    changes_instruction_count: ClassVar[bool] = False
    # A document can get findings from this codemod only if its `searchable` text (a
    # Dockerfile's instructions with continuations joined), unquoted (`needs.unquoted`),
    # contains one of these strings: the engine skips the codemod on any other document,
    # before a shell is parsed, and a run imports its module only for a document that has
    # one (the registry's TABLE lists them). () means it always runs. tests/test_needs.py
    # checks the claim on every golden input, example and corpus-dev file, running each
    # codemod without the skip.
    needs: ClassVar[tuple[str, ...]] = ()
    # And one of these as well, where a finding takes two things the file must show (a CMD
    # that starts Python, and a way for its packages to miss it): tested the same way.
    also_needs: ClassVar[tuple[str, ...]] = ()

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        unknown = set(options or {}) - set(self.default_options)
        if unknown:
            raise ValueError(f"unknown option(s) for {self.id}: {', '.join(sorted(unknown))}")
        self.options = {**self.default_options, **(options or {})}

    def check(self, ctx: Context) -> Iterator[Finding]:
        raise NotImplementedError

    def finding(self, span: Any, message: str, fix: Any = None) -> Finding:
        return Finding(self.id, span, message, fix)

    @classmethod
    def documentation(cls) -> str:
        """The codemod's module docstring: its user-facing documentation."""
        return (sys.modules[cls.__module__].__doc__ or "").strip()
