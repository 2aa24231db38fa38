"""The org-wide sweep's part that runs on one machine: `examples/ci/multi-gitter-dfmod.sh`
as the script of a multi-gitter run over three repositories, each with a bare remote.

What multi-gitter does around the script is played by the test exactly as multi-gitter's
git implementation does it (`internal/git/cmdgit`, `internal/multigitter/run.go`): clone
the base branch (`--branch main --single-branch --depth 1`), `git checkout -b` the feature
branch, run the script there with REPOSITORY set; with `--manual-commit` a commit made by
the script is the change, its first line the pull request's title and the rest its body;
`--conflict-strategy replace` force-pushes the branch. The forge's pull request is the
only thing not here: the test records the title and body multi-gitter would give it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "examples/ci/multi-gitter-dfmod.sh"
BRANCH = "dfmod/fixes"
CLEAN = "FROM python:3.12-slim\nRUN pip install --no-cache-dir flask\n"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    config = tmp_path / "gitconfig"
    config.write_text("")
    return {**os.environ, "GIT_CONFIG_GLOBAL": str(config), "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_AUTHOR_NAME": "Sweep Bot", "GIT_AUTHOR_EMAIL": "sweep@example.com",
            "GIT_COMMITTER_NAME": "Sweep Bot", "GIT_COMMITTER_EMAIL": "sweep@example.com",
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}


def git(cwd: Path, *args: str, env: dict[str, str]) -> str:
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          check=True).stdout.strip()


@pytest.fixture
def remotes(tmp_path: Path, env: dict[str, str]) -> dict[str, Path]:
    """acme/shop and acme/billing have things to fix, acme/docs has none."""
    contents = {"shop": ROOT / "examples", "billing": ROOT / "examples/myielts-voice", "docs": None}
    out = {}
    for name, source in contents.items():
        seed = tmp_path / "seeds" / name
        if source is None:
            seed.mkdir(parents=True)
            (seed / "Dockerfile").write_text(CLEAN)
        else:
            shutil.copytree(source, seed, ignore=shutil.ignore_patterns("ci"))
        git(seed, "init", "-q", "-b", "main", env=env)
        git(seed, "add", "-A", env=env)
        git(seed, "commit", "-q", "-m", "initial", env=env)
        out[name] = tmp_path / "remotes" / f"{name}.git"
        git(tmp_path, "clone", "-q", "--bare", str(seed), str(out[name]), env=env)
    return out


@dataclass
class PullRequest:
    title: str
    body: str
    pushed: str  # what `git push` said


def multi_gitter_run(remotes: dict[str, Path], work: Path, env: dict[str, str]) -> dict[str, PullRequest]:
    """One `multi-gitter run SCRIPT --manual-commit --conflict-strategy replace` over the
    repositories: the pull requests it would open or update, by repository."""
    if work.exists():
        shutil.rmtree(work)
    opened = {}
    for name, remote in remotes.items():
        clone = work / name
        git(work.parent, "clone", "-q", remote.as_uri(), "--branch", "main", "--single-branch",
            "--depth", "1", str(clone), env=env)
        git(clone, "checkout", "-q", "-b", BRANCH, env=env)
        before = git(clone, "rev-parse", "HEAD", env=env)
        done = subprocess.run([str(SCRIPT), "--ignore", "verify-imports"], cwd=clone,
                              env={**env, "REPOSITORY": f"acme/{name}"}, capture_output=True,
                              text=True, check=False)
        assert done.returncode == 0, (name, done.stderr)
        assert git(clone, "status", "--porcelain", env=env) == "", "the script leaves no stray files"
        if git(clone, "rev-parse", "HEAD", env=env) == before:
            continue  # no change: multi-gitter opens nothing
        title, _, body = git(clone, "log", "-1", "--format=%B", env=env).partition("\n")
        push = subprocess.run(["git", "push", "--porcelain", "--force", "origin", f"HEAD:refs/heads/{BRANCH}"],
                              cwd=clone, env=env, capture_output=True, text=True, check=True)
        opened[name] = PullRequest(title, body.strip(), push.stdout)
    return opened


def test_a_sweep_over_three_repositories_is_idempotent(remotes: dict[str, Path], tmp_path: Path,
                                                       env: dict[str, str]) -> None:
    first = multi_gitter_run(remotes, tmp_path / "run", env)
    assert sorted(first) == ["billing", "shop"], "docs has nothing to fix: no pull request"
    heads = {}
    for name, pr in first.items():
        remote = remotes[name]
        heads[name] = git(remote, "rev-parse", BRANCH, env=env)
        assert git(remote, "rev-list", "--count", f"main..{BRANCH}", env=env) == "1"
        assert git(remote, "rev-parse", f"{BRANCH}^", env=env) == git(remote, "rev-parse", "main", env=env)
        assert pr.title.startswith("dfmod: ") and pr.body.startswith("<!-- dfmod:")
        assert "on `main`" in pr.body, "the body names the base branch, not multi-gitter's branch"
        assert git(remote, "log", "-1", "--format=%an", BRANCH, env=env) == "Sweep Bot"
        # The commit holds exactly what `dfmod apply --fix` makes of the base.
        check = tmp_path / "check" / name
        git(tmp_path, "clone", "-q", str(remote), str(check), env=env)
        subprocess.run([sys.executable, "-m", "dfmod", "apply", "--fix", "--ignore", "verify-imports", "."],
                       cwd=check, env=env, capture_output=True, check=False)
        git(check, "add", "-A", env=env)
        assert git(check, "write-tree", env=env) == git(remote, "rev-parse", f"{BRANCH}^{{tree}}", env=env)
    assert git(remotes["docs"], "branch", "--list", BRANCH, env=env) == ""

    # The same sweep again: the same commits, nothing new pushed, the same pull requests.
    second = multi_gitter_run(remotes, tmp_path / "run", env)
    assert {name: (pr.title, pr.body) for name, pr in second.items()} == {
        name: (pr.title, pr.body) for name, pr in first.items()}
    for name, pr in second.items():
        assert "[up to date]" in pr.pushed, pr.pushed
        assert git(remotes[name], "rev-parse", BRANCH, env=env) == heads[name]

    # The base moves in one repository: that branch is made again on the new base.
    seed = tmp_path / "seeds/shop"
    (seed / "NOTES.md").write_text("unrelated\n")
    git(seed, "add", "-A", env=env)
    git(seed, "commit", "-q", "-m", "docs", env=env)
    git(seed, "push", "-q", str(remotes["shop"]), "main", env=env)
    third = multi_gitter_run(remotes, tmp_path / "run", env)
    assert git(remotes["shop"], "rev-parse", f"{BRANCH}^", env=env) == git(seed, "rev-parse", "main", env=env)
    assert "(forced update)" in third["shop"].pushed, third["shop"].pushed
    assert git(remotes["billing"], "rev-parse", BRANCH, env=env) == heads["billing"]
