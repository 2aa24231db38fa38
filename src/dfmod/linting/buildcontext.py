"""The build context of a Dockerfile: the directory `COPY`/`ADD` read from, minus what
`.dockerignore` leaves out.

The rules that look at files (copy-before-install, verify-imports, venv-relocated,
user-site-not-on-path) read them here, so that "which files does `COPY . .` bring in" has
one answer. Where the context comes from is the workspace's business (`--context`, the
configuration, a compose file's `build:`); without such a source it is the Dockerfile's
directory — unless the `COPY`/`ADD` sources exist only relative to an ancestor directory
(up to the repository root), as for `docker/Dockerfile` built with `docker build -f
docker/Dockerfile .`: then that ancestor is taken, and findings that depend on it say so.

The ignore file is BuildKit's: `<Dockerfile>.dockerignore` beside the Dockerfile if it
exists, else `.dockerignore` at the context's root.
"""

from __future__ import annotations

import os
import posixpath
import stat

from dfmod.syntax.dockerfile import Dockerfile, Instruction
from dfmod.syntax.records import Record

TYPE_CHECKING = False  # not typing's: importing typing costs ~7 ms (tests/test_startup.py)
if TYPE_CHECKING:
    from dfmod.linting.dockerignore import DockerIgnore


class _Loaded:
    """The slot where a `BuildContext` keeps its ignore file once read: not a field (no part
    of its value, its equality or its `repr`), so it lives outside the `Record`."""

    __slots__ = ("_ignore",)
    _ignore: DockerIgnore


class BuildContext(Record, _Loaded):
    """A Dockerfile's build context. `how` says where it came from (`--show-files`); `note`,
    when not empty, is what a finding depending on it adds (an inferred context)."""

    __slots__ = ("root", "dockerfile", "how", "note", "stage")

    def __init__(self, root: str, dockerfile: str, how: str, note: str = "",
                 stage: str | None = None) -> None:
        self.root = root  # absolute
        self.dockerfile = dockerfile
        self.how = how
        self.note = note
        self.stage = stage  # the stage that ships (a compose `build.target`), else the last

    def path(self, relative: str) -> str | None:
        """The absolute path of a context-relative path, or None if it leaves the context."""
        relative = posixpath.normpath(relative.lstrip("/"))
        if relative == ".." or relative.startswith("../"):
            return None
        return os.path.join(self.root, *relative.split("/")) if relative != "." else self.root

    def sends(self, relative: str) -> bool:
        """Whether the builder sends `relative`: it is not excluded by the ignore file."""
        return not self.ignore.excludes(relative)

    def file(self, relative: str) -> str | None:
        """The absolute path of a regular file the context sends, or None."""
        full = self.path(relative)
        if full is None or not self.sends(relative) or not _is_regular(full):
            return None
        return full

    def directory(self, relative: str) -> str | None:
        """The absolute path of a directory the context sends, or None."""
        full = self.path(relative)
        if full is None or not self.sends(relative) or not os.path.isdir(full):
            return None
        return full

    def shown(self, path: str) -> str:
        """An absolute path as a context-relative one, for messages."""
        return os.path.relpath(path, self.root).replace(os.sep, "/")

    @property
    def ignore(self) -> DockerIgnore:
        """The ignore file in force (read on first use, then kept)."""
        try:
            return self._ignore
        except AttributeError:
            self._ignore = _read_ignore(self.dockerfile, self.root)
            return self._ignore


def _read_ignore(dockerfile: str, root: str) -> DockerIgnore:
    """BuildKit's ignore file for `dockerfile` built in `root` (see the module docstring)."""
    from dfmod.linting.dockerignore import DockerIgnore  # read for the COPY rules only

    for candidate in (dockerfile + ".dockerignore", os.path.join(root, ".dockerignore")):
        if _is_regular(candidate):
            try:
                with open(candidate, encoding="utf-8", errors="replace") as handle:
                    return DockerIgnore(handle.read())
            except OSError:
                continue
    return DockerIgnore()


def _is_regular(path: str) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def context_sources(instruction: Instruction) -> list[str]:
    """The build-context paths a `COPY`/`ADD` without `--from` reads (no URLs, heredocs)."""
    if instruction.keyword not in ("COPY", "ADD") or instruction.flag("from") is not None:
        return []
    values = instruction.json_args
    if values is None:
        values = [word.value for word in instruction.words]
    return [value for value in values[:-1]
            if not value.startswith("<<") and "://" not in value and not value.startswith("git@")]


def default_context(doc: Dockerfile) -> BuildContext:
    """The Dockerfile's directory, or the ancestor its `COPY`/`ADD` sources point to."""
    dockerfile = os.path.abspath(doc.path)
    directory = os.path.dirname(dockerfile)
    sources = [source for instruction in doc.instructions
               for source in context_sources(instruction)
               if "$" not in source and posixpath.normpath(source.lstrip("/")) != "."]
    own = BuildContext(directory, dockerfile, "the Dockerfile's directory")
    if not sources or _all_exist(directory, sources):
        return own
    top = _repository_root(directory)
    current = directory
    while top is not None and current != top:
        current = os.path.dirname(current)
        if _all_exist(current, sources):
            shown = os.path.relpath(current, directory).replace(os.sep, "/")
            return BuildContext(current, dockerfile,
                                f"{shown} (the COPY/ADD sources exist only there)",
                                f"assuming the build context `{shown}`, where the COPY sources are")
    return own


def _all_exist(root: str, sources: list[str]) -> bool:
    for source in sources:
        parts = posixpath.normpath(source.lstrip("/")).split("/")
        while parts and parts[0] == "..":  # BuildKit keeps `../x` inside the context
            parts.pop(0)
        path = os.path.join(root, *parts)
        if not (os.path.lexists(path) or _matches(path)):
            return False
    return True


def _matches(pattern: str) -> bool:
    """Whether a COPY source pattern (`*.txt`) matches a file; a source without a
    wildcard is just a path (glob's own test, with glob imported only for patterns)."""
    if not any(char in pattern for char in "*?["):
        return False
    import glob

    return bool(glob.glob(pattern))


def _repository_root(directory: str) -> str | None:
    """The nearest directory at or above `directory` holding `.git`, else None."""
    current = directory
    while True:
        if os.path.exists(os.path.join(current, ".git")):
            return current
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent
