"""`dfmod pr`: the fixes as a branch of commits and a pull-request body, the way a bot needs them.

What a good bot pull request does (Renovate, Dependabot) and how this keeps to it:

- It is computed from the base branch's tree, never from the working tree: the fixes run in
  a temporary `git worktree` of the base head, so a dirty checkout is neither read nor
  touched, and nothing uncommitted can end up in a commit.
- The branch has a stable name (`dfmod/fixes`) and is re-created from the base head when the
  base moves. One commit per codemod (or one with `--squash`), each naming its rule and
  files and carrying a `Dfmod-Version:` trailer: that trailer is how dfmod recognises its
  own commits. A branch with any commit without it was touched by a human, and dfmod leaves
  it alone (exit 2), locally and on the remote.
- Idempotent: the new commits are compared with the branch by *tree*; when the branch is
  already on the base head with the same tree, nothing is recommitted or pushed. Nothing to
  fix means no branch and no commit.
- The commits end in exactly the files `dfmod apply` would produce on the same base: the
  per-codemod commits are replayed one codemod at a time, and if that ever ends anywhere
  else than the combined fix (fixes of different codemods interacting), dfmod falls back to
  one commit of the combined result rather than commit something `dfmod apply` would not.
- The body explains: a table of every change with its applicability, per rule the true
  reason (the "Why it is bad" section of the rule's documentation, without links or
  @-mentions, so a sweep over many repositories pings nobody and cross-links nothing), how
  to verify, what was left unchanged, and a hidden marker naming dfmod's version and rules.

Plain `git` through subprocess: no library, so what runs is exactly what a user can rerun.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dfmod import __version__, documents

if TYPE_CHECKING:
    from dfmod.config import Overrides
    from dfmod.engine import Settings

TRAILER = "Dfmod-Version"
RULE_TRAILER = "Dfmod-Rule"
EXIT_OK, EXIT_ERROR = 0, 2
_NO_HOOKS = ("-c", "core.hooksPath=/dev/null")  # dfmod's internal checkouts run no repo hooks


class PrError(Exception):
    """A reason to stop; `str()` is the one-line message shown to the user."""


# --- git ---------------------------------------------------------------------------------


def _git(cwd: str, *args: str, env: dict[str, str] | None = None, check: bool = True) -> str:
    """Run git in `cwd` and return its stdout without the final newline."""
    try:
        done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True,
                              check=False)
    except FileNotFoundError:
        raise PrError("git is not installed (dfmod pr runs git)") from None
    if check and done.returncode != 0:
        raise PrError(f"git {args[0]}: {_first_error(done.stderr) or f'exit {done.returncode}'}")
    return done.stdout.rstrip("\n")


def _git_ok(cwd: str, *args: str) -> bool:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False).returncode == 0


def _first_error(stderr: str) -> str:
    """git's `fatal:`/`error:` line if it printed one, else its first line."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in lines:
        if line.startswith(("fatal:", "error:")):
            return line
    return lines[0] if lines else ""


@dataclass
class Commit:
    sha: str
    subject: str
    ours: bool  # carries the Dfmod-Version trailer


def _commits(top: str, tip: str, exclude: list[str]) -> list[Commit]:
    """Commits reachable from `tip` but not from `exclude`, oldest first."""
    out = _git(top, "log", "--reverse", "--format=%H%x00%s%x00%(trailers:key=" + TRAILER
               + ",valueonly,separator=%x2C)%x1e", tip, "--not", *exclude, "--")
    commits = []
    for record in out.split("\x1e"):
        record = record.strip("\n")
        if record:
            sha, subject, version = record.split("\x00")
            commits.append(Commit(sha, subject, bool(version.strip())))
    return commits


def _refuse_foreign(top: str, where: str, tip: str, exclude: list[str]) -> None:
    """A branch with a commit dfmod did not make was taken over by a human: leave it alone."""
    foreign = [commit for commit in _commits(top, tip, exclude) if not commit.ours]
    if foreign:
        first = foreign[0]
        raise PrError(f"{where} has {len(foreign)} commit(s) not made by dfmod "
                      f"({first.sha[:7]} {first.subject!r}); not touching it")


def _ref_sha(top: str, ref: str) -> str | None:
    out = _git(top, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
    return out or None


# --- running the engine in a worktree ------------------------------------------------------


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


@dataclass
class Pass:
    """The result of one run of the engine over the worktree."""

    after: dict[str, str] = field(default_factory=dict)  # changed files' new text
    before: dict[str, str] = field(default_factory=dict)
    changes: list[Change] = field(default_factory=list)
    left: list[Left] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)  # changed files outside the repository


def _engine_pass(worktree: str, paths: list[str], overrides: Overrides) -> Pass:
    """What `dfmod apply` does with `paths`: the runner in "diff" mode (nothing is written)."""
    from dfmod.runner import run

    root = os.path.realpath(worktree)
    result = Pass()
    for item in run(paths, overrides, "diff"):
        if item.error:
            result.errors.append(item.error.replace(root + os.sep, "").replace(worktree + os.sep, ""))
            continue
        rel = _relative(root, item.path)
        if rel is None:
            if item.changed:
                result.outside.append(item.path)
            continue
        for located in item.findings:
            fix_ = located.finding.fix
            result.left.append(Left(rel, located.line, located.finding.rule,
                                    fix_.applicability.value if fix_ else None))
        if not item.changed:
            continue
        assert item.before is not None and item.after is not None
        result.before[rel], result.after[rel] = item.before, item.after
        if item.companion:
            continue  # edited by a fix of another file, which names the change
        # The runner counts the fixes it applied without naming them: the engine is
        # deterministic, so fixing the same text again with the same settings names them.
        _, changes, _ = _fix_text(item.path, rel, item.before, _settings(item.path, overrides))
        result.changes.extend(changes)
    return result


def _relative(root: str, path: str) -> str | None:
    """`path` relative to the worktree `root`, or None when it lies outside."""
    real = os.path.realpath(path)
    if os.path.commonpath([real, root]) != root:
        return None
    return os.path.relpath(real, root).replace(os.sep, "/")


def _settings(path: str, overrides: Overrides) -> Settings:
    from dfmod.config import settings_for

    return settings_for(path, overrides)


def _fix_text(path: str, rel: str, text: str,
              settings: Settings) -> tuple[str, list[Change], dict[str, str]]:
    """The fixed text, the changes made, and the new text of companion files (by path)."""
    from dfmod.companions import companion_sources
    from dfmod.engine import fix

    outcome = fix(documents.parse(text, path), settings)
    changes = [Change(rel, applied.rule, applied.fix.description, applied.fix.applicability.value)
               for applied in outcome.applied if applied.fix is not None]
    companions = {source.path: new for source, new in companion_sources(outcome.applied)}
    return outcome.text, changes, companions


def _write(worktree: str, texts: dict[str, str]) -> None:
    from dfmod.source import read_source, write_source

    for rel, text in texts.items():
        path = os.path.join(worktree, rel)
        write_source(read_source(path), text)


@contextmanager
def _worktree(top: str, sha: str) -> Iterator[str]:
    """A temporary detached checkout of `sha`, removed afterwards whatever happens."""
    parent = tempfile.mkdtemp(prefix="dfmod-pr-")
    path = os.path.join(parent, "tree")
    try:
        _git(top, *_NO_HOOKS, "worktree", "add", "--detach", "--quiet", path, sha)
        yield path
    finally:
        _git(top, "worktree", "remove", "--force", path, check=False)
        shutil.rmtree(parent, ignore_errors=True)
        _git(top, "worktree", "prune", check=False)


# --- commit messages -----------------------------------------------------------------------


UNUSED_SUPPRESSION = ("A `# dfmod: ignore` comment that silences nothing",
                      "A suppression that no longer silences anything is stale: the next real "
                      "finding of the rules it names at that instruction would be hidden "
                      "without anyone deciding so. dfmod removes it only when every rule it "
                      "names was run.")


def summary_of(rule: str) -> str:
    from dfmod.registry import all_codemods

    codemod = all_codemods().get(rule)
    return codemod.summary if codemod is not None else UNUSED_SUPPRESSION[0]


def why_text(rule: str) -> str:
    """The "Why it is bad" section of a rule's documentation (its first paragraph if none)."""
    from dfmod.registry import all_codemods

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


def _files(changes: list[Change]) -> list[str]:
    return list(dict.fromkeys(change.path for change in changes))


def _in_files(files: list[str]) -> str:
    return files[0] if len(files) == 1 else f"{len(files)} files"


def commit_message(rule: str, changes: list[Change]) -> str:
    """One rule's commit: the rule and files in the subject, the reason in the body."""
    return "\n".join([
        f"dfmod: {rule} in {_in_files(_files(changes))}",
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


# --- the pull-request body -----------------------------------------------------------------


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _build_command(path: str) -> str:
    from dfmod.documents import kind_of

    if kind_of(path) == "compose":
        return shlex.join(["docker", "compose", "-f", path, "build"])
    return shlex.join(["docker", "build", "-f", path, os.path.dirname(path) or "."])


def render_body(base: str, rules: list[str], changes: list[Change], left: list[Left],
                reproduce: str, squashed: bool = False) -> str:
    """The Markdown body (deterministic: no dates, no commit ids, no temporary paths)."""
    files = _files(changes)
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
    out += ["## Why", ""]
    for rule in rules:
        mine = _files([change for change in changes if change.rule == rule])
        out += [f"### `{rule}`: {inline(summary_of(rule))}", "",
                f"Changed in {', '.join(f'`{path}`' for path in mine)}.", "", why(rule), ""]
    out += ["## How to verify", "", "Build each changed image:", "", "```sh"]
    out += [_build_command(path) for path in files]
    out += ["```", ""]
    verified = _files([change for change in changes if change.rule == "verify-imports"])
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


# --- the command ---------------------------------------------------------------------------


@dataclass
class Plan:
    """What the run decided and did; the text and JSON reports render it."""

    status: str  # "nothing-to-fix", "created", "updated", "unchanged"
    branch: str
    base: str
    base_sha: str
    head: str | None = None
    commits: list[Commit] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    body_file: str | None = None
    title: str = ""
    pushed: str | None = None  # a one-line account of the push, or None without --push
    note: str = ""
    gh: list[str] = field(default_factory=list)
    opened: str | None = None


def _author_env(author: str | None) -> dict[str, str]:
    env = dict(os.environ)
    if author:
        match = re.fullmatch(r"\s*(.+?)\s*<([^<>]+)>\s*", author)
        if not match:
            raise PrError(f"--author {author!r}: expected 'NAME <EMAIL>'")
        for who in ("AUTHOR", "COMMITTER"):
            env[f"GIT_{who}_NAME"], env[f"GIT_{who}_EMAIL"] = match.group(1), match.group(2)
    return env


def _repo_paths(repo_dir: str, top: str, paths: list[str]) -> list[str]:
    """PATHS (relative to --repo) as paths relative to the repository root."""
    out = []
    root = os.path.realpath(top)
    for path in paths:
        absolute = os.path.normpath(os.path.join(os.path.abspath(repo_dir), path))
        resolved = os.path.join(os.path.realpath(os.path.dirname(absolute)), os.path.basename(absolute))
        rel = os.path.relpath(resolved, root)
        if rel == ".." or rel.startswith(".." + os.sep) or os.path.isabs(rel):
            raise PrError(f"{path}: is outside the repository {top}")
        out.append(rel)
    return out


def _checked_out(top: str, branch: str) -> str | None:
    ref = f"refs/heads/{branch}"
    current = None
    for line in _git(top, "worktree", "list", "--porcelain").splitlines():
        if line.startswith("worktree "):
            current = line[len("worktree "):]
        elif line == f"branch {ref}":
            return current
    return None


def _commit(worktree: str, parent: str, files: list[str], message: str, env: dict[str, str]) -> str:
    _git(worktree, "add", "--", *files)
    tree = _git(worktree, "write-tree")
    return _git(worktree, "commit-tree", tree, "-p", parent, "-m", message.rstrip("\n") + "\n",
                env=env)


def _tree(top: str, sha: str) -> str:
    return _git(top, "rev-parse", f"{sha}^{{tree}}")


def run(args: argparse.Namespace) -> int:
    """`dfmod pr`: see the module docstring. Exit 0 on success, 2 on any error."""
    try:
        plan, errors = _run(args)
    except PrError as error:
        sys.stderr.write(f"dfmod: error: {error}\n")
        return EXIT_ERROR
    for message in errors:
        sys.stderr.write(f"dfmod: error: {message}\n")
    _report(plan, args.format)
    if args.open and plan.status != "nothing-to-fix" and not _open(plan, args.repo):
        return EXIT_ERROR
    return EXIT_ERROR if errors else EXIT_OK


def _run(args: argparse.Namespace) -> tuple[Plan, list[str]]:
    from dfmod.config import ConfigError, Overrides, config_for
    from dfmod.discovery import discover
    from dfmod.registry import all_codemods, select_codemods
    from dfmod.source import InputError

    try:
        select_codemods(args.select, args.ignore)
    except KeyError as error:
        raise PrError(f"unknown codemod id: {error.args[0]} (see `dfmod rules`)") from None
    # As `dfmod apply`: the command line over the configuration nearest to each file (here,
    # the configuration files of the base branch's tree).
    overrides = Overrides(select=tuple(args.select) if args.select else None,
                          ignore=tuple(args.ignore or ()), unsafe_fixes=args.unsafe_fixes,
                          config_file=getattr(args, "config", None))
    if not os.path.isdir(args.repo):
        raise PrError(f"{args.repo}: no such directory")
    top = _git(args.repo, "rev-parse", "--show-toplevel", check=False)
    if not top:
        raise PrError(f"{args.repo}: not a git repository")
    base = args.base or _git(top, "symbolic-ref", "--quiet", "--short", "HEAD", check=False)
    if not base:
        raise PrError("HEAD is detached: name the base branch with --base")
    base_sha = _ref_sha(top, base)
    if base_sha is None:
        raise PrError(f"--base {base}: no such branch or commit")
    branch = args.branch
    if not _git_ok(top, "check-ref-format", f"refs/heads/{branch}"):
        raise PrError(f"--branch {branch!r}: not a valid branch name")
    if branch == base:
        raise PrError(f"--branch {branch} is the base branch")
    holder = _checked_out(top, branch)
    if holder is not None:
        raise PrError(f"branch {branch} is checked out in {holder}; dfmod pr does not move it")
    env = _author_env(args.author)
    rel_paths = _repo_paths(args.repo, top, args.paths)

    # Who owns the branch: refuse before anything is made if a human has pushed to it.
    remote_sha = None
    if args.push:
        remote_sha, remote_base = _remote_state(top, args.push, branch, base)
        if remote_sha is not None:
            _refuse_foreign(top, f"{args.push}/{branch}", remote_sha,
                            [base_sha] + ([remote_base] if remote_base else []))
    local_sha = _ref_sha(top, f"refs/heads/{branch}")
    if local_sha is not None:
        _refuse_foreign(top, f"branch {branch}", local_sha, [base_sha])

    plan = Plan("nothing-to-fix", branch, base, base_sha)
    with _worktree(top, base_sha) as worktree:
        in_tree = [os.path.join(worktree, rel) for rel in rel_paths]
        try:
            paths = discover(in_tree, excluded=lambda path: config_for(path, overrides).excludes(path))
        except InputError as error:
            shown = dict(zip(in_tree, args.paths, strict=True))
            raise PrError(f"{shown.get(error.path, error.path)}: {error.reason} in {base}") from None
        except ConfigError as error:
            raise PrError(str(error).replace(worktree + os.sep, "")) from None
        combined = _engine_pass(worktree, paths, overrides)
        errors = combined.errors + [f"{path}: is outside the repository; not changed"
                                    for path in combined.outside]
        if not combined.after:
            return plan, errors
        order = list(all_codemods())
        rules = sorted({change.rule for change in combined.changes},
                       key=lambda rule: (rule not in order, order.index(rule) if rule in order else 0, rule))
        plan.files = sorted(combined.after)
        plan.title = title_of(rules, _files(combined.changes))
        head = _make_commits(worktree, base_sha, overrides, combined, rules, plan, env, args.squash)
    new_tree = _tree(top, head)

    # Reuse the branch (remote first: a bot's checkout is fresh) when it already holds this
    # change on this base; otherwise the new commits replace it.
    reuse = next((sha for sha in (remote_sha, local_sha)
                  if sha and _git_ok(top, "merge-base", "--is-ancestor", base_sha, sha)
                  and _tree(top, sha) == new_tree), None)
    if reuse is not None:
        head, plan.status = reuse, "unchanged"
    else:
        plan.status = "updated" if (local_sha or remote_sha) else "created"
    if head != local_sha:
        _git(top, "update-ref", "-m", "dfmod pr", f"refs/heads/{branch}", head,
             local_sha or "0" * 40)
    plan.head = head
    plan.commits = _commits(top, head, [base_sha])
    reproduce = shlex.join(["dfmod", "apply", *(["--unsafe-fixes"] if args.unsafe_fixes else []),
                            *([f"--select={','.join(args.select)}"] if args.select else []),
                            *([f"--ignore={','.join(args.ignore)}"] if args.ignore else []),
                            *[rel.replace(os.sep, "/") for rel in rel_paths]])
    body = render_body(base, rules, combined.changes, combined.left, reproduce,
                       squashed=len(plan.commits) == 1 and len(rules) > 1)
    plan.body_file = _write_body(top, branch, args.body_file, body)
    if args.push:
        plan.pushed = _push(top, args.push, branch, head, remote_sha)
    plan.gh = ["gh", "pr", "create", "--base", base, "--head", branch, "--title", plan.title,
               "--body-file", plan.body_file]
    return plan, errors


def _make_commits(worktree: str, base_sha: str, overrides: Overrides, combined: Pass,
                  rules: list[str], plan: Plan, env: dict[str, str], squash: bool) -> str:
    """Commit the fixes in the worktree; return the head. See the module docstring.

    Per rule, the fix loop runs again on the files the combined fix changed, with each
    file's own settings narrowed to that one codemod (suppressions are not judged unused
    while only one codemod runs); a last pass with the full settings catches what only the
    full set does (stale suppressions). If the result is not the combined fix, one commit
    of the combined fix replaces the replay.
    """
    from dataclasses import replace

    head = base_sha
    if not squash:
        current = dict(combined.before)
        steps: list[tuple[str | None, Callable[[Settings], Settings | None]]] = [
            (rule, lambda settings, rule=rule: _narrow(settings, rule)) for rule in rules]
        steps.append((None, lambda settings: settings))
        for rule, narrow in steps:
            after: dict[str, str] = {}
            changes: list[Change] = []
            for rel, text in current.items():
                path = os.path.join(worktree, rel)
                if documents.kind_of(path) is None:
                    continue  # a companion file (.env.example): its fix is in the document
                settings = narrow(_settings(path, overrides))
                if settings is None:
                    continue
                if rule is not None:
                    settings = replace(settings, report_unused_suppressions=False)
                new_text, applied, companions = _fix_text(path, rel, text, settings)
                if new_text != text:
                    after[rel] = new_text
                    changes.extend(applied)
                for companion_path, companion_text in companions.items():
                    companion_rel = _relative(os.path.realpath(worktree), companion_path)
                    if companion_rel is not None:
                        after[companion_rel] = companion_text
            if not after:
                continue
            _write(worktree, after)
            current.update(after)
            step_rules = [rule] if rule else list(dict.fromkeys(change.rule for change in changes))
            message = (commit_message(step_rules[0], changes) if len(step_rules) == 1
                       else squash_message(title_of(step_rules, _files(changes)), step_rules, changes))
            head = _commit(worktree, head, sorted(after), message, env)
        if {rel: text for rel, text in current.items() if text != combined.before[rel]} == combined.after:
            return head
        # The codemods' fixes interact: replayed one by one they end elsewhere than the
        # combined fix. Commit what `dfmod apply` produces instead.
        _git(worktree, "reset", "--quiet", "--hard", base_sha)
        plan.note = ("one commit instead of one per rule: applied one rule at a time, the fixes "
                     "would not end in the same files as `dfmod apply`")
    _write(worktree, combined.after)
    return _commit(worktree, base_sha, sorted(combined.after),
                   squash_message(plan.title, rules, combined.changes, plan.note), env)


def _narrow(settings: Settings, rule: str) -> Settings | None:
    """`settings` with only the codemod `rule`, or None when they do not run it."""
    from dataclasses import replace

    chosen = [codemod for codemod in settings.codemods if codemod.id == rule]
    return replace(settings, codemods=chosen) if chosen else None


def _remote_state(top: str, remote: str, branch: str, base: str) -> tuple[str | None, str | None]:
    """The remote's branch and base heads, with their commits fetched (no ref is written)."""
    refs = {}
    out = _git(top, "ls-remote", remote, f"refs/heads/{branch}", f"refs/heads/{base}")
    for line in out.splitlines():
        sha, _, ref = line.partition("\t")
        refs[ref] = sha
    wanted = [ref for ref in (f"refs/heads/{branch}", f"refs/heads/{base}") if ref in refs]
    if wanted:
        _git(top, "fetch", "--quiet", "--no-tags", "--no-write-fetch-head", remote, *wanted)
    return refs.get(f"refs/heads/{branch}"), refs.get(f"refs/heads/{base}")


def _push(top: str, remote: str, branch: str, head: str, remote_sha: str | None) -> str:
    """Push with a lease on what the remote branch was when dfmod looked at it."""
    if remote_sha == head:
        return f"{remote}/{branch} is already at {head[:7]}; nothing pushed"
    lease = f"--force-with-lease=refs/heads/{branch}:{remote_sha or ''}"
    done = subprocess.run(["git", "push", "--porcelain", lease, remote, f"{head}:refs/heads/{branch}"],
                          cwd=top, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        # --porcelain puts the per-ref verdict on stdout: `!<tab>src:dst<tab>[rejected] (stale info)`.
        verdicts = [line.split("\t")[-1] for line in done.stdout.splitlines() if line.startswith("!")]
        reason = verdicts[0] if verdicts else _first_error(done.stderr)
        raise PrError(f"git push to {remote} refused: {reason} (the remote branch moved since "
                      "dfmod looked at it, or the remote rejected the push)")
    if remote_sha is None:
        return f"pushed {branch} to {remote} (new branch)"
    return f"pushed {branch} to {remote} (force-with-lease, replacing {remote_sha[:7]})"


def _write_body(top: str, branch: str, body_file: str | None, body: str) -> str:
    """Write the body to --body-file, or under .git/dfmod/ (never into the working tree)."""
    if body_file is None:
        body_file = os.path.join(top, _git(top, "rev-parse", "--git-path", f"dfmod/{branch}.md"))
        os.makedirs(os.path.dirname(body_file), exist_ok=True)
    path = os.path.abspath(body_file)
    try:
        with open(path, "w", encoding="utf-8", newline="") as handle:
            handle.write(body)
    except OSError as error:
        raise PrError(f"{body_file}: cannot write the PR body: {error.strerror}") from None
    return path


def _open(plan: Plan, repo: str) -> bool:
    """Run `gh pr create`; False (after a one-line error) when that is not possible."""
    if shutil.which("gh") is None:
        sys.stderr.write("dfmod: error: --open needs the GitHub CLI `gh`, which is not installed; "
                         f"the branch is ready: {shlex.join(plan.gh)}\n")
        return False
    done = subprocess.run(plan.gh, cwd=repo, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.stderr.write(f"dfmod: error: gh pr create: {_first_error(done.stderr)}\n")
        return False
    sys.stdout.write(done.stdout)
    return True


def _report(plan: Plan, fmt: str) -> None:
    if fmt == "json":
        record = {
            "status": plan.status, "branch": plan.branch, "base": plan.base,
            "base_sha": plan.base_sha, "head": plan.head, "title": plan.title,
            "commits": [{"sha": commit.sha, "subject": commit.subject} for commit in plan.commits],
            "files": plan.files, "body_file": plan.body_file, "pushed": plan.pushed,
            "note": plan.note or None, "gh_pr_create": plan.gh or None,
        }
        sys.stdout.write(json.dumps(record, indent=2, ensure_ascii=False) + "\n")
        return
    if plan.status == "nothing-to-fix":
        sys.stdout.write(f"dfmod pr: nothing to fix on {plan.base}; no branch created\n")
        return
    assert plan.head is not None
    action = {"created": "created", "updated": "re-created",
              "unchanged": "already up to date"}[plan.status]
    lines = [f"branch {plan.branch} {action} on {plan.base} ({plan.base_sha[:7]}): "
             f"{len(plan.commits)} commit{'s' if len(plan.commits) != 1 else ''}, "
             f"{len(plan.files)} file{'s' if len(plan.files) != 1 else ''}"]
    lines += [f"  {commit.sha[:7]} {commit.subject}" for commit in plan.commits]
    if plan.note:
        lines.append(f"note: {plan.note}")
    lines.append(f"files: {', '.join(plan.files)}")
    lines.append(f"body: {plan.body_file}")
    lines.append(plan.pushed or "not pushed (use --push REMOTE)")
    lines.append(shlex.join(plan.gh))
    sys.stdout.write("".join(line + "\n" for line in lines))
