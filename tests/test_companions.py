"""Companion edits: lines a fix adds to another file (`NAME=` in `.env.example`)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from dfmod.linting.companions import updated
from dfmod.syntax.source import SourceFile

ROOT = Path(__file__).resolve().parent.parent


def _source(text: str) -> SourceFile:
    return SourceFile(".env.example", text, text.encode())


def test_missing_lines_are_appended_in_the_files_newline_style() -> None:
    assert updated(_source("A=1\r\nB=\r\n"), ["TOKEN="]) == "A=1\r\nB=\r\nTOKEN=\r\n"
    assert updated(_source("A=1"), ["TOKEN="]) == "A=1\nTOKEN=\n"
    assert updated(_source(""), ["TOKEN="]) == "TOKEN=\n"


def test_present_lines_are_not_added_twice() -> None:
    assert updated(_source("TOKEN=\n"), ["TOKEN="]) == "TOKEN=\n"


def test_fix_and_dry_run_cover_the_companion_file(tmp_path: Path) -> None:
    repo = tmp_path / "svc"
    shutil.copytree(ROOT / "examples/uni-load-improved", repo)
    run = [sys.executable, "-m", "dfmod", "apply", "--unsafe-fixes",
           "--select", "compose-secret-literal"]
    dry = subprocess.run([*run, "."], cwd=repo, capture_output=True, text=True, check=False)
    assert "diff --git a/.env.example b/.env.example" in dry.stdout
    assert "+AUTH_KEY=\n" in dry.stdout
    subprocess.run([*run, "--fix", "."], cwd=repo, check=False, capture_output=True)
    assert (repo / ".env.example").read_text().endswith("AUTH_KEY=\n")
    assert "${AUTH_KEY}" in (repo / "docker-compose.yml").read_text()
    again = subprocess.run([*run, "."], cwd=repo, capture_output=True, text=True, check=False)
    assert again.stdout == ""
