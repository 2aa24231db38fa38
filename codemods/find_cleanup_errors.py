"""A cleanup `find … -exec rm -rf {}` that walks into the directories it deletes.

## What it finds
A `find` in a `RUN` that deletes what it matches with a recursive `rm` and can match
directories (`-type d`, or no `-type` at all):
`find /app/.venv -type d -name "tests" -exec rm -rf {} \\;` and the batched form
`… -exec rm -rf {} +` (also `-execdir`, `rm -r`, `rm --recursive`). Not reported when the
expression already has `-prune`, or uses `-depth` / `-delete` (children are visited before
their directory, so find never walks into a deleted one) or `-maxdepth` (whether a match
is walked into depends on its depth).

## Why it is bad
find visits a directory, runs the action on it, and *then* reads its entries to descend
into it. When the action has deleted the directory, GNU find reports
`find: '…/tests': No such file or directory` and exits 1, so the `RUN` fails although every
directory was deleted. Checked with GNU findutils 4.9 (Debian-based images):
- with `\\;` the `rm` runs at once, so this happens for every matched directory: the
  command fails whenever it deletes anything;
- `-execdir … +` runs its batch whenever find moves on to another directory, which
  happens before find walks into the subdirectories of a directory just deleted: it fails
  whenever a deleted directory has subdirectories;
- with `-exec … +` the paths are collected and `rm` runs in batches (about 128 KiB of
  arguments each). It fails only when a batch runs while find is still walking inside a
  directory of that batch: a match nested in another match (`tests/…/tests`) with more
  matches than fit one batch — rare, and it depends on how many packages are installed, so
  a build that passed can start failing when a dependency is added.
(busybox find, in Alpine images, was not checked.)

The popular remedy, `find … 2>/dev/null || true` (the seed's "fix"), hides every other error
too, and written unscoped inside a chain (`a && find … || true && b`) it also swallows the
failure of every command before it — `a` can fail and the build goes on
(see `masked-failure`).

## Fix
- `style = "prune"` (default), safe: insert `-prune` before `-exec`. A pruned directory is
  not descended into, so find does not trip over what it deleted, deletes the same
  directories (everything inside a deleted directory goes with it anyway) and walks less;
  real errors stay visible.
- `style = "scoped"`, unsafe (it hides real errors of this find too): the seed's
  tolerance, scoped to this one command — `{ find … 2>/dev/null || true; }` — so it never
  masks the commands before it.
A find already followed by an unscoped `|| true` only gets `-prune`; the unscoped `|| true`
is `masked-failure`'s business.

## Example
```dockerfile
# before
RUN pip install -r requirements.txt && \\
    find /usr/local -type d -name "tests" -exec rm -rf {} \\;
# after (style = "prune")
RUN pip install -r requirements.txt && \\
    find /usr/local -type d -name "tests" -prune -exec rm -rf {} \\;
# after (style = "scoped")
RUN pip install -r requirements.txt && \\
    { find /usr/local -type d -name "tests" -exec rm -rf {} \\; 2>/dev/null || true; }
```
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from dfmod.linting.codemod import Codemod, Context
from dfmod.linting.edits import Applicability, Finding, Fix, insert_text, wrap_in_group
from dfmod.semantic.findcmd import (
    FindAction,
    FindCommand,
    is_recursive_rm,
    is_scoped_tolerance,
    parse_find,
    tolerated_by,
)
from dfmod.syntax.shell import Command, Element

_NO_DESCENT = ("-prune", "-depth", "-d", "-delete", "-maxdepth")
_STYLES = ("prune", "scoped")


def _removals(find: FindCommand) -> list[FindAction]:
    """The `-exec rm -rf … {}` actions of a find that can walk into what they delete."""
    if find.has(*_NO_DESCENT):
        return []
    letters = find.type_letters()
    if letters is not None and "d" not in letters:
        return []
    return [action for action in find.actions
            if action.word.value in ("-exec", "-execdir") and action.terminator is not None
            and is_recursive_rm(action.argv) and action.argv[-1].value == "{}"]


def _silenced(command: Command) -> bool:
    """Whether stderr already goes to /dev/null (`2>/dev/null`, `2> /dev/null`)."""
    return any(word.raw.replace(" ", "").startswith(("2>/dev/null", "&>/dev/null"))
               for word in command.redirects)


def _message(removals: list[FindAction], tolerated: bool) -> str:
    if any(not action.batched for action in removals):
        message = ("find walks into each directory after `rm -rf` deleted it: it reports "
                   "'No such file or directory' and exits 1 whenever it deletes a directory")
    elif any(action.word.value == "-execdir" for action in removals):
        message = ("`-execdir … +` runs `rm -rf` as find moves to another directory, before "
                   "find walks into the subdirectories of what it deleted: it reports 'No "
                   "such file or directory' and exits 1 whenever a deleted directory has "
                   "subdirectories")
    else:
        message = ("find walks into the directories it matched while `rm -rf {} +` deletes "
                   "them in batches: when a batch runs while find is inside one of them "
                   "(nested matches, more than one batch) it reports 'No such file or "
                   "directory' and exits 1")
    if tolerated:
        message += "; the `|| true` after it hides this, and every real error with it"
    return message + "; `-prune` before `-exec` removes the cause"


class FindCleanupErrors(Codemod):
    id = "find-cleanup-errors"
    summary = "find -exec rm -rf over directories walks into what it deletes and can fail"
    applicability = Applicability.SAFE
    default_options: ClassVar[dict[str, Any]] = {"style": "prune"}

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        if self.options["style"] not in _STYLES:
            raise ValueError(f"{self.id}: style must be one of {', '.join(_STYLES)}, "
                             f"not {self.options['style']!r}")

    def check(self, ctx: Context) -> Iterator[Finding]:
        for _, script in ctx.run_scripts():
            for chain in script.chains:
                for element in chain.elements:
                    if element.kind != "command" or element.command is None:
                        continue
                    find = parse_find(element.command)
                    removals = _removals(find) if find is not None else []
                    if removals:
                        finding = self._finding(element, removals)
                        if finding is not None:
                            yield finding

    def _finding(self, element: Element, removals: list[FindAction]) -> Finding | None:
        scoped = is_scoped_tolerance(element)
        tolerated = scoped or tolerated_by(element) is not None
        message = _message(removals, tolerated)
        if self.options["style"] == "scoped" and not tolerated:
            assert element.command is not None
            suffix = " || true" if _silenced(element.command) else " 2>/dev/null || true"
            return self.finding(element.span, message, Fix(
                tuple(wrap_in_group(element.span, suffix)), Applicability.UNSAFE,
                f"Tolerate this find's errors, scoped: `{{ find …{suffix}; }}`"))
        if self.options["style"] == "scoped" and scoped:
            return None  # already the scoped form this style asks for
        edits = tuple(insert_text(action.word.span.start, "-prune ") for action in removals)
        return self.finding(element.span, message, Fix(
            edits, Applicability.SAFE, "Add `-prune` so find does not walk into what it deletes"))
