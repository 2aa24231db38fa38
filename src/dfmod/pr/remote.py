"""Publishing the branch: reading the remote, pushing with a lease, and opening or updating
the pull request with `gh`."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys

from dfmod.pr.git import PrError, first_error, git


def remote_state(top: str, remote: str, branch: str, base: str) -> tuple[str | None, str | None]:
    """The remote's branch and base heads, with their commits fetched (no ref is written)."""
    refs = {}
    out = git(top, "ls-remote", remote, f"refs/heads/{branch}", f"refs/heads/{base}")
    for line in out.splitlines():
        sha, _, ref = line.partition("\t")
        refs[ref] = sha
    wanted = [ref for ref in (f"refs/heads/{branch}", f"refs/heads/{base}") if ref in refs]
    if wanted:
        git(top, "fetch", "--quiet", "--no-tags", "--no-write-fetch-head", remote, *wanted)
    return refs.get(f"refs/heads/{branch}"), refs.get(f"refs/heads/{base}")

def push(top: str, remote: str, branch: str, head: str, remote_sha: str | None) -> str:
    """Push with a lease on what the remote branch was when dfmod looked at it."""
    if remote_sha == head:
        return f"{remote}/{branch} is already at {head[:7]}; nothing pushed"
    lease = f"--force-with-lease=refs/heads/{branch}:{remote_sha or ''}"
    done = subprocess.run(["git", "push", "--porcelain", lease, remote, f"{head}:refs/heads/{branch}"],
                          cwd=top, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        # --porcelain puts the per-ref verdict on stdout: `!<tab>src:dst<tab>[rejected] (stale info)`.
        verdicts = [line.split("\t")[-1] for line in done.stdout.splitlines() if line.startswith("!")]
        reason = verdicts[0] if verdicts else first_error(done.stderr)
        raise PrError(f"git push to {remote} refused: {reason} (the remote branch moved since "
                      "dfmod looked at it, or the remote rejected the push)")
    if remote_sha is None:
        return f"pushed {branch} to {remote} (new branch)"
    return f"pushed {branch} to {remote} (force-with-lease, replacing {remote_sha[:7]})"

def gh_create(base: str, branch: str, title: str, body_file: str) -> list[str]:
    """The `gh pr create` command for the branch (printed for a human, run by --open)."""
    return ["gh", "pr", "create", "--base", base, "--head", branch, "--title", title,
            "--body-file", body_file]


def open_pull_request(repo: str, base: str, branch: str, title: str, body_file: str) -> bool:
    """Open the pull request, or bring the open one up to date; False (after a one-line
    error) when that is not possible.

    A bot runs this on every sweep, and `gh pr create` fails when the branch already has an
    open pull request to the base: so the open one is looked up first, and its title and
    body are replaced (`gh pr edit`) — the body changes when the base moves.
    """
    if shutil.which("gh") is None:
        sys.stderr.write("dfmod: error: --open needs the GitHub CLI `gh`, which is not installed; "
                         f"the branch is ready: {shlex.join(gh_create(base, branch, title, body_file))}\n")
        return False
    listed = _gh(repo, ["gh", "pr", "list", "--head", branch, "--base", base, "--state", "open",
                        "--json", "number", "--jq", ".[].number"])
    if listed is None:
        return False
    numbers = listed.split()
    command = (["gh", "pr", "edit", numbers[0], "--title", title, "--body-file", body_file]
               if numbers else gh_create(base, branch, title, body_file))
    out = _gh(repo, command)
    if out is None:
        return False
    sys.stdout.write(out)
    return True


def _gh(repo: str, command: list[str]) -> str | None:
    """`command`'s stdout, or None after a one-line error naming it."""
    done = subprocess.run(command, cwd=repo, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        reason = first_error(done.stderr) or f"exit status {done.returncode}"
        sys.stderr.write(f"dfmod: error: {' '.join(command[:3])}: {reason}\n")
        return None
    return done.stdout
