"""`--output-format gitlab`: GitLab's Code Quality report, shown in merge requests.

A JSON array with one object per finding, in the fields GitLab documents for a custom
tool's report (its "Code Quality report format"): `description`, `check_name`,
`fingerprint`, `severity` (one of `info`, `minor`, `major`, `critical`, `blocker`) and
`location.path` with `location.lines.begin`. The path is relative to the repository root
without `./` (what GitLab resolves against the commit; `dfmod.workspace.repopath`), and
the fingerprint is SARIF's (`dfmod.output.formats.fingerprints`), unique per finding:
GitLab shows only the first of findings that share one, and tells a merge request's new
findings from the base branch's by it.

Every finding is `minor`: as in SARIF (`warning`), a finding gates a build through dfmod's
exit code, and how much it matters is the reader's call. The description is the message
and, for a codemod's rule, where its documentation is (`dfmod.output.rulesdoc.docs_url`),
since the widget shows only the description.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from dfmod.output.formats import fingerprints
from dfmod.output.rulesdoc import docs_url
from dfmod.workspace.repopath import repo_path

if TYPE_CHECKING:
    from dfmod.linting.codemod import Codemod
    from dfmod.linting.located import Located

SEVERITY = "minor"


def code_quality(items: Sequence[Located], codemods: Sequence[type[Codemod]]) -> str:
    documented = {codemod.id for codemod in codemods}
    issues: list[dict[str, Any]] = []
    for item, fingerprint in zip(items, fingerprints(items, lambda item: repo_path(item.path)), strict=True):
        rule = item.finding.rule
        description = item.finding.message
        if rule in documented:
            description += f" (see {docs_url(rule)})"
        issues.append({
            "description": description,
            "check_name": rule,
            "fingerprint": fingerprint,
            "severity": SEVERITY,
            "location": {"path": repo_path(item.path),
                         "lines": {"begin": item.line, "end": item.end_line}},
        })
    return json.dumps(issues, indent=2, ensure_ascii=False) + "\n"
