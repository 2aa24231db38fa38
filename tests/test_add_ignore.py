"""`dfmod check --add-ignore`: suppression comments written for every finding, losslessly.

Each case is the whole file before and after, so every byte the comments may not touch —
CRLF, a BOM, the parser directives, the indentation of a YAML key — is checked. Then the
real corpus: after `--add-ignore` every Dockerfile still parses with BuildKit's parser into
the same instructions, every compose file Compose loads gives the same model, a following
check reports nothing, and a second run changes nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import dockerfile
import pytest
from composeconfig import compose_binary

from dfmod.cli import main
from dfmod.linting.engine import Settings, add_ignores
from dfmod.linting.registry import all_codemods
from dfmod.syntax.compose import ComposeFile
from dfmod.syntax.dockerfile import Dockerfile
from dfmod.workspace.kinds import kind_of
from oracle import buildkit_ranges

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus-dev"
EVERY = Settings(list(all_codemods().values()))
CACHE_RUN = "RUN --mount=type=cache,target=/root/.cache/pip pip install --no-cache-dir flask"
PURGE_RUN = CACHE_RUN + " && pip cache purge"


def _dockerfile(text: str) -> tuple[str, int, list[str]]:
    ignored = add_ignores(Dockerfile(text), EVERY)
    return ignored.doc.text, ignored.comments, [item.rule for item in ignored.findings]


def _compose(text: str) -> tuple[str, int, list[str]]:
    ignored = add_ignores(ComposeFile(text), EVERY)
    return ignored.doc.text, ignored.comments, [item.rule for item in ignored.findings]


def _settled(text: str, kind: str = "dockerfile") -> None:
    """Nothing is left to report, and another run changes nothing."""
    again = (_dockerfile if kind == "dockerfile" else _compose)(text)
    assert again == (text, 0, [])


# -- Dockerfiles ------------------------------------------------------------------------

def test_one_comment_above_the_instruction_naming_its_rules_sorted() -> None:
    text = ("FROM python:3.11\n"
            "RUN --mount=type=cache,target=/root/.cache/pip \\\n"
            "    pip install --no-cache-dir flask && pip cache purge\n")
    after, comments, left = _dockerfile(text)
    assert after == ("FROM python:3.11\n"
                     "# dfmod: ignore[cache-mount-no-cache-dir, pip-cache-purge]\n"
                     "RUN --mount=type=cache,target=/root/.cache/pip \\\n"
                     "    pip install --no-cache-dir flask && pip cache purge\n")
    assert (comments, left) == (1, [])
    _settled(after)


def test_crlf_and_a_bom_on_line_one_are_kept() -> None:
    text = f"\ufeff{CACHE_RUN}\r\nCMD python\r\n"
    after, comments, _ = _dockerfile(text)
    assert after == f"\ufeff# dfmod: ignore[cache-mount-no-cache-dir]\r\n{CACHE_RUN}\r\nCMD python\r\n"
    assert comments == 1
    assert buildkit_ranges(after) == [("RUN", 2, 2), ("CMD", 3, 3)]
    _settled(after)


def test_parser_directives_stay_the_first_lines() -> None:
    text = ("# syntax=docker/dockerfile:1\n# escape=`\n"
            "FROM python:3.11\n"
            "RUN --mount=type=cache,target=/root/.cache/pip `\n"
            "    pip install --no-cache-dir flask\n")
    after, _, _ = _dockerfile(text)
    assert after == ("# syntax=docker/dockerfile:1\n# escape=`\n"
                     "FROM python:3.11\n"
                     "# dfmod: ignore[cache-mount-no-cache-dir]\n"
                     "RUN --mount=type=cache,target=/root/.cache/pip `\n"
                     "    pip install --no-cache-dir flask\n")
    # BuildKit still reads the escape directive: the backtick continues the RUN.
    assert buildkit_ranges(after) == [("FROM", 3, 3), ("RUN", 5, 6)]
    _settled(after)


def test_an_instruction_right_after_the_directives_gets_its_comment_below_them() -> None:
    text = f"# syntax=docker/dockerfile:1\n{CACHE_RUN}\n"
    after, _, _ = _dockerfile(text)
    assert after == f"# syntax=docker/dockerfile:1\n# dfmod: ignore[cache-mount-no-cache-dir]\n{CACHE_RUN}\n"
    assert dockerfile.parse_string(after)[0].cmd == "RUN"
    _settled(after)


def test_an_existing_suppression_in_the_comment_block_is_extended() -> None:
    text = ("FROM python:3.11\n"
            "# we keep the cache: measured\n"
            "# dfmod: ignore[cache-mount-no-cache-dir]\n"
            "# (see the wiki)\n"
            f"{PURGE_RUN}\n")
    after, comments, _ = _dockerfile(text)
    assert after == ("FROM python:3.11\n"
                     "# we keep the cache: measured\n"
                     "# dfmod: ignore[cache-mount-no-cache-dir, pip-cache-purge]\n"
                     "# (see the wiki)\n"
                     f"{PURGE_RUN}\n")
    assert comments == 1
    _settled(after)


def test_an_empty_list_or_a_trailing_comma_is_filled_in() -> None:
    after, _, _ = _dockerfile(f"FROM python:3.11\n# dfmod: ignore[ ]\n{CACHE_RUN}\n")
    assert after == f"FROM python:3.11\n# dfmod: ignore[cache-mount-no-cache-dir ]\n{CACHE_RUN}\n"
    after, _, _ = _dockerfile(f"FROM python:3.11\n# dfmod: ignore[verify-imports,]\n{PURGE_RUN}\n")
    assert after == ("FROM python:3.11\n"
                     "# dfmod: ignore[verify-imports, cache-mount-no-cache-dir, pip-cache-purge,]\n"
                     f"{PURGE_RUN}\n")


def test_an_indented_instruction_gets_an_indented_comment() -> None:
    after, _, _ = _dockerfile(f"FROM python:3.11\n  {CACHE_RUN}\n")
    assert after == f"FROM python:3.11\n  # dfmod: ignore[cache-mount-no-cache-dir]\n  {CACHE_RUN}\n"


def test_a_stale_suppression_is_left_for_fix_to_remove() -> None:
    """A comment silencing `unused-suppression` would be a second stale comment."""
    text = "FROM python:3.11\n# dfmod: ignore[cache-mount-no-cache-dir]\nRUN pip install flask\n"
    assert _dockerfile(text) == (text, 0, ["unused-suppression"])


def test_a_file_without_findings_is_untouched() -> None:
    text = "FROM python:3.11\nRUN pip install --no-cache-dir flask\n"
    assert _dockerfile(text) == (text, 0, [])


# -- compose files ----------------------------------------------------------------------

def test_a_list_item_gets_the_comment_at_its_own_indentation() -> None:
    text = ("services:\n  db:\n    image: postgres:16.2\n    environment:\n"
            "      - POSTGRES_USER=app\n      - POSTGRES_PASSWORD=hunter2\n")
    after, comments, _ = _compose(text)
    assert after == ("services:\n  db:\n    image: postgres:16.2\n    environment:\n"
                     "      - POSTGRES_USER=app\n"
                     "      # dfmod: ignore[compose-secret-literal]\n"
                     "      - POSTGRES_PASSWORD=hunter2\n")
    assert comments == 1
    _settled(after, "compose")


def test_a_value_in_a_flow_mapping_is_silenced_above_the_key_holding_it() -> None:
    """Inside `{…}` a comment line could land in a neighbour's multi-line quoted value (here
    `"a⏎b"`, whose value would change), so the whole flow collection is one place, anchored
    at the block key that holds it — as the matching does (`ComposeFile.anchor`)."""
    text = ("services:\n  db:\n    image: postgres:16.2\n"
            "    environment: {\n"
            '      POSTGRES_USER: "a\n'
            '        b", POSTGRES_PASSWORD: hunter2\n'
            "    }\n")
    after, comments, _ = _compose(text)
    assert after == ("services:\n  db:\n    image: postgres:16.2\n"
                     "    # dfmod: ignore[compose-secret-literal]\n"
                     "    environment: {\n"
                     '      POSTGRES_USER: "a\n'
                     '        b", POSTGRES_PASSWORD: hunter2\n'
                     "    }\n")
    assert comments == 1
    assert ComposeFile(after).data == ComposeFile(text).data
    _settled(after, "compose")


def test_a_one_line_flow_mapping_and_crlf() -> None:
    text = ("services:\r\n  db: {image: postgres:latest, healthcheck: {test: [CMD, pg_isready]}}\r\n")
    after, _, _ = _compose(text)
    assert after == ("services:\r\n"
                     "  # dfmod: ignore[compose-unpinned-image]\r\n"
                     "  db: {image: postgres:latest, healthcheck: {test: [CMD, pg_isready]}}\r\n")
    _settled(after, "compose")


def test_a_top_level_key_under_a_bom() -> None:
    text = '\ufeffversion: "3.8"\nservices:\n  app:\n    build: .\n'
    after, _, _ = _compose(text)
    assert after == '\ufeff# dfmod: ignore[compose-obsolete-version]\nversion: "3.8"\nservices:\n  app:\n    build: .\n'
    _settled(after, "compose")


def test_a_key_after_a_block_scalar_keeps_the_scalar_intact() -> None:
    """The comment sits at the key's indentation, so it ends the `|+` scalar above it where
    the scalar ended anyway: its kept trailing blank line stays part of it."""
    text = ("services:\n  app:\n    command: |+\n      run\n\n"
            "    image: redis:latest\n    healthcheck: {test: [CMD, redis-cli, ping]}\n")
    after, _, _ = _compose(text)
    assert after == ("services:\n  app:\n    command: |+\n      run\n\n"
                     "    # dfmod: ignore[compose-unpinned-image]\n"
                     "    image: redis:latest\n    healthcheck: {test: [CMD, redis-cli, ping]}\n")
    assert ComposeFile(after).data == ComposeFile(text).data
    _settled(after, "compose")


# -- the command line -------------------------------------------------------------------

def test_the_command_line_writes_and_counts_per_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "Dockerfile").write_text(f"FROM python:3.11\n{CACHE_RUN}\n{PURGE_RUN}\n")
    (tmp_path / "clean.Dockerfile").write_text("FROM python:3.11\n")
    monkeypatch.chdir(tmp_path)
    assert main(["check", "--add-ignore", "--jobs", "1", "."]) == 0
    out = capsys.readouterr().out
    assert out == ("Dockerfile: wrote 2 suppression comments\n"
                   "Wrote 2 suppression comments in 1 file.\n")
    assert main(["check", "--jobs", "1", "."]) == 0
    assert capsys.readouterr().out == "No findings in 2 files.\n"
    assert main(["check", "--add-ignore", "--jobs", "1", "."]) == 0
    assert capsys.readouterr().out == "No findings in 2 files.\n"


def test_the_command_line_refuses_stdin(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--add-ignore", "--stdin-filename", "Dockerfile"]) == 2
    assert "--add-ignore: writes files on disk" in capsys.readouterr().err


def test_a_symlink_out_of_the_project_is_not_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    outside = tmp_path / "outside.Dockerfile"
    outside.write_text(f"FROM python:3.11\n{CACHE_RUN}\n")
    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    (project / "Dockerfile").symlink_to(outside)
    monkeypatch.chdir(project)
    assert main(["check", "--add-ignore", "--jobs", "1", "Dockerfile"]) == 1
    assert "outside the project" in capsys.readouterr().err
    assert outside.read_text() == f"FROM python:3.11\n{CACHE_RUN}\n"


# -- the real corpus --------------------------------------------------------------------

def _writable_copy(destination: Path) -> Path:
    shutil.copytree(CORPUS, destination)
    for directory, _dirs, names in os.walk(destination):
        for name in names:
            path = Path(directory) / name
            path.chmod(path.stat().st_mode | stat.S_IWUSR)
    (destination / ".git").mkdir()  # one project: the copy
    return destination


def _files(root: Path) -> dict[str, bytes]:
    return {path.relative_to(root).as_posix(): path.read_bytes()
            for path in sorted(root.rglob("*")) if path.is_file()}


def _compose_model(root: Path, name: str) -> str | None:
    """`docker compose config` of one file as JSON with `root` taken out (None: Compose
    rejects the file, as it does many corpus files out of their repositories)."""
    result = subprocess.run(
        [compose_binary(), "-f", name, "-p", "dfmod", "config", "--format", "json",
         "--no-interpolate", "--no-env-resolution"],
        cwd=root, env={"PATH": os.environ.get("PATH", ""), "HOME": os.fspath(root)},
        capture_output=True, text=True, check=False)
    return result.stdout.replace(os.fspath(root), "ROOT") if result.returncode == 0 else None


@pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus-dev is not here")
def test_add_ignore_over_the_corpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    before_root = _writable_copy(tmp_path / "before")
    root = _writable_copy(tmp_path / "after")
    monkeypatch.chdir(root)
    main(["check", "--add-ignore", "--jobs", "1", "."])
    out = capsys.readouterr().out
    before, after = _files(before_root), _files(root)
    changed = sorted(name for name in after if after[name] != before[name])
    loaded = 0
    assert len(changed) >= 50  # 65 files when written; the corpus has many findings
    assert f"in {len(changed)} files." in out
    for name in changed:
        old, new = before[name].decode(), after[name].decode()
        # Only whole `# dfmod: ignore[…]` lines were added.
        added = [line for line in new.splitlines() if line.strip().startswith("# dfmod: ignore[")]
        assert sorted(new.splitlines()) == sorted(old.splitlines() + added), name
        if kind_of(name) == "dockerfile":
            lines = {number: line for number, line in enumerate(new.splitlines(), 1)}
            old_commands = [(item.cmd, item.original) for item in dockerfile.parse_string(old)]
            new_commands = [(item.cmd, item.original) for item in dockerfile.parse_string(new)]
            assert new_commands == old_commands, name
            assert all(not lines.get(item.start_line, "").lstrip().startswith("#")
                       for item in dockerfile.parse_string(new)), name
        else:
            model = _compose_model(before_root, name)
            if model is not None:
                loaded += 1
                assert _compose_model(root, name) == model, name
            assert ComposeFile(new).data == ComposeFile(old).data, name
    assert loaded >= 50  # Compose loads every changed one here (55 of 55)
    status = main(["check", "--jobs", "1", "--format", "json", "."])
    captured = capsys.readouterr()
    assert json.loads(captured.out) == []
    assert status in (0, 2)  # 2: the cookiecutter templates that are not YAML
    main(["check", "--add-ignore", "--jobs", "1", "."])
    assert "suppression comment" not in capsys.readouterr().out
    assert _files(root) == after
