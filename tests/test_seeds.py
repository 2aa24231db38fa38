"""The incidents dfmod grew from, end to end: `examples/` is shaped like the four seeds.

`dfmod apply --fix --unsafe-fixes` on a copy must give files that BuildKit parses, whose
changed RUN shells pass `bash -n`, and a second run must change nothing — through the real
CLI, as a user runs it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from dfmod.syntax.dockerfile import Dockerfile, run_scripts
from oracle import assert_agrees_with_buildkit

ROOT = Path(__file__).resolve().parent.parent


def dfmod(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dfmod", *args], cwd=cwd,
                          capture_output=True, text=True, check=False)


def test_every_seed_example_is_fixed_soundly_and_idempotently(tmp_path: Path) -> None:
    repo = tmp_path / "examples"
    shutil.copytree(ROOT / "examples", repo)
    before = {path: path.read_text() for path in repo.rglob("Dockerfile")}
    first = dfmod("apply", "--fix", "--unsafe-fixes", ".", cwd=repo)
    assert first.returncode in (0, 1), first.stderr
    changed = 0
    for path, text in before.items():
        after = path.read_text()
        changed += after != text
        assert_agrees_with_buildkit(after)
        doc = Dockerfile(after)
        for instruction in doc.instructions:
            for script in run_scripts(doc, instruction):
                result = subprocess.run(["bash", "-n", "-c", script.source.text],
                                        capture_output=True, text=True, check=False)
                assert result.returncode == 0, f"{path}: {result.stderr}"
    assert changed == len(before), "every seed example has something to fix"
    snapshot = {path: path.read_bytes() for path in repo.rglob("*") if path.is_file()}
    second = dfmod("apply", "--fix", "--unsafe-fixes", ".", cwd=repo)
    assert second.returncode in (0, 1)
    assert {path: path.read_bytes() for path in repo.rglob("*") if path.is_file()} == snapshot
    assert dfmod("apply", "--unsafe-fixes", ".", cwd=repo).stdout == ""
