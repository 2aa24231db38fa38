"""A sweep split over machines: `--shard auto` for every engine's convention, shard reports
that concatenate (`--format json-lines`) and SARIF logs that merge (`dfmod merge-sarif`).

Every engine is played by its environment variables, exactly as the engine sets them; the
real CLI runs once per shard, and the shards together must cover every file exactly once.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from dfmod.workspace.shard import CONVENTIONS, Shard, ShardError, from_environment

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "tests/fixtures/sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
MASKED = "FROM python:3.12-slim\nRUN pip install flask || true\n"
COMPOSE = "version: '3.8'\nservices:\n  web:\n    build: ./web\n"
SHARD_VARIABLES = {"DFMOD_SHARD"} | {name for c in CONVENTIONS for name in (c.index, c.total)}
FAST = ("--jobs", "1", "--select", "masked-install-failure,compose-obsolete-version")


def clean_env(**extra: str) -> dict[str, str]:
    """This machine's environment without any engine's shard variables, plus `extra`."""
    env = {key: value for key, value in os.environ.items() if key not in SHARD_VARIABLES}
    return {**env, **extra}


def dfmod(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dfmod", *args], cwd=cwd, env=env or clean_env(),
                          capture_output=True, text=True, check=False)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A git repository of 23 files: nested Dockerfiles and a compose file that builds one
    nothing else names (so discovery and compose both bring files to the shards)."""
    root = tmp_path / "repo"
    for index in range(20):
        folder = root / f"svc{index % 7}" / f"part{index}"
        folder.mkdir(parents=True)
        (folder / "Dockerfile").write_text(MASKED)
    (root / "compose").mkdir()
    (root / "compose/docker-compose.yml").write_text(COMPOSE)
    (root / "compose/web").mkdir()
    (root / "compose/web/Dockerfile.web").write_text(MASKED)
    (root / "Dockerfile").write_text(MASKED)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


def lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    assert result.returncode in (0, 1), result.stderr
    return result.stdout.splitlines()


def files_of(report: list[str]) -> list[str]:
    return [json.loads(line)["file"] for line in report]


# (engine variables for shard k of n, k counting from 0) — each engine's own convention.
ENGINES = {
    "DFMOD_SHARD": lambda k, n: {"DFMOD_SHARD": f"{k + 1}/{n}"},
    "GitLab": lambda k, n: {"CI_NODE_INDEX": str(k + 1), "CI_NODE_TOTAL": str(n)},
    "CircleCI": lambda k, n: {"CIRCLE_NODE_INDEX": str(k), "CIRCLE_NODE_TOTAL": str(n)},
    "Buildkite": lambda k, n: {"BUILDKITE_PARALLEL_JOB": str(k), "BUILDKITE_PARALLEL_JOB_COUNT": str(n)},
    "Kubernetes": lambda k, n: {"JOB_COMPLETION_INDEX": str(k), "DFMOD_SHARD_COUNT": str(n)},
}


@pytest.mark.parametrize("engine", list(ENGINES))
def test_shard_auto_covers_every_file_exactly_once(tree: Path, engine: str) -> None:
    whole = lines(dfmod("check", "--format", "json-lines", *FAST, ".", cwd=tree))
    assert len(set(files_of(whole))) == 23
    shards = [lines(dfmod("check", "--format", "json-lines", "--shard", "auto", *FAST, ".", cwd=tree,
                          env=clean_env(**ENGINES[engine](k, 3)))) for k in range(3)]
    assert Counter(line for shard in shards for line in shard) == Counter(whole)
    assert all(shards), "each of the 3 shards gets some of the 23 files"
    # The same shard as the explicit form names it.
    explicit = lines(dfmod("check", "--format", "json-lines", "--shard", "2/3", *FAST, ".", cwd=tree))
    assert shards[1] == explicit


@pytest.mark.parametrize(("engine", "environ", "shard"), [
    ("GitLab", {"CI_NODE_INDEX": "1", "CI_NODE_TOTAL": "4"}, Shard(1, 4)),
    ("GitLab, no parallel:", {"CI_NODE_TOTAL": "1"}, Shard(1, 1)),
    ("CircleCI", {"CIRCLE_NODE_INDEX": "0", "CIRCLE_NODE_TOTAL": "4"}, Shard(1, 4)),
    ("CircleCI", {"CIRCLE_NODE_INDEX": "3", "CIRCLE_NODE_TOTAL": "4"}, Shard(4, 4)),
    ("Buildkite", {"BUILDKITE_PARALLEL_JOB": "0", "BUILDKITE_PARALLEL_JOB_COUNT": "2"}, Shard(1, 2)),
    ("Kubernetes", {"JOB_COMPLETION_INDEX": "9", "DFMOD_SHARD_COUNT": "10"}, Shard(10, 10)),
    ("DFMOD_SHARD first", {"DFMOD_SHARD": "2/5", "CI_NODE_INDEX": "1", "CI_NODE_TOTAL": "4"}, Shard(2, 5)),
])
def test_each_engine_counts_its_own_way(engine: str, environ: dict[str, str], shard: Shard) -> None:
    found = from_environment(environ)
    assert (found.index, found.total) == (shard.index, shard.total), engine


@pytest.mark.parametrize(("environ", "message"), [
    ({}, "no shard in the environment (set DFMOD_SHARD=I/N"),
    ({"CI_NODE_INDEX": "2"}, "CI_NODE_INDEX is set (GitLab) but CI_NODE_TOTAL is not"),
    ({"CI_NODE_TOTAL": "3"}, "CI_NODE_TOTAL is set (GitLab) but CI_NODE_INDEX is not"),
    ({"CI_NODE_INDEX": "0", "CI_NODE_TOTAL": "3"}, "GitLab counts from 1 to CI_NODE_TOTAL"),
    ({"CIRCLE_NODE_INDEX": "3", "CIRCLE_NODE_TOTAL": "3"}, "CircleCI counts from 0 to CIRCLE_NODE_TOTAL - 1"),
    ({"BUILDKITE_PARALLEL_JOB": "x", "BUILDKITE_PARALLEL_JOB_COUNT": "3"}, "BUILDKITE_PARALLEL_JOB=x"),
    ({"JOB_COMPLETION_INDEX": "0"}, "DFMOD_SHARD_COUNT is not (set it to the Job's completions)"),
    ({"JOB_COMPLETION_INDEX": "1", "DFMOD_SHARD_COUNT": "0"}, "a Kubernetes Indexed Job counts from 0"),
    ({"DFMOD_SHARD": "4/3"}, "DFMOD_SHARD: expected I/N with 1 <= I <= N"),
    ({"DFMOD_SHARD": "auto"}, "DFMOD_SHARD must be I/N, not auto"),
])
def test_no_usable_shard_is_a_clear_error(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ShardError) as raised:
        from_environment(environ)
    assert message in str(raised.value)
    assert str(raised.value).startswith("--shard auto: ") and "\n" not in str(raised.value)


def test_shard_auto_without_an_engine_exits_2_with_one_line(tree: Path) -> None:
    result = dfmod("check", "--shard", "auto", ".", cwd=tree)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("dfmod: error: --shard auto: no shard in the environment")
    assert len(result.stderr.splitlines()) == 1
    # What auto took from the environment is said on stderr (stdout is the report).
    told = dfmod("check", "--shard", "auto", *FAST, ".", cwd=tree,
                 env=clean_env(CIRCLE_NODE_INDEX="1", CIRCLE_NODE_TOTAL="3"))
    assert told.stderr.splitlines()[0].startswith(
        "dfmod: shard 2/3 (CircleCI: CIRCLE_NODE_INDEX=1, CIRCLE_NODE_TOTAL=3): ")


def test_a_file_is_in_the_same_shard_wherever_the_checkout_lies(tree: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "other" / "checkout"
    shutil.copytree(tree, elsewhere)
    for shard in ("1/3", "2/3", "3/3"):
        here = lines(dfmod("check", "--format", "json-lines", "--shard", shard, *FAST, ".", cwd=tree))
        there = lines(dfmod("check", "--format", "json-lines", "--shard", shard, *FAST, ".", cwd=elsewhere))
        # Started in a subdirectory, with the repository named by a relative path.
        inside = lines(dfmod("check", "--format", "json-lines", "--shard", shard, *FAST, "..",
                             cwd=elsewhere / "compose"))
        assert here == there == inside


def test_json_lines_are_self_contained_and_concatenate(tree: Path) -> None:
    whole = json.loads(dfmod("check", "--format", "json", *FAST, ".", cwd=tree).stdout)
    report = lines(dfmod("check", "--format", "json-lines", "--repo", "acme/shop", *FAST, ".",
                         cwd=tree / "svc1"))
    records = [json.loads(line) for line in report]
    # Started in svc1/ and given ".": the paths are still the repository's, and named.
    assert {record["repository"] for record in records} == {"acme/shop"}
    assert all(record["file"].startswith("svc1/") for record in records)
    assert [{k: v for k, v in r.items() if k != "repository"} for r in records] == [
        record for record in whole if record["file"].startswith("svc1/")]
    shards = "".join(dfmod("check", "--format", "json-lines", "--repo", "acme/shop", "--shard",
                           f"{k}/4", *FAST, ".", cwd=tree).stdout for k in range(1, 5))
    assert sorted(shards.splitlines()) == sorted(lines(dfmod(
        "check", "--format", "json-lines", "--repo", "acme/shop", *FAST, ".", cwd=tree)))


def test_json_lines_of_a_clean_shard_is_empty_and_repo_needs_json_lines(tree: Path) -> None:
    clean = dfmod("check", "--format", "json-lines", "--select", "pip-cache-purge", ".", cwd=tree)
    assert (clean.returncode, clean.stdout) == (0, "")
    misused = dfmod("check", "--repo", "acme/shop", ".", cwd=tree)
    assert misused.returncode == 2
    assert misused.stderr == "dfmod: error: --repo: names the repository in --format json-lines records only\n"


def sarif(tree: Path, *args: str) -> dict[str, Any]:
    result = dfmod("check", "--format", "sarif", *FAST, *args, ".", cwd=tree)
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout)


def comparable(log: dict[str, Any]) -> tuple[list[str], list[str]]:
    """A log's rules and its results (with the rule each ruleIndex names), order-free."""
    (run,) = log["runs"]
    rules = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    results = sorted(json.dumps({**result, "ruleIndex": rules[result["ruleIndex"]]}, sort_keys=True)
                     for result in run["results"])
    return rules, results


def test_merge_sarif_makes_the_shards_one_run_equal_to_the_whole(tree: Path, tmp_path: Path) -> None:
    import jsonschema

    paths = []
    for k in range(1, 4):
        paths.append(tmp_path / f"shard-{k}.sarif")
        paths[-1].write_text(json.dumps(sarif(tree, "--shard", f"{k}/3")))
    merged = dfmod("merge-sarif", *map(str, paths), cwd=tmp_path)
    assert merged.returncode == 0, merged.stderr
    log = json.loads(merged.stdout)
    jsonschema.Draft4Validator(SCHEMA).validate(log)
    assert len(log["runs"]) == 1
    assert comparable(log) == comparable(sarif(tree))


def test_merge_sarif_refuses_what_is_not_one_dfmod(tree: Path, tmp_path: Path) -> None:
    log = sarif(tree)
    other = json.loads(json.dumps(log))
    other["runs"][0]["tool"]["driver"]["version"] = "0.0.1"
    foreign = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "hadolint"}}, "results": []}]}
    cases = {"other.sarif": (other, "other.sarif: made by dfmod 0.0.1, the first log by dfmod"),
             "foreign.sarif": (foreign, "foreign.sarif: a run of 'hadolint', not of dfmod"),
             "list.sarif": ([], "list.sarif: not a SARIF 2.1.0 log")}
    (tmp_path / "ours.sarif").write_text(json.dumps(log))
    for name, (content, message) in cases.items():
        (tmp_path / name).write_text(json.dumps(content))
        result = dfmod("merge-sarif", "ours.sarif", name, cwd=tmp_path)
        assert (result.returncode, result.stdout) == (2, ""), name
        assert result.stderr.startswith(f"dfmod: error: {message}"), result.stderr
        assert len(result.stderr.splitlines()) == 1
    (tmp_path / "broken.sarif").write_text("{")
    assert "broken.sarif: not JSON" in dfmod("merge-sarif", "broken.sarif", cwd=tmp_path).stderr
    assert "missing.sarif: cannot read" in dfmod("merge-sarif", "missing.sarif", cwd=tmp_path).stderr
