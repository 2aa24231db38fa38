"""The real CLI on a repository laid out like seed 003: a compose file and the Dockerfile it builds.

`python -m dfmod` runs as a subprocess on a copy of `examples/uni-load-improved/` in a real
git repository: the dry run's single diff holds both compose and Dockerfile fixes and
`git apply --check` accepts it; `--fix` writes them, and a second run finds nothing to fix.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "uni-load-improved"


def _dfmod(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dfmod", *args], cwd=cwd, capture_output=True,
                          text=True, check=False, env={**os.environ, "PYTHONIOENCODING": "utf-8"})


def _git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
                   cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    target = tmp_path / "uni-load-improved"
    shutil.copytree(EXAMPLE, target)
    _git("init", "-q", cwd=target)
    _git("add", "-A", cwd=target)
    _git("commit", "-q", "-m", "seed", cwd=target)
    return target


def _one_diff_with_both_kinds(repo: Path, *paths: str) -> None:
    result = _dfmod("apply", "--unsafe-fixes", "--jobs", "1", *paths, cwd=repo)
    assert result.returncode == 1, result.stderr
    diff = result.stdout
    assert "diff --git a/docker-compose.yml b/docker-compose.yml" in diff
    assert "diff --git a/Dockerfile b/Dockerfile" in diff
    assert '-version: "3.8"' in diff
    assert "+        condition: service_healthy" in diff
    assert "+      - AUTH_KEY=${AUTH_KEY}" in diff
    patch = repo.parent / "fix.patch"
    patch.write_text(diff, encoding="utf-8")
    subprocess.run(["git", "apply", "--check", os.fspath(patch)], cwd=repo, check=True)

    fixed = _dfmod("apply", "--fix", "--unsafe-fixes", "--jobs", "1", *paths, cwd=repo)
    assert fixed.returncode == 1, fixed.stderr  # the display-only findings remain
    assert "compose-unpinned-image" in fixed.stderr
    again = _dfmod("apply", "--unsafe-fixes", "--jobs", "1", *paths, cwd=repo)
    assert again.stdout == "", "a second run still changes files"


def test_compose_file_named_brings_its_dockerfile(repo: Path) -> None:
    _one_diff_with_both_kinds(repo, "docker-compose.yml")


def test_apply_on_the_directory_covers_compose_and_dockerfile(repo: Path) -> None:
    _one_diff_with_both_kinds(repo, ".")


def test_check_json_reports_compose_findings(repo: Path) -> None:
    result = _dfmod("check", "--format", "json", "docker-compose.yml", cwd=repo)
    assert result.returncode == 1, result.stderr
    records = json.loads(result.stdout)
    rules = {record["rule"] for record in records if record["file"] == "docker-compose.yml"}
    assert rules == {"compose-obsolete-version", "compose-unpinned-image",
                     "compose-secret-literal", "compose-depends-on-healthy"}
    secret = next(record for record in records if record["rule"] == "compose-secret-literal")
    assert (secret["line"], secret["applicability"]) == (12, "unsafe")


def test_broken_compose_file_is_one_line_and_untouched(repo: Path) -> None:
    compose = repo / "docker-compose.yml"
    compose.write_text("services:\n  web:\n    image: [nginx\n", encoding="utf-8")
    result = _dfmod("apply", "--fix", "docker-compose.yml", cwd=repo)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "docker-compose.yml" in result.stderr
    assert "line 4" in result.stderr and "Traceback" not in result.stderr
    assert compose.read_text(encoding="utf-8") == "services:\n  web:\n    image: [nginx\n"
