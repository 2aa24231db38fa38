"""Reading and writing user files without harming them.

Every file dfmod touches goes through here, so the promises live in one place: only a
regular file inside the project is read or written (`guard`, `dfmod.syntax.project`), a
read never blocks and never reads more than the size limit, the text is decoded exactly (a
UTF-8 BOM is kept as the first character, newlines are never translated), bad input
becomes one `InputError` naming the file, and a write is atomic, keeps the file's mode and
refuses to clobber a file that changed since it was read.
"""

from __future__ import annotations

import os
import stat

from dfmod.syntax.project import current
from dfmod.syntax.records import Record


class InputError(Exception):
    """A file dfmod cannot work on. `str()` is the one-line message shown to the user."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class SourceFile(Record):
    """A file's text exactly as read, plus what is needed to write it back safely."""

    __slots__ = ("path", "text", "raw")

    def __init__(self, path: str, text: str, raw: bytes) -> None:
        self.path = path
        self.text = text
        self.raw = raw

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


class OutsideProject(InputError):
    """A file outside the project (`dfmod.syntax.project`): reported, never touched."""


def guard(path: str, action: str) -> str:
    """The real path of `path` if the current project lets dfmod `action` it ("read",
    "changed"); raises `OutsideProject` otherwise.

    Every read and write of a user file calls this first, so the rule lives here once: a
    symlink is followed only when its target resolves inside the project too.
    """
    real = os.path.realpath(path)
    project = current()
    if project.contains(real):
        return real
    where = "" if real == os.path.abspath(path) else f"resolves to {real}, "
    raise OutsideProject(path, f"{where}outside the project: not {action}")


# Opening never waits: O_NONBLOCK makes opening a FIFO return at once (it would block until
# a writer came), O_NOCTTY keeps a terminal device from becoming dfmod's controlling one.
_OPEN_FLAGS = (os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
               | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))


def _kind_of_file(mode: int) -> str | None:
    """What a non-regular file is, for a message (None for a regular file)."""
    if stat.S_ISREG(mode):
        return None
    kinds = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
             (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))
    what = next((name for test, name in kinds if test(mode)), "a special file")
    return what if what == "a directory" else f"{what}, not a regular file"


def _read_regular(path: str, real: str, limit: int) -> bytes:
    """The first `limit` + 1 bytes of the regular file `real` (shown as `path`): more than
    `limit` means it is larger. Anything else raises `InputError`.

    The type is checked on the opened descriptor (`fstat`), so nothing can be swapped in
    between a check and the open; a `stat` before opening also keeps dfmod from opening a
    device at all (opening some has side effects). At most `limit` + 1 bytes are read,
    whatever the file claims its size is (`/proc` files say 0).
    """
    try:
        what = _kind_of_file(os.stat(real).st_mode)
        if what is not None:
            raise InputError(path, f"is {what}")
        fd = os.open(real, _OPEN_FLAGS)
    except FileNotFoundError:
        raise InputError(path, "no such file") from None
    except PermissionError:
        raise InputError(path, "permission denied") from None
    except OSError as error:
        raise InputError(path, error.strerror or str(error)) from None
    with os.fdopen(fd, "rb") as handle:
        status = os.fstat(fd)
        what = _kind_of_file(status.st_mode)
        if what is not None:
            raise InputError(path, f"is {what}")
        try:
            # Ask for what the file says it holds, plus one byte: a bigger buffer costs more
            # than the read. Only a file holding more than it said is read on, to the limit.
            wanted = min(limit, status.st_size) + 1
            raw = handle.read(wanted)
            if len(raw) == wanted and wanted <= limit:
                raw += handle.read(limit + 1 - wanted)
        except OSError as error:
            raise InputError(path, error.strerror or str(error)) from None
    return raw


def read_bytes(path: str) -> bytes:
    """The bytes of a regular file inside the project, within the size limit.

    FIFOs, sockets, devices and directories (or links to them), a file outside the project
    and one larger than `--max-file-size` raise `InputError` naming the file; no read can
    block or run without end.
    """
    limit = current().max_file_size
    raw = _read_regular(path, guard(path, "read"), limit)
    if len(raw) > limit:
        raise InputError(path, f"is larger than {limit:,} bytes (--max-file-size): not read")
    return raw


def read_source(path: str) -> SourceFile:
    """Read one file (`read_bytes`) and decode it (`decode`)."""
    raw = read_bytes(path)
    return SourceFile(path=path, text=decode(path, raw), raw=raw)


def write_source(source: SourceFile, new_text: str) -> None:
    """Atomically replace `source.path` with `new_text`, keeping mode and symlinks.

    The new content goes to a temporary file in the same directory, is flushed to disk
    and then renamed over the target, so an interrupted write leaves the original intact.
    A symlink is written through (its target is replaced, the link stays a link) when the
    target is inside the project (`guard`). If the file changed on disk since it was read,
    is no longer a regular file, or is read-only (no write bit at all), nothing is written.
    """
    target = guard(source.path, "changed")
    try:
        current_raw = _read_regular(source.path, target, len(source.raw))
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except InputError as error:
        raise InputError(source.path, f"cannot re-read before writing: {error.reason}") from None
    except OSError as error:
        raise InputError(source.path, f"cannot re-read before writing: {error.strerror}") from None
    if current_raw != source.raw:
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
        import contextlib  # only here: a check imports no contextlib (tests/test_startup.py)

        with contextlib.suppress(OSError):
            os.unlink(temp_path)
        raise InputError(source.path, f"cannot write: {error.strerror}") from None
