"""The pre-commit hooks in `.pre-commit-hooks.yaml`, run by real pre-commit in real git repos.

`pre-commit try-repo` installs dfmod from the hook repository's committed HEAD into a
fresh virtualenv (pip, so PyPI must be reachable; ~10 s here). The test therefore commits a
copy of the current working tree in a temporary repository and points pre-commit at that
copy: the checkout under test is never committed to, and uncommitted work is what is tested.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dfmod.workspace.kinds import kind_of

clientlib = pytest.importorskip("pre_commit.clientlib")

ROOT = Path(__file__).resolve().parent.parent
SEED_000 = ROOT / "golden/cache-mount-no-cache-dir/seed-000"
GIT = ["git", "-c", "user.name=dfmod tests", "-c", "user.email=tests@dfmod.invalid",
       "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main"]


def _manifest() -> list[dict]:
    return clientlib.load_manifest(str(ROOT / ".pre-commit-hooks.yaml"))


def test_the_manifest_is_valid_and_has_both_hooks() -> None:
    hooks = {hook["id"]: hook for hook in _manifest()}
    assert hooks["dfmod-check"]["entry"] == "dfmod check"
    assert hooks["dfmod-fix"]["entry"] == "dfmod apply --fix"
    assert {hook["language"] for hook in hooks.values()} == {"python"}


@pytest.mark.parametrize("path", [
    "Dockerfile", "svc/Dockerfile", "Dockerfile.prod", "a/b/api.Dockerfile", "api.dockerfile",
    "Containerfile", "Containerfile.dev", "compose.yaml", "compose.yml", "docker-compose.yaml",
    "deploy/docker-compose.yml", "compose.override.yaml", "docker-compose.prod.yml",
    "Dockerfile-test", "Dockerfile_amd", "Dockerfile_China", "Dockerfile@sha256", "dockerfile",
    "Dockerfile-linux.template", "docker-compose-base.yml", "compose-with-env-files.yaml",
    "docker-compose-mariadb-redis.yml", "Containerfile-arm",
])
def test_files_pattern_matches_what_dfmod_reads(path: str) -> None:
    assert kind_of(path) is not None
    for hook in _manifest():
        assert re.search(hook["files"], path), (hook["id"], path)


@pytest.mark.parametrize("path", [
    "README.md", "Dockerfile/notes.txt", "mycompose.yaml", "compose.json",
    "docker-compose.yaml.bak", "src/app.py", "Makefile", "ci/compose.yaml.j2",
    "Dockerfile.dockerignore", ".github/workflows/dockerfile.yaml", "dockerfile-build.yaml",
    "Dockerfile.md", "Dockerfiles", "api.Dockerfile.dockerignore",
])
def test_files_pattern_leaves_other_files_alone(path: str) -> None:
    assert kind_of(path) is None
    for hook in _manifest():
        assert not re.search(hook["files"], path), (hook["id"], path)


def _snapshot(destination: Path) -> Path:
    """The working tree as it is (tracked and untracked, not ignored), committed in a new repo."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT,
                            capture_output=True, check=False)
    if listed.returncode != 0:
        pytest.skip("the dfmod sources are not a git checkout")
    for name in listed.stdout.decode().split("\0"):
        source = ROOT / name
        if name and source.is_file():  # a deleted tracked file is listed too
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    subprocess.run([*GIT, "init", "-q"], cwd=destination, check=True)
    subprocess.run([*GIT, "add", "-A"], cwd=destination, check=True)
    subprocess.run([*GIT, "commit", "-qm", "snapshot"], cwd=destination, check=True)
    return destination


def _try_repo(hook_repo: Path, project: Path, home: Path) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}
    environment.update(PRE_COMMIT_HOME=str(home), NO_COLOR="1")
    return subprocess.run([sys.executable, "-m", "pre_commit", "try-repo", str(hook_repo), "--all-files",
                           "--color", "never"],
                          cwd=project, env=environment, capture_output=True, text=True, timeout=300,
                          check=False)


def test_hooks_in_a_real_repository(tmp_path: Path) -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    hook_repo = _snapshot(tmp_path / "dfmod")
    project = tmp_path / "project"
    (project / "svc").mkdir(parents=True)
    shutil.copy(SEED_000 / "input/Dockerfile", project / "svc/Dockerfile")
    (project / "notes.txt").write_text("RUN pip install --no-cache-dir x\n")
    subprocess.run([*GIT, "init", "-q"], cwd=project, check=True)
    subprocess.run([*GIT, "add", "-A"], cwd=project, check=True)
    subprocess.run([*GIT, "commit", "-qm", "init"], cwd=project, check=True)

    # Both hooks, in manifest order: dfmod-check fails on the finding, dfmod-fix fixes it
    # (and fails, as pre-commit hooks do when they modify files).
    first = _try_repo(hook_repo, project, tmp_path / "cache")
    output = first.stdout + first.stderr
    assert first.returncode == 1, output
    assert re.search(r"dfmod check\.+Failed", output), output
    assert "svc/Dockerfile:8:17: cache-mount-no-cache-dir" in output
    assert re.search(r"dfmod fix\.+Failed", output), output
    assert "files were modified by this hook" in output
    assert (project / "svc/Dockerfile").read_bytes() == (SEED_000 / "expected/Dockerfile").read_bytes()
    assert (project / "notes.txt").read_text() == "RUN pip install --no-cache-dir x\n"

    second = _try_repo(hook_repo, project, tmp_path / "cache")
    output = second.stdout + second.stderr
    assert second.returncode == 0, output
    assert re.search(r"dfmod check\.+Passed", output) and re.search(r"dfmod fix\.+Passed", output), output
