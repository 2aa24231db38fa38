"""`docs/precision.md` stays true: the Dockerfile rules find exactly the judged findings.

Every finding of every Dockerfile rule on `../shared/corpus-dev/` was read and judged by
hand; each rule's table lists them (rules with none say so). The files are found and
judged as `dfmod check` finds and judges them: discovery, the run plan (a compose
service's `build:` gives its Dockerfile's context and stage) and the runner. A change that
adds or drops a finding there must come with its verdict, and each section's summary
("N findings, **K TRUE …") must count its rows. Skipped where `../shared` is absent (CI has
it).
"""

from __future__ import annotations

import os
import re

import pytest
from precision import CORPUS, ROOT, judged, judged_rows

from dfmod.linting.engine import Settings
from dfmod.linting.registry import all_codemods
from dfmod.workspace.discovery import discover
from dfmod.workspace.kinds import DOCKERFILE
from dfmod.workspace.runner import run
from dfmod.workspace.targets import plan

RULES = tuple(sorted(rule for rule, codemod in all_codemods().items()
                     if codemod.kind == DOCKERFILE))
_SUMMARY = re.compile(r"(?P<all>\d+) findings?, \*\*(?P<true>\d+) TRUE")


@pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus-dev is not here")
def test_the_precision_tables_list_every_dockerfile_finding() -> None:
    targets = [target for target in plan(discover([str(CORPUS)])) if target.kind == DOCKERFILE]
    settings = Settings([all_codemods()[rule] for rule in RULES])
    found = set()
    for result in run(targets, settings, "check"):
        assert result.error is None, result.error
        for finding in result.findings:
            found.add((finding.finding.rule, os.path.relpath(result.path, CORPUS), finding.line))
    assert found == judged(RULES)


def test_each_dockerfile_section_counts_its_rows() -> None:
    rows = judged_rows(RULES)
    sections = (ROOT / "docs" / "precision.md").read_text(encoding="utf-8").split("\n## ")
    for rule in RULES:
        section = next((text for text in sections if text.startswith(rule + "\n")), None)
        assert section is not None, f"docs/precision.md has no section for {rule}"
        verdicts = [verdict for name, _file, _line, verdict in rows if name == rule]
        summary = _SUMMARY.search(section)
        if not verdicts:
            assert summary is None or summary["all"] == "0", rule
            continue
        assert summary is not None, f"{rule}: no 'N findings, **K TRUE' summary"
        assert (int(summary["all"]), int(summary["true"])) == (
            len(verdicts), verdicts.count("TRUE")), rule
