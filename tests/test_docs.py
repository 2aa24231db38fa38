"""`docs/rules.md` is generated from the codemods and must not drift from them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from dfmod.linting.registry import all_codemods
from dfmod.output import rulesdoc as docs

ROOT = Path(__file__).resolve().parent.parent
RULES_MD = ROOT / "docs" / "rules.md"


def test_rules_md_is_in_sync_with_the_code() -> None:
    committed = RULES_MD.read_text(encoding="utf-8") if RULES_MD.exists() else ""
    assert committed == docs.render(), (
        f"docs/rules.md is out of date with the codemods; regenerate it from the repository "
        f"root with `{docs.REGENERATE}` and commit the result")


def test_the_module_prints_the_page_as_utf8_whatever_the_locale() -> None:
    result = subprocess.run([sys.executable, "-m", "dfmod.output.rulesdoc"], cwd=ROOT, capture_output=True,
                            check=True, env={"PATH": "/usr/bin:/bin", "LC_ALL": "C", "PYTHONIOENCODING": "ascii"})
    assert result.stdout.decode("utf-8") == docs.render()


def test_every_codemod_has_a_table_row_and_a_section_with_its_documentation() -> None:
    page = docs.render()
    for rule, codemod in all_codemods().items():
        assert f"| [{rule}](#{rule}) | {codemod.applicability.value} |" in page
        assert f"\n## {rule}\n" in page
        # The documentation's own headings sit one level below the rule's section.
        for line in codemod.documentation().splitlines():
            if line.startswith("## "):
                assert f"\n#{line}\n" in page


def test_headings_are_demoted_outside_code_fences_only() -> None:
    markdown = "Title\n\n## Fix\ntext\n```dockerfile\n# before\nRUN x\n```\n# Top"
    assert docs._demote(markdown) == (
        "Title\n\n### Fix\ntext\n```dockerfile\n# before\nRUN x\n```\n## Top")


def test_a_pipe_in_a_summary_does_not_break_the_table() -> None:
    assert docs._cell("`a || true` hides a failure") == "`a \\|\\| true` hides a failure"


def test_explain_prints_what_the_page_shows() -> None:
    rule, codemod = next(iter(all_codemods().items()))
    result = subprocess.run([sys.executable, "-m", "dfmod", "explain", rule], cwd=ROOT,
                            capture_output=True, text=True, check=True)
    assert codemod.documentation() in result.stdout
    assert docs._demote(codemod.documentation()) in docs.render()


def _build_proofs() -> set[str]:
    """The build tests of `tests/builds/test_rules.py`, read without importing it (it needs Docker)."""
    import ast

    tree = ast.parse((ROOT / "tests" / "builds" / "test_rules.py").read_text(encoding="utf-8"))
    return {node.name for node in tree.body
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")}


def test_every_dockerfile_rule_names_its_build_proofs_and_its_verify_probe() -> None:
    """Issue #12: each rule's documentation names the builds that prove it; issue #16: the probe."""
    import re

    from dfmod.verify.probes import PROBED

    proofs = _build_proofs()
    for rule, codemod in all_codemods().items():
        if codemod.kind != "dockerfile":
            continue
        section = re.search(r"^## Proof\n(.*?)(?=^## |\Z)", codemod.documentation(), re.S | re.M)
        assert section, f"{rule}: no `## Proof` section"
        text = section.group(1)
        own = {name for name in proofs if name.startswith(f"test_{rule.replace('-', '_')}_")}
        assert own, rule
        named = set(re.findall(r"`(test_\w+)`", text))
        assert named == own, f"{rule}: the section names {sorted(named)}, the builds are {sorted(own)}"
        if rule in PROBED:
            assert re.search(r"`dfmod\s+verify`\s+probe:", text), rule
        else:
            assert re.search(r"`dfmod\s+verify`\s+has\s+no\s+probe", text), rule
