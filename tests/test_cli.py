"""The command line, driven as users drive it: a real subprocess, real files, real git."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEED_000 = ROOT / "golden/cache-mount-no-cache-dir/seed-000"


def dfmod(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dfmod", *args], cwd=cwd,
                          capture_output=True, text=True, check=False)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    shutil.copy(SEED_000 / "input/Dockerfile", tmp_path / "Dockerfile")
    return tmp_path


def test_check_reports_and_exits_1(repo: Path) -> None:
    result = dfmod("check", ".", cwd=repo)
    assert result.returncode == 1
    assert "Dockerfile:8:17: cache-mount-no-cache-dir" in result.stdout
    assert "1 fixable with --fix" in result.stdout


def test_check_json_has_everything_a_bot_needs(repo: Path) -> None:
    result = dfmod("check", "--format", "json", "Dockerfile", cwd=repo)
    (record,) = json.loads(result.stdout)
    assert record["file"] == "Dockerfile"
    assert (record["line"], record["column"], record["rule"]) == (8, 17, "cache-mount-no-cache-dir")
    assert record["applicability"] == "safe"
    assert "goes unused" in record["message"]


def test_dry_run_diff_is_accepted_by_git_apply(repo: Path) -> None:
    before = (repo / "Dockerfile").read_bytes()
    result = dfmod("apply", ".", cwd=repo)
    assert result.returncode == 1
    assert result.stdout.startswith("diff --git a/Dockerfile b/Dockerfile\n")
    assert (repo / "Dockerfile").read_bytes() == before, "a dry run must not write"
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    (repo / "fix.patch").write_text(result.stdout)
    subprocess.run(["git", "apply", "--check", "fix.patch"], cwd=repo, check=True)
    subprocess.run(["git", "apply", "fix.patch"], cwd=repo, check=True)
    assert (repo / "Dockerfile").read_bytes() == (SEED_000 / "expected/Dockerfile").read_bytes()


def test_fix_writes_the_seed_after_and_second_run_changes_nothing(repo: Path) -> None:
    path = repo / "Dockerfile"
    path.chmod(0o640)
    result = dfmod("apply", "--fix", ".", cwd=repo)
    assert result.returncode == 0, result.stderr
    assert path.read_bytes() == (SEED_000 / "expected/Dockerfile").read_bytes()
    assert "pip install -r requirements.txt" in path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    again = dfmod("apply", "--fix", ".", cwd=repo)
    assert again.returncode == 0
    assert dfmod("apply", ".", cwd=repo).stdout == ""


def test_patch_file_matches_the_dry_run(repo: Path) -> None:
    dry = dfmod("apply", ".", cwd=repo).stdout
    result = dfmod("apply", "--patch", "out.patch", ".", cwd=repo)
    assert result.returncode == 1
    assert (repo / "out.patch").read_text() == dry


def test_crlf_and_missing_final_newline_survive_a_fix(tmp_path: Path) -> None:
    case = ROOT / "golden/cache-mount-no-cache-dir/crlf"
    shutil.copy(case / "input/Dockerfile", tmp_path / "Dockerfile")
    dfmod("apply", "--fix", ".", cwd=tmp_path)
    assert (tmp_path / "Dockerfile").read_bytes() == (case / "expected/Dockerfile").read_bytes()
    assert b"\r\n" in (tmp_path / "Dockerfile").read_bytes()


def test_unknown_rule_is_a_usage_error(repo: Path) -> None:
    result = dfmod("check", "--select", "no-such-rule", ".", cwd=repo)
    assert result.returncode == 2
    assert "no-such-rule" in result.stderr


def test_select_and_ignore(repo: Path) -> None:
    assert dfmod("check", "--ignore", "cache-mount-no-cache-dir", ".", cwd=repo).returncode == 0
    assert dfmod("check", "--select", "cache-mount-no-cache-dir", ".", cwd=repo).returncode == 1


BAD_INPUTS = {
    "binary": b"\x7fELF\x02\x01\x01\x00\x00\x00",
    "invalid-utf8": b"FROM python\nRUN echo \xff\xfe oops\n",
    "utf16": "FROM python\n".encode("utf-16"),
    "empty": b"",
    "unterminated-heredoc": b"FROM python\nRUN <<EOF\necho never ends\n",
    "bad-escape": b"# escape=x\nFROM python\n",
}


@pytest.mark.parametrize("kind", BAD_INPUTS)
def test_bad_input_is_one_line_naming_the_file(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "Dockerfile"
    path.write_bytes(BAD_INPUTS[kind])
    mtime = path.stat().st_mtime_ns
    for args in (["check"], ["apply"], ["apply", "--fix"]):
        result = dfmod(*args, "Dockerfile", cwd=tmp_path)
        assert result.returncode == 2
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("dfmod: error: Dockerfile: "), lines
        assert "Traceback" not in result.stderr
    assert path.read_bytes() == BAD_INPUTS[kind]
    assert path.stat().st_mtime_ns == mtime


def test_missing_path_and_directory_named_dockerfile(tmp_path: Path) -> None:
    result = dfmod("check", "nowhere", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == "dfmod: error: nowhere: no such file or directory\n"
    (tmp_path / "Dockerfile").mkdir()
    result = dfmod("check", "Dockerfile", cwd=tmp_path)
    assert (result.returncode, result.stderr) == (2, "dfmod: error: Dockerfile: is a directory\n")
    assert dfmod("check", ".", cwd=tmp_path).returncode == 0  # walking skips it


def test_unreadable_file(tmp_path: Path) -> None:
    """A file the OS will not let dfmod read: one line naming it, exit 2.

    Permissions cannot stop root (CI runs as root), so the path is a link to itself, which
    the OS refuses to open (too many levels of links). (A link to /proc/self/mem, which
    answers `read()` with an I/O error, is now refused before: it is outside the project.)
    """
    path = tmp_path / "Dockerfile"
    if os.geteuid() == 0:
        path.symlink_to("Dockerfile")
    else:  # pragma: no cover - CI runs as root
        path.write_text("FROM x\n")
        path.chmod(0)
    result = dfmod("check", "Dockerfile", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("dfmod: error: Dockerfile: ")
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr


def test_one_bad_file_does_not_stop_the_others(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a/Dockerfile").write_bytes(b"\xff")
    shutil.copy(SEED_000 / "input/Dockerfile", tmp_path / "Dockerfile")
    result = dfmod("apply", "--fix", ".", cwd=tmp_path)
    assert result.returncode == 2
    assert "a/Dockerfile" in result.stderr
    assert (tmp_path / "Dockerfile").read_bytes() == (SEED_000 / "expected/Dockerfile").read_bytes()


def test_discovery_walks_names_and_skips_vendored_dirs(tmp_path: Path) -> None:
    text = (SEED_000 / "input/Dockerfile").read_text()
    for name in ["Dockerfile", "svc/Dockerfile.prod", "svc/api.Dockerfile", "svc/web.dockerfile",
                 "Containerfile", "node_modules/x/Dockerfile", ".git/Dockerfile",
                 "venv/Dockerfile", "docs/README.md"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    result = dfmod("check", "--format", "json", ".", cwd=tmp_path)
    files = sorted({record["file"] for record in json.loads(result.stdout)})
    assert files == ["Containerfile", "Dockerfile", "svc/Dockerfile.prod", "svc/api.Dockerfile",
                     "svc/web.dockerfile"]


def test_rules_and_explain() -> None:
    result = dfmod("rules", cwd=ROOT)
    assert "cache-mount-no-cache-dir" in result.stdout
    explained = dfmod("explain", "cache-mount-no-cache-dir", cwd=ROOT)
    assert "## Why it is bad" in explained.stdout
    assert dfmod("explain", "nope", cwd=ROOT).returncode == 2


def _parsed(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[object, str, str]:
    """What argparse makes of `argv`: its exit code, stdout and stderr."""
    from dfmod.cli import main

    with pytest.raises(SystemExit) as stopped:
        main(argv)
    out, err = capsys.readouterr()
    return stopped.value.code, out, err


def test_the_parser_names_every_command_where_it_can_show_them(capsys: pytest.CaptureFixture[str]) -> None:
    """Only the chosen command gets its options (start-up, `dfmod.cli._parser`); the
    top-level help and errors still name every command, and a command's help is whole."""
    from dfmod.cli import COMMANDS

    listed = f"(choose from {', '.join(repr(name) for name in COMMANDS)})"
    for argv in (["--help"], ["-h", "check"]):
        code, out, _ = _parsed(argv, capsys)
        assert code == 0 and all(f"    {name}" in out for name in COMMANDS), argv
    for argv in (["bogus"], ["chec", "--help"]):
        code, _, err = _parsed(argv, capsys)
        assert code == 2 and f"invalid choice: '{argv[0]}' {listed}" in err
    code, _, err = _parsed([], capsys)
    assert code == 2 and "the following arguments are required: COMMAND" in err
    code, _, err = _parsed(["-v", "check", "."], capsys)  # `.` is check's: only `-v` is left
    assert code == 2 and err.endswith("dfmod: error: unrecognized arguments: -v\n")
    code, out, _ = _parsed(["check", "--help"], capsys)
    assert code == 0 and "--add-ignore" in out and "--timeout-per-file" in out
    code, out, _ = _parsed(["pr", "--help"], capsys)
    assert code == 0 and "--squash" in out and "--build-arg" in out


def test_read_only_file_reports_and_exits_2(repo: Path) -> None:
    path = repo / "Dockerfile"
    before = path.read_bytes()
    path.chmod(0o444)
    result = dfmod("apply", "--fix", ".", cwd=repo)
    assert result.returncode == 2
    assert "dfmod: error: Dockerfile: is read-only; not written" in result.stderr
    assert path.read_bytes() == before


@pytest.mark.parametrize("columns", [None, "0", "57", "wide", "132"])
def test_help_width_is_the_one_shutil_gives(monkeypatch: pytest.MonkeyPatch, columns: str | None) -> None:
    """The CLI's help formatter finds the terminal width without importing shutil (start-up);
    it must find the same width shutil would."""
    import shutil

    from dfmod.cli import _terminal_columns

    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    assert _terminal_columns() == shutil.get_terminal_size().columns
