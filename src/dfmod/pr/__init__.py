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

The work is split by job: `git` (plumbing), `commits` (the engine pass and the commits),
`body` (commit messages and the body), `remote` (push and `gh`).
"""


from __future__ import annotations

import json
import os
import shlex
import sys
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import TYPE_CHECKING

from dfmod.pr.body import files_of, render_body, title_of
from dfmod.pr.commits import Pass, engine_pass, make_commits, withhold
from dfmod.pr.git import (
    Commit,
    PrError,
    author_env,
    checked_out,
    commits_between,
    git,
    git_ok,
    ref_sha,
    refuse_foreign,
    temporary_worktree,
    tree_of,
)
from dfmod.pr.remote import gh_create, open_pull_request, push, remote_state

if TYPE_CHECKING:
    from dfmod.verify import Verification
    from dfmod.workspace.config import Overrides
    from dfmod.workspace.targets import Target

EXIT_OK, EXIT_WITHHELD, EXIT_ERROR = 0, 1, 2

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
    verified: str = ""  # with --verify: the verification's summary
    withheld: list[str] = field(default_factory=list)  # with --verify: fixes not committed, and why

def run(args: SimpleNamespace) -> int:
    """`dfmod pr`: see the module docstring. Exit 0 on success, 1 when `--verify` withheld a
    fix that broke a build (the branch holds the others), 2 on any error."""
    try:
        plan, errors = _run(args)
    except PrError as error:
        sys.stderr.write(f"dfmod: error: {error}\n")
        return EXIT_ERROR
    for message in errors:
        sys.stderr.write(f"dfmod: error: {message}\n")
    _report(plan, args.format)
    if args.open and plan.status != "nothing-to-fix" and not open_pull_request(
            args.repo, plan.base, plan.branch, plan.title, plan.body_file or ""):
        return EXIT_ERROR
    return EXIT_ERROR if errors else EXIT_WITHHELD if plan.withheld else EXIT_OK

def _run(args: SimpleNamespace) -> tuple[Plan, list[str]]:
    from dfmod.linting.registry import all_codemods, select_codemods
    from dfmod.syntax.project import Project, active
    from dfmod.syntax.source import InputError
    from dfmod.workspace.config import ConfigError, Overrides, config_for
    from dfmod.workspace.discovery import discover
    from dfmod.workspace.targets import plan as plan_targets

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
    top = git(args.repo, "rev-parse", "--show-toplevel", check=False)
    if not top:
        raise PrError(f"{args.repo}: not a git repository")
    base = args.base or git(top, "symbolic-ref", "--quiet", "--short", "HEAD", check=False)
    if not base:
        raise PrError("HEAD is detached: name the base branch with --base")
    base_sha = ref_sha(top, base)
    if base_sha is None:
        raise PrError(f"--base {base}: no such branch or commit")
    branch = args.branch
    if not git_ok(top, "check-ref-format", f"refs/heads/{branch}"):
        raise PrError(f"--branch {branch!r}: not a valid branch name")
    if branch == base:
        raise PrError(f"--branch {branch} is the base branch")
    holder = checked_out(top, branch)
    if holder is not None:
        raise PrError(f"branch {branch} is checked out in {holder}; dfmod pr does not move it")
    env = author_env(args.author)
    rel_paths = _repo_paths(args.repo, top, args.paths)

    # Who owns the branch: refuse before anything is made if a human has pushed to it.
    remote_sha = None
    if args.push:
        remote_sha, remote_base = remote_state(top, args.push, branch, base)
        if remote_sha is not None:
            refuse_foreign(top, f"{args.push}/{branch}", remote_sha,
                            [base_sha] + ([remote_base] if remote_base else []))
    local_sha = ref_sha(top, f"refs/heads/{branch}")
    if local_sha is not None:
        refuse_foreign(top, f"branch {branch}", local_sha, [base_sha])

    plan = Plan("nothing-to-fix", branch, base, base_sha)
    # The worktree is the project: every read and write stays inside it (dfmod.syntax.project).
    with temporary_worktree(top, base_sha) as worktree, active(
            Project.of([worktree], args.max_file_size)):
        in_tree = [os.path.join(worktree, rel) for rel in rel_paths]
        try:
            paths = plan_targets(discover(in_tree, excluded=lambda path: config_for(path, overrides).excludes(path)))
        except InputError as error:
            shown = dict(zip(in_tree, args.paths, strict=True))
            raise PrError(f"{shown.get(error.path, error.path)}: {error.reason} in {base}") from None
        except ConfigError as error:
            raise PrError(str(error).replace(worktree + os.sep, "")) from None
        combined = engine_pass(worktree, paths, overrides, args.timeout_per_file)
        errors = combined.errors
        verified = _verify(worktree, paths, combined, overrides, args, plan) if getattr(
            args, "verify", False) and combined.after else None
        if not combined.after:
            return plan, errors
        order = list(all_codemods())
        rules = sorted({change.rule for change in combined.changes},
                       key=lambda rule: (rule not in order, order.index(rule) if rule in order else 0, rule))
        plan.files = sorted(combined.after)
        plan.title = title_of(rules, files_of(combined.changes))
        head, plan.note = make_commits(worktree, base_sha, overrides, combined, rules, plan.title, env,
                                        args.squash)
    new_tree = tree_of(top, head)

    # Reuse the branch (remote first: a bot's checkout is fresh) when it already holds this
    # change on this base; otherwise the new commits replace it.
    reuse = next((sha for sha in (remote_sha, local_sha)
                  if sha and git_ok(top, "merge-base", "--is-ancestor", base_sha, sha)
                  and tree_of(top, sha) == new_tree), None)
    if reuse is not None:
        head, plan.status = reuse, "unchanged"
    else:
        plan.status = "updated" if (local_sha or remote_sha) else "created"
    if head != local_sha:
        git(top, "update-ref", "-m", "dfmod pr", f"refs/heads/{branch}", head,
             local_sha or "0" * 40)
    plan.head = head
    plan.commits = commits_between(top, head, [base_sha])
    reproduce = shlex.join(["dfmod", "apply", *(["--unsafe-fixes"] if args.unsafe_fixes else []),
                            *([f"--select={','.join(args.select)}"] if args.select else []),
                            *([f"--ignore={','.join(args.ignore)}"] if args.ignore else []),
                            *[rel.replace(os.sep, "/") for rel in rel_paths]])
    body = render_body(base, rules, combined.changes, combined.left, reproduce,
                       squashed=len(plan.commits) == 1 and len(rules) > 1, verified=verified)
    plan.body_file = _write_body(top, branch, args.body_file, body)
    if args.push:
        plan.pushed = push(top, args.push, branch, head, remote_sha)
    plan.gh = gh_create(base, branch, plan.title, plan.body_file)
    return plan, errors

def _verify(worktree: str, targets: list[Target], combined: Pass, overrides: Overrides,
            args: SimpleNamespace, plan: Plan) -> Verification:
    """`--verify`: build the changed Dockerfiles of the base tree before and after the fixes;
    a fix that breaks a build is taken out of `combined` and never committed."""
    from dfmod.verify import VerifyError, verify_for_pr

    root = os.path.realpath(worktree)
    items = []
    for target in targets:
        rel = os.path.relpath(os.path.realpath(target.path), root).replace(os.sep, "/")
        if rel in combined.after and rel in combined.before:
            items.append((target, combined.before[rel], rel))
    try:
        verification = verify_for_pr(items, overrides, args)
    except VerifyError as error:
        raise PrError(str(error)) from None
    withhold(combined, {result.job.shown: (result.withheld, result.final_text)
                        for result in verification.results if result.withheld})
    plan.verified = verification.summary()
    for entry in verification.entries():
        if entry.rule in combined.withheld.get(entry.shown, ()):
            plan.withheld.append(f"{entry.shown}:{entry.applied.located.line}: {entry.rule} {entry.verdict.text}")
    for message in plan.withheld:
        sys.stderr.write(f"dfmod pr: {message}; not committed\n")
    if verification.log_dir:
        sys.stderr.write(f"dfmod pr: build logs kept in {verification.log_dir}\n")
    return verification

def _repo_paths(repo_dir: str, top: str, paths: list[str]) -> list[str]:
    """PATHS (relative to --repo) as paths relative to the repository root.

    The same rule as every read and write (`dfmod.syntax.project`): a path is placed by
    its directory's real path, and must lie inside the repository.
    """
    from dfmod.syntax.project import Project

    out = []
    project = Project.of([top])
    for path in paths:
        absolute = os.path.normpath(os.path.join(os.path.abspath(repo_dir), path))
        resolved = os.path.join(os.path.realpath(os.path.dirname(absolute)), os.path.basename(absolute))
        if not project.contains(resolved):
            raise PrError(f"{path}: is outside the repository {top}")
        out.append(os.path.relpath(resolved, os.path.realpath(top)))
    return out

def _write_body(top: str, branch: str, body_file: str | None, body: str) -> str:
    """Write the body to --body-file, or under .git/dfmod/ (never into the working tree)."""
    if body_file is None:
        body_file = os.path.join(top, git(top, "rev-parse", "--git-path", f"dfmod/{branch}.md"))
        os.makedirs(os.path.dirname(body_file), exist_ok=True)
    path = os.path.abspath(body_file)
    try:
        with open(path, "w", encoding="utf-8", newline="") as handle:
            handle.write(body)
    except OSError as error:
        raise PrError(f"{body_file}: cannot write the PR body: {error.strerror}") from None
    return path

def _report(plan: Plan, fmt: str) -> None:
    if fmt == "json":
        record = {
            "status": plan.status, "branch": plan.branch, "base": plan.base,
            "base_sha": plan.base_sha, "head": plan.head, "title": plan.title,
            "commits": [{"sha": commit.sha, "subject": commit.subject} for commit in plan.commits],
            "files": plan.files, "body_file": plan.body_file, "pushed": plan.pushed,
            "note": plan.note or None, "gh_pr_create": plan.gh or None,
        }
        if plan.verified:
            record["verified"] = {"summary": plan.verified, "withheld": plan.withheld}
        sys.stdout.write(json.dumps(record, indent=2, ensure_ascii=False) + "\n")
        return
    if plan.verified:
        sys.stdout.write(f"verified: {plan.verified}\n")
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
