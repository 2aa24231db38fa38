"""`dfmod pr` against real git: temporary repositories, a local bare remote, the real CLI.

Each test drives `python -m dfmod pr` as a bot would and checks the repository with git
itself: which commits exist, what they contain, what the remote holds, and that the
user's working tree was left exactly as it was.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
GOLDEN_BODY = ROOT / "golden/_pr-body/body.md"
GOLDEN_BODY_UNSAFE = ROOT / "golden/_pr-body/body-unsafe.md"
CLEAN = "FROM python:3.12-slim\nRUN pip install --no-cache-dir flask\n"
# verify-imports reads the application with libcst (~0.5 s to import); the tests about
# branches and remotes do not need it, and it applies nothing without --unsafe-fixes.
FAST = ("--ignore", "verify-imports")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """Git isolated from the machine's configuration, with a fixed identity."""
    config = tmp_path / "gitconfig"
    config.write_text("")
    return {**os.environ, "GIT_CONFIG_GLOBAL": str(config), "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com",
            "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.com"}


def git(cwd: Path, *args: str, env: dict[str, str]) -> str:
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          check=True).stdout.strip()


def dfmod(cwd: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dfmod", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, check=False)


def commit_all(repo: Path, message: str, env: dict[str, str]) -> str:
    git(repo, "add", "-A", env=env)
    git(repo, "commit", "-q", "-m", message, env=env)
    return git(repo, "rev-parse", "HEAD", env=env)


@pytest.fixture
def repo(tmp_path: Path, env: dict[str, str]) -> Path:
    """A repository laid out like the seeds: a copy of examples/ on branch main."""
    path = tmp_path / "repo"
    shutil.copytree(EXAMPLES, path)
    git(path, "init", "-q", "-b", "main", env=env)
    commit_all(path, "initial", env)
    return path


def branch_commits(repo: Path, env: dict[str, str], branch: str = "dfmod/fixes") -> list[str]:
    return git(repo, "log", "--reverse", "--format=%s", f"main..{branch}", env=env).splitlines()


def first_parent(repo: Path, env: dict[str, str], base: str = "main") -> str:
    """The commit the branch's first dfmod commit was made on."""
    return git(repo, "log", "--reverse", "--format=%P", f"{base}..dfmod/fixes", env=env).split()[0]


def test_first_run_commits_one_per_rule_from_the_base_tree(repo: Path, env: dict[str, str]) -> None:
    result = dfmod(repo, "pr", "--format", "json", env=env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["status"] == "created"
    assert report["branch"] == "dfmod/fixes" and report["base"] == "main"
    subjects = branch_commits(repo, env)
    # One commit per rule, in rule order (examples/ may grow: these are the seeds' own).
    for subject in ["dfmod: cache-mount-no-cache-dir in vision-service/Dockerfile",
                    "dfmod: find-cleanup-errors in tgo-rag/Dockerfile",
                    "dfmod: keep-dist-info in tgo-rag/Dockerfile",
                    "dfmod: pip-cache-purge in myielts-voice/Dockerfile",
                    "dfmod: undefined-env-var in myielts-voice/Dockerfile"]:
        assert subject in subjects
    rules = [subject.split()[1] for subject in subjects]
    assert rules == sorted(rules) and len(set(rules)) == len(rules)
    assert [commit["subject"] for commit in report["commits"]] == subjects
    assert {"myielts-voice/Dockerfile", "tgo-rag/Dockerfile", "vision-service/Dockerfile"} <= set(report["files"])
    assert "uni-load-improved/Dockerfile" not in report["files"], "unsafe fixes only with --unsafe-fixes"
    # Every commit is on main, carries the trailer dfmod recognises itself by, and says why.
    trailers = git(repo, "log", "--format=%(trailers:key=Dfmod-Version,valueonly)", "main..dfmod/fixes",
                   env=env).split()
    assert trailers == ["0.1.0"] * len(subjects)
    message = git(repo, "log", "-1", "--format=%B", f"dfmod/fixes~{len(subjects) - 1}", env=env)
    assert "- vision-service/Dockerfile: Remove `--no-cache-dir`" in message
    assert "Why: With `--no-cache-dir` pip neither reads nor writes its cache" in message
    assert first_parent(repo, env) == git(repo, "rev-parse", "main", env=env)
    assert git(repo, "log", "-1", "--format=%an <%ae>", "dfmod/fixes", env=env) == "Test <test@example.com>"
    # The command a bot runs next, and the body it points at.
    assert report["gh_pr_create"] == ["gh", "pr", "create", "--base", "main", "--head", "dfmod/fixes",
                                      "--title", f"dfmod: fix {len(subjects)} rules in {len(report['files'])} files",
                                      "--body-file", report["body_file"]]
    assert not Path(report["body_file"]).is_relative_to(repo) or ".git" in Path(report["body_file"]).parts
    assert git(repo, "status", "--porcelain", env=env) == "", "nothing written into the working tree"


def check_golden(path: Path, text: str, update: bool) -> None:
    if update:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="")
    assert text == path.read_text(encoding="utf-8"), f"{path} differs (pytest --update-golden)"


@pytest.mark.parametrize(("options", "golden"), [([], GOLDEN_BODY),
                                                 (["--unsafe-fixes"], GOLDEN_BODY_UNSAFE)],
                         ids=["safe", "unsafe"])
def test_body_is_golden(repo: Path, env: dict[str, str], tmp_path: Path, update_golden: bool,
                        options: list[str], golden: Path) -> None:
    body = tmp_path / "body.md"
    result = dfmod(repo, "pr", *options, "--body-file", str(body), env=env)
    assert result.returncode == 0, result.stderr
    assert f"--body-file {body}" in result.stdout
    text = body.read_text(encoding="utf-8")
    assert text.startswith("<!-- dfmod: version=0.1.0; rules=cache-mount-no-cache-dir,")
    assert "http" not in text and "@" not in text.replace("@&#8203;", "")
    check_golden(golden, text, update_golden)


@pytest.mark.parametrize("squash", [False, True], ids=["per-rule", "squash"])
def test_commits_agree_with_apply_patch(repo: Path, env: dict[str, str], tmp_path: Path,
                                        squash: bool) -> None:
    """The branch holds exactly what `dfmod apply --patch` + `git apply` gives on a clean checkout."""
    result = dfmod(repo, "pr", "--unsafe-fixes", *(["--squash"] if squash else []), env=env)
    assert result.returncode == 0, result.stderr
    if squash:
        assert len(branch_commits(repo, env)) == 1
    clean = tmp_path / "clean"
    git(repo, "worktree", "add", "-q", "--detach", str(clean), "main", env=env)
    patch = tmp_path / "fix.patch"
    assert dfmod(clean, "apply", "--unsafe-fixes", "--patch", str(patch), ".", env=env).returncode == 1
    git(clean, "apply", str(patch), env=env)
    assert git(clean, "diff", "dfmod/fixes", "--stat", env=env) == ""
    assert git(clean, "status", "--porcelain", "--untracked-files=all", env=env) != ""


def test_second_run_creates_nothing_new(repo: Path, env: dict[str, str]) -> None:
    assert dfmod(repo, "pr", *FAST, env=env).returncode == 0
    head = git(repo, "rev-parse", "dfmod/fixes", env=env)
    again = dfmod(repo, "pr", *FAST, "--format", "json", env=env)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["status"] == "unchanged"
    assert git(repo, "rev-parse", "dfmod/fixes", env=env) == head
    # Same tree, other commit layout (squashed): still nothing new.
    squashed = dfmod(repo, "pr", *FAST, "--squash", "--open", env=env)
    assert "already up to date" in squashed.stdout
    assert git(repo, "rev-parse", "dfmod/fixes", env=env) == head
    if shutil.which("gh") is None:  # --open says clearly that it cannot open the PR
        assert squashed.returncode == 2
        assert "`gh`, which is not installed" in squashed.stderr
        assert "gh pr create --base main --head dfmod/fixes" in squashed.stderr


def test_base_moved_recreates_the_branch_from_the_new_head(repo: Path, env: dict[str, str]) -> None:
    assert dfmod(repo, "pr", *FAST, env=env).returncode == 0
    (repo / "NOTES.md").write_text("unrelated\n")
    new_main = commit_all(repo, "docs", env)
    result = dfmod(repo, "pr", *FAST, "--format", "json", env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["status"] == "updated"
    assert first_parent(repo, env) == new_main
    assert git(repo, "log", "--format=%(trailers:key=Dfmod-Version,valueonly)", "main..dfmod/fixes",
               env=env).split() == ["0.1.0"] * len(branch_commits(repo, env))


def test_a_human_commit_on_the_branch_is_left_alone(repo: Path, env: dict[str, str]) -> None:
    assert dfmod(repo, "pr", *FAST, env=env).returncode == 0
    git(repo, "switch", "-q", "dfmod/fixes", env=env)
    (repo / "vision-service/main.py").write_text("# reviewed\n")
    human = commit_all(repo, "tweak by a human", env)
    git(repo, "switch", "-q", "main", env=env)
    (repo / "NOTES.md").write_text("the base moves too\n")
    commit_all(repo, "docs", env)
    result = dfmod(repo, "pr", *FAST, env=env)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "not made by dfmod" in result.stderr
    assert "Traceback" not in result.stderr
    assert git(repo, "rev-parse", "dfmod/fixes", env=env) == human


def test_dirty_working_tree_is_neither_touched_nor_committed(repo: Path, env: dict[str, str]) -> None:
    dockerfile = repo / "vision-service/Dockerfile"
    dirty = dockerfile.read_bytes() + b"# work in progress\n"
    dockerfile.write_bytes(dirty)
    (repo / "tgo-rag/Dockerfile").write_text(CLEAN)
    git(repo, "add", "tgo-rag/Dockerfile", env=env)  # a staged change too
    (repo / "scratch.Dockerfile").write_text("FROM x\n")  # untracked
    status = git(repo, "status", "--porcelain", env=env)
    index = git(repo, "ls-files", "-s", env=env)
    result = dfmod(repo, "pr", *FAST, env=env)
    assert result.returncode == 0, result.stderr
    assert dockerfile.read_bytes() == dirty
    assert (repo / "tgo-rag/Dockerfile").read_text() == CLEAN
    assert git(repo, "status", "--porcelain", env=env) == status
    assert git(repo, "ls-files", "-s", env=env) == index
    fixed = git(repo, "show", "dfmod/fixes:vision-service/Dockerfile", env=env)
    assert "work in progress" not in fixed
    assert "    pip install -r requirements.txt\n" in fixed
    assert "-prune" in git(repo, "show", "dfmod/fixes:tgo-rag/Dockerfile", env=env)
    assert "scratch.Dockerfile" not in git(repo, "ls-tree", "-r", "--name-only", "dfmod/fixes", env=env)
    assert git(repo, "worktree", "list", "--porcelain", env=env).count("worktree ") == 1


def test_nothing_to_fix_makes_no_branch(tmp_path: Path, env: dict[str, str]) -> None:
    repo = tmp_path / "clean"
    repo.mkdir()
    (repo / "Dockerfile").write_text(CLEAN)
    git(repo, "init", "-q", "-b", "main", env=env)
    commit_all(repo, "initial", env)
    result = dfmod(repo, "pr", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "dfmod pr: nothing to fix on main; no branch created\n"
    assert git(repo, "branch", "--list", "dfmod/*", env=env) == ""


def test_a_stale_suppression_is_removed_in_its_own_commit(tmp_path: Path, env: dict[str, str]) -> None:
    """Per-rule replays run one codemod, which must not judge `# dfmod: ignore` unused."""
    repo = tmp_path / "sup"
    repo.mkdir()
    (repo / "Dockerfile").write_text(
        "FROM python:3.12\n# dfmod: ignore\nRUN echo hi\n"
        "RUN --mount=type=cache,target=/root/.cache/pip pip install --no-cache-dir flask\n")
    git(repo, "init", "-q", "-b", "main", env=env)
    commit_all(repo, "initial", env)
    assert dfmod(repo, "pr", *FAST, env=env).returncode == 0
    assert branch_commits(repo, env) == ["dfmod: cache-mount-no-cache-dir in Dockerfile",
                                         "dfmod: unused-suppression in Dockerfile"]
    assert git(repo, "show", "dfmod/fixes:Dockerfile", env=env) == (
        "FROM python:3.12\nRUN echo hi\nRUN --mount=type=cache,target=/root/.cache/pip pip install flask")


def test_paths_and_select_limit_the_change(repo: Path, env: dict[str, str], tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = dfmod(elsewhere, "pr", "--repo", str(repo), "--select", "cache-mount-no-cache-dir,keep-dist-info",
                   "--branch", "dfmod/cache", "vision-service", env=env)
    assert result.returncode == 0, result.stderr
    assert branch_commits(repo, env, "dfmod/cache") == [
        "dfmod: cache-mount-no-cache-dir in vision-service/Dockerfile"]
    missing = dfmod(repo, "pr", "no-such-dir", env=env)
    assert missing.returncode == 2 and missing.stderr == \
        "dfmod: error: no-such-dir: no such file or directory in main\n"
    outside = dfmod(repo, "pr", "..", env=env)
    assert outside.returncode == 2 and "outside the repository" in outside.stderr


@pytest.fixture
def remote(tmp_path: Path, repo: Path, env: dict[str, str]) -> Path:
    path = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(path), env=env)
    git(repo, "remote", "add", "origin", str(path), env=env)
    git(repo, "push", "-q", "origin", "main", env=env)
    return path


def remote_head(remote: Path, env: dict[str, str]) -> str:
    return git(remote, "rev-parse", "refs/heads/dfmod/fixes", env=env)


def test_push_creates_then_leaves_then_replaces_with_lease(repo: Path, remote: Path,
                                                           env: dict[str, str], tmp_path: Path) -> None:
    first = dfmod(repo, "pr", *FAST, "--push", "origin", env=env)
    assert first.returncode == 0, first.stderr
    assert "pushed dfmod/fixes to origin (new branch)" in first.stdout
    pushed = remote_head(remote, env)
    assert pushed == git(repo, "rev-parse", "dfmod/fixes", env=env)

    # A bot's fresh clone has no local branch: the remote one is recognised and kept.
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(remote), str(clone), env=env)
    again = dfmod(clone, "pr", *FAST, "--push", "origin", "--format", "json", env=env)
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert report["status"] == "unchanged" and "nothing pushed" in report["pushed"]
    assert remote_head(remote, env) == pushed

    # The base moves: the branch is re-created and force-pushed over dfmod's own commits.
    (clone / "NOTES.md").write_text("unrelated\n")
    new_main = commit_all(clone, "docs", env)
    git(clone, "push", "-q", "origin", "main", env=env)
    moved = dfmod(clone, "pr", *FAST, "--push", "origin", env=env)
    assert moved.returncode == 0, moved.stderr
    assert f"force-with-lease, replacing {pushed[:7]}" in moved.stdout
    assert first_parent(remote, env) == new_main


def test_push_refuses_a_branch_a_human_pushed_to(repo: Path, remote: Path, env: dict[str, str],
                                                 tmp_path: Path) -> None:
    assert dfmod(repo, "pr", *FAST, "--push", "origin", env=env).returncode == 0
    human = tmp_path / "human"
    git(tmp_path, "clone", "-q", "-b", "dfmod/fixes", str(remote), str(human), env=env)
    (human / "vision-service/main.py").write_text("# reviewed\n")
    commit_all(human, "review fix", env)
    git(human, "push", "-q", "origin", "dfmod/fixes", env=env)
    theirs = remote_head(remote, env)
    local = git(repo, "rev-parse", "dfmod/fixes", env=env)
    result = dfmod(repo, "pr", *FAST, "--push", "origin", "--unsafe-fixes", env=env)
    assert result.returncode == 2
    assert result.stderr.startswith("dfmod: error: origin/dfmod/fixes has 1 commit(s) not made by dfmod")
    assert result.stderr.count("\n") == 1
    assert remote_head(remote, env) == theirs
    assert git(repo, "rev-parse", "dfmod/fixes", env=env) == local, "nothing changed locally either"


def test_lease_protects_a_push_that_races_another(repo: Path, remote: Path, env: dict[str, str]) -> None:
    """The remote branch moves between dfmod's look and its push: the lease rejects the push.

    A pre-push hook (it runs after git read the remote's refs) moves the remote branch, as a
    concurrent pusher would.
    """
    assert dfmod(repo, "pr", *FAST, "--push", "origin", env=env).returncode == 0
    (repo / "NOTES.md").write_text("unrelated\n")
    commit_all(repo, "docs", env)
    racer = git(repo, "rev-parse", "main~1", env=env)  # a commit the remote has
    hook = repo / ".git/hooks/pre-push"
    hook.write_text(f"#!/bin/sh\ngit --git-dir='{remote}' update-ref refs/heads/dfmod/fixes {racer}\n")
    hook.chmod(0o755)
    result = dfmod(repo, "pr", *FAST, "--push", "origin", env=env)
    assert result.returncode == 2
    assert result.stderr.startswith("dfmod: error: git push to origin refused: "), result.stderr
    assert result.stderr.count("\n") == 1
    assert remote_head(remote, env) == racer
