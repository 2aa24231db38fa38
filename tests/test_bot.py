"""The one-repository bot: `dfmod pr --push origin --open`, run on every sweep.

GitHub itself is the one thing missing here, so `gh` is a stand-in that records its
command lines and answers as GitHub would; the real `gh` (Debian's package) then runs
those exact command lines against a forge address where nothing listens, which shows it
accepts every flag and argument and fails only where it needs the forge.
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
FAST = ("--ignore", "verify-imports")
NOWHERE = "localhost"  # a forge on this machine, where nothing listens (gh: https://localhost)
STAND_IN = r"""#!/usr/bin/env bash
# gh as GitHub would answer dfmod: the open pull requests of the branch are in $GH_STATE.
printf '%s\n' "$(python3 -c 'import json, sys; print(json.dumps(sys.argv[1:]))' "$@")" >> "$GH_LOG"
case "$1 $2" in
  "pr list") cat "$GH_STATE" 2>/dev/null || true ;;
  "pr create") echo 7 > "$GH_STATE"; echo "https://github.com/acme/shop/pull/7" ;;
  "pr edit") echo "https://github.com/acme/shop/pull/$3" ;;
  *) echo "stand-in: unexpected gh $*" >&2; exit 1 ;;
esac
"""


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """Git isolated from the machine's configuration, and the gh stand-in first on PATH."""
    config = tmp_path / "gitconfig"
    config.write_text("")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "gh").write_text(STAND_IN)
    (bin_dir / "gh").chmod(0o755)
    return {**os.environ, "GIT_CONFIG_GLOBAL": str(config), "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com",
            "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.com",
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            "GH_LOG": str(tmp_path / "gh.log"), "GH_STATE": str(tmp_path / "gh.state")}


def git(cwd: Path, *args: str, env: dict[str, str]) -> str:
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          check=True).stdout.strip()


def dfmod(cwd: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dfmod", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, check=False)


@pytest.fixture
def repo(tmp_path: Path, env: dict[str, str]) -> Path:
    """examples/ on main, cloned from a bare remote as a bot's checkout is."""
    seed = tmp_path / "seed"
    shutil.copytree(ROOT / "examples", seed, ignore=shutil.ignore_patterns("ci"))
    git(seed, "init", "-q", "-b", "main", env=env)
    git(seed, "add", "-A", env=env)
    git(seed, "commit", "-q", "-m", "initial", env=env)
    git(tmp_path, "clone", "-q", "--bare", str(seed), "remote.git", env=env)
    git(tmp_path, "clone", "-q", "remote.git", "checkout", env=env)
    return tmp_path / "checkout"


def gh_calls(env: dict[str, str]) -> list[list[str]]:
    log = Path(env["GH_LOG"])
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    log.unlink(missing_ok=True)
    return calls


def test_open_creates_the_pull_request_then_updates_it(repo: Path, env: dict[str, str]) -> None:
    body = str(repo.parent / "body.md")
    first = dfmod(repo, "pr", *FAST, "--push", "origin", "--open", "--body-file", body, env=env)
    assert first.returncode == 0, first.stderr
    assert first.stdout.endswith("https://github.com/acme/shop/pull/7\n")
    title = json.loads(dfmod(repo, "pr", *FAST, "--format", "json", env=env).stdout)["title"]
    listing = ["pr", "list", "--head", "dfmod/fixes", "--base", "main", "--state", "open",
               "--json", "number", "--jq", ".[].number"]
    assert gh_calls(env) == [listing, ["pr", "create", "--base", "main", "--head", "dfmod/fixes",
                                       "--title", title, "--body-file", body]]
    assert Path(body).read_text().startswith("<!-- dfmod:")  # dfmod's body, marker first
    pushed = git(repo, "ls-remote", "origin", "refs/heads/dfmod/fixes", env=env)

    # The next sweep: the branch is already right, the open pull request gets the body again.
    second = dfmod(repo, "pr", *FAST, "--push", "origin", "--open", "--body-file", body, env=env)
    assert second.returncode == 0, second.stderr
    assert "already up to date" in second.stdout and "nothing pushed" in second.stdout
    assert gh_calls(env) == [listing, ["pr", "edit", "7", "--title", title, "--body-file", body]]
    assert git(repo, "ls-remote", "origin", "refs/heads/dfmod/fixes", env=env) == pushed


def test_a_gh_failure_is_one_line_and_exit_2(repo: Path, env: dict[str, str]) -> None:
    failing = Path(env["PATH"].split(os.pathsep)[0]) / "gh"
    failing.write_text("#!/bin/sh\necho 'HTTP 401: Bad credentials (https://api.github.com/graphql)' >&2\nexit 1\n")
    result = dfmod(repo, "pr", *FAST, "--open", env=env)
    assert result.returncode == 2
    assert result.stderr == "dfmod: error: gh pr list: HTTP 401: Bad credentials (https://api.github.com/graphql)\n"


def real_gh() -> str:
    found = shutil.which("gh", path="/usr/bin:/usr/local/bin")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("gh is not installed (.ci/run installs Debian's gh)")
        pytest.skip("gh is not installed")
    return found


def test_the_real_gh_accepts_every_command_line_dfmod_runs(repo: Path, env: dict[str, str],
                                                            tmp_path: Path) -> None:
    gh = real_gh()
    body = str(tmp_path / "body.md")
    dfmod(repo, "pr", *FAST, "--open", "--body-file", body, env=env)
    dfmod(repo, "pr", *FAST, "--open", "--body-file", body, env=env)
    calls = gh_calls(env)
    assert [call[:2] for call in calls] == [["pr", "list"], ["pr", "create"], ["pr", "list"], ["pr", "edit"]]
    # A checkout whose remote is on the unreachable forge, gh configured for that forge only.
    git(repo, "remote", "set-url", "origin", f"https://{NOWHERE}/acme/shop.git", env=env)
    forge = {**env, "GH_HOST": NOWHERE, "GH_ENTERPRISE_TOKEN": "x", "GH_REPO": f"{NOWHERE}/acme/shop",
             "GH_CONFIG_DIR": str(tmp_path / "gh-config"), "GH_PROMPT_DISABLED": "1",
             "GH_NO_UPDATE_NOTIFIER": "1", "NO_COLOR": "1"}
    for call in calls:
        done = subprocess.run([gh, *call], cwd=repo, env=forge, capture_output=True, text=True,
                              timeout=60, check=False)
        assert done.returncode != 0 and NOWHERE in done.stderr, (call, done.stderr)
        assert "Usage:" not in done.stderr and "unknown" not in done.stderr, (call, done.stderr)
