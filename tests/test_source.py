"""Safe I/O: atomic writes that keep mode and symlinks and never clobber a changed file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dfmod.syntax.source import InputError, read_source, write_source


def test_write_is_atomic_and_keeps_mode(tmp_path: Path) -> None:
    path = tmp_path / "Dockerfile"
    path.write_bytes(b"FROM x\r\n")
    path.chmod(0o755)
    source = read_source(str(path))
    write_source(source, "FROM y\r\n")
    assert path.read_bytes() == b"FROM y\r\n"
    assert path.stat().st_mode & 0o777 == 0o755
    assert os.listdir(tmp_path) == ["Dockerfile"]


def test_symlink_is_written_through(tmp_path: Path) -> None:
    target = tmp_path / "real.Dockerfile"
    target.write_text("FROM x\n")
    link = tmp_path / "Dockerfile"
    link.symlink_to(target.name)
    write_source(read_source(str(link)), "FROM y\n")
    assert link.is_symlink()
    assert target.read_text() == "FROM y\n"


def test_file_changed_since_read_is_not_clobbered(tmp_path: Path) -> None:
    path = tmp_path / "Dockerfile"
    path.write_text("FROM x\n")
    source = read_source(str(path))
    path.write_text("FROM edited-by-someone-else\n")
    with pytest.raises(InputError, match="changed on disk"):
        write_source(source, "FROM y\n")
    assert path.read_text() == "FROM edited-by-someone-else\n"


def test_interrupted_write_leaves_the_original(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "Dockerfile"
    path.write_text("FROM x\n")
    source = read_source(str(path))

    def disk_full(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(InputError, match="No space left"):
        write_source(source, "FROM y\n")
    assert path.read_text() == "FROM x\n"
    assert os.listdir(tmp_path) == ["Dockerfile"], "the temporary file was not cleaned up"


def test_bom_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "Dockerfile"
    path.write_bytes(b"\xef\xbb\xbfFROM x\n")
    source = read_source(str(path))
    assert source.text.startswith("\ufeff")
    write_source(source, source.text.replace("x", "y"))
    assert path.read_bytes() == b"\xef\xbb\xbfFROM y\n"


def test_read_only_file_is_not_written(tmp_path: Path) -> None:
    path = tmp_path / "Dockerfile"
    path.write_text("FROM x\n")
    path.chmod(0o444)
    with pytest.raises(InputError, match="read-only"):
        write_source(read_source(str(path)), "FROM y\n")
    assert path.read_text() == "FROM x\n"
