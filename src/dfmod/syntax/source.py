"""Reading and writing user files without harming them.

Every file dfmod touches goes through here, so the promises live in one place: the text is
decoded exactly (a UTF-8 BOM is kept as the first character, newlines are never
translated), bad input becomes one `InputError` naming the file, and a write is atomic,
keeps the file's mode and refuses to clobber a file that changed since it was read.
"""

from __future__ import annotations

import contextlib
import os
import stat
from dataclasses import dataclass


class InputError(Exception):
    """A file dfmod cannot work on. `str()` is the one-line message shown to the user."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


@dataclass(frozen=True)
class SourceFile:
    """A file's text exactly as read, plus what is needed to write it back safely."""

    path: str
    text: str
    raw: bytes

    @property
    def newline(self) -> str:
        """The newline style edits must use: the file's first line break, else LF."""
        index = self.text.find("\n")
        if index > 0 and self.text[index - 1] == "\r":
            return "\r\n"
        return "\n"


def decode(path: str, raw: bytes) -> str:
    """Decode `raw` as UTF-8, refusing what dfmod must not rewrite.

    UTF-16/32 files (recognised by their BOM) and binary files are refused rather than
    guessed at: a wrong guess would corrupt the file on write.
    """
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _refuse(path, "is UTF-16 or UTF-32 encoded; dfmod reads UTF-8 only")
    if b"\x00" in raw:
        return _refuse(path, "looks binary (contains NUL bytes)")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        return _refuse(path, f"is not valid UTF-8 (byte {error.start}, line {line})")


def _refuse(path: str, reason: str) -> str:
    raise InputError(path, reason)


def read_source(path: str) -> SourceFile:
    """Read one file, turning every OS-level failure into an `InputError`."""
    if os.path.isdir(path):
        raise InputError(path, "is a directory")
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except FileNotFoundError:
        raise InputError(path, "no such file") from None
    except PermissionError:
        raise InputError(path, "permission denied") from None
    except OSError as error:
        raise InputError(path, error.strerror or str(error)) from None
    return SourceFile(path=path, text=decode(path, raw), raw=raw)


def write_source(source: SourceFile, new_text: str) -> None:
    """Atomically replace `source.path` with `new_text`, keeping mode and symlinks.

    The new content goes to a temporary file in the same directory, is flushed to disk
    and then renamed over the target, so an interrupted write leaves the original intact.
    A symlink is written through (its target is replaced, the link stays a link). If the
    file changed on disk since it was read, or is read-only (no write bit at all), nothing
    is written.
    """
    target = os.path.realpath(source.path)
    try:
        with open(target, "rb") as handle:
            current = handle.read()
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except OSError as error:
        raise InputError(source.path, f"cannot re-read before writing: {error.strerror}") from None
    if current != source.raw:
        raise InputError(source.path, "changed on disk since it was read; not written")
    if not mode & 0o222:
        # A rename would replace it anyway (even as root); a read-only file is a statement.
        raise InputError(source.path, "is read-only; not written")
    import tempfile  # only when writing: it pulls in shutil, bz2 and lzma

    directory = os.path.dirname(target) or "."
    try:
        fd, temp_path = tempfile.mkstemp(prefix=".dfmod-", dir=directory)
    except OSError as error:
        raise InputError(source.path, f"cannot write: {error.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(new_text.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp_path, mode)
        os.replace(temp_path, target)
    except OSError as error:
        with contextlib.suppress(OSError):
            os.unlink(temp_path)
        raise InputError(source.path, f"cannot write: {error.strerror}") from None
