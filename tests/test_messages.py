"""Finding messages are read in a second: one short sentence, each name once, pinned per case.

A message says what this file does wrong and what that costs; the reasons live in the
rule's documentation (`dfmod explain`). Two checks keep it so:

- every golden case records the findings its input raises, `line:column rule message` and
  the fix's title, in `golden/<rule>/<case>/findings.txt` (`pytest --update-golden`
  rewrites it), so a change of wording shows in review as a change of that file;
- on every golden input, the examples and the real corpus (`../shared/corpus-dev`, skipped
  where absent), no message is longer than `HARD_LIMIT` and none names a thing twice: the
  same backticked name twice, or a backticked name again bare.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from goldencases import GOLDEN, case_settings

from dfmod.linting.engine import check
from dfmod.linting.registry import all_codemods
from dfmod.syntax.compose import ComposeFile
from dfmod.syntax.dockerfile import Dockerfile
from dfmod.syntax.document import TextDocument
from dfmod.workspace.kinds import kind_of

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus-dev"
HARD_LIMIT = 160
CASES = sorted(path for path in GOLDEN.glob("*/*")
               if (path / "input").is_dir() and path.parent.name in all_codemods())
DOCUMENTS: dict[str, type[TextDocument]] = {"dockerfile": Dockerfile, "compose": ComposeFile}


def recorded_findings(case: Path) -> str:
    """The findings of the case's input files, as `findings.txt` records them."""
    settings = case_settings(case)
    lines = []
    for source in sorted((case / "input").rglob("*")):
        kind = kind_of(source.name)
        if kind not in DOCUMENTS:
            continue
        doc = DOCUMENTS[kind](source.read_bytes().decode("utf-8"), os.fspath(source))
        for finding in check(doc, settings.instances(kind), settings):
            line, column = doc.position(finding.span.start)
            lines.append(f"{source.relative_to(case / 'input').as_posix()}:{line}:{column} "
                         f"{finding.rule} {finding.message}")
            if finding.fix is not None:
                lines.append(f"    fix ({finding.fix.applicability.value}): {finding.fix.description}")
    return "".join(line + "\n" for line in lines)


@pytest.mark.parametrize("case", CASES, ids=[f"{c.parent.name}/{c.name}" for c in CASES])
def test_findings_are_recorded(case: Path, update_golden: bool) -> None:
    path = case / "findings.txt"
    text = recorded_findings(case)
    if update_golden:
        path.write_text(text, encoding="utf-8")
    assert path.read_text(encoding="utf-8") == text


def test_every_rule_message_is_recorded() -> None:
    recorded = "".join((case / "findings.txt").read_text(encoding="utf-8") for case in CASES)
    for rule in [*all_codemods(), "unused-suppression"]:
        assert f" {rule} " in recorded, f"no golden case records a {rule} message"


_BACKTICKED = re.compile(r"`([^`]+)`")


def repeated_names(message: str) -> list[str]:
    """Backticked names the message names twice: backticked again, or again bare (a whole
    word, not part of a path or a longer name)."""
    names = _BACKTICKED.findall(message)
    repeated = {name for name in names if names.count(name) > 1}
    bare = _BACKTICKED.sub("``", message)
    for name in set(names):
        if re.search(rf"(?<![\w/.$-]){re.escape(name)}(?![\w/-])", bare):
            repeated.add(name)
    return sorted(repeated)


def test_repeated_names_are_recognised() -> None:
    assert repeated_names("imports `alembic` and `uvicorn` (`alembic`: run by CMD)") == ["alembic"]
    assert repeated_names("`celery` is not found: celery fails") == ["celery"]
    assert repeated_names("`pip` runs as `app` and installs `celery` into /home/app/.local/bin") == []


def _messages(*paths: Path) -> list[dict[str, object]]:
    process = subprocess.run([sys.executable, "-m", "dfmod", "check", "--format", "json-lines",
                              *map(os.fspath, paths)], cwd=ROOT, capture_output=True, text=True,
                             check=False)
    assert process.returncode in (0, 1, 2), process.stderr  # 2: files that do not parse (templates)
    return [json.loads(line) for line in process.stdout.splitlines()]


def _assert_short_and_each_name_once(records: list[dict[str, object]]) -> None:
    assert records
    for record in records:
        message = str(record["message"])
        where = f"{record['file']}:{record['line']} {record['rule']}"
        assert len(message) <= HARD_LIMIT, f"{where}: {len(message)} characters: {message}"
        assert not repeated_names(message), f"{where} names {repeated_names(message)} twice: {message}"


def test_messages_on_golden_inputs_and_examples() -> None:
    _assert_short_and_each_name_once(_messages(ROOT / "examples", *sorted(GOLDEN.glob("*/*/input"))))


@pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus-dev is not here")
def test_messages_on_the_real_corpus() -> None:
    _assert_short_and_each_name_once(_messages(CORPUS))
