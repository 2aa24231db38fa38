"""Every rule's documented example is a test, as Fixit's VALID/INVALID cases are.

The `## Example` section of a codemod's documentation shows fenced blocks with a `# before`
part and one or more `# after` parts (`# after (style = "scoped")` names the options it
takes). The before must give the rule's finding, and fixing it — with unsafe fixes when the
rule's fix is unsafe — must give exactly the after. Blocks marked `# reported` (a finding
without a fix, then `# suggested` text) must give the finding. A Dockerfile fragment without
`FROM` gets one, the same before and after. The build context holds the requirements files
the example names, each listing `fastapi` and `uvicorn`.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dfmod.linting.edits import Applicability
from dfmod.linting.engine import Settings, check, fix
from dfmod.linting.registry import all_codemods
from dfmod.syntax.parsing import parse

_BLOCK = re.compile(r"^```(dockerfile|yaml)\n(.*?)^```", re.S | re.M)
_MARK = re.compile(r"^# (before|after|reported|suggested|pinned)\b(.*)\n", re.M)
_NAMED_FILE = re.compile(r"(?<![\w./-])(requirements[\w.-]*\.txt)\b")
_OPTION = re.compile(r'(\w[\w-]*) = "([^"]*)"')


def _examples() -> list[tuple[str, str, str, list[tuple[str, str, dict[str, str]]]]]:
    found = []
    for rule, codemod in all_codemods().items():
        doc = codemod.documentation()
        section = re.search(r"^## Example.*?(?=^## |\Z)", doc, re.S | re.M)
        assert section is not None, f"{rule} documents no example"
        for number, block in enumerate(_BLOCK.finditer(section.group(0))):
            marks = list(_MARK.finditer(block.group(2)))
            parts = [(mark.group(1), block.group(2)[mark.end():marks[index + 1].start()
                                                  if index + 1 < len(marks) else None],
                      dict(_OPTION.findall(mark.group(2)))) for index, mark in enumerate(marks)]
            found.append((rule, f"{rule}-{number}", block.group(1), parts))
    return found


EXAMPLES = _examples()


@pytest.mark.parametrize(("rule", "kind", "parts"), [(item[0], item[2], item[3])
                                                      for item in EXAMPLES],
                         ids=[item[1] for item in EXAMPLES])
def test_example(rule: str, kind: str, parts: list[tuple[str, str, dict[str, str]]],
                 tmp_path: Path) -> None:
    codemod = all_codemods()[rule]
    head = parts[0]
    assert head[0] in ("before", "reported"), f"{rule}: an example starts with # before"
    prefix = "FROM python:3.12-slim\n" if kind == "dockerfile" and not re.search(
        r"^FROM ", head[1], re.M) else ""
    name = "Dockerfile" if kind == "dockerfile" else "compose.yaml"
    path = str(tmp_path / name)
    before = prefix + head[1]
    for file in set(_NAMED_FILE.findall(before)):
        (tmp_path / file).write_text("fastapi\nuvicorn\n")
    settings = Settings([codemod], unsafe_fixes=codemod.applicability is Applicability.UNSAFE)
    doc = parse(before, path, "dockerfile" if kind == "dockerfile" else "compose")
    assert [item for item in check(doc, settings.instances(doc.kind), settings) if item.rule == rule], (
        f"{rule}: the example's before gives no finding")
    for mark, text, options in parts[1:]:
        if mark != "after":
            continue
        narrowed = Settings([codemod], unsafe_fixes=True, options={rule: options})
        assert fix(parse(before, path, doc.kind), narrowed).text == prefix + text, (
            f"{rule}: fixing the example's before does not give its after {options or ''}")
