"""`dfmod verify`, `apply --fix --verify` and `pr --verify` against the harness's daemon (#16).

One `dfmod verify --format json` run over a folder of small cases gives most verdicts and
probes (built in parallel, `--jobs`); the rest are runs of their own: a codemod whose fix
breaks the build (injected into the registry, run in-process), `--smoke`, the text
report, and the pull-request body's table (a golden file). The cases install tiny local
wheels and sdists (`tests/wheels.py`), so no build needs the network but pip's one
index request in the cache case, which `PIP_NO_INDEX` turns off.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

import buildkit
import pytest
from buildkit import REPO, write_context

from dfmod.linting import Applicability, Codemod, Context, Edit, Finding, Fix
from dfmod.linting.registry import all_codemods
from dfmod.syntax.text import Span
from wheels import build_wheel

pytestmark = pytest.mark.build

GOLDEN_BODY = REPO / "golden/_pr-body/verified.md"

RELOCATED = """\
FROM python:3.12-slim AS build
RUN python -m venv --without-pip /app/venv \\
 && printf '#!/app/venv/bin/python\\nprint("tool 1.0")\\n' > /app/venv/bin/tool && chmod +x /app/venv/bin/tool
FROM python:3.12-slim
COPY --from=build /app/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
ENV PYTHONPATH=/srv:$PYTHONPATH
CMD ["tool"]
"""
USER_SITE = """\
FROM python:3.12-slim
COPY wheels /wheels
RUN pip install --user --no-index --no-cache-dir /wheels/uvicorn-0.0.1-py3-none-any.whl
RUN find /root/.local/lib -name "*.dist-info" -type d -prune -exec rm -rf {} +
CMD ["uvicorn", "--version"]
"""
CACHE = """\
FROM python:3.12-slim
COPY sdists /sdists
RUN --mount=type=cache,id=dfmod-verify-tests,target=/root/.cache/pip \\
    PIP_NO_INDEX=1 pip install --no-cache-dir --no-build-isolation --find-links /sdists tinysd
"""
SURFACES = """\
FROM python:3.12-slim
RUN cp /etc/dfmod-missing.conf /tmp/ && rm -rf /tmp/cache 2>/dev/null || true && echo copied
RUN <<EOF
python3 -c "import dfmod_missing_module"
echo done
EOF
"""
PURGE = """\
FROM python:3.12-slim
ENV PIP_NO_CACHE_DIR=1
COPY wheels /wheels
RUN pip install --no-index /wheels/demo-1.0-py3-none-any.whl && pip cache purge
"""
NO_BASE = """\
FROM dfmod-verify-test/missing:1
ENV PYTHONPATH=/srv:$PYTHONPATH
"""
BREAKS = """\
FROM python:3.12-slim
COPY wheels /wheels
RUN pip install --no-index --no-cache-dir /wheels/demo-1.0-py3-none-any.whl
ENV PYTHONPATH=/srv:$PYTHONPATH
CMD ["python", "-c", "import demo"]
"""


def _uvicorn_wheel(directory: Path) -> None:
    """A wheel named uvicorn whose console script prints its version (a known server name)."""
    build_wheel(directory, "uvicorn", "0.0.1", {
        "uvicorn.py": "def main():\n    print('uvicorn 0.0.1')\n",
        "uvicorn-0.0.1.dist-info/entry_points.txt": "[console_scripts]\nuvicorn = uvicorn:main\n"})


def _sdist(directory: Path) -> None:
    """`tinysd-1.0.tar.gz`: pip builds a wheel from it, and caches that wheel."""
    files = {"tinysd-1.0/setup.py": 'from setuptools import setup\nsetup(name="tinysd", version="1.0", '
                                    'py_modules=["tinysd"])\n',
             "tinysd-1.0/tinysd.py": "X = 1\n",
             "tinysd-1.0/PKG-INFO": "Metadata-Version: 2.1\nName: tinysd\nVersion: 1.0\n"}
    directory.mkdir(parents=True, exist_ok=True)
    with tarfile.open(directory / "tinysd-1.0.tar.gz", "w:gz") as archive:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), 0
            archive.addfile(info, io.BytesIO(data))


def write_cases(root: Path, names: tuple[str, ...]) -> Path:
    texts = {"relocated": RELOCATED, "usersite": USER_SITE, "cache": CACHE, "surfaces": SURFACES,
             "purge": PURGE, "nobase": NO_BASE, "breaks": BREAKS}
    for name in names:
        write_context(root / name, {"Dockerfile": texts[name]})
    if "usersite" in names:
        (root / "usersite/wheels").mkdir()
        _uvicorn_wheel(root / "usersite/wheels")
    for name in ("purge", "breaks"):
        if name in names:
            (root / name / "wheels").mkdir()
            build_wheel(root / name / "wheels", "demo", "1.0", {"demo.py": "VALUE = 42\n"})
    if "cache" in names:
        _sdist(root / "cache/sdists")
    return root


def verify_env() -> dict[str, str]:
    """The harness's client environment, and its client as dfmod's (`DFMOD_DOCKER`)."""
    harness = buildkit.current()
    return {**harness.env, "DFMOD_DOCKER": harness.docker}


def dfmod(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dfmod", *args], cwd=cwd, env=verify_env(),
                          capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL, check=False)


def _verify_images() -> list[str]:
    listed = buildkit.docker("images", "--format", "{{.Repository}}:{{.Tag}}", "--filter",
                             "reference=dfmod-verify/*")
    return listed.stdout.split()


def _kept_dir(stderr: str) -> Path | None:
    marker = "build logs and Dockerfiles kept in "
    for line in stderr.splitlines():
        if marker in line:
            return Path(line.split(marker, 1)[1].strip())
    return None


@pytest.fixture(scope="module")
def verified(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[tuple[str, str], list[dict]]]:
    """`dfmod verify --format json` over every case at once, by (case, rule)."""
    root = write_cases(tmp_path_factory.mktemp("cases"),
                       ("relocated", "usersite", "cache", "surfaces", "purge", "nobase"))
    earlier = set(_verify_images())  # left by a run that was killed: not this run's to remove
    proc = dfmod("verify", "--format", "json", "--unsafe-fixes", "--network", "host", "--jobs", "6", str(root))
    left = sorted(set(_verify_images()) - earlier)
    assert proc.returncode == 1, proc.stderr  # the before-fails cases are not verified
    records = json.loads(proc.stdout)
    by: dict[tuple[str, str], list[dict]] = {}
    for record in records:
        case = Path(record["file"]).parent.name
        by.setdefault((case, record["rule"]), []).append(record)
    by[("", "stderr")] = [{"text": proc.stderr}]
    by[("", "images")] = [{"left": left}]
    yield by
    kept = _kept_dir(proc.stderr)
    if kept is not None:
        shutil.rmtree(kept, ignore_errors=True)


def _one(verified: dict[tuple[str, str], list[dict]], case: str, rule: str) -> dict:
    found = verified.get((case, rule))
    assert found, f"no {rule} fix in {case}: {sorted(verified)}"
    return found[0]["verified"]


def _probe(record: dict, rule: str) -> dict:
    return next(probe for probe in record["probes"] if probe["rule"] == rule)


def test_every_fix_of_every_case_has_a_verdict(verified: dict[tuple[str, str], list[dict]]) -> None:
    assert {key for key in verified if key[0]} == {
        ("relocated", "venv-relocated"), ("relocated", "undefined-env-var"),
        ("usersite", "user-site-not-on-path"), ("usersite", "keep-dist-info"),
        ("cache", "cache-mount-no-cache-dir"), ("surfaces", "masked-failure"),
        ("purge", "pip-cache-purge"), ("nobase", "undefined-env-var")}
    stderr = verified[("", "stderr")][0]["text"]
    assert "building 6 Dockerfiles before and after the fixes with `docker buildx build`" in stderr
    assert "build logs and Dockerfiles kept in" in stderr  # a build failed (surfaces, purge)
    assert verified[("", "images")][0]["left"] == [], "the dfmod-verify/ images are removed at the end"


def test_venv_relocated_keeps_the_build_and_its_console_script_starts_again(verified) -> None:
    record = _one(verified, "relocated", "venv-relocated")
    assert record["verdict"] == "keeps-working" and record["failure"] is None
    probe = _probe(record, "venv-relocated")
    assert probe["command"] == "/app/venv/bin/tool --version"
    assert probe["before_command"] == "/opt/venv/bin/tool --version"
    assert probe["before"]["ok"] is False
    assert "exec /opt/venv/bin/tool: no such file or directory" in probe["before"]["summary"]
    assert probe["after"] == {"ok": True, "summary": "starts (exit 0)", "exit_code": 0}
    assert probe["outcome"] == "shows-the-fix"


def test_undefined_env_var_probe_finds_no_empty_entry_after(verified) -> None:
    probe = _probe(_one(verified, "relocated", "undefined-env-var"), "undefined-env-var")
    assert probe["before"]["summary"] == "`PYTHONPATH=/srv:`: an empty entry"
    assert probe["after"]["summary"] == "`PYTHONPATH=/srv`: no empty entry"
    assert probe["outcome"] == "shows-the-fix"


def test_user_site_script_is_on_path_after(verified) -> None:
    record = _one(verified, "usersite", "user-site-not-on-path")
    assert record["verdict"] == "keeps-working"
    probe = _probe(record, "user-site-not-on-path")
    assert probe["command"] == "command -v uvicorn"
    assert probe["before"]["summary"].startswith("not found")
    assert probe["after"]["summary"] == "found at /root/.local/bin/uvicorn"


def test_keep_dist_info_keeps_the_metadata(verified) -> None:
    probe = _probe(_one(verified, "usersite", "keep-dist-info"), "keep-dist-info")
    assert probe["outcome"] == "shows-the-fix", probe
    before, after = (int(probe[side]["summary"].split()[0]) for side in ("before", "after"))
    assert after == before + 1  # uvicorn's metadata is back


def test_cache_mount_fills_after_the_fix(verified) -> None:
    record = _one(verified, "cache", "cache-mount-no-cache-dir")
    assert record["verdict"] == "keeps-working"
    probe = _probe(record, "cache-mount-no-cache-dir")
    assert probe["after"]["summary"] == "1 wheel from the cache"
    assert probe["before"]["summary"] == "nothing from the cache (1 wheel built again)"
    assert probe["outcome"] == "shows-the-fix"


def test_masked_failure_surfaces_the_failure_that_was_there(verified) -> None:
    records = verified[("surfaces", "masked-failure")]
    assert len(records) == 2  # the scoped `|| true` and the heredoc's `set -e`
    for record in records:
        verdict = record["verified"]
        assert verdict["verdict"] == "surfaces-failure"
        assert verdict["failure"]["line"] == 2 and verdict["failure"]["exit_code"] == 1
        assert "cp: cannot stat '/etc/dfmod-missing.conf': No such file or directory" in verdict["failure"]["tail"]
    scoped, heredoc = sorted(records, key=lambda record: record["line"])
    assert scoped["verified"]["summary"] == ("surfaces a hidden failure: the RUN at line 2 exits 1 "
                                             "(it failed unseen before)")
    assert heredoc["verified"]["summary"] == ("not reached: the build stops first where this rule's other fix "
                                              "surfaces a hidden failure (the RUN at line 2 exits 1)")


def test_before_fails_and_the_fix_addresses_it(verified) -> None:
    record = _one(verified, "purge", "pip-cache-purge")
    assert record["verdict"] == "before-fails"
    assert record["addressed"] is True and record["after_builds"] is True
    assert "pip cache commands can not function since cache is disabled" in " ".join(record["failure"]["tail"])
    assert record["summary"] == ("before fails: the RUN at line 4 exits 1; this fix addresses it; "
                                 "the fixed file builds")


def test_before_fails_when_the_base_image_is_not_available(verified) -> None:
    record = _one(verified, "nobase", "undefined-env-var")
    assert record["verdict"] == "before-fails" and record["after_builds"] is None
    assert record["summary"] == ("before fails: the base image `dfmod-verify-test/missing:1` is not available "
                                 "(the FROM at line 1); not verified")


# --- a fix that breaks the build -----------------------------------------------------------


class RequireHashes(Codemod):
    """A stand-in for a codemod whose fix breaks the build: `pip install --require-hashes`
    without hashes is refused by pip (dfmod's own fixes should never do this)."""

    id = "zz-require-hashes"
    summary = "pip install without --require-hashes"
    applicability = Applicability.SAFE

    def check(self, ctx: Context) -> Iterator[Finding]:
        text = ctx.doc.text
        for item in ctx.doc.instructions:
            at = text.find("pip install", item.span.start, item.span.end)
            if item.keyword == "RUN" and at >= 0 and "--require-hashes" not in text[item.span.start:item.span.end]:
                end = at + len("pip install")
                yield self.finding(Span(at, end), "pip installs without hashes", Fix(
                    (Edit(end, end, " --require-hashes"),), Applicability.SAFE, "Add `--require-hashes`"))


@pytest.fixture
def injected(monkeypatch: pytest.MonkeyPatch) -> None:
    """The breaking codemod registered, and the process pointed at the harness's daemon."""
    from dfmod.linting import registry

    load = registry.load
    monkeypatch.setitem(registry.TABLE, RequireHashes.id,
                        ("-", RequireHashes.__name__, "dockerfile", RequireHashes.needs, ()))
    monkeypatch.setattr(registry, "load", lambda rule: RequireHashes if rule == RequireHashes.id else load(rule))
    monkeypatch.setitem(all_codemods(), RequireHashes.id, RequireHashes)
    for key, value in verify_env().items():
        monkeypatch.setenv(key, value)


def test_apply_fix_verify_withholds_the_fix_that_breaks_the_build(
        tmp_path: Path, injected: None, capsys: pytest.CaptureFixture[str]) -> None:
    from dfmod.cli import main

    root = write_cases(tmp_path, ("breaks",))
    dockerfile = root / "breaks/Dockerfile"
    status = main(["apply", "--fix", "--verify", "--jobs", "1", "--network", "host", str(dockerfile)])
    out, err = capsys.readouterr()
    assert status == 1, out + err
    assert (f"{dockerfile}:3:5: zz-require-hashes breaks the build: with this fix the RUN at line 3 exits 1, "
            "without it the build passes; withheld, not written") in out
    assert "Hashes are required in --require-hashes mode" in out
    assert f"{dockerfile}:4:5: undefined-env-var keeps the build working (passes → passes)" in out
    assert "2 fixes verified with BuildKit: 1 keeps the build working, 0 surface hidden failures; 1 withheld." in out
    # Written: the fix that keeps the build working, not the one that broke it.
    assert dockerfile.read_text() == BREAKS.replace("/srv:$PYTHONPATH", "/srv${PYTHONPATH:+:$PYTHONPATH}")
    kept = _kept_dir(err)
    assert kept is not None and any(kept.glob("*/*.log")), err
    shutil.rmtree(kept)


def test_verify_exit_zero_quiet_junit_reports_the_withheld_fix_as_a_failed_case(
        tmp_path: Path, injected: None, capsys: pytest.CaptureFixture[str]) -> None:
    """`--exit-zero` keeps a CI step green, `-q` drops what is said besides the report, and
    the JUnit report fails the case of the fix the build withholds."""
    import xml.etree.ElementTree as ET

    from dfmod.cli import main

    dockerfile = write_cases(tmp_path, ("breaks",)) / "breaks/Dockerfile"
    status = main(["verify", "--exit-zero", "-q", "--output-format", "junit", "--jobs", "1", "--network", "host",
                   str(dockerfile)])
    out, err = capsys.readouterr()
    assert status == 0, out + err
    root = ET.fromstring(out)
    assert (root.get("tests"), root.get("failures")) == ("2", "1")
    [failure] = root.findall("testsuite/testcase/failure")
    assert failure.get("type") == "withheld" and (failure.get("message") or "").startswith("breaks the build")
    assert "verified with BuildKit" not in err and "building" not in err, err
    assert dockerfile.read_text() == BREAKS  # verify writes nothing
    kept = _kept_dir(err)
    if kept is not None:
        shutil.rmtree(kept)


def test_pr_verify_puts_the_table_in_the_body_and_commits_no_broken_fix(
        tmp_path: Path, injected: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        update_golden: bool) -> None:
    from dfmod.cli import main

    repo = write_cases(tmp_path / "repo", ("relocated", "surfaces", "breaks"))
    config = tmp_path / "gitconfig"
    config.write_text("")
    for key, value in {"GIT_CONFIG_GLOBAL": str(config), "GIT_CONFIG_NOSYSTEM": "1",
                       "GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com",
                       "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.com"}.items():
        monkeypatch.setenv(key, value)

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout

    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-q", "-m", "initial")
    body = tmp_path / "body.md"
    status = main(["pr", "--repo", str(repo), "--verify", "--unsafe-fixes", "--network", "host",
                   "--body-file", str(body)])
    out, err = capsys.readouterr()
    assert status == 1, out + err  # a fix was withheld
    assert "dfmod pr: breaks/Dockerfile:3: zz-require-hashes breaks the build" in err and "not committed" in err
    assert "verified: 6 fixes verified with BuildKit: 3 keep the build working, 2 surface hidden failures; " \
           "1 withheld." in out
    # Nothing that broke a build is committed; what kept it working is.
    committed = git("show", "dfmod/fixes:breaks/Dockerfile")
    assert "--require-hashes" not in committed and "${PYTHONPATH:+:$PYTHONPATH}" in committed
    assert "zz-require-hashes" not in git("log", "--format=%B", "main..dfmod/fixes")
    text = body.read_text(encoding="utf-8")
    if update_golden:
        GOLDEN_BODY.write_text(text, encoding="utf-8", newline="")
    assert text == GOLDEN_BODY.read_text(encoding="utf-8"), f"{GOLDEN_BODY} differs (pytest --update-golden)"
    kept = _kept_dir(err.replace("dfmod pr: build logs kept in", "build logs and Dockerfiles kept in"))
    if kept is not None:
        shutil.rmtree(kept, ignore_errors=True)


# --- the command line's own options ------------------------------------------------------------


def test_smoke_runs_the_users_command_in_both_images_and_keep_images(tmp_path: Path) -> None:
    root = write_cases(tmp_path, ("relocated",))
    proc = dfmod("verify", "--unsafe-fixes", "--no-probes", "--network", "host", "--smoke", "tool",
                 "--keep-images", str(root))
    kept = [line for line in proc.stderr.splitlines() if "images kept:" in line]
    images = kept[0].split("images kept:", 1)[1].split() if kept else []
    try:
        _check_smoke(proc, root, images)
    finally:
        if images:
            buildkit.docker("image", "rm", "--force", *images)


def _check_smoke(proc: subprocess.CompletedProcess[str], root: Path, images: list[str]) -> None:
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert f"{root}/relocated/Dockerfile:5:29: venv-relocated keeps the build working (passes → passes)" in lines
    assert (f"{root}/relocated/Dockerfile: smoke `tool`: before exit 127: /bin/sh: 1: tool: not found → "
            "after exit 0") in lines
    assert lines[-1] == ("2 fixes verified with BuildKit: 2 keep the build working, 0 surface hidden failures; "
                         "0 withheld.")
    assert images and all(image.startswith("dfmod-verify/") for image in images), proc.stderr
    assert set(images) <= set(_verify_images())


def test_examples_get_a_verdict_for_every_fix(tmp_path: Path) -> None:
    """examples/ as a user runs it. Its Dockerfiles cannot build here: a registry that cannot
    be reached, `# syntax=` needing a pull, files its copies leave out of the repository.
    (tgo-rag is left out for time: BuildKit finishes its `pip install poetry` step, minutes,
    even though the build fails at a missing COPY source.)"""
    examples = ["examples/myielts-voice", "examples/uni-load-improved", "examples/vision-service"]
    check = dfmod("check", "--unsafe-fixes", "--format", "json", *examples, cwd=REPO)
    fixable = [(record["file"], record["line"], record["rule"]) for record in json.loads(check.stdout)
               if record["fix"] and record["rule"] != "compose-unpinned-image"]
    proc = dfmod("verify", "--unsafe-fixes", "--format", "json", "--network", "host", *examples, cwd=REPO)
    assert proc.returncode == 1, proc.stderr
    records = json.loads(proc.stdout)
    assert sorted((record["file"], record["line"], record["rule"]) for record in records) == sorted(fixable)
    verdicts = {(os.path.dirname(record["file"]), record["verified"]["verdict"], record["verified"]["summary"].split(
        ";")[0]) for record in records}
    assert ("examples/myielts-voice", "before-fails",
            "before fails: the base image `modelscope-registry.cn-beijing.cr.aliyuncs.com/modelscope-repo/"
            "python:3.10` is not available (the FROM at line 2)") in verdicts
    assert ("examples/vision-service", "before-fails", "before fails: the `# syntax=` frontend image "
            "`docker/dockerfile:1` is not available (line 1)") in verdicts
    # Both COPYs name a missing `backend/`: BuildKit reports whichever it finds missing first.
    uni_load = {summary for folder, verdict, summary in verdicts
                if folder == "examples/uni-load-improved" and verdict == "before-fails"}
    assert uni_load and uni_load <= {
        "before fails: `backend/requirements.txt` is not in the build context (the COPY at line 5)",
        "before fails: `backend` is not in the build context (the COPY at line 11)"}
    assert ("examples/uni-load-improved", "not-built", "not built: dfmod verify builds Dockerfiles") in verdicts
    kept = _kept_dir(proc.stderr)
    if kept is not None:
        shutil.rmtree(kept, ignore_errors=True)
