"""What a target is judged with besides its text: a Dockerfile's build context, and for a
compose file the other files Compose merges with it (`dfmod.linting.codemod.Surroundings`).

Both are decided once per file, before the fix loop, so every round of fixing judges the
file the same way; the other compose files of a group are read as they are on disk.
"""

from __future__ import annotations

import os

from dfmod.linting.buildcontext import BuildContext, default_context
from dfmod.linting.codemod import Surroundings
from dfmod.syntax.records import replace
from dfmod.workspace.targets import Target, compose_group

TYPE_CHECKING = False  # not typing's: importing typing costs ~7 ms (tests/test_startup.py)
if TYPE_CHECKING:
    from dfmod.syntax.document import Document


def build_context(target: Target, doc: Document) -> BuildContext:
    """The build context a source states for the Dockerfile, else the one its COPYs imply."""
    if target.context is not None:
        found = BuildContext(target.context, os.path.abspath(doc.path), target.context_how)
    else:
        found = default_context(doc)  # type: ignore[arg-type]
    return replace(found, stage=target.stage) if target.stage else found


def surroundings(target: Target, doc: Document) -> Surroundings:
    if doc.kind == "dockerfile":
        return Surroundings(build=build_context(target, doc))
    group = target.group or compose_group(target.path)
    own = os.path.realpath(target.path)
    position = next((index for index, path in enumerate(group)
                     if os.path.realpath(path) == own), None)
    if position is None:
        return Surroundings()
    from dfmod.semantic.composemerge import load_compose

    before = tuple(doc for doc in map(load_compose, group[:position]) if doc is not None)
    after = tuple(doc for doc in map(load_compose, group[position + 1:]) if doc is not None)
    return Surroundings(before=before, after=after)

