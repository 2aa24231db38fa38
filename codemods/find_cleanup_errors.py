"""A cleanup `find … -exec rm -rf {}` that walks into the directories it deletes.

## What it finds
A `find` in a `RUN` that deletes what it matches with a recursive `rm` and can match
directories (`-type d`, or no `-type` at all), in the forms that really fail:
- `find … -exec rm -rf {} \\;` and `-execdir rm -rf {} \\;`, whatever they match — except,
  without `-type`, when every `-name` / `-iname` it selects by is an extension glob of files
  (`*.pyc`, `*.py[co]`, `*.so`, `*.node`, `*.map`: any `*.<ext>` but `*-info` such as
  `*.dist-info` / `*.egg-info`, and the extensions directories carry, `*.egg`, `*.d`,
  `*.app`…), joined by `-a` / `-o` / parentheses without `!`: such a find deletes no
  directory, so it never walks into one;
- the batched `-exec rm -rf {} +` and `-execdir rm -rf {} +`, only when the names it
  matches can nest or hold directories — `tests`, `test`, `testing`, `doc`, `docs`,
  `examples`, `example`, `samples`, `benchmarks`, alone or in an `-o` list (which can then
  also put a `__pycache__` inside a `tests`). Names that never hold another match —
  `__pycache__`, `*.dist-info`, `*.egg-info`, a single package name — are left alone: the
  batched form cannot fail on them.
A find inside a pipeline (`find … \\; | tee log`) is read too, and the message says when
its failure is already hidden — by `|| true`, `|| exit 0`, `; exit 0` or the pipe. Not
reported when the expression already has `-prune`, or uses `-depth` / `-delete` (children
are visited before their directory, so find never walks into a deleted one) or
`-maxdepth` (whether a match is walked into depends on its depth).

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
BusyBox find 1.35 (Alpine images) fails the same way with `\\;` (it has no `-execdir`) and
batches `+` by about 2 MB; `-prune` works in both.

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

## Proof
Built with BuildKit by `tests/builds/test_rules.py`:
`test_find_cleanup_errors_semicolon_fails_the_build` (`-exec rm -rf {} \\;` exits 1 with
"No such file or directory"; the fix builds),
`test_find_cleanup_errors_execdir_fails_on_directories_with_subdirectories` and
`test_find_cleanup_errors_batched_nested_matches_fail_past_one_batch` (the rare `+` failure,
with a made-up tree: how many packages it takes depends on their paths). Not built: BusyBox
find (no Alpine base can be pulled here; checked with BusyBox 1.35 on the host). `dfmod
verify` has no probe: the build's own outcome is the proof.

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

import fnmatch
import re
from collections.abc import Iterator

from dfmod.linting.codemod import Codemod, Context
from dfmod.linting.edits import Applicability, Finding, Fix, insert_text, wrap_in_group
from dfmod.linting.needs import spellings
from dfmod.semantic.findcmd import (
    FindAction,
    FindCommand,
    basename,
    is_recursive_rm,
    is_scoped_tolerance,
    parse_find,
    tolerated_by,
)
from dfmod.syntax.shell import Command, Element

TYPE_CHECKING = False  # not typing's: importing typing costs ~7 ms (tests/test_startup.py)
if TYPE_CHECKING:
    from typing import Any, ClassVar

_NO_DESCENT = ("-prune", "-depth", "-d", "-delete", "-maxdepth")
_STYLES = ("prune", "scoped")


# Directory names that hold other directories, so matches of them nest (`tests/…/tests`,
# `tests/__pycache__`): only then can the batched forms fail.
_CONTAINERS = ("tests", "test", "testing", "doc", "docs", "examples", "example", "samples",
               "benchmarks")


# `*.pyc`, `*.py[co]`, `*.so`, `*.node`, `*.map`: names of files. Not `*.dist-info`,
# `*.egg-info` (any `*-info`) nor the extensions directories carry.
# Patterns are strings, compiled on first use (`re` caches them), not at start-up.
_EXTENSION_GLOB = r"\*\.([A-Za-z0-9_+\[\]-]+)$"
_DIRECTORY_EXTENSIONS = {"egg", "d", "app", "framework", "bundle", "dsym", "git", "xcodeproj",
                         "lproj", "xcassets", "xcframework", "kext", "plugin"}
# Primaries that narrow nothing by name and always hold (an alternative made only of them
# would match every directory).
_NEUTRAL = {"-xdev", "-mount", "-mindepth", "-noleaf", "-ignore_readdir_race", "-nowarn", "-warn",
            "-follow"}
_ACTIONS = {"-exec", "-execdir", "-ok", "-okdir", "-delete", "-print", "-print0", "-printf", "-fprint",
            "-fprint0", "-ls", "-fls", "-quit"}


def _is_file_glob(pattern: str | None) -> bool:
    match = re.match(_EXTENSION_GLOB, basename(pattern))
    if match is None:
        return False
    extension = match.group(1).lower()
    return not extension.endswith("-info") and extension not in _DIRECTORY_EXTENSIONS


def _matches_only_files(find: FindCommand) -> bool:
    """Whether every path the find acts on has a name like `*.pyc`: with no `-type`, such
    a find deletes no directory, so it never walks into one it deleted.

    The test before the first action is read as a formula (`-o` below `-a`, parentheses,
    no `!`/`-not`): an `-a` term holds when one of its parts is an extension `-name`/
    `-iname`, an `-o` when all of its alternatives do."""
    words: list[str | None] = []
    for word in find.primaries():
        if word.value in _ACTIONS:
            break
        words.append(word.value)
    position = 0

    def either() -> bool:
        nonlocal position
        holds = both()
        while position < len(words) and words[position] in ("-o", "-or"):
            position += 1
            holds = both() and holds
        return holds

    def both() -> bool:
        nonlocal position
        holds = False
        while position < len(words) and words[position] not in ("-o", "-or", ")"):
            value = words[position]
            position += 1
            if value in ("-a", "-and"):
                continue
            if value == "(":
                holds = either() or holds
                if position >= len(words) or words[position] != ")":
                    raise ValueError("unbalanced")
                position += 1
            elif value in ("-name", "-iname"):
                holds = True  # its pattern is checked below, with every other one
            elif value not in _NEUTRAL:
                raise ValueError(value)
        return holds

    patterns = [word.value for _, word in find.arguments("-name", "-iname")]
    if not patterns or not all(map(_is_file_glob, patterns)):
        return False
    try:
        holds = either()
    except ValueError:
        return False
    after = find.primaries()[len(words):]
    return holds and position == len(words) and not any(
        word.value in ("-o", "-or", ",", "!", "-not") for word in after)


def _removals(find: FindCommand) -> list[FindAction]:
    """The `-exec rm -rf … {}` actions of a find that can walk into what they delete."""
    if find.has(*_NO_DESCENT):
        return []
    letters = find.type_letters()
    if letters is not None and "d" not in letters:
        return []
    if letters is None and _matches_only_files(find):
        return []
    return [action for action in find.actions
            if action.word.value in ("-exec", "-execdir") and action.terminator is not None
            and is_recursive_rm(action.argv) and action.argv[-1].value == "{}"
            and (not action.batched or _containers(find))]


def _containers(find: FindCommand) -> list[str]:
    """The find's `-name`/`-path` patterns (as written) that match nesting directory names."""
    found: list[str] = []
    for primary, word in find.arguments("-name", "-iname", "-path", "-ipath", "-wholename"):
        pattern = basename(word.value)
        folded = pattern.lower() if primary in ("-iname", "-ipath") else pattern
        if folded and any(fnmatch.fnmatchcase(name, folded) for name in _CONTAINERS):
            found.append(pattern)
    return list(dict.fromkeys(found))


def _silenced(command: Command) -> bool:
    """Whether stderr already goes to /dev/null (`2>/dev/null`, `2> /dev/null`)."""
    return any(word.raw.replace(" ", "").startswith(("2>/dev/null", "&>/dev/null"))
               for word in command.redirects)


def _message(find: FindCommand, removals: list[FindAction], hidden_by: str | None) -> str:
    if any(not action.batched for action in removals):
        message = "find walks into each directory `rm -rf {} \\;` just deleted and exits 1"
    else:
        name = f"`{_containers(find)[0]}`"
        if any(action.word.value == "-execdir" for action in removals):
            message = (f"`-execdir rm -rf {{}} +` deletes first, so find exits 1 when a matched {name} "
                       "has subdirectories")
        else:
            message = f"find can exit 1 (rarely) once nested {name} directories fill a second `rm` batch"
    return f"{message}, and {hidden_by} hides that and every real error" if hidden_by else message


def _exit_zero(element: Element) -> bool:
    command = element.command
    return (element.kind == "command" and command is not None and command.argv == ["exit", "0"])


def _exited_by(element: Element) -> str | None:
    """`find … || exit 0`, or `find …; exit 0` (the next and-or list is `exit 0` alone)."""
    chain = element.chain
    if chain is None:
        return None
    index = element.index
    if index + 1 < len(chain.elements) and chain.operators[index].text == "||" and _exit_zero(
            chain.elements[index + 1]):
        return "its `|| exit 0`"
    for first, last in chain.and_or_lists():
        if first <= index <= last:
            if last + 1 < len(chain.elements) and _exit_zero(chain.elements[last + 1]) and (
                    last + 2 >= len(chain.elements) or chain.operators[last + 1].text not in ("&&", "||")):
                return "the `; exit 0` after it"
            return None
    return None


class FindCleanupErrors(Codemod):
    id = "find-cleanup-errors"
    summary = "find -exec rm -rf over directories walks into what it deletes and can fail"
    applicability = Applicability.SAFE
    needs = spellings("find")  # every finding is about a `find` command (parse_find: the command's name is `find`)
    default_options: ClassVar[dict[str, Any]] = {"style": "prune"}

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        if self.options["style"] not in _STYLES:
            raise ValueError(f"{self.id}: style must be one of {', '.join(_STYLES)}, "
                             f"not {self.options['style']!r}")

    def check(self, ctx: Context) -> Iterator[Finding]:
        for _, script in ctx.run_scripts(self.needs):
            for chain in script.chains:
                for element in chain.elements:
                    for command in self._commands(element):
                        find = parse_find(command)
                        removals = _removals(find) if find is not None else []
                        if find is not None and removals:
                            finding = self._finding(element, find, removals)
                            if finding is not None:
                                yield finding

    @staticmethod
    def _commands(element: Element) -> list[Command]:
        """The commands a chain element runs itself: one, or each stage of a pipeline."""
        if element.kind == "command" and element.command is not None:
            return [element.command]
        return list(element.commands) if element.kind == "pipeline" else []

    def _finding(self, element: Element, find: FindCommand, removals: list[FindAction]) -> Finding | None:
        scoped = is_scoped_tolerance(element)
        piped = element.kind == "pipeline" and element.commands[-1] is not find.command
        hidden_by = ("its `|| true`" if scoped or tolerated_by(element) is not None
                     else _exited_by(element) or ("the pipe" if piped else None))
        message = _message(find, removals, hidden_by)
        if self.options["style"] == "scoped" and hidden_by is None and element.kind == "command":
            assert element.command is not None
            suffix = " || true" if _silenced(element.command) else " 2>/dev/null || true"
            return self.finding(element.span, message, Fix(
                tuple(wrap_in_group(element.span, suffix)), Applicability.UNSAFE,
                f"Tolerate this find's errors, scoped: `{{ find …{suffix}; }}`"))
        if self.options["style"] == "scoped" and scoped:
            return None  # already the scoped form this style asks for
        edits = tuple(insert_text(action.word.span.start, "-prune ") for action in removals)
        return self.finding(find.command.span if piped else element.span, message, Fix(
            edits, Applicability.SAFE, "Add `-prune` so find does not walk into what it deletes"))
