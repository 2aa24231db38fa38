"""Safe I/O: atomic writes that keep mode and symlinks and never clobber a changed file;
reads of regular files only, never blocking, within the size limit and the project."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest

from dfmod.syntax.project import Project, active, project_root
from dfmod.syntax.source import InputError, OutsideProject, read_source, write_source
from limits import deadline


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


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "Dockerfile"
    os.mkfifo(fifo)
    link = tmp_path / "compose.yaml"
    link.symlink_to(fifo.name)
    with deadline(5):
        for path in (fifo, link):
            with pytest.raises(InputError, match=r": is a FIFO, not a regular file$"):
                read_source(str(path))


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_link_to_a_device_is_refused_without_reading(tmp_path: Path) -> None:
    link = tmp_path / "Dockerfile"
    link.symlink_to("/dev/zero")
    with deadline(5), pytest.raises(InputError, match="is a character device, not a regular file"):
        read_source(str(link))


def test_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "Dockerfile"
    path.write_bytes(b"FROM x\n" + b"#" * 93)  # 100 bytes
    with active(Project(max_file_size=100)):
        assert len(read_source(str(path)).raw) == 100
    with active(Project(max_file_size=99)), pytest.raises(
            InputError, match=r"Dockerfile: is larger than 99 bytes \(--max-file-size\): not read$"):
        read_source(str(path))


def test_project_root_is_the_git_top_level_else_the_path(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "svc").mkdir()
    (repo / "svc/Dockerfile").write_text("FROM x\n")
    assert project_root(str(repo / "svc")) == str(repo)
    assert project_root(str(repo / "svc/Dockerfile")) == str(repo)
    worktree = tmp_path / "worktree"
    worktree.mkdir()
    (worktree / ".git").write_text("gitdir: /elsewhere\n")  # a worktree's or submodule's
    assert project_root(str(worktree)) == str(worktree)
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "Dockerfile").write_text("FROM x\n")
    if not (tmp_path / ".git").exists():
        assert project_root(str(plain)) == str(plain)
        assert project_root(str(plain / "Dockerfile")) == str(plain)


def test_links_are_followed_only_inside_the_project(tmp_path: Path) -> None:
    (tmp_path / "repo/.git").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    secret = tmp_path / "outside/file"
    secret.write_text("FROM outside\n")
    (tmp_path / "repo/real.Dockerfile").write_text("FROM inside\n")
    inner = tmp_path / "repo/Dockerfile"
    inner.symlink_to("real.Dockerfile")
    outer = tmp_path / "repo/other.Dockerfile"
    outer.symlink_to(secret)
    unguarded = read_source(str(outer))  # no run in progress: no project, no rule
    with active(Project.of([str(tmp_path / "repo")])):
        assert read_source(str(inner)).text == "FROM inside\n"
        refused = re.escape(f"other.Dockerfile: resolves to {secret}, outside the project: not read")
        with pytest.raises(OutsideProject, match=refused):
            read_source(str(outer))
        with pytest.raises(OutsideProject, match=r"outside the project: not changed$"):
            write_source(unguarded, "FROM changed\n")
        with pytest.raises(OutsideProject, match=r"outside the project: not read$"):
            read_source(str(secret))
    assert secret.read_text() == "FROM outside\n"


def test_a_file_that_became_a_fifo_is_not_written(tmp_path: Path) -> None:
    path = tmp_path / "Dockerfile"
    path.write_text("FROM x\n")
    source = read_source(str(path))
    path.unlink()
    os.mkfifo(path)
    with deadline(5), pytest.raises(InputError, match="cannot re-read before writing: is a FIFO"):
        write_source(source, "FROM y\n")
    assert stat.S_ISFIFO(path.stat().st_mode)
