"""A package install whose failure is turned into success with `|| echo …` or `|| true`.

## What it finds
A package install followed by a tolerance: `pip install X || echo "not available"`,
`apt-get install -y X || true`, `npm ci || :`, `… || exit 0`. Installs in every spelling:
pip (`pip3`, `/opt/venv/bin/pip`, `python -m pip`), `uv pip install`, `uv sync` / `uv add`,
`poetry install` / `add`, `apt-get` / `apt install`, `apk add`, `dnf` / `yum` / `microdnf` /
`zypper install`, `npm install` / `ci`, `yarn` / `yarn install`, `pnpm install`,
`gem install`, `conda` / `mamba install`. A fallback install
(`pip install -i A x || pip install x`) is fine; a tolerance after the last attempt is not.

## Why it is bad
The tolerance turns a failed install into a successful build step: the image is built and
shipped **without the package**, and the failure shows up only at run time
(`ModuleNotFoundError`, `command not found`) — far from its cause, and in production rather
than in CI. In the incident behind this rule,
`pip install --no-cache-dir --user gpt-load || echo "gpt-load not available via pip"` hid
that the package does not exist on PyPI at all. If the package is truly optional, the
image's behaviour should not depend on whether the network was up during the build.

## Fix (unsafe)
Remove the tolerance — the `||` and the command after it — and keep the rest of the chain:
`pip install x || echo "…" && next` → `pip install x && next`. Unsafe because a build that
used to pass now fails when the install fails, which is the point. When a Dockerfile comment
line sits between the install and its tolerance, the finding is reported without a fix.

An unscoped tolerance that also swallows commands *before* the install
(`apt-get update && apt-get install -y x || true`) is this rule's too: removing it restores
every failure. `masked-failure` handles tolerances after other commands.

## Example
```dockerfile
# before
RUN pip install --no-cache-dir --user gpt-load || echo "gpt-load not available via pip"
# after
RUN pip install --no-cache-dir --user gpt-load
```
"""

from __future__ import annotations

from collections.abc import Iterator

from dfmod.linting.codemod import Codemod, Context
from dfmod.linting.edits import Applicability, Edit, Finding, Fix, has_comment_line
from dfmod.semantic.masking import Mask, describe_all, element_install, masks, snippet
from dfmod.syntax.text import Span


class MaskedInstallFailure(Codemod):
    id = "masked-install-failure"
    summary = "A package install's failure is hidden by `|| true` / `|| echo …`"
    applicability = Applicability.UNSAFE

    def check(self, ctx: Context) -> Iterator[Finding]:
        for _, script in ctx.run_scripts():
            for chain in script.chains:
                for mask in masks(chain):
                    label = element_install(mask.guarded)
                    if label is not None:
                        yield self._finding(ctx, mask, label)

    def _finding(self, ctx: Context, mask: Mask, label: str) -> Finding:
        doc = ctx.doc
        others = [item for item in mask.masked if item is not mask.guarded]
        message = (f"`{snippet(doc, mask.span)}` turns a failed `{label}` into success: the "
                   "image is built without the package and fails only at run time")
        if others:
            message += f" (it also swallows the failure of {describe_all(doc, others)})"
        # Cut from the end of the install to the end of the tolerance: the operator and
        # any continuation between them go, whatever follows (` && \\`, `;`) stays.
        cut = Span(mask.guarded.span.end, mask.tolerance.span.end)
        fix = None
        if not has_comment_line(doc.text, cut.start, cut.end):
            fix = Fix((Edit(cut.start, cut.end, ""),), Applicability.UNSAFE,
                      f"Remove `{snippet(doc, mask.span)}` so a failed install fails the build")
        return self.finding(mask.span, message, fix)
