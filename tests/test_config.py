"""Configuration, shards, jobs and stdin, driven through the real CLI."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEED_000 = ROOT / "golden/cache-mount-no-cache-dir/seed-000/input/Dockerfile"
MASKED = 'FROM python:3.11\nRUN pip install gpt-load || echo "not available via pip"\n'


def dfmod(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dfmod", *args], cwd=cwd, input=stdin,
                          capture_output=True, text=True, check=False)


def rules_found(result: subprocess.CompletedProcess[str]) -> list[tuple[str, str]]:
    return sorted((item["file"], item["rule"]) for item in json.loads(result.stdout))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copy(SEED_000, tmp_path / "Dockerfile")
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc/Dockerfile").write_text(MASKED)
    return tmp_path


def test_pyproject_select_and_per_file_ignores(project: Path) -> None:
    (project / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.dfmod]\nselect = ["cache-mount-no-cache-dir", '
        '"masked-install-failure"]\nper-file-ignores = { "svc/*" = ["masked-install-failure"] }\n')
    result = dfmod("check", "--format", "json", ".", cwd=project)
    assert rules_found(result) == [("Dockerfile", "cache-mount-no-cache-dir")]


def test_nearest_config_wins(project: Path) -> None:
    (project / "dfmod.toml").write_text('ignore = ["cache-mount-no-cache-dir"]\n')
    (project / "svc/dfmod.toml").write_text('select = ["cache-mount-no-cache-dir"]\n')
    found = rules_found(dfmod("check", "--format", "json", ".", cwd=project))
    assert ("Dockerfile", "cache-mount-no-cache-dir") not in found  # root config ignores it
    assert not [rule for file, rule in found if file == "svc/Dockerfile"]  # svc selects one
    (project / "svc/dfmod.toml").unlink()
    found = rules_found(dfmod("check", "--format", "json", ".", cwd=project))
    assert ("svc/Dockerfile", "masked-install-failure") in found


def test_command_line_select_overrides_config(project: Path) -> None:
    (project / "dfmod.toml").write_text('ignore = ["cache-mount-no-cache-dir"]\n')
    result = dfmod("check", "--format", "json", "--select", "cache-mount-no-cache-dir", ".",
                   cwd=project)
    assert ("Dockerfile", "cache-mount-no-cache-dir") in rules_found(result)


def test_unsafe_fixes_and_exclude_from_config(project: Path) -> None:
    (project / "dfmod.toml").write_text('unsafe-fixes = true\nexclude = ["svc/**", "svc"]\n')
    result = dfmod("apply", ".", cwd=project)
    assert "svc/Dockerfile" not in result.stdout
    assert "a/Dockerfile" in result.stdout
    named = dfmod("apply", "svc/Dockerfile", cwd=project)  # named files are never excluded
    assert "svc/Dockerfile" in named.stdout


def test_codemod_options_from_config(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(
        "FROM python:3.11\nRUN pip install x && \\\n"
        "    find /v -type d -name tests -exec rm -rf {} +\n")
    (tmp_path / "dfmod.toml").write_text(
        'select = ["find-cleanup-errors"]\nunsafe-fixes = true\n\n'
        '[options.find-cleanup-errors]\nstyle = "scoped"\n')
    result = dfmod("apply", ".", cwd=tmp_path)
    assert "{ find /v" in result.stdout and "|| true; }" in result.stdout


@pytest.mark.parametrize(("content", "message"), [
    ('selekt = ["x"]\n', "unknown key `selekt`"),
    ('select = ["no-such-rule"]\n', "unknown codemod(s): no-such-rule"),
    ('[options.verify-imports]\nmodulez = ["x"]\n', "`options.verify-imports.modulez`"),
    ("select = [\n", "invalid TOML"),
])
def test_bad_config_is_one_line_naming_file_and_key(project: Path, content: str,
                                                    message: str) -> None:
    (project / "dfmod.toml").write_text(content)
    result = dfmod("check", ".", cwd=project)
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert "dfmod.toml" in result.stderr and message in result.stderr
    assert "Traceback" not in result.stderr


def test_shards_partition_the_files(tmp_path: Path) -> None:
    for index in range(12):
        (tmp_path / f"s{index}.Dockerfile").write_text(SEED_000.read_text())
    seen: list[str] = []
    for shard in ("1/3", "2/3", "3/3"):
        result = dfmod("check", "--format", "json", "--shard", shard, ".", cwd=tmp_path)
        seen += [file for file, _ in rules_found(result)]
        again = dfmod("check", "--format", "json", "--shard", shard, ".", cwd=tmp_path)
        assert again.stdout == result.stdout, "a shard must be deterministic"
    assert sorted(seen) == sorted(f"s{index}.Dockerfile" for index in range(12))
    assert dfmod("check", "--shard", "4/3", ".", cwd=tmp_path).returncode == 2


def test_jobs_give_the_same_result(project: Path) -> None:
    one = dfmod("check", "--format", "json", "--jobs", "1", ".", cwd=project)
    two = dfmod("check", "--format", "json", "--jobs", "2", ".", cwd=project)
    assert one.stdout == two.stdout


def test_stdin_filename(project: Path) -> None:
    text = SEED_000.read_text()
    check = dfmod("check", "--stdin-filename", "Dockerfile", cwd=project, stdin=text)
    assert check.returncode == 1 and "Dockerfile:8:17: cache-mount-no-cache-dir" in check.stdout
    fixed = dfmod("apply", "--fix", "--stdin-filename", "Dockerfile", cwd=project, stdin=text)
    assert fixed.stdout == (ROOT / "golden/cache-mount-no-cache-dir/seed-000/expected/Dockerfile"
                            ).read_text()
    assert (project / "Dockerfile").read_text() == text, "stdin mode never writes files"
    diff = dfmod("apply", "--stdin-filename", "Dockerfile", cwd=project, stdin=text)
    assert diff.stdout.startswith("diff --git a/Dockerfile b/Dockerfile")


def test_unused_suppression_can_be_ignored(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(
        "FROM python:3.11\n# dfmod: ignore[cache-mount-no-cache-dir]\nRUN pip install flask\n")
    assert "unused-suppression" in dfmod("check", ".", cwd=tmp_path).stdout
    assert dfmod("check", "--ignore", "unused-suppression", ".", cwd=tmp_path).returncode == 0


def test_progress_on_a_terminal_for_long_runs(tmp_path: Path) -> None:
    """A run over many files shows `N/M files` on stderr when stderr is a terminal."""
    import os
    import pty

    for index in range(210):
        (tmp_path / f"{index}.Dockerfile").write_text("FROM python:3.11\n")
    controller, terminal = pty.openpty()
    result = subprocess.run([sys.executable, "-m", "dfmod", "check", "--jobs", "1", "."],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=terminal, check=False)
    os.close(terminal)
    shown = b""
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    os.close(controller)
    assert result.returncode == 0
    assert b"200/210 files" in shown
    piped = dfmod("check", "--jobs", "1", ".", cwd=tmp_path)
    assert piped.stderr == "", "no progress when stderr is not a terminal"
