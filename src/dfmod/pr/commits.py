"""The fixes as commits: the engine run in a worktree of the base, replayed rule by rule."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dfmod.pr.body import Change, Left, commit_message, files_of, squash_message, title_of
from dfmod.pr.git import commit_tree, git
from dfmod.syntax.parsing import parse
from dfmod.workspace.kinds import classify, kind_of

if TYPE_CHECKING:
    from dfmod.linting.engine import Settings
    from dfmod.workspace.config import Overrides
    from dfmod.workspace.targets import Target

@dataclass
class Pass:
    """The result of one run of the engine over the worktree."""

    after: dict[str, str] = field(default_factory=dict)  # changed files' new text
    before: dict[str, str] = field(default_factory=dict)
    changes: list[Change] = field(default_factory=list)
    left: list[Left] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # files not read or not changed, and why
    withheld: dict[str, set[str]] = field(default_factory=dict)  # --verify: rules kept out, by file

def engine_pass(worktree: str, paths: list[Target], overrides: Overrides,
                budget: float | None = None) -> Pass:
    """What `dfmod apply` does with `paths`: the runner in "diff" mode (nothing is written).

    The caller makes the worktree the project (`dfmod.syntax.project`): a file outside it
    is reported by the same rule as for `dfmod apply`, and never read.
    """
    from dfmod.workspace.runner import run

    root = os.path.realpath(worktree)
    result = Pass()
    for item in run(paths, overrides, "diff", budget=budget):
        message = item.error or item.outside
        if message:
            result.errors.append(message.replace(root + os.sep, "").replace(worktree + os.sep, ""))
            continue
        rel = _relative(root, item.path)
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

def withhold(combined: Pass, withheld: dict[str, tuple[set[str], str]]) -> None:
    """Take fixes out (`dfmod pr --verify`: they broke a build): per file, the rules left
    out and the file's text without them."""
    for rel, (rules, text) in withheld.items():
        combined.withheld[rel] = set(rules)
        combined.changes = [change for change in combined.changes
                            if not (change.path == rel and change.rule in rules)]
        if text == combined.before.get(rel):
            combined.after.pop(rel, None)
        else:
            combined.after[rel] = text

def _without(settings: Settings, rules: set[str]) -> Settings:
    """`settings` without the codemods `rules` (withheld in this file)."""
    from dfmod.syntax.records import replace

    if not rules:
        return settings
    return replace(settings, codemods=[codemod for codemod in settings.codemods if codemod.id not in rules],
                   report_unused_suppressions=settings.report_unused_suppressions
                   and "unused-suppression" not in rules)

def _relative(root: str, path: str) -> str:
    """`path` (inside the worktree `root`: the runner reads nothing else) relative to it."""
    return os.path.relpath(os.path.realpath(path), root).replace(os.sep, "/")

def _settings(path: str, overrides: Overrides) -> Settings:
    from dfmod.workspace.config import settings_for

    return settings_for(path, overrides)

def _fix_text(path: str, rel: str, text: str,
              settings: Settings) -> tuple[str, list[Change], dict[str, str]]:
    """The fixed text, the changes made, and the new text of companion files (by path)."""
    from dfmod.linting.companions import companion_sources
    from dfmod.linting.engine import fix

    outcome = fix(parse(text, path, classify(path, text)), settings)
    changes = [Change(rel, applied.rule, applied.fix.description, applied.fix.applicability.value)
               for applied in outcome.applied if applied.fix is not None]
    # Companion files outside the project: the engine pass reported them; leave them be.
    companions = {source.path: new for source, new in companion_sources(outcome.applied, [])}
    return outcome.text, changes, companions

def _write(worktree: str, texts: dict[str, str]) -> None:
    from dfmod.syntax.source import read_source, write_source

    for rel, text in texts.items():
        path = os.path.join(worktree, rel)
        write_source(read_source(path), text)

def make_commits(worktree: str, base_sha: str, overrides: Overrides, combined: Pass,
                  rules: list[str], title: str, env: dict[str, str], squash: bool) -> tuple[str, str]:
    """Commit the fixes in the worktree; return the head and a note on how (see `dfmod.pr`).

    Per rule, the fix loop runs again on the files the combined fix changed, with each
    file's own settings narrowed to that one codemod (suppressions are not judged unused
    while only one codemod runs); a last pass with the full settings catches what only the
    full set does (stale suppressions). If the result is not the combined fix, one commit
    of the combined fix replaces the replay.
    """
    from dfmod.syntax.records import replace

    head = base_sha
    note = ""
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
                if kind_of(path) is None:
                    continue  # a companion file (.env.example): its fix is in the document
                settings = narrow(_without(_settings(path, overrides), combined.withheld.get(rel, set())))
                if settings is None:
                    continue
                if rule is not None:
                    settings = replace(settings, report_unused_suppressions=False)
                new_text, applied, companions = _fix_text(path, rel, text, settings)
                if new_text != text:
                    after[rel] = new_text
                    changes.extend(applied)
                for companion_path, companion_text in companions.items():
                    after[_relative(os.path.realpath(worktree), companion_path)] = companion_text
            if not after:
                continue
            _write(worktree, after)
            current.update(after)
            step_rules = [rule] if rule else list(dict.fromkeys(change.rule for change in changes))
            message = (commit_message(step_rules[0], changes) if len(step_rules) == 1
                       else squash_message(title_of(step_rules, files_of(changes)), step_rules, changes))
            head = commit_tree(worktree, head, sorted(after), message, env)
        if {rel: text for rel, text in current.items() if text != combined.before[rel]} == combined.after:
            return head, ""
        # The codemods' fixes interact: replayed one by one they end elsewhere than the
        # combined fix. Commit what `dfmod apply` produces instead.
        git(worktree, "reset", "--quiet", "--hard", base_sha)
        note = ("one commit instead of one per rule: applied one rule at a time, the fixes "
                     "would not end in the same files as `dfmod apply`")
    _write(worktree, combined.after)
    return commit_tree(worktree, base_sha, sorted(combined.after),
                       squash_message(title, rules, combined.changes, note), env), note

def _narrow(settings: Settings, rule: str) -> Settings | None:
    """`settings` with only the codemod `rule`, or None when they do not run it."""
    from dfmod.syntax.records import replace

    chosen = [codemod for codemod in settings.codemods if codemod.id == rule]
    return replace(settings, codemods=chosen) if chosen else None
