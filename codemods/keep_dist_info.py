"""Cleanup that deletes installed packages' metadata (`*.dist-info`, `*.egg-info`).

## What it finds
A command in a `RUN` that deletes the metadata directories pip, uv and poetry install next
to every package:
- `find DIR … -name '*.dist-info' -exec rm -rf {} +` (or `\\;`, `-execdir`, `-iname`,
  `-path '*.dist-info*'`, `-delete`), with or without `2>/dev/null || true` after it;
- `find DIR -name '*.dist-info' -print0 | xargs -0 rm -rf`;
- `rm -rf …/site-packages/*.dist-info` (one operand of a longer `rm` counts too).

`*-info` patterns count as both. Not reported: the leftovers of a package the same `RUN`
uninstalls (`pip uninstall -y setuptools && rm -rf …/setuptools-*.dist-info`). A find whose
`-type` tests cannot match the metadata directories (`-type f -name '*.dist-info'`,
`-type d -type f`) is reported as doing nothing; its safe fix removes it just the same.

`*.egg-info` is reported only where it is installed metadata: under a path that names
`site-packages`, `dist-packages`, a virtualenv (`venv`, `$VIRTUAL_ENV`), `/usr`, `/opt`,
`lib/python`, `.local` or `/`. `rm -rf build *.egg-info` in a source checkout removes a
setuptools build artefact, which is harmless, and is left alone.

## Why it is bad
A `*.dist-info` directory (`*.egg-info` for legacy installs) is how Python knows a
distribution is installed. Without it:
- `importlib.metadata.version("alembic")` raises `PackageNotFoundError` — many packages call
  it at import time for their own `__version__`;
- entry points vanish: plugins registered by packages (pytest plugins, celery and
  flake8 extensions, opentelemetry instrumentations, …) are no longer discovered;
- `pkg_resources` lookups fail, and pip no longer knows the package is installed.

`find DIR -name '*.dist-info' -delete` does not even get that far: `-delete` removes a
directory only when it is empty, so find stops with "Directory not empty" and the `RUN`
fails; it is reported too, since making it "work" would lose the metadata.

Console scripts such as `bin/alembic` keep working: they are small files that import
their function directly and do not read the metadata. (The incident this rule comes from
blamed the deletion for `exec /opt/venv/bin/alembic: no such file or directory`; that error
is the kernel saying the script's shebang interpreter does not exist — a virtualenv copied
to another path, see `venv-relocated`.) The metadata is small: a few MB for a large app.

## Fix
Safe: the cleanup command is removed; the rest of the chain is kept as it was, with one
`&&` fewer. A `find … 2>/dev/null || true` goes together with its `|| true` when nothing
before it depended on that `|| true`; otherwise `&& find …` alone is removed so the
commands before it behave exactly as before. A `RUN` that did nothing but this cleanup is
removed. Of an `rm` with other operands only the metadata operands are removed. No fix is
offered when find also selects other files (`-name a -o -name '*.dist-info'`), when the
command sits after `||`, or when a comment line would have to go.

## Proof
Built with BuildKit by `tests/builds/test_rules.py`:
`test_keep_dist_info_metadata_lookups_fail_console_scripts_work` (after the cleanup
`importlib.metadata` lookups fail while console scripts still start; the fix keeps them) and
`test_keep_dist_info_find_delete_fails_not_empty` (`find -delete` on a `*.dist-info`
directory fails the build). Not built: "the metadata is small" is about the sizes of real
apps, not a build outcome. `dfmod verify` probe: `importlib.metadata` finds the installed
distributions (a count, before and after).

## Example
```dockerfile
# before
RUN poetry install --only=main --no-root && \\
    find /app/.venv -type d -name "__pycache__" -exec rm -rf {} + && \\
    find /app/.venv -type d -name "*.dist-info" -exec rm -rf {} + && \\
    find /app/.venv -type d -name "doc" -exec rm -rf {} +
# after
RUN poetry install --only=main --no-root && \\
    find /app/.venv -type d -name "__pycache__" -exec rm -rf {} + && \\
    find /app/.venv -type d -name "doc" -exec rm -rf {} +
```
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Iterator

from dfmod.linting.codemod import Codemod, Context
from dfmod.linting.edits import Applicability, Edit, Finding, Fix, has_comment_line, remove_elements, remove_word
from dfmod.linting.needs import spellings
from dfmod.semantic.findcmd import FindCommand, basename, parse_find, rm_operands, tolerated_by
from dfmod.semantic.pydeps import normalize_name
from dfmod.semantic.tools import tool_call
from dfmod.syntax.dockerfile import Instruction
from dfmod.syntax.shell import Element, ShellScript, ShellWord
from dfmod.syntax.text import line_end, line_start

# Names of real metadata directories, to test find and rm patterns against.
_SAMPLES = {
    "dist-info": ("alembic-1.13.1.dist-info", "python_dotenv-1.0.1.dist-info"),
    "egg-info": ("alembic-1.13.1-py3.11.egg-info", "legacy_pkg.egg-info"),
}
_SITE = "/app/.venv/lib/python3.11/site-packages/"
_INSTALL_HINTS = ("site-packages", "dist-packages", "venv", "virtual_env", "/usr", "/opt",
                  "lib/python", ".local")
_NAME_PRIMARIES = ("-name", "-iname")
_PATH_PRIMARIES = ("-path", "-ipath", "-wholename", "-iwholename")
_REGEX_PRIMARIES = ("-regex", "-iregex")


def _metadata_kind(pattern: str, primary: str) -> str | None:
    """Which metadata (`dist-info` / `egg-info`) a find or shell pattern selects, if any.

    Name patterns are tried on a metadata directory's name; path and regex patterns on its
    path and on a file inside it (`-path '*.dist-info/*' -delete` empties it).
    """
    folded = pattern.lower()
    icase = primary.startswith("-i")
    if "info" not in folded:  # `*-info` counts; `*` alone is not a metadata cleanup
        return None
    for kind, samples in _SAMPLES.items():
        for sample in samples:
            if primary in _NAME_PRIMARIES:
                candidates: tuple[str, ...] = (sample,)
            else:
                candidates = (_SITE + sample, _SITE + sample + "/METADATA")
            if primary in _REGEX_PRIMARIES:
                try:
                    regex = re.compile(pattern, re.IGNORECASE if icase else 0)
                except re.error:
                    continue
                if any(regex.fullmatch(candidate) for candidate in candidates):
                    return kind
                continue
            for candidate in candidates:
                subject, wanted = (candidate.lower(), folded) if icase else (candidate, pattern)
                if fnmatch.fnmatchcase(subject, wanted):
                    return kind
    return None


def _installed_location(*texts: str) -> bool:
    """Whether a path plausibly holds installed packages (not a source checkout)."""
    for text in texts:
        folded = text.lower()
        if folded.rstrip("/") == "" or any(hint in folded for hint in _INSTALL_HINTS):
            return True
    return False


def _text(word: ShellWord) -> str:
    return word.value if word.value is not None else word.raw


class _Target:
    """One metadata-deleting command and what it deletes."""

    def __init__(self, element: Element, kinds: list[str], description: str,
                 selects_more: bool = False, operands: list[ShellWord] | None = None,
                 delete_fails: bool = False, matches_nothing: str | None = None,
                 packages: list[str] | None = None) -> None:
        self.element = element
        self.kinds = kinds
        self.description = description
        self.selects_more = selects_more  # the command also deletes other things
        self.operands = operands or []  # rm operands to drop when it has others too
        self.delete_fails = delete_fails  # `-name '*.dist-info' -delete`: rmdir of a full dir
        self.matches_nothing = matches_nothing  # why the find can match no metadata
        self.packages = packages or []  # the packages whose metadata it names (`pip-*`)


def _find_target(element: Element, find: FindCommand, piped_to_rm: bool) -> _Target | None:
    deletes = piped_to_rm or any(
        action.word.value == "-delete" or (action.argv and basename(action.argv[0].value) == "rm")
        for action in find.actions)
    if not deletes:
        return None
    kinds: list[str] = []
    only_names = True
    for primary, word in find.arguments(*_NAME_PRIMARIES, *_PATH_PRIMARIES, *_REGEX_PRIMARIES):
        kind = _metadata_kind(_text(word), primary)
        if kind is None:
            continue
        only_names = only_names and primary in _NAME_PRIMARIES
        if kind == "egg-info" and not _installed_location(
                _text(word), *(_text(path) for path in find.paths)):
            continue
        if kind not in kinds:
            kinds.append(kind)
    if not kinds:
        return None
    delete_fails = only_names and not piped_to_rm and all(
        action.word.value == "-delete" for action in find.actions)
    return _Target(element, kinds, "find", selects_more=find.has_alternation,
                   delete_fails=delete_fails,
                   matches_nothing=None if find.has_alternation else _contradiction(find, only_names),
                   packages=_packages(_text(word) for _, word in find.arguments(*_NAME_PRIMARIES)))


def _contradiction(find: FindCommand, only_names: bool) -> str | None:
    """Why the find's `-type` tests let it match no metadata at all, if they do.

    `-type f -type d` can match nothing; `-type f` (or `l`…) with only `-name` patterns
    cannot match the metadata, which is a directory."""
    letters = [(word.value or "") for _, word in find.arguments("-type")]
    singles = {letter for letter in letters if len(letter) == 1}
    if len(singles) > 1:
        return "its `-type` tests exclude each other"
    if only_names and letters and all("d" not in letter for letter in letters):
        return f"`-type {letters[0]}` never matches the metadata, which is a directory"
    return None


def _packages(patterns: Iterable[str]) -> list[str]:
    """The distributions a metadata pattern names (`setuptools-*.dist-info`, `pip*`)."""
    found: list[str] = []
    for pattern in patterns:
        match = re.match(r"([A-Za-z0-9][A-Za-z0-9_.]*?)[-*]", basename(pattern))
        if match and not any(char in match.group(1) for char in "*?["):
            found.append(normalize_name(match.group(1)))
    return found


def _rm_target(element: Element) -> _Target | None:
    command = element.command
    if command is None:
        return None
    operands = rm_operands(command)
    if not operands:
        return None
    kinds: list[str] = []
    hits: list[ShellWord] = []
    for word in operands:
        text = _text(word)
        name = basename(text)
        if "$" in name or "`" in name:
            continue
        kind = _metadata_kind(name, "-name")
        if kind is None or (kind == "egg-info" and not _installed_location(text)):
            continue
        hits.append(word)
        if kind not in kinds:
            kinds.append(kind)
    if not hits:
        return None
    others = len(hits) < len(operands)
    return _Target(element, kinds, "rm", operands=hits if others else [],
                   packages=_packages(_text(word) for word in hits))


def _target(element: Element) -> _Target | None:
    if element.kind == "command" and element.command is not None:
        find = parse_find(element.command)
        if find is not None:
            return _find_target(element, find, piped_to_rm=False)
        return _rm_target(element)
    if element.kind == "pipeline" and len(element.commands) == 2:
        first, second = element.commands
        find = parse_find(first)
        words = second.words
        if find is None or not words or basename(words[0].value) != "xargs":
            return None
        if not any(basename(word.value) == "rm" for word in words[1:]):
            return None
        return _find_target(element, find, piped_to_rm=True)
    return None


def _message(target: _Target) -> str:
    names = " and ".join(f"`*.{kind}`" for kind in target.kinds)
    if target.matches_nothing:
        return f"this find deletes no {names}: {target.matches_nothing}, so it does nothing"
    if target.delete_fails:
        return (f"`-delete` cannot remove the non-empty {names} directories, so this find "
                "fails (Directory not empty)")
    return f"this deletes packages' metadata ({names}): `importlib.metadata` and entry points then fail"


class KeepDistInfo(Codemod):
    id = "keep-dist-info"
    summary = "A cleanup deletes *.dist-info / *.egg-info: package metadata and entry points are lost"
    applicability = Applicability.SAFE
    # _metadata_kind reads only patterns with "info" in them (folded: `-iname '*.DIST-INFO'`)
    needs = spellings("info", any_case=True)
    changes_instruction_count = True  # a RUN that only deleted metadata is removed

    def check(self, ctx: Context) -> Iterator[Finding]:
        for instruction, script in ctx.run_scripts(self.needs):
            for chain in script.chains:
                for element in chain.elements:
                    target = _target(element)
                    if target is not None and not self._uninstalled(ctx, instruction, target):
                        yield self._finding(ctx, instruction, ctx.scripts(instruction), script,
                                            target)

    @staticmethod
    def _uninstalled(ctx: Context, instruction: Instruction, target: _Target) -> bool:
        """Whether every package whose metadata it deletes is uninstalled by the same RUN
        (`pip uninstall -y setuptools && rm -rf …/setuptools-*.dist-info`): the leftovers
        of a removed package, not metadata anything needs."""
        if not target.packages:
            return False
        removed: set[str] = set()
        for script in ctx.scripts(instruction):
            for command in script.commands:
                call = tool_call(command)
                if call is not None and call.tool in ("pip", "uv-pip") and call.subcommand == "uninstall":
                    removed.update(normalize_name(word.value) for word in call.operands()
                                   if word.value is not None)
        return set(target.packages) <= removed

    def _finding(self, ctx: Context, instruction: Instruction, scripts: list[ShellScript],
                 script: ShellScript, target: _Target) -> Finding:
        element = target.element
        message = _message(target)
        if target.selects_more:
            return self.finding(element.span, message + "; the find also selects other "
                                "files: edit it by hand")
        text, escape = ctx.doc.text, ctx.doc.escape
        if target.operands:
            edits = [remove_word(text, word.span, escape) for word in target.operands]
            return self.finding(element.span, message, Fix(
                tuple(edits), Applicability.SAFE, "Keep the metadata: drop these rm operands"))
        chain = element.chain
        assert chain is not None
        last = element.index + (1 if tolerated_by(element) is not None else 0)
        whole = (chain is script.chain and element.index == 0
                 and last == len(chain.elements) - 1 and len(scripts) == 1)
        if whole:
            edits_or_none = self._remove_instruction(ctx, instruction)
            description = "Remove this RUN: it only deleted package metadata"
        else:
            edits_or_none = remove_elements(text, chain, element.index, last, escape)
            description = "Keep the metadata: remove this cleanup command"
        if edits_or_none is None:
            return self.finding(element.span, message)
        return self.finding(element.span, message,
                            Fix(tuple(edits_or_none), Applicability.SAFE, description))

    @staticmethod
    def _remove_instruction(ctx: Context, instruction: Instruction) -> list[Edit] | None:
        """The lines of the instruction, unless they hold a comment line or other text."""
        text = ctx.doc.text
        start = line_start(text, instruction.span.start)
        end = line_end(text, instruction.span.end)
        if text[start:instruction.span.start].strip(" \t"):
            return None
        if has_comment_line(text, start, end):
            return None
        return [Edit(start, end, "")]
