"""Renders every codemod's documentation into one Markdown page: `docs/rules.md`.

`python -m dfmod.output.rulesdoc > docs/rules.md` regenerates it. The page is generated rather than
written because the codemods' docstrings are the documentation (`dfmod explain ID` prints
the same text): a hand-kept copy would drift, and `tests/test_docs.py` fails when the
committed page differs from what this module renders.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from dfmod.linting.codemod import Codemod
from dfmod.linting.edits import Applicability

REGENERATE = "python -m dfmod.output.rulesdoc > docs/rules.md"

# Where a rule's long reason lives, for every output format that links it (the full
# format's footer, GitHub annotation titles, GitLab, JUnit): this page, in dfmod's
# repository, at the rule's own `## ID` heading, whose anchor is the id (ids are lower
# case words and hyphens, which GitHub's and GitLab's Markdown slugs keep as they are).
# A path rather than a web address: dfmod has no published home to point at, and a link
# made up here would break. SARIF wants an absolute `helpUri`, so it gets none and carries
# the documentation itself as the rule's `help`.
RULES_PAGE = "docs/rules.md"


def docs_url(rule: str) -> str:
    """The rule's section of the rules page: `docs/rules.md#ID`."""
    return f"{RULES_PAGE}#{rule}"


_APPLICABILITY = {
    Applicability.SAFE: "safe — keeps behaviour and comments; applied by `dfmod apply --fix`",
    Applicability.UNSAFE: "unsafe — may change what the build does; applied only with `--unsafe-fixes`",
    Applicability.DISPLAY_ONLY: "display-only — reported, never applied",
}
_KINDS = {"dockerfile": "Dockerfiles", "compose": "Compose files"}


def _cell(text: str) -> str:
    """Text that stays inside one Markdown table cell (a `|` would end it, even in code)."""
    return text.replace("|", "\\|").replace("\n", " ")


def _demote(markdown: str) -> str:
    """Every heading one level down, outside code fences: in the page each codemod is a
    `##` section, so its own `## Fix` becomes `### Fix` (and `# before` in an example stays
    a comment)."""
    out = []
    fence: str | None = None
    for line in markdown.splitlines():
        stripped = line.lstrip()
        if stripped.startswith(("```", "~~~")):
            marker = stripped[:3]
            if fence is None:
                fence = marker
            elif marker == fence:
                fence = None
        elif fence is None and stripped.startswith("#"):
            line = "#" + line
        out.append(line)
    return "\n".join(out)


def _option_value(value: Any) -> str:
    try:
        return json.dumps(value)
    except TypeError:
        return repr(value)


def _section(codemod: type[Codemod]) -> str:
    lines = [f"## {codemod.id}", "",
             f"**{codemod.summary}**", "",
             f"- Checks: {_KINDS.get(codemod.kind, codemod.kind)}",
             f"- Fix: {_APPLICABILITY[codemod.applicability]}"]
    if codemod.default_options:
        options = ", ".join(f"`{name}` = `{_option_value(value)}`"
                            for name, value in codemod.default_options.items())
        lines.append(f"- Options (defaults): {options}")
    lines += ["", _demote(codemod.documentation() or codemod.summary), ""]
    return "\n".join(lines)


def render(codemods: dict[str, type[Codemod]] | None = None) -> str:
    """The whole page, for `codemods` (default: every registered codemod, in id order)."""
    if codemods is None:
        from dfmod.linting.registry import all_codemods

        codemods = all_codemods()
    parts = [
        "# dfmod rules",
        "",
        f"<!-- Generated from the codemods' docstrings by `{REGENERATE}`; do not edit. -->",
        "",
        f"dfmod has {len(codemods)} codemods. `dfmod rules` lists them, `dfmod explain ID` prints",
        "one's documentation, `--select`/`--ignore` choose which run. Fix applicability follows",
        "ruff: **safe** fixes are applied by `dfmod apply --fix`, **unsafe** ones also need",
        "`--unsafe-fixes`, **display-only** findings are never applied.",
        "",
        "| id | applicability | summary |",
        "| --- | --- | --- |",
    ]
    for rule, codemod in codemods.items():
        parts.append(f"| [{rule}](#{rule}) | {codemod.applicability.value} | {_cell(codemod.summary)} |")
    parts.append("")
    parts += [_section(codemod) for codemod in codemods.values()]
    return "\n".join(parts).rstrip("\n") + "\n"


def main() -> int:
    # UTF-8 whatever the locale: the page is committed, and must not depend on who ran this.
    sys.stdout.flush()
    sys.stdout.buffer.write(render().encode("utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
