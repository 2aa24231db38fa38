"""Which files a run starts from: paths named on the command line, and what a walk finds.

A file named on the command line is always taken (its kind is decided when it is read,
`dfmod.workspace.kinds.classify`). A directory is walked for Dockerfiles and compose files
(`dfmod.workspace.kinds`), skipping VCS folders, `node_modules`, virtualenvs, what
`.gitignore` files exclude (`respect_gitignore`, as ruff does) and what the configuration's
`exclude` names. A YAML file of the walk counts only if its content is a compose model.
FIFOs, sockets, devices and links to them are never opened (a FIFO named `Dockerfile`
would block the walk): they are skipped, as are broken links. Every candidate left out is
recorded with the reason, for `-v`.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable

from dfmod.syntax.records import Record
from dfmod.syntax.source import InputError, read_source
from dfmod.workspace.kinds import COMPOSE, is_compose_candidate, is_compose_model, kind_of

TYPE_CHECKING = False  # not typing's: importing typing costs ~7 ms (tests/test_startup.py)
if TYPE_CHECKING:
    from dfmod.workspace.gitignore import IgnoreRules

SKIPPED_DIRECTORIES = frozenset({".git", ".hg", ".svn", "node_modules", ".venv", "venv",
                                 "__pycache__", ".tox", ".nox", ".mypy_cache", ".ruff_cache",
                                 ".pytest_cache", "site-packages"})


class Found(Record):
    """A file to process. `kind` is None for a named file whose content will decide."""

    __slots__ = ("path", "kind", "named")

    def __init__(self, path: str, kind: str | None, named: bool = False) -> None:
        self.path = path
        self.kind = kind
        self.named = named


class Skipped(Record):
    __slots__ = ("path", "reason")

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason


class Discovery(Record):
    __slots__ = ("files", "skipped")
    __hash__ = None  # not frozen (a plain dataclass before): unhashable

    def __init__(self, files: list[Found] | None = None, skipped: list[Skipped] | None = None) -> None:
        self.files = [] if files is None else files
        self.skipped = [] if skipped is None else skipped


def discover(paths: list[str], excluded: Callable[[str], bool] | None = None,
             respect_gitignore: bool = True) -> Discovery:
    """Files to process, each once, in a stable order (see the module docstring).

    A path that does not exist, or a directory named like a Dockerfile (surely a mistake),
    raises `InputError`. `excluded` (the configuration's `exclude`) applies to walked files
    only.
    """
    result = Discovery()
    seen: set[str] = set()

    def add(path: str, kind: str | None, named: bool) -> None:
        key = os.path.realpath(path)
        if key not in seen:
            seen.add(key)
            result.files.append(Found(os.path.normpath(path), kind, named))

    for path in paths:
        if os.path.isdir(path):
            if os.path.basename(os.path.normpath(path)) in ("Dockerfile", "Containerfile"):
                raise InputError(path, "is a directory")
            top = os.path.abspath(path)  # walked absolute, as the ignore rules' bases are
            given = path

            def as_given(walked: str, top: str = top, given: str = given) -> str:
                """A walked path as the user wrote its directory (`./svc/Dockerfile`)."""
                return os.path.join(given, walked[len(top):].lstrip(os.sep))

            from dfmod.workspace.gitignore import rules_for  # a walk's: files named need none

            skipped: list[Skipped] = []
            _walk(top, rules_for(top) if respect_gitignore else None, excluded,
                  lambda walked, kind, named: add(as_given(walked), kind, named), skipped)
            result.skipped += [Skipped(as_given(item.path), item.reason) for item in skipped]
        elif os.path.lexists(path):
            add(path, kind_of(path), True)
        else:
            raise InputError(path, "no such file or directory")
    return result


def _walk(top: str, rules: IgnoreRules | None, excluded: Callable[[str], bool] | None,
          add: Callable[[str, str | None, bool], None], skipped: list[Skipped]) -> None:
    """Depth first, a directory's files before its subdirectories, each in name order."""
    pending = [(top, rules)]
    while pending:
        directory, rules = pending.pop()
        try:
            entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
        except OSError as error:
            skipped.append(Skipped(directory, f"cannot list: {error.strerror}"))
            continue
        subdirectories = []
        for entry in entries:
            path = entry.path
            if entry.is_dir(follow_symlinks=False):
                reason = _skipped_directory(path, entry.name, rules)
                if reason is None:
                    subdirectories.append((path, rules.entering(path) if rules else None))
                elif not reason.startswith("-"):
                    skipped.append(Skipped(path, f"a directory {reason}"))
                continue
            kind = kind_of(entry.name)
            if kind is None and not is_compose_candidate(entry.name):
                continue
            reason = _skipped_file(path, entry, kind, rules, excluded)
            if reason is None:
                add(path, COMPOSE if kind is None else kind, False)
            else:
                skipped.append(Skipped(path, reason))
        pending.extend(reversed(subdirectories))


def _skipped_directory(path: str, name: str, rules: IgnoreRules | None) -> str | None:
    """Why the walk does not enter a directory; a reason starting with `-` is not shown."""
    if name in SKIPPED_DIRECTORIES or os.path.exists(os.path.join(path, "pyvenv.cfg")):
        return "-vendored"
    ignored = rules.ignored_by(path, True) if rules else None
    return None if ignored is None else f"ignored by {display_path(ignored)}"


def _skipped_file(path: str, entry: os.DirEntry[str], kind: str | None,
                  rules: IgnoreRules | None, excluded: Callable[[str], bool] | None) -> str | None:
    """Why a candidate file of the walk is left out, or None to take it."""
    try:
        mode = os.stat(path).st_mode  # through a link: what reading would open
    except OSError:
        return "a broken symbolic link" if entry.is_symlink() else "cannot be read"
    if not stat.S_ISREG(mode):
        what = ("a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
                else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a file")
        link = "a symbolic link to " if entry.is_symlink() else ""
        return f"{link}{what}, not a regular file"
    ignored = rules.ignored_by(path, False) if rules else None
    if ignored is not None:
        return f"ignored by {display_path(ignored)}"
    if excluded is not None and excluded(path):
        return "excluded by the configuration's `exclude`"
    if kind is None or kind == COMPOSE:
        try:
            text = read_source(path).text
        except InputError as error:
            return None if kind == COMPOSE else error.reason  # a compose name: report it
        if not is_compose_model(text):
            return "not a compose model (no compose top-level keys)"
    return None


def display_path(path: str) -> str:
    """The path as a diff or report shows it: relative to the working directory if inside."""
    relative = os.path.relpath(path)
    if relative.startswith(".."):
        relative = os.path.abspath(path)
    return relative.replace(os.sep, "/")
