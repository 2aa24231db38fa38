"""A package install whose failure is turned into success with `|| echo …` or `|| true`.

## What it finds
A package install followed by a tolerance: `pip install X || echo "not available"`,
`apt-get install -y X || true`, `npm ci || :`, `… || exit 0`. Installs in every spelling:
pip (`pip3`, `/opt/venv/bin/pip`, `python -m pip`), `uv pip install`, `uv sync` / `uv add`,
`poetry install` / `add`, `apt-get` / `apt install`, `apk add`, `dnf` / `yum` / `microdnf` /
`zypper install`, `npm install` / `ci`, `yarn` / `yarn install`, `pnpm install`,
`gem install`, `conda` / `mamba install`. A fallback install
(`pip install -i A x || pip install x`) is fine; a tolerance after the last attempt is not.

Left alone:
- an install the tolerance itself declares optional — `|| echo "optional: …"`,
  "fallback", "will use …", "disabled", "skipping", "continuing without …": the author
  decided the image may ship without it (often a package with no wheels on some target
  platform, where the fix would break that platform's build). "not available" is no such
  decision: it is the incident's own message, and is reported;
- an upgrade of the installer the base already has — `pip install --upgrade pip || true`,
  `python -m pip install -U pip setuptools wheel` (only `pip`, `setuptools`, `wheel`, with
  `--upgrade` / `-U`): when it fails, the old pip stays and nothing goes missing.

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
used to pass now fails when the install fails, which is the point. With it go the pieces
that only served the mask: a `2>/dev/null` on the install (a failure must say why), and a
comment line right above the `RUN` that only explains the tolerance ("ignore errors if the
package is not available"). When a Dockerfile comment line sits between the install and its
tolerance, the finding is reported without a fix. So is an install after a condition
(`command -v gcc && pip install uvloop || true`, `! dpkg -s curl && apt-get install -y curl
|| true`): without the tolerance the condition's "no" would fail the build too.

An install from a requirements file that the build context may not have — `pip install -r
requirements-dev.txt || true` where no `COPY` names that file exactly (`COPY . .`,
`COPY requirements*.txt ./`) — keeps the file optional and only the install strict:
`if [ -f requirements-dev.txt ]; then pip install -r requirements-dev.txt; fi`. A build
without the file still passes; one whose install fails now fails.

An unscoped tolerance that also swallows commands *before* the install
(`apt-get update && apt-get install -y x || true`) is this rule's too: removing it restores
every failure. `masked-failure` handles tolerances after other commands, and after the
installs this rule leaves alone (it scopes them to the install).

## Proof
Built with BuildKit by `tests/builds/test_rules.py`:
`test_masked_install_failure_image_ships_without_the_package` (the image builds and lacks
the package before the fix; the fixed build fails at the install) and
`test_masked_install_failure_optional_requirements_stay_optional` (an optional
requirements file stays optional: absent, present, or naming a missing package). Not built:
"the image should not depend on whether the network was up" is a policy. `dfmod verify` has
no probe: the build's outcome is the proof.

## Example
```dockerfile
# before
RUN pip install --no-cache-dir --user gpt-load || echo "gpt-load not available via pip"
# after
RUN pip install --no-cache-dir --user gpt-load
```
```dockerfile
# before
COPY . .
RUN pip install -r requirements-extra.txt 2>/dev/null || true
# after
COPY . .
RUN if [ -f requirements-extra.txt ]; then pip install -r requirements-extra.txt; fi
```
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator

from dfmod.linting.codemod import Codemod, Context
from dfmod.linting.edits import Applicability, Edit, Finding, Fix, has_comment_line
from dfmod.linting.wording import join_names
from dfmod.semantic.masking import Mask, describe_each, element_install, masks, owned_by_install, snippet
from dfmod.semantic.tools import tool_call
from dfmod.syntax.dockerfile import Instruction
from dfmod.syntax.shell import Command
from dfmod.syntax.text import Span, line_start

# A comment that only explains the tolerance: it starts by saying so ("# ignore errors…",
# "# may fail…", "# optional…"); a comment that also says what the step does is kept.
# (A string: compiled on first use, as `re` caches it, not at start-up.)
_MASK_COMMENT = (
    r"(?i)^\s*#\s*\(?\s*(ignore|ignoring|tolerate|allow (it )?to fail|don'?t fail|do not fail|"
    r"(may|might|can) fail|optional|not available|continue (even )?if|\|\|)")
_QUIET_STDERR = ("2>/dev/null", "&>/dev/null")


class MaskedInstallFailure(Codemod):
    id = "masked-install-failure"
    summary = "A package install's failure is hidden by `|| true` / `|| echo …`"
    applicability = Applicability.UNSAFE
    needs = ("||",)  # every finding is a tolerance reached through a `||` operator (masking.masks), never quoted

    def check(self, ctx: Context) -> Iterator[Finding]:
        for instruction, script in ctx.run_scripts(self.needs):
            for chain in script.chains:
                for mask in masks(chain):
                    label = element_install(mask.guarded)
                    if label is not None and owned_by_install(mask):
                        yield self._finding(ctx, instruction, mask, label)

    def _finding(self, ctx: Context, instruction: Instruction, mask: Mask, label: str) -> Finding:
        doc = ctx.doc
        here = doc.position(mask.span.start)[0]
        install = mask.guarded.command
        assert install is not None
        several = _several(install) or any(element_install(item) for item in mask.others)
        what = "the packages" if several else "the package"
        failed = f"a failed `{label}`"
        if mask.others:  # in source order, each name once: `pip install` (lines 2 and 4)
            names = describe_each(doc, [*mask.others, mask.guarded], here)
            failed = "a failure of " + join_names(names, limit=3, quote=False)
        message = (f"`{snippet(doc, mask.span, 32)}` hides {failed}: the image builds without "
                   f"{what} and fails at run time")
        if mask.conditions:
            # `command -v pip && pip install x || true`: without the tolerance, a "no" from
            # the condition would fail the build.
            return self.finding(mask.span, message)
        # Cut from the end of the install to the end of the tolerance: the operator and
        # any continuation between them go, whatever follows (` && \\`, `;`) stays.
        cut = Span(_quiet_tail(doc.text, install, mask.guarded.span.end), mask.tolerance.span.end)
        if has_comment_line(doc.text, cut.start, cut.end):
            return self.finding(mask.span, message)
        edits = [Edit(cut.start, cut.end, "")]
        optional = self._optional_files(ctx, instruction, install)
        if optional:
            test = " && ".join(f"[ -f {name} ]" for name in optional)
            edits = [Edit(install.span.start, install.span.start, f"if {test}; then "),
                     Edit(cut.start, cut.end, "; fi")]
        comment = _mask_comment(doc.text, instruction, not mask.others and _only_mask(ctx, instruction))
        if comment is not None:
            edits.append(comment)
        return self.finding(mask.span, message, Fix(
            tuple(edits), Applicability.UNSAFE,
            f"Remove `{snippet(doc, mask.span)}` so a failed install fails the build"
            + (" (the requirements file stays optional)" if optional else "")))

    @staticmethod
    def _optional_files(ctx: Context, instruction: Instruction, install: Command) -> list[str]:
        """The `-r` files of an install that reads nothing else, when no earlier `COPY`/`ADD`
        names them exactly (only then is the file sure to be in the image)."""
        call = tool_call(install)
        files = call.requirement_files() if call is not None else []
        if not files or any(name is None or not _plain(name) for name in files):
            return []
        assert call is not None
        if call.operands():
            return []  # packages named too: the install is not only the file's
        copied = {posixpath.basename(word.value) for item in ctx.doc.instructions_before(instruction)
                  if item.keyword in ("COPY", "ADD") and item.flag("from") is None
                  for word in item.words[:-1] if not _is_glob(word.value)}
        return [name for name in files if name is not None and posixpath.basename(name) not in copied]


def _several(install: Command) -> bool:
    """Whether the install is of several packages: a requirements file, a project's
    dependencies (`npm ci`, `poetry install`, `uv sync`) or more than one name."""
    call = tool_call(install)
    if call is not None:
        if call.tool in ("uv", "poetry") and call.subcommand in ("sync", "install"):
            return True
        return bool(call.requirement_files()) or len(call.operands()) != 1
    words = [word.value for word in install.words[1:]]
    names = [value for value in words if value is None or not value.startswith("-")]
    return len(names) != 2  # the subcommand and one package


def _plain(name: str) -> bool:
    """A path the `[ -f … ]` test can name as it is (no quoting needed, no glob)."""
    return re.fullmatch(r"[A-Za-z0-9._/+-]+", name) is not None


def _is_glob(value: str) -> bool:
    return any(char in value for char in "*?[")


def _quiet_tail(text: str, install: Command, end: int) -> int:
    """Where the cut starts: before the redirects that end the install and silence its
    errors (`2>/dev/null`, `&>/dev/null`, the `2>&1` of `>/dev/null 2>&1`) — they came with
    the mask, and a failure must now say why — else at the install's end."""
    start = end
    redirects = [word.raw.replace(" ", "") for word in install.redirects]
    for index in range(len(redirects) - 1, -1, -1):
        word = install.redirects[index]
        silences = redirects[index] in _QUIET_STDERR or (
            redirects[index] == "2>&1" and any(item in (">/dev/null", "1>/dev/null")
                                               for item in redirects[:index]))
        if not silences or text[word.span.end:start].strip():
            break
        start = word.span.start
    while start > install.span.start and text[start - 1] in " \t":
        start -= 1
    return start if start < end else end


def _only_mask(ctx: Context, instruction: Instruction) -> bool:
    """Whether the instruction has exactly one tolerance (so a comment about it is about this one)."""
    count = sum(1 for script in ctx.scripts(instruction) for chain in script.chains
                for _ in masks(chain))
    return count == 1


def _mask_comment(text: str, instruction: Instruction, allowed: bool) -> Edit | None:
    """The comment line right above the instruction, if it only explains the tolerance."""
    if not allowed:
        return None
    start = line_start(text, instruction.span.start)
    if start == 0:
        return None
    previous = line_start(text, start - 1)
    line = text[previous:start]
    if not re.match(_MASK_COMMENT, line) or line.strip().count("#") != 1:
        return None
    return Edit(previous, start, "")
