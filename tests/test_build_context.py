"""The build context of a Dockerfile, from each source that knows it, and what the rules
that read it do with it — above all the common `docker/Dockerfile` built from the
repository root, where taking the Dockerfile's directory made verify-imports import the
application's own package and kept copy-before-install from offering its fix.
"""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import pytest

from dfmod.cli import main
from dfmod.codemods.copy_before_install import CopyBeforeInstall
from dfmod.codemods.venv_relocated import VenvRelocated
from dfmod.linting.buildcontext import BuildContext, default_context
from dfmod.linting.dockerignore import DockerIgnore
from dfmod.linting.engine import check
from dfmod.syntax.dockerfile import Dockerfile

ROOT_BUILT = (  # docker/Dockerfile, written for `docker build -f docker/Dockerfile .`
    "FROM python:3.12-slim\n"
    "WORKDIR /srv\n"
    "COPY . .\n"
    "RUN pip install --user -r requirements.txt\n"
    "USER app\n"
    'CMD ["python", "-m", "app"]\n'
)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository whose Dockerfile lives in docker/ and whose context is the root."""
    (tmp_path / ".git").mkdir()
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__init__.py").write_text("")
    (tmp_path / "app" / "__main__.py").write_text("import fastapi\nfrom app import models\n")
    (tmp_path / "app" / "models.py").write_text("")
    (tmp_path / "requirements.txt").write_text("fastapi\nuvicorn\n")
    (tmp_path / "docker").mkdir()
    (tmp_path / "docker" / "Dockerfile").write_text(ROOT_BUILT)
    return tmp_path


def findings(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, dict]:
    """`check --format json` as {rule: the finding} (one finding per rule here)."""
    main(["check", "--jobs", "1", "--format", "json", *args])
    out, err = capsys.readouterr()
    assert "error" not in err, err
    return {record["rule"]: record for record in json.loads(out)}


def show(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["check", "--show-files", *args]) == 0
    return capsys.readouterr().out


def assert_judged_from_the_root(found: dict[str, dict]) -> None:
    verify = found["verify-imports"]
    assert "imports `fastapi` and `uvicorn`" in verify["message"]
    assert [edit["text"].strip() for edit in verify["fix"]["edits"]] == [
        'RUN python -c "import fastapi, uvicorn"']
    copy = found["copy-before-install"]
    assert copy["fix"] is not None, copy["message"]
    assert copy["fix"]["description"].startswith("Copy requirements.txt first")


def test_the_dockerfiles_directory_alone_misjudges_it(
        repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """The behaviour the issue reports, kept as the reference: docker/ as the context."""
    monkeypatch.chdir(repo)
    found = findings(capsys, "--context", "docker", "docker/Dockerfile")
    assert [edit["text"].strip() for edit in found["verify-imports"]["fix"]["edits"]] == [
        'RUN python -c "import app"']  # the app's own package, taken for a dependency
    assert found["copy-before-install"]["fix"] is None  # requirements.txt is not in docker/


def test_context_from_the_command_line(repo: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(repo)
    assert_judged_from_the_root(findings(capsys, "--context", ".", "docker/Dockerfile"))
    assert "docker/Dockerfile  dockerfile  context . (--context)\n" in show(
        capsys, "--context", ".", "docker/Dockerfile")
    assert main(["check", "--context", "nowhere", "docker/Dockerfile"]) == 2
    assert capsys.readouterr().err == "dfmod: error: nowhere: --context: no such directory\n"


def test_context_from_the_configuration(repo: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "dfmod.toml").write_text('context = { "docker/*" = "." }\n')
    monkeypatch.chdir(repo)
    assert_judged_from_the_root(findings(capsys, "docker/Dockerfile"))
    assert "context . (`context` in dfmod.toml)" in show(capsys, ".")


def test_context_from_a_compose_file(repo: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "docker" / "compose.yaml").write_text(
        "services:\n  api:\n    build:\n      context: ..\n      dockerfile: docker/Dockerfile\n")
    monkeypatch.chdir(repo)
    assert_judged_from_the_root(findings(capsys, "docker/compose.yaml"))  # brings it in
    assert "docker/Dockerfile  dockerfile  context . (docker/compose.yaml, service api)" in show(
        capsys, ".")


def test_context_inferred_from_copy_sources(repo: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "docker" / "Dockerfile").write_text(
        "FROM python:3.12-slim\nWORKDIR /srv\nCOPY requirements.txt .\n"
        "RUN pip install --user -r requirements.txt\nCOPY app ./app\nUSER app\n"
        'CMD ["python", "-m", "app"]\n')
    monkeypatch.chdir(repo)
    verify = findings(capsys, "docker/Dockerfile")["verify-imports"]["message"]
    assert "imports `fastapi` and `uvicorn`" in verify
    assert "(assuming the build context `..`, where the COPY sources are)" in verify
    assert "context . (.. (the COPY/ADD sources exist only there))" in show(capsys, ".")


def test_the_dockerfiles_directory_is_the_default(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "requirements.txt").write_text("flask\n")
    (tmp_path / "requirements.txt").write_text("flask\n")
    text = "FROM python:3.12\nCOPY requirements.txt .\n"
    context = default_context(Dockerfile(text, os.fspath(tmp_path / "svc" / "Dockerfile")))
    assert (context.root, context.note) == (os.fspath(tmp_path / "svc"), "")
    # sources found nowhere, or no repository to climb in: still the Dockerfile's directory
    nowhere = default_context(Dockerfile("FROM x\nCOPY nothing.txt .\n",
                                         os.fspath(tmp_path / "svc" / "Dockerfile")))
    assert nowhere.root == os.fspath(tmp_path / "svc")
    (tmp_path / ".git").rmdir()
    (tmp_path / "svc" / "requirements.txt").unlink()
    alone = default_context(Dockerfile(text, os.fspath(tmp_path / "svc" / "Dockerfile")))
    assert alone.root == os.fspath(tmp_path / "svc")


# -- .dockerignore ----------------------------------------------------------------------------

@pytest.mark.parametrize(("patterns", "path", "excluded"), [
    ("*.pyc\n", "a.pyc", True),
    ("*.pyc\n", "sub/a.pyc", False),  # unlike .gitignore: anchored at the root
    ("**/*.pyc\n", "sub/deep/a.pyc", True),
    ("/build\n", "build/x", True),  # a parent directory matches
    ("docs/\n", "docs/index.md", True),
    ("*\n!requirements.txt\n", "requirements.txt", False),
    ("*\n!requirements.txt\n", "app.py", True),
    ("# comment\n\n  .venv  \n", ".venv", True),
    ("te?t\n", "test", True),
    ("[a-c]x\n", "bx", True),
    ("!x\n", "x", False),
])
def test_dockerignore_rules(patterns: str, path: str, excluded: bool) -> None:
    assert DockerIgnore(patterns).excludes(path) is excluded


def test_an_ignored_requirements_file_blocks_the_split(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("flask\n")
    text = "FROM python:3.12\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\n"
    path = os.fspath(tmp_path / "Dockerfile")
    [offered] = check(Dockerfile(text, path), [CopyBeforeInstall()])
    assert offered.fix is not None
    (tmp_path / ".dockerignore").write_text("*.txt\n")
    [blocked] = check(Dockerfile(text, path), [CopyBeforeInstall()])
    assert blocked.fix is None  # the narrower COPY could not copy requirements.txt
    (tmp_path / "Dockerfile.dockerignore").write_text("*.md\n")  # beside the Dockerfile: it wins
    [again] = check(Dockerfile(text, path), [CopyBeforeInstall()])
    assert again.fix is not None


def test_build_context_paths_stay_inside(tmp_path: Path) -> None:
    context = BuildContext(os.fspath(tmp_path), os.fspath(tmp_path / "Dockerfile"), "test")
    (tmp_path / "a.txt").write_text("")
    assert context.file("/a.txt") == os.fspath(tmp_path / "a.txt")
    assert context.file("../a.txt") is None and context.path("x/../../y") is None


def test_the_ignore_file_is_read_once_and_is_no_part_of_the_value(tmp_path: Path) -> None:
    (tmp_path / ".dockerignore").write_text("*.txt\n")
    context = BuildContext(os.fspath(tmp_path), os.fspath(tmp_path / "Dockerfile"), "test")
    assert not context.sends("a.txt") and context.ignore is context.ignore
    (tmp_path / ".dockerignore").write_text("")  # read on first use, then kept
    assert not context.sends("a.txt")
    fresh = BuildContext(os.fspath(tmp_path), os.fspath(tmp_path / "Dockerfile"), "test")
    assert context == fresh and hash(context) == hash(fresh) and repr(context) == repr(fresh)
    copied = pickle.loads(pickle.dumps(context))  # as a --jobs worker gets it
    assert copied == context and not copied.sends("a.txt")


def test_venv_relocated_reads_the_dockerignore_of_the_context(tmp_path: Path) -> None:
    text = ("FROM python:3.12 AS builder\nRUN python -m venv /app/.venv\n"
            "FROM python:3.12-slim\nCOPY --from=builder /app/.venv /opt/venv\n"
            "WORKDIR /app\nCOPY . /app\n")
    path = os.fspath(tmp_path / "Dockerfile")
    [warned] = check(Dockerfile(text, path), [VenvRelocated()])
    assert "`.dockerignore` must exclude `.venv`" in warned.fix.description
    (tmp_path / ".dockerignore").write_text("**/.venv\n")
    [quiet] = check(Dockerfile(text, path), [VenvRelocated()])
    assert "dockerignore" not in quiet.fix.description
