"""Which files a run covers, and as what: the names people use, content that decides,
`.gitignore`, special files, `--show-files` and `-v`, and the count on real repositories.

The CLI runs in-process (`dfmod.cli.main` with `--jobs 1`): the same code path as the
command, without a subprocess per case.
"""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from dfmod.cli import main
from dfmod.workspace import kinds
from dfmod.workspace.discovery import discover
from dfmod.workspace.gitignore import rules_for
from dfmod.workspace.kinds import classify, is_compose_model, kind_of

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus-dev"
DOCKERFILE = "FROM python:3.12-slim\nRUN pip install flask\n"
COMPOSE = "services:\n  web:\n    image: nginx:1.27\n"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main([*args])
    out, err = capsys.readouterr()
    return status, out, err


def shown_files(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, str]:
    """`--show-files` as {path: the rest of its line}."""
    status, out, err = run(capsys, "check", "--show-files", *args)
    assert status == 0, err
    lines = out.splitlines()
    assert lines[-1].endswith(("file", "files"))
    return {line.split("  ", 1)[0]: line.split("  ", 1)[1] for line in lines[:-1]}


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")


# -- names ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", [
    "Dockerfile", "Dockerfile.prod", "Dockerfile-test", "Dockerfile_amd", "Dockerfile_China",
    "Dockerfile-linux.template", "Dockerfile@sha256", "api.Dockerfile", "api.dockerfile",
    "dockerfile", "Containerfile", "Containerfile.dev", "Containerfile-arm",
])
def test_dockerfile_names(name: str) -> None:
    assert kind_of(f"svc/{name}") == "dockerfile"


@pytest.mark.parametrize("name", [
    "compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml",
    "compose.override.yaml", "docker-compose.dev.yml", "docker-compose-base.yml",
    "docker-compose-mariadb-redis.yml", "compose-with-env-files.yaml", "docker-compose-tls.yml",
])
def test_compose_names(name: str) -> None:
    assert kind_of(name) == "compose"


@pytest.mark.parametrize("name", [
    "Dockerfile.dockerignore", "api.Dockerfile.dockerignore", "dockerfile.yaml",
    "dockerfile-build.yaml", "Dockerfile.md", "Dockerfile.bak", "README.md", "Dockerfiles",
    "mycompose.yaml", "compose.json",
])
def test_names_that_are_neither(name: str) -> None:
    assert kind_of(name) is None


def test_a_walk_finds_every_naming_form(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    names = ["Dockerfile_amd", "Dockerfile-test", "Dockerfile_China", "Dockerfile-linux.template",
             "Dockerfile@sha", "app/Dockerfile", "app/api.Dockerfile", "app/x.dockerfile",
             "dockerfile", "img/Containerfile.arm"]
    write(tmp_path, dict.fromkeys(names, DOCKERFILE))
    composes = ["docker-compose-base.yml", "docker-compose-mariadb-redis.yml",
                "compose-with-env-files.yaml", "docker-compose-tls.yml", "ci/test-compose.yml"]
    write(tmp_path, dict.fromkeys(composes, COMPOSE))
    write(tmp_path, {".github/workflows/dockerfile.yaml": "name: build\non: push\njobs: {}\n",
                     "ci/compose-notes.yaml": "on: push\njobs: {}\n",
                     "Dockerfile.dockerignore": "*.pyc\n", "docs/Dockerfile.md": "# notes\n"})
    monkeypatch.chdir(tmp_path)
    files = shown_files(capsys, ".")
    assert sorted(files) == sorted(names + composes)
    assert all(files[name].startswith("dockerfile") for name in names)
    assert all(files[name].startswith("compose") for name in composes)
    _, _, err = run(capsys, "check", "-v", "--show-files", ".")
    assert "dfmod: skipped ci/compose-notes.yaml: not a compose model" in err


def test_yaml_content_decides_compose_only_when_the_name_does_not(tmp_path: Path) -> None:
    assert is_compose_model("x-common: &c {}\nservices:\n  a: {image: x}\n")
    assert is_compose_model("---\n# c\ninclude:\n  - other.yaml\n")
    assert not is_compose_model("version: '3'\n")
    assert not is_compose_model("name: build\non: push\njobs: {}\n")
    assert not is_compose_model("- a\n- b\n")
    assert not is_compose_model("")
    assert classify("stack.yml", COMPOSE) == "compose"
    assert classify("build-image", "# syntax=docker/dockerfile:1\n\nARG V=1\nFROM x\n") == "dockerfile"
    assert classify("docker-compose.yml", "name: workflow\non: push\n") == "compose"  # by name


# -- a named file is never misread -----------------------------------------------------------

@pytest.mark.parametrize(("name", "text", "said"), [
    ("deploy-compose-prod.yml", "name: release\non: push\njobs: {}\n", "is YAML but not a compose model"),
    ("settings.yaml", "debug: true\n", "is YAML but not a compose model"),
    ("notes", "just some text\n", "is neither a Dockerfile"),
])
def test_a_named_file_dfmod_cannot_classify_is_an_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        name: str, text: str, said: str) -> None:
    write(tmp_path, {name: text, "Dockerfile": DOCKERFILE})
    monkeypatch.chdir(tmp_path)
    status, _, err = run(capsys, "check", "--jobs", "1", name, "Dockerfile")
    assert status == 2
    assert err.count("\n") == 1 and err.startswith(f"dfmod: error: {name}: {said}")
    assert "Traceback" not in err


def test_a_compose_file_with_an_unknown_name_is_read_as_compose(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, {"stack.yml": "version: '3'\nservices:\n  web:\n    image: nginx\n"})
    monkeypatch.chdir(tmp_path)
    status, out, _ = run(capsys, "check", "--jobs", "1", "stack.yml")
    assert status == 1
    assert "compose-obsolete-version" in out and "compose-unpinned-image" in out


def test_stdin_filename_follows_the_same_rule(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "stdin", io.StringIO("name: ci\non: push\njobs: {}\n"))
    status, _, err = run(capsys, "check", "--stdin-filename", "deploy-prod.yml")
    assert status == 2
    assert err == ("dfmod: error: deploy-prod.yml: is YAML but not a compose model (top-level "
                   "keys: name, on, jobs); dfmod reads Dockerfiles and compose files only\n")
    monkeypatch.setattr(sys, "stdin", io.StringIO("version: '3'\nservices:\n  w: {image: x:1}\n"))
    status, out, _ = run(capsys, "check", "--stdin-filename", "docker-compose-prod.yml")
    assert status == 1 and "compose-obsolete-version" in out


def test_stdin_through_the_real_command(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "dfmod", "check", "--stdin-filename", "x.yaml"],
                            input="a: 1\n", capture_output=True, text=True, cwd=tmp_path, check=False)
    assert result.returncode == 2 and "x.yaml: is YAML but not a compose model" in result.stderr


# -- .gitignore ---------------------------------------------------------------------------

def _found(path: Path, respect: bool = True) -> list[str]:
    return sorted(os.path.relpath(item.path, path) for item in discover([os.fspath(path)],
                                                                       respect_gitignore=respect).files)


def test_gitignore_negation_nested_files_and_directory_only_patterns(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    write(tmp_path, {
        ".gitignore": "*.Dockerfile\n!keep.Dockerfile\nbuild/\nout\n/anchored/\nDockerfile.gen/\n",
        "a.Dockerfile": DOCKERFILE, "keep.Dockerfile": DOCKERFILE, "sub/keep.Dockerfile": DOCKERFILE,
        "build/Dockerfile": DOCKERFILE, "src/build/Dockerfile": DOCKERFILE,
        "out/Dockerfile": DOCKERFILE, "anchored/Dockerfile": DOCKERFILE,
        "deep/anchored/Dockerfile": DOCKERFILE,
        "Dockerfile.gen": DOCKERFILE, "x/Dockerfile.gen/Dockerfile": DOCKERFILE,  # dir-only
        "svc/.gitignore": "!b.Dockerfile\nDockerfile.*\n!Dockerfile.keep\n",
        "svc/b.Dockerfile": DOCKERFILE, "svc/Dockerfile.dev": DOCKERFILE,
        "svc/Dockerfile.keep": DOCKERFILE, "svc/inner/Dockerfile.x": DOCKERFILE,
        "svc/inner/.gitignore": "!Dockerfile.x\n",
    })
    expected = ["Dockerfile.gen", "deep/anchored/Dockerfile", "keep.Dockerfile", "sub/keep.Dockerfile",
                "svc/Dockerfile.keep", "svc/b.Dockerfile", "svc/inner/Dockerfile.x"]
    assert _found(tmp_path) == expected
    listed = subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=False)
    if listed.returncode == 0:  # git agrees
        out = subprocess.run(["git", "ls-files", "--others", "--exclude-standard", "--cached"],
                             cwd=tmp_path, capture_output=True, text=True, check=True).stdout
        assert sorted(line for line in out.splitlines() if kind_of(line)) == expected
    assert len(_found(tmp_path, respect=False)) == 14


def test_gitignore_of_the_repository_applies_below_the_walked_directory(tmp_path: Path) -> None:
    (tmp_path / ".git" / "info").mkdir(parents=True)
    (tmp_path / ".git" / "info" / "exclude").write_text("local.Dockerfile\n")
    write(tmp_path, {".gitignore": "/app/generated/\n", "app/generated/Dockerfile": DOCKERFILE,
                     "app/Dockerfile": DOCKERFILE, "app/local.Dockerfile": DOCKERFILE})
    assert _found(tmp_path / "app") == ["Dockerfile"]
    assert rules_for(os.fspath(tmp_path / "app")).ignored_by(
        os.fspath(tmp_path / "app" / "generated"), True) == os.fspath(tmp_path / ".gitignore")


def test_ignored_files_are_listed_with_v_and_named_files_are_taken(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, {".gitignore": "vendor/\nold.Dockerfile\n", "Dockerfile": DOCKERFILE,
                     "old.Dockerfile": DOCKERFILE, "vendor/Dockerfile": DOCKERFILE})
    monkeypatch.chdir(tmp_path)
    _, _, err = run(capsys, "check", "-v", "--show-files", ".")
    assert "dfmod: skipped old.Dockerfile: ignored by .gitignore\n" in err
    assert "dfmod: skipped vendor: a directory ignored by .gitignore\n" in err
    assert set(shown_files(capsys, ".")) == {"Dockerfile"}
    assert set(shown_files(capsys, "--no-respect-gitignore", ".")) == {
        "Dockerfile", "old.Dockerfile", "vendor/Dockerfile"}
    assert set(shown_files(capsys, "old.Dockerfile")) == {"old.Dockerfile"}


def test_pathspec_is_imported_only_when_a_walk_meets_an_ignore_file(tmp_path: Path) -> None:
    write(tmp_path, {"Dockerfile": DOCKERFILE})
    code = ("import sys; from dfmod.cli import main; main(['check', '--jobs', '1', {}]); "
            "print('pathspec' in sys.modules)")
    for argument, imported in (("'Dockerfile'", "False"), ("'.'", "False")):
        result = subprocess.run([sys.executable, "-c", code.format(argument)], cwd=tmp_path,
                                capture_output=True, text=True, check=False)
        assert result.stdout.splitlines()[-1] == imported
    (tmp_path / ".gitignore").write_text("*.log\n")
    result = subprocess.run([sys.executable, "-c", code.format("'.'")], cwd=tmp_path,
                            capture_output=True, text=True, check=False)
    assert result.stdout.splitlines()[-1] == "True"


# -- special files ----------------------------------------------------------------------------

def test_fifos_sockets_and_links_to_them_are_skipped_without_opening(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, {"ok/Dockerfile": DOCKERFILE})
    os.mkfifo(tmp_path / "Dockerfile")
    os.mkfifo(tmp_path / "compose.yaml")
    os.symlink("Dockerfile", tmp_path / "Dockerfile.link")
    os.symlink("missing", tmp_path / "Dockerfile.broken")
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(os.fspath(tmp_path / "Dockerfile.sock"))
        monkeypatch.chdir(tmp_path)
        status, out, err = run(capsys, "check", "-v", "--jobs", "1", ".")
    finally:
        sock.close()
    assert status == 0, err
    assert out == "No findings in 1 file.\n"
    assert "skipped Dockerfile: a FIFO, not a regular file" in err
    assert "skipped compose.yaml: a FIFO, not a regular file" in err
    assert "skipped Dockerfile.link: a symbolic link to a FIFO, not a regular file" in err
    assert "skipped Dockerfile.broken: a broken symbolic link" in err
    assert "skipped Dockerfile.sock: a socket, not a regular file" in err


# -- the corpus of real repositories -------------------------------------------------------------

def test_show_files_lists_every_dockerfile_and_compose_file_of_the_corpus(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    if not CORPUS.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail("../shared/corpus-dev is missing in CI")
        pytest.skip("../shared/corpus-dev is not here (a clone without the shared corpus)")
    expected = (ROOT / "tests" / "fixtures" / "corpus-dev-files.txt").read_text().split("\n")
    monkeypatch.chdir(CORPUS)
    files = shown_files(capsys, ".")
    assert sorted(files) == sorted(filter(None, expected))
    assert len(files) == 255


@pytest.mark.parametrize("name", [
    "Dockerfile", "dockerfile", "Containerfile", "containerfile", "Dockerfile.prod", "Dockerfile-x",
    "Dockerfile_amd", "Dockerfile@sha", "Dockerfile.", "api.Dockerfile", "a.containerfile",
    ".Dockerfile", "DockerfileX", "Dockerfiles", "DockerFile", "x.DockerFile", "compose.yml",
    "compose.yaml", "docker-compose.yml", "docker-compose.yaml", "compose-base.yml",
    "compose.override.yaml", "compose_x.yml", "composeyml", "compose.ym", "composer.yml",
    "docker-docker-compose.yml", "docker-composer.yml", "compose.yml.yaml", "ci-compose.yml",
    "Compose.yml", "compose..yml", "compose.yml.bak",
])
def test_names_are_read_as_the_patterns_read_them(name: str) -> None:
    """The name test reads names with string methods; these patterns say what it means."""
    import re

    dockerfile = re.match(r"^(?:(?:Dockerfile|dockerfile|Containerfile|containerfile)(?:[.\-_@].*)?"
                          r"|.+\.(?:Dockerfile|dockerfile|Containerfile|containerfile))$", name)
    compose = re.match(r"^(?:docker-)?compose(?:[.\-_].*)?\.ya?ml$", name)
    expected = ("compose" if compose else "dockerfile" if dockerfile and os.path.splitext(name)[1].lower()
                not in kinds._NOT_DOCKERFILE else None)
    assert kinds.kind_of(name) == expected
