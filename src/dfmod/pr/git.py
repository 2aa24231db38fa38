"""Plain `git` through subprocess for `dfmod pr`: what runs is exactly what a user can rerun.

No library: the commands are few, and a reviewer can read each one.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

TRAILER = "Dfmod-Version"

RULE_TRAILER = "Dfmod-Rule"

_NO_HOOKS = ("-c", "core.hooksPath=/dev/null")  # dfmod's internal checkouts run no repo hooks

class PrError(Exception):
    """A reason to stop; `str()` is the one-line message shown to the user."""

def git(cwd: str, *args: str, env: dict[str, str] | None = None, check: bool = True) -> str:
    """Run git in `cwd` and return its stdout without the final newline."""
    try:
        done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True,
                              check=False)
    except FileNotFoundError:
        raise PrError("git is not installed (dfmod pr runs git)") from None
    if check and done.returncode != 0:
        raise PrError(f"git {args[0]}: {first_error(done.stderr) or f'exit {done.returncode}'}")
    return done.stdout.rstrip("\n")

def git_ok(cwd: str, *args: str) -> bool:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False).returncode == 0

def first_error(stderr: str) -> str:
    """git's `fatal:`/`error:` line if it printed one, else its first line."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in lines:
        if line.startswith(("fatal:", "error:")):
            return line
    return lines[0] if lines else ""

@dataclass
class Commit:
    sha: str
    subject: str
    ours: bool  # carries the Dfmod-Version trailer

def commits_between(top: str, tip: str, exclude: list[str]) -> list[Commit]:
    """Commits reachable from `tip` but not from `exclude`, oldest first."""
    out = git(top, "log", "--reverse", "--format=%H%x00%s%x00%(trailers:key=" + TRAILER
               + ",valueonly,separator=%x2C)%x1e", tip, "--not", *exclude, "--")
    commits = []
    for record in out.split("\x1e"):
        record = record.strip("\n")
        if record:
            sha, subject, version = record.split("\x00")
            commits.append(Commit(sha, subject, bool(version.strip())))
    return commits

def refuse_foreign(top: str, where: str, tip: str, exclude: list[str]) -> None:
    """A branch with a commit dfmod did not make was taken over by a human: leave it alone."""
    foreign = [commit for commit in commits_between(top, tip, exclude) if not commit.ours]
    if foreign:
        first = foreign[0]
        raise PrError(f"{where} has {len(foreign)} commit(s) not made by dfmod "
                      f"({first.sha[:7]} {first.subject!r}); not touching it")

def ref_sha(top: str, ref: str) -> str | None:
    out = git(top, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
    return out or None

@contextmanager
def temporary_worktree(top: str, sha: str) -> Iterator[str]:
    """A temporary detached checkout of `sha`, removed afterwards whatever happens."""
    parent = tempfile.mkdtemp(prefix="dfmod-pr-")
    path = os.path.join(parent, "tree")
    try:
        git(top, *_NO_HOOKS, "worktree", "add", "--detach", "--quiet", path, sha)
        yield path
    finally:
        git(top, "worktree", "remove", "--force", path, check=False)
        shutil.rmtree(parent, ignore_errors=True)
        git(top, "worktree", "prune", check=False)

def checked_out(top: str, branch: str) -> str | None:
    ref = f"refs/heads/{branch}"
    current = None
    for line in git(top, "worktree", "list", "--porcelain").splitlines():
        if line.startswith("worktree "):
            current = line[len("worktree "):]
        elif line == f"branch {ref}":
            return current
    return None

def commit_tree(worktree: str, parent: str, files: list[str], message: str, env: dict[str, str]) -> str:
    git(worktree, "add", "--", *files)
    tree = git(worktree, "write-tree")
    return git(worktree, "commit-tree", tree, "-p", parent, "-m", message.rstrip("\n") + "\n",
                env=env)

def tree_of(top: str, sha: str) -> str:
    return git(top, "rev-parse", f"{sha}^{{tree}}")

def author_env(author: str | None) -> dict[str, str]:
    env = dict(os.environ)
    if author:
        match = re.fullmatch(r"\s*(.+?)\s*<([^<>]+)>\s*", author)
        if not match:
            raise PrError(f"--author {author!r}: expected 'NAME <EMAIL>'")
        for who in ("AUTHOR", "COMMITTER"):
            env[f"GIT_{who}_NAME"], env[f"GIT_{who}_EMAIL"] = match.group(1), match.group(2)
    return env
