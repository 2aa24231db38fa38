"""The CI files a sweep runs on: `action.yml`, `examples/ci/github-workflow.yml`, the GitLab
template and the Kubernetes Job — each checked against its schema and then run here.

Schemas: SchemaStore's github-action, github-workflow and gitlab-ci schemas as
`check-jsonschema` ships them, and Kubernetes' own OpenAPI schemas as `kubernetes-validate`
ships them (both from the test extras; both work offline).

Running: the composite action's steps are taken out of `action.yml` and run with bash as
the Actions runner runs a `shell: bash` step (`bash --noprofile --norc -eo pipefail`), with
the inputs reaching each step through its `env:` (the `${{ }}` expressions evaluated as
Actions would), `$GITHUB_OUTPUT` / `$GITHUB_PATH` files between the steps, and
`$RUNNER_TEMP` / `$GITHUB_ACTION_PATH` set. Only what needs GitHub itself is a stand-in: the
SARIF upload action (which records what it was given) and `gh`. The example workflow's
matrix is run through the action shard by shard, its artifacts being the files the shards
leave; the GitLab jobs' and the Job's scripts run with the variables each engine sets.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_bot import STAND_IN, gh_calls
from test_sweep import SHARD_VARIABLES, comparable

ROOT = Path(__file__).resolve().parent.parent
ACTION = ROOT / "action.yml"
CI = ROOT / "examples/ci"
BIN = Path(sys.executable).parent
SCHEMA = json.loads((ROOT / "tests/fixtures/sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
EXPRESSION = re.compile(r"\$\{\{\s*(.+?)\s*\}\}")
UPLOAD = "github/codeql-action/upload-sarif@"


def tool(name: str) -> str:
    """A validator of the test extras, installed beside this interpreter."""
    path = BIN / name
    assert path.exists(), f"{name} is missing: pip install -e '.[test]'"
    return str(path)


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize(("path", "schema"), [
    (ACTION, "vendor.github-actions"),
    (CI / "github-workflow.yml", "vendor.github-workflows"),
    (CI / "gitlab-ci.yml", "vendor.gitlab-ci"),
])
def test_ci_files_pass_their_schemas(path: Path, schema: str, tmp_path: Path) -> None:
    check = [tool("check-jsonschema"), "--builtin-schema", schema]
    done = subprocess.run([*check, str(path)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    broken = tmp_path / path.name  # the schema is not vacuous: a misspelt key fails it
    broken.write_text(path.read_text().replace("runs-on:", "run-on:").replace("stage:", "stag:")
                      .replace("using: composite", "using: compost"))
    assert subprocess.run([*check, str(broken)], capture_output=True, check=False).returncode == 1


def test_kubernetes_job_passes_the_kubernetes_schema(tmp_path: Path) -> None:
    validate = [tool("kubernetes-validate"), "--strict"]
    job = CI / "kubernetes-job.yaml"
    done = subprocess.run([*validate, str(job)], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and "passed" in done.stdout, done.stdout + done.stderr
    broken = tmp_path / job.name
    broken.write_text(job.read_text().replace("completionMode:", "completionMod:"))
    assert subprocess.run([*validate, str(broken)], capture_output=True, check=False).returncode == 1


# --- the composite action, run step by step ---------------------------------------------


def evaluate(template: str, lookup: Callable[[str], str]) -> str:
    return EXPRESSION.sub(lambda match: lookup(match.group(1)), template)


def condition(expression: str, lookup: Callable[[str], str]) -> bool:
    """The `if:` forms action.yml uses: `NAME == 'value'` (anything else fails the test)."""
    match = re.fullmatch(r"(\S+) == '([^']*)'", expression.strip())
    assert match, f"an if: the test runner does not evaluate: {expression}"
    return lookup(match.group(1)) == match.group(2)


@dataclass
class Step:
    name: str
    returncode: int = 0
    stdout: str = ""
    stderr: str = ""


@dataclass
class Run:
    steps: list[Step] = field(default_factory=list)
    uploads: list[dict[str, str]] = field(default_factory=list)
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def failed(self) -> Step | None:
        return next((step for step in self.steps if step.returncode), None)


def read_outputs(path: Path) -> dict[str, str]:
    """`$GITHUB_OUTPUT`: `name=value` lines and `name<<DELIMITER` blocks."""
    outputs: dict[str, str] = {}
    lines = iter(path.read_text().splitlines())
    for line in lines:
        if "<<" in line and "=" not in line.split("<<")[0]:
            name, delimiter = line.split("<<", 1)
            outputs[name] = "\n".join(iter(lambda: next(lines), delimiter))
        elif "=" in line:
            name, value = line.split("=", 1)
            outputs[name] = value
    return outputs


class Runner:
    """Runs action.yml's steps the way the Actions runner does (see the module docstring)."""

    def __init__(self, action_path: Path, temp: Path, env: dict[str, str]) -> None:
        self.action = load(ACTION)
        self.action_path, self.temp, self.env = action_path, temp, env
        self.path: list[str] = []  # what earlier steps appended to $GITHUB_PATH, newest first

    def run(self, inputs: dict[str, str], workspace: Path, skip: tuple[str, ...] = ("Install dfmod",),
            extra_env: dict[str, str] | None = None) -> Run:
        unknown = set(inputs) - set(self.action["inputs"])
        assert not unknown, f"inputs action.yml does not declare: {unknown}"
        run = Run()

        def lookup(expression: str) -> str:
            context, _, rest = expression.partition(".")
            if context == "inputs":
                value = inputs.get(rest, str(self.action["inputs"][rest].get("default", "")))
                return evaluate(value, lookup)
            if context == "steps":
                step_id, _, name = rest.partition(".outputs.")
                return run.outputs.get(step_id, {}).get(name, "")
            if expression == "github.token":
                return "ghs_stand_in_token"
            raise AssertionError(f"an expression the test runner does not know: {expression}")

        for number, step in enumerate(self.action["runs"]["steps"]):
            if step["name"] in skip or ("if" in step and not condition(step["if"], lookup)):
                continue
            if "uses" in step:
                assert step["uses"].startswith(UPLOAD), f"only the SARIF upload is stubbed: {step['uses']}"
                run.uploads.append({key: evaluate(str(value), lookup) for key, value in step["with"].items()})
                run.steps.append(Step(step["name"]))
                continue
            assert step["shell"] == "bash" and "${{" not in step["run"]
            files = {name: self.temp / f"{name.lower()}-{number}" for name in ("GITHUB_OUTPUT", "GITHUB_PATH")}
            for path in files.values():
                path.write_text("")
            script = self.temp / f"step-{number}.sh"
            script.write_text(step["run"])
            env = {**self.env, **(extra_env or {}), **{name: str(path) for name, path in files.items()},
                   "RUNNER_TEMP": str(self.temp), "GITHUB_ACTION_PATH": str(self.action_path),
                   "GITHUB_WORKSPACE": str(workspace)}
            env["PATH"] = os.pathsep.join([*self.path, env["PATH"]])
            env.update({name: evaluate(str(value), lookup) for name, value in step.get("env", {}).items()})
            done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                                  cwd=workspace, env=env, capture_output=True, text=True, check=False)
            run.steps.append(Step(step["name"], done.returncode, done.stdout, done.stderr))
            if done.returncode:
                break  # the runner stops the job at a failed step
            if "id" in step:
                run.outputs[step["id"]] = read_outputs(files["GITHUB_OUTPUT"])
            self.path[:0] = reversed(files["GITHUB_PATH"].read_text().split())
        return run


def isolated_env(tmp_path: Path) -> dict[str, str]:
    """No engine's shard variables, git without the machine's configuration, gh a stand-in."""
    config = tmp_path / "gitconfig"
    config.write_text("")
    stand_ins = tmp_path / "stand-ins"
    stand_ins.mkdir()
    (stand_ins / "gh").write_text(STAND_IN)
    (stand_ins / "gh").chmod(0o755)
    env = {key: value for key, value in os.environ.items()
           if key not in SHARD_VARIABLES and not key.startswith(("GITHUB_", "INPUT_", "VIRTUAL_ENV"))}
    return {**env, "GIT_CONFIG_GLOBAL": str(config), "GIT_CONFIG_NOSYSTEM": "1",
            "PATH": f"{stand_ins}{os.pathsep}{env['PATH']}",
            "GH_LOG": str(tmp_path / "gh.log"), "GH_STATE": str(tmp_path / "gh.state")}


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Runner:
    """The action as a workflow gets it (this repository at the ref in `uses:`), with its
    install step run once: every other run starts from the venv it made."""
    base = tmp_path_factory.mktemp("actions")
    action_path = base / "dfmod-action"
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        if (ROOT / name).is_file():
            (action_path / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, action_path / name)
    temp = base / "runner-temp"
    temp.mkdir()
    runner = Runner(action_path, temp, isolated_env(base))
    installed = runner.run({"python": sys.executable}, base, skip=("Run dfmod", "Verdict"))
    assert installed.failed is None, installed.steps
    assert installed.steps[0].stdout.strip() == "dfmod 0.1.0"
    assert runner.path == [str(temp / "dfmod-venv/bin")]
    return runner


def git(cwd: Path, *args: str, env: dict[str, str]) -> str:
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          check=True).stdout.strip()


def identity(env: dict[str, str]) -> dict[str, str]:
    return {**env, "GIT_AUTHOR_NAME": "Dev", "GIT_AUTHOR_EMAIL": "dev@example.com",
            "GIT_COMMITTER_NAME": "Dev", "GIT_COMMITTER_EMAIL": "dev@example.com"}


@pytest.fixture
def workspace(tmp_path: Path, runner: Runner) -> Path:
    """$GITHUB_WORKSPACE after actions/checkout: examples/ as a repository with a remote."""
    seed = tmp_path / "seed"
    shutil.copytree(ROOT / "examples", seed, ignore=shutil.ignore_patterns("ci"))
    env = identity(runner.env)
    git(seed, "init", "-q", "-b", "main", env=env)
    git(seed, "add", "-A", env=env)
    git(seed, "commit", "-q", "-m", "initial", env=env)
    git(tmp_path, "clone", "-q", "--bare", str(seed), "remote.git", env=env)
    git(tmp_path, "clone", "-q", "remote.git", "workspace", env=env)
    Path(runner.env["GH_LOG"]).unlink(missing_ok=True)
    Path(runner.env["GH_STATE"]).unlink(missing_ok=True)
    return tmp_path / "workspace"


def sarif_of(path: Path) -> dict[str, Any]:
    import jsonschema

    log = json.loads(path.read_text())
    jsonschema.Draft4Validator(SCHEMA).validate(log)
    return log


def test_action_check_uploads_sarif_to_code_scanning(runner: Runner, workspace: Path) -> None:
    run = runner.run({}, workspace)
    assert run.failed is None, run.steps
    assert [step.name for step in run.steps] == ["Run dfmod", "Upload to code scanning", "Verdict"]
    (upload,) = run.uploads
    assert upload == {"sarif_file": "dfmod.sarif", "category": "dfmod"}
    log = sarif_of(workspace / upload["sarif_file"])
    assert log["runs"][0]["results"], "examples/ has findings"
    assert run.outputs["dfmod"] == {"sarif-file": "dfmod.sarif", "exit-code": "1", "upload": "true"}
    # fail-on-findings: the upload still happens, then the job fails.
    strict = runner.run({"fail-on-findings": "true", "select": "masked-failure"}, workspace)
    assert len(strict.uploads) == 1 and strict.failed is not None and strict.failed.name == "Verdict"
    assert "::error::dfmod found problems" in strict.failed.stdout


def test_action_rejects_an_unknown_command(runner: Runner, workspace: Path) -> None:
    run = runner.run({"command": "fix"}, workspace)
    assert run.failed is not None and run.failed.returncode == 2 and not run.uploads
    assert "::error::dfmod: command must be check, pr or merge-sarif, not 'fix'" in run.failed.stdout


def test_action_pr_opens_then_updates_the_pull_request(runner: Runner, workspace: Path) -> None:
    inputs = {"command": "pr", "ignore": "verify-imports"}
    first = runner.run(inputs, workspace)
    assert first.failed is None, first.steps
    assert not first.uploads
    remote = git(workspace, "ls-remote", "origin", "refs/heads/dfmod/fixes", env=runner.env)
    assert remote, "the branch was pushed"
    author = git(workspace, "log", "-1", "--format=%an <%ae>", remote.split()[0], env=runner.env)
    assert author == "github-actions[bot] <41898282+github-actions[bot]@users.noreply.github.com>"
    assert [call[:2] for call in gh_calls(runner.env)] == [["pr", "list"], ["pr", "create"]]
    second = runner.run(inputs, workspace)
    assert second.failed is None, second.steps
    assert "already up to date" in second.steps[0].stdout
    assert [call[:2] for call in gh_calls(runner.env)] == [["pr", "list"], ["pr", "edit"]]
    assert git(workspace, "ls-remote", "origin", "refs/heads/dfmod/fixes", env=runner.env) == remote


def test_the_action_scripts_pass_shellcheck(tmp_path: Path) -> None:
    for number, step in enumerate(load(ACTION)["runs"]["steps"]):
        if "run" in step:
            script = tmp_path / f"step-{number}.sh"
            script.write_text(step["run"])
            done = subprocess.run([tool("shellcheck"), "--shell=bash", str(script)],
                                  capture_output=True, text=True, check=False)
            assert done.returncode == 0, (step["name"], done.stdout)


# --- the example workflow: a matrix over shards, then one merged upload -----------------


def dfmod_steps(workflow: dict[str, Any], job: str) -> list[dict[str, Any]]:
    return [step for step in workflow["jobs"][job]["steps"]
            if step.get("uses", "").startswith("your-org/dfmod@")]


def test_workflow_matrix_shards_merge_into_one_upload(runner: Runner, workspace: Path) -> None:
    workflow = load(CI / "github-workflow.yml")
    shards = workflow["jobs"]["check"]["strategy"]["matrix"]["shard"]
    (check,) = dfmod_steps(workflow, "check")
    for shard in shards:  # each matrix job, with its artifact left in the workspace
        contexts = {"matrix.shard": str(shard), "strategy.job-total": str(len(shards))}
        inputs = {key: evaluate(str(value), contexts.__getitem__) for key, value in check["with"].items()}
        run = runner.run(inputs, workspace)
        assert run.failed is None and not run.uploads, run.steps
        assert run.outputs["dfmod"]["sarif-file"] == f"dfmod-{shard}.sarif"
    (merge,) = dfmod_steps(workflow, "code-scanning")
    run = runner.run({key: str(value) for key, value in merge["with"].items()}, workspace)
    assert run.failed is None, run.steps
    (upload,) = run.uploads
    merged = sarif_of(Path(upload["sarif_file"]))
    whole = runner.run({"sarif-file": "whole.sarif", "upload-sarif": "false"}, workspace)
    assert whole.failed is None
    assert len(merged["runs"]) == 1
    assert comparable(merged) == comparable(sarif_of(workspace / "whole.sarif"))
    (fixes,) = dfmod_steps(workflow, "fixes")
    assert fixes["with"] == {"command": "pr"}
    assert workflow["jobs"]["fixes"]["permissions"] == {"contents": "write", "pull-requests": "write"}
    assert workflow["jobs"]["code-scanning"]["permissions"]["security-events"] == "write"


# --- GitLab parallel jobs and the Kubernetes Indexed Job ---------------------------------


def sweep_tree(root: Path) -> Path:
    """Checkouts of two repositories, as a sweep's sources: examples/ twice."""
    for name in ("shop", "billing"):
        shutil.copytree(ROOT / "examples", root / name, ignore=shutil.ignore_patterns("ci"))
        subprocess.run(["git", "init", "-q", str(root / name)], check=True)
    return root


def whole_report(sources: Path, env: dict[str, str], *args: str) -> list[str]:
    """The unsharded report, by the same dfmod as the shards (the one the action installed)."""
    done = subprocess.run(["dfmod", "check", "--format", "json-lines", *args, "."],
                          cwd=sources, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 1, done.stderr
    return done.stdout.splitlines()


def test_gitlab_parallel_jobs_and_the_report_job(tmp_path: Path, runner: Runner) -> None:
    pipeline = load(CI / "gitlab-ci.yml")
    job, report = pipeline["dfmod"], pipeline["dfmod-report"]
    assert all("--shard auto" in line for line in job["script"] if line.startswith("dfmod "))
    project = tmp_path / "project"
    shutil.copytree(ROOT / "examples", project, ignore=shutil.ignore_patterns("ci"))
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    env = {**runner.env, **pipeline["variables"], "CI_PROJECT_PATH": "acme/shop",
           "PATH": os.pathsep.join([*runner.path, runner.env["PATH"]])}
    total = job["parallel"]
    for index in range(1, total + 1):  # GitLab's parallel: counts from 1
        for line in job["script"]:
            done = subprocess.run(["bash", "-eo", "pipefail", "-c", line], cwd=project,
                                  env={**env, "CI_NODE_INDEX": str(index), "CI_NODE_TOTAL": str(total)},
                                  capture_output=True, text=True, check=False)
            assert done.returncode == 0, (line, done.stderr)
    assert sorted(path.name for path in project.glob("dfmod-*")) == sorted(
        f"dfmod-{index}.{kind}" for index in range(1, total + 1) for kind in ("jsonl", "sarif"))
    for line in report["script"]:
        done = subprocess.run(["bash", "-eo", "pipefail", "-c", line], cwd=project, env=env,
                              capture_output=True, text=True, check=False)
        assert done.returncode == 0, (line, done.stderr)
    joined = (project / "dfmod.jsonl").read_text().splitlines()
    assert Counter(joined) == Counter(whole_report(project, env, "--repo", "acme/shop"))
    assert f"dfmod: {len(joined)} findings in acme/shop" in done.stdout
    whole_sarif = subprocess.run(["dfmod", "check", "--format", "sarif", "."],
                                 cwd=project, env=env, capture_output=True, text=True, check=False)
    assert comparable(sarif_of(project / "dfmod.sarif")) == comparable(json.loads(whole_sarif.stdout))


def test_kubernetes_indexed_job_pods_cover_the_sweep(tmp_path: Path, runner: Runner) -> None:
    job = load(CI / "kubernetes-job.yaml")
    spec = job["spec"]
    assert spec["completionMode"] == "Indexed"
    (container,) = spec["template"]["spec"]["containers"]
    env = {item["name"]: item["value"] for item in container["env"]}
    assert env["DFMOD_SHARD_COUNT"] == str(spec["completions"]), "the pods must know how many they are"
    script = container["args"][0]
    assert container["command"] == ["bash", "-c"] and script.count("--shard auto") == 2
    sources, results = sweep_tree(tmp_path / "src"), tmp_path / "results"
    results.mkdir()
    base = {**runner.env, **env, "DFMOD_SOURCES": str(sources), "DFMOD_RESULTS": str(results),
            "PATH": os.pathsep.join([*runner.path, runner.env["PATH"]])}
    for index in range(spec["completions"]):  # the control plane's JOB_COMPLETION_INDEX, from 0
        done = subprocess.run(["bash", "-c", script], cwd=sources,
                              env={**base, "JOB_COMPLETION_INDEX": str(index)},
                              capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
    # The merge the manifest documents: cat for JSON lines, dfmod merge-sarif for SARIF.
    joined = subprocess.run(f"cat {results}/shard-*.jsonl", shell=True, capture_output=True,
                            text=True, check=True).stdout.splitlines()
    whole = whole_report(sources, base)
    assert Counter(joined) == Counter(whole)
    assert {json.loads(line)["file"].split("/")[0] for line in joined} == {"shop", "billing"}
    merged = subprocess.run(f"dfmod merge-sarif {results}/shard-*.sarif", shell=True,
                            capture_output=True, text=True, check=True, env=base)
    assert len(json.loads(merged.stdout)["runs"]) == 1
    documented = (CI / "kubernetes-job.yaml").read_text()
    assert "#   cat /results/shard-*.jsonl > sweep.jsonl" in documented
    assert "#   dfmod merge-sarif /results/shard-*.sarif > sweep.sarif" in documented
