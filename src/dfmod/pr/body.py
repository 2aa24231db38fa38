"""The words `dfmod pr` writes: commit messages and the pull-request body.

Each rule's reason comes from its own documentation (the "Why it is bad" section), made safe
for a body that a sweep posts to many repositories: no links, no @-mentions, no issue
cross-references.
"""

from __future__ import annotations

import os
import re
import shlex
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dfmod import __version__
from dfmod.pr.git import RULE_TRAILER, TRAILER

if TYPE_CHECKING:
    from dfmod.verify import Verification

UNUSED_SUPPRESSION = ("A `# dfmod: ignore` comment that silences nothing",
                      "A suppression that no longer silences anything is stale: the next real "
                      "finding of the rules it names at that instruction would be hidden "
                      "without anyone deciding so. dfmod removes it only when every rule it "
                      "names was run.")

def summary_of(rule: str) -> str:
    from dfmod.linting.registry import all_codemods

    codemod = all_codemods().get(rule)
    return codemod.summary if codemod is not None else UNUSED_SUPPRESSION[0]

def why_text(rule: str) -> str:
    """The "Why it is bad" section of a rule's documentation (its first paragraph if none)."""
    from dfmod.linting.registry import all_codemods

    codemod = all_codemods().get(rule)
    if codemod is None:
        return UNUSED_SUPPRESSION[1]
    doc = codemod.documentation()
    match = re.search(r"^## Why it is bad[ \t]*\n(.*?)(?=^## |\Z)", doc, re.S | re.M)
    return unwrap((match.group(1) if match else doc.split("\n\n")[0]).strip())

def why(rule: str) -> str:
    """The "Why it is bad" section, fit for a PR body."""
    return link_free(why_text(rule))

def link_free(text: str) -> str:
    """Markdown without links, and without what GitHub would turn into a link, a ping or math.

    `[text](url)` keeps its text and URLs go. Outside code spans, `#123`, `owner/repo#123`
    and `@name` get a zero-width space after `#`/`@` (a sweep over hundreds of repositories
    must not mention people or cross-reference issues from every pull request), and `$` is
    escaped (GitHub renders `$…$` as math).
    """
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"<https?://[^>]+>|https?://[^\s)]+", "", text)
    return _outside_code(text, lambda part: re.sub(r"([#@])(?=[\w-])", r"\1&#8203;", part)
                         .replace("$", "\\$"))

def inline(text: str) -> str:
    """A summary or fix description as literal Markdown text (code spans stay code)."""
    return link_free(_outside_code(text, lambda part: re.sub(r"([\\*_<\[])", r"\\\1", part)))

def _outside_code(text: str, change: Callable[[str], str]) -> str:
    parts = re.split(r"(`+[^`]*`+)", text)
    parts[::2] = [change(part) for part in parts[::2]]  # even parts are outside code spans
    return "".join(parts)

def unwrap(text: str) -> str:
    """Join hard-wrapped lines: GitHub shows every newline of a PR body as a line break.

    A line continues the previous one unless either is blank, it starts a list item, or it
    is inside a code fence, which is exactly how Markdown reads them anyway.
    """
    out: list[str] = []
    fenced = False
    for line in text.split("\n"):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            out.append(line)
            continue
        starts_item = re.match(r"\s*([-*+]|\d+[.)])\s", line) is not None
        if (fenced or not out or not line.strip() or not out[-1].strip() or starts_item
                or out[-1].lstrip().startswith("```")):
            out.append(line)
        else:
            out[-1] = out[-1].rstrip() + " " + line.strip()
    return "\n".join(out)

def first_sentence(text: str) -> str:
    """The first sentence of a paragraph (not fooled by `e.g.` or a dot inside code)."""
    flat = " ".join(text.split())
    flat = re.sub(r"^[-*] ", "", flat)
    in_code = False
    for index, char in enumerate(flat):
        if char == "`":
            in_code = not in_code
        elif (char in ".!?" and not in_code and (index + 1 == len(flat) or flat[index + 1] == " ")
              and not flat[max(0, index - 3):index + 1].endswith(("e.g.", "i.e.", "etc."))):
            return flat[:index + 1]
    return flat

def _sentence(text: str) -> str:
    return text if text.endswith((".", "!", "?")) else text + "."

def _fill(text: str) -> str:
    return textwrap.fill(text, width=72, break_long_words=False, break_on_hyphens=False)

def _file_lines(changes: list[Change]) -> list[str]:
    """`- path: description; description` — each description once, in order."""
    by_file: dict[str, list[str]] = {}
    for change in changes:
        descriptions = by_file.setdefault(change.path, [])
        if change.description not in descriptions:
            descriptions.append(change.description)
    return [f"- {path}: {'; '.join(items)}" for path, items in by_file.items()]

def files_of(changes: list[Change]) -> list[str]:
    return list(dict.fromkeys(change.path for change in changes))

def _in_files(files: list[str]) -> str:
    return files[0] if len(files) == 1 else f"{len(files)} files"

def commit_message(rule: str, changes: list[Change]) -> str:
    """One rule's commit: the rule and files in the subject, the reason in the body."""
    return "\n".join([
        f"dfmod: {rule} in {_in_files(files_of(changes))}",
        "",
        _fill(_sentence(summary_of(rule))),
        "",
        *_file_lines(changes),
        "",
        _fill("Why: " + first_sentence(why_text(rule))),
        "",
        f"{TRAILER}: {__version__}",
        f"{RULE_TRAILER}: {rule}",
        "",
    ])

def squash_message(title: str, rules: list[str], changes: list[Change], note: str = "") -> str:
    lines = [title, ""]
    if note:
        lines += [_fill(note), ""]
    for rule in rules:
        mine = [change for change in changes if change.rule == rule]
        lines += [f"{rule}: {_sentence(summary_of(rule))}", *_file_lines(mine), ""]
    lines += [f"{TRAILER}: {__version__}", f"{RULE_TRAILER}: {', '.join(rules)}", ""]
    return "\n".join(lines)

def title_of(rules: list[str], files: list[str]) -> str:
    if len(rules) == 1:
        return f"dfmod: {rules[0]} in {_in_files(files)}"
    return f"dfmod: fix {len(rules)} rules in {_in_files(files)}"

def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")

def _build_command(path: str) -> str:
    from dfmod.workspace.kinds import kind_of

    if kind_of(path) == "compose":
        return shlex.join(["docker", "compose", "-f", path, "build"])
    return shlex.join(["docker", "build", "-f", path, os.path.dirname(path) or "."])

def render_body(base: str, rules: list[str], changes: list[Change], left: list[Left],
                reproduce: str, squashed: bool = False, verified: Verification | None = None) -> str:
    """The Markdown body (deterministic: no dates, no commit ids, no temporary paths)."""
    files = files_of(changes)
    unsafe = sorted({change.rule for change in changes if change.applicability == "unsafe"},
                    key=rules.index)
    out = [f"<!-- dfmod: version={__version__}; rules={','.join(rules)} -->", ""]
    out.append(f"dfmod fixed {len(changes)} problem{'s' if len(changes) != 1 else ''} in "
               f"{len(files)} file{'s' if len(files) != 1 else ''} on `{base}` "
               f"({len(rules)} rule{'s' if len(rules) != 1 else ''}, "
               f"{'in one commit' if squashed else 'one commit per rule'}). "
               "Each edit touches only the bytes its fix is about: the rest of each file, comments "
               "and line endings included, is unchanged.")
    out.append("")
    if unsafe:
        out.append("**Review these first:** the fixes of " + ", ".join(f"`{rule}`" for rule in unsafe)
                   + " are *unsafe* in ruff's sense: they change what the build does, on purpose "
                   "(each rule's reason is below).")
        out.append("")
    out += ["| File | Rule | What changed | Fix |", "| --- | --- | --- | --- |"]
    counted: dict[Change, int] = {}
    for change in sorted(changes, key=lambda item: (item.path, rules.index(item.rule))):
        counted[change] = counted.get(change, 0) + 1
    for change, count in counted.items():
        times = f" (×{count})" if count > 1 else ""
        out.append(f"| `{change.path}` | `{change.rule}` | {_cell(inline(change.description))}{times} "
                   f"| {change.applicability} |")
    out.append("")
    if verified is not None:
        out += _verified_section(verified)
    out += ["## Why", ""]
    for rule in rules:
        mine = files_of([change for change in changes if change.rule == rule])
        out += [f"### `{rule}`: {inline(summary_of(rule))}", "",
                f"Changed in {', '.join(f'`{path}`' for path in mine)}.", "", why(rule), ""]
    out += ["## How to verify", "", "Build each changed image:", "", "```sh"]
    out += [_build_command(path) for path in files]
    out += ["```", ""]
    verified = files_of([change for change in changes if change.rule == "verify-imports"])
    if verified:
        out.append("`verify-imports` added a verification `RUN` to the final stage of "
                   + ", ".join(f"`{path}`" for path in verified) + " (see the table): it "
                   "imports the packages with the interpreter the container starts with, so the "
                   "build fails there instead of the container failing at start with "
                   "`No module named …`.")
        out.append("")
    if unsafe:
        unmasked = [rule for rule in unsafe if rule in ("masked-failure", "masked-install-failure")]
        out.append("If a build now fails at a step an unsafe fix changed, that rule's reason above "
                   "says what the fix changed on purpose."
                   + (" If a step that " + " or ".join(f"`{rule}`" for rule in unmasked)
                      + " changed now fails, it was failing before too, silently."
                      if unmasked else ""))
        out.append("")
    out += [f"`{reproduce}` on `{base}` prints the same change as a diff; "
            "`dfmod explain RULE` shows a rule's full documentation.", ""]
    if left:
        out += ["## Left unchanged", "", "Line numbers are those on this branch.", ""]
        for item in sorted(left, key=lambda entry: (entry.path, entry.line, entry.rule)):
            if item.applicability == "unsafe":
                reason = "unsafe fix: not applied without `--unsafe-fixes`"
            elif item.applicability == "safe":
                reason = "its fix could not be applied safely"
            else:
                reason = "needs a human decision (no automatic fix)"
            out.append(f"- `{item.path}:{item.line}` `{item.rule}`: {reason}")
        out.append("")
    out += [f"<sub>Generated by dfmod {__version__}. Push to this branch and dfmod will leave it "
            "alone.</sub>", ""]
    return "\n".join(out)

def _code(text: str) -> str:
    """`text` as a code span in a table cell (backticks inside get a longer fence)."""
    fence = "``" if "`" in text else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{text}{pad}{fence}"

def _verified_section(verified: Verification) -> list[str]:
    """`## Verified with BuildKit`: per rule and file, the builds before → after, and the
    probe that shows the fix in the images (`dfmod pr --verify`)."""
    rows = verified.rows()
    if not rows:
        return []
    out = ["## Verified with BuildKit", "",
           f"{inline(verified.summary())} Each changed Dockerfile was built with `{verified.builder}` "
           "before and after the fixes (the base branch's files, its build context), and each probe "
           "ran in both images with `docker run --rm --network=none`. A fix that broke a build is "
           "not in this pull request.", "",
           "| Rule | File | Before → after | Probe | Result |", "| --- | --- | --- | --- | --- |"]
    for row in rows:
        rule = row.rule if row.rule.startswith("--") else f"`{row.rule}`"
        probe = (_code(row.probe) if row.code else inline(row.probe)) if row.probe else "—"
        out.append(f"| {_cell(rule)} | `{row.path}` | {_cell(inline(row.before_after))} | {_cell(probe)} "
                   f"| {_cell(inline(row.result))} |")
    out.append("")
    return out

@dataclass(frozen=True)
class Change:
    """One applied fix, for the table and the commit messages."""

    path: str  # repository-relative, `/`-separated
    rule: str
    description: str
    applicability: str  # "safe" or "unsafe"

@dataclass(frozen=True)
class Left:
    """A finding the fixes left in place (display-only, unsafe without --unsafe-fixes…)."""

    path: str
    line: int
    rule: str
    applicability: str | None
