"""An `|| true` that swallows failures it was not written for, and heredocs without `set -e`.

## What it finds
1. An unscoped tolerance — `|| true`, `|| :`, `|| echo …`, `|| printf …`, `|| exit 0` —
   inside an `&&` chain, when it swallows the failure of commands *before* the one it was
   written after: `poetry install && find … 2>/dev/null || true && …`. The shell gives `&&`
   and `||` equal precedence and groups them left to right, so that line is
   `((poetry install && find …) || true) && …`. A command's failure skips the following
   `&&` commands until the first `||`; when the command after that `||` is a tolerance, the
   failure is gone. The finding names every command whose failure is swallowed.
   `cmd || true` on its own (or after `;`) tolerates only `cmd` and is not reported, and
   neither is `[ -e "$f" ] && cp "$f" … || true`: a test's "no" (`[`, `[[`, `test`) is an
   answer, not a failure. Conditions of `if`, `elif`, `while` and `until` are not build
   steps (their status picks a branch, even under `set -e`) and are not read. A pipeline is
   named by its last command, whose status is the pipeline's.
2. A `RUN <<EOF` heredoc script (run by `/bin/sh`, or a `#!` POSIX shell) without
   `set -e` / `set -o errexit` at its top (nor `-e` in the `#!` line, nor, without a `#!`
   line, in the stage's `SHELL ["/bin/bash", "-eo", "pipefail", "-c"]`) that has more than
   one command line: the build step's status is that of the **last** line only.

A tolerance right after a package install (`pip install x || true`) is left to
`masked-install-failure`, whose fix is to remove it rather than scope it.

## Why it is bad
The build succeeds while a step failed: in the incident behind this rule, a
`2>/dev/null || true` added after each cleanup `find` also swallowed a failed
`poetry install` before it; the image built without its dependencies and failed at run time.
Reproduced with `bash -c 'false && echo x 2>/dev/null || true && echo continued'`: it prints
`continued` and exits 0. In a heredoc without `set -e`, `apt-get update` or `pip install`
can fail on line 2 and the step still succeeds because line 5 succeeded. (Without
`set -e` every shell script behaves this way; `RUN` shell form hides it because commands are
usually joined with `&&`, which a heredoc script replaces with newlines.)

## Fix (unsafe)
- Scope each tolerance of the chain to the command it was written after:
  `a && b 2>/dev/null || true && c` → `a && { b 2>/dev/null || true; } && c`. Braces keep
  the command in the current shell (`cd`, variables still apply). Every tolerance of the
  chain that would otherwise swallow earlier commands once its neighbours are scoped is
  scoped in the same fix, so one pass is enough.
- Heredoc: insert `set -e` as the script's first line (after a `#!` line).

Both are unsafe because they change the build's outcome: a step that used to fail silently
now fails the build, which is the point — review it (a command that may fail on purpose
needs its own `|| true`).

## Example
```dockerfile
# before
RUN poetry install --only=main --no-root && \
    find /app/.venv -type d -name "tests" -exec rm -rf {} + 2>/dev/null || true && \
    find /app/.venv -type f -name "*.pyc" -delete
# after
RUN poetry install --only=main --no-root && \
    { find /app/.venv -type d -name "tests" -exec rm -rf {} + 2>/dev/null || true; } && \
    find /app/.venv -type f -name "*.pyc" -delete
```
```dockerfile
# before
RUN <<EOF
apt-get update
apt-get install -y curl
EOF
# after
RUN <<EOF
set -e
apt-get update
apt-get install -y curl
EOF
```
"""

from __future__ import annotations

from collections.abc import Iterator

from dfmod.linting.codemod import Codemod, Context
from dfmod.linting.edits import Applicability, Edit, Finding, Fix, insert_text, wrap_in_group
from dfmod.semantic.masking import (
    Mask,
    Outcome,
    can_fail,
    describe,
    describe_all,
    element_install,
    is_tolerance,
    masks,
    snippet,
)
from dfmod.syntax.dockerfile import Instruction, stage_shell
from dfmod.syntax.shell import Chain, Command, ShellScript
from dfmod.syntax.text import Span


def _errexit_options(words: list[str]) -> bool:
    """Whether shell options (`-e`, `-eux`, `-o errexit`, `-Eeo pipefail`) turn on errexit."""
    for index, word in enumerate(words):
        if word == "--":
            return False
        if word.startswith("-") and not word.startswith("--"):
            if "e" in word[1:]:
                return True
            if word[1:].endswith("o") and words[index + 1:index + 2] == ["errexit"]:
                return True
    return False


def _sets_errexit(command: Command) -> bool:
    argv = command.argv
    return (command.name == "set" and all(value is not None for value in argv)
            and _errexit_options([value for value in argv[1:] if value is not None]))


def _list_can_fail(chain: Chain, first: int, last: int) -> bool:
    """Whether an and-or list can end with a failure (`x || true` cannot)."""
    if last > first and chain.operators[last - 1].text == "||" and is_tolerance(
            chain.elements[last]):
        return False
    return any(can_fail(element) for element in chain.elements[first:last + 1])


class MaskedFailure(Codemod):
    id = "masked-failure"
    summary = "An unscoped `|| true` or a heredoc without `set -e` lets a failed command pass"
    applicability = Applicability.UNSAFE

    def check(self, ctx: Context) -> Iterator[Finding]:
        for instruction, script in ctx.run_scripts():
            for chain in script.chains:
                yield from self._check_chain(ctx, chain)
            if script.is_heredoc_body:
                finding = self._check_heredoc(ctx, instruction, script)
                if finding is not None:
                    yield finding

    # -- unscoped tolerances -----------------------------------------------------------
    def _check_chain(self, ctx: Context, chain: Chain) -> Iterator[Finding]:
        found = [mask for mask in masks(chain)
                 if mask.masks_others and element_install(mask.guarded) is None]
        if not found:
            return
        plan = self._plan(chain)
        for first, last in chain.and_or_lists():
            here = [mask for mask in found if first <= mask.index <= last]
            if here:
                scope = [mask for mask in plan if first <= mask.index <= last]
                yield self._chain_finding(ctx, here, scope)

    def _chain_finding(self, ctx: Context, found: list[Mask], scope: list[Mask]) -> Finding:
        doc = ctx.doc
        parts = [f"`{snippet(doc, mask.span)}` (line {doc.position(mask.span.start)[0]}) "
                 "swallows the failure of "
                 + describe_all(doc, [item for item in mask.masked if item is not mask.guarded])
                 + f", not only of the {describe(doc, mask.guarded)} it follows"
                 for mask in found]
        message = ("; ".join(parts) + ": `&&` and `||` group left to right, so the "
                   "build goes on as if those commands had succeeded")
        edits: list[Edit] = []
        for mask in scope:
            edits += wrap_in_group(Span(mask.guarded.span.start, mask.tolerance.span.end))
        fix = Fix(tuple(edits), Applicability.UNSAFE,
                  "Scope each `|| …` to the command it follows: `{ cmd || true; }`"
                  ) if edits else None
        return self.finding(found[0].span, message, fix)

    @staticmethod
    def _plan(chain: Chain) -> list[Mask]:
        """The tolerances to scope, decided left to right as if the earlier ones were
        already scoped, so that one pass reaches the fixed point: in
        `a && b || true && c || true`, the second one swallows only `c` today, but `a`
        as well once the first one is scoped.

        A tolerance after a package install is left alone: `masked-install-failure`
        removes it, after which failures flow past it. A tolerance after a command that
        cannot fail (`build && echo ok || echo failed`, an if/else idiom) was not meant
        for that command: which one it was meant for is a guess, so it is reported
        without a fix.
        """
        chosen: list[Mask] = []

        def decide(mask: Mask) -> Outcome:
            if element_install(mask.guarded) is not None:
                return "remove"
            if mask.masks_others and can_fail(mask.guarded):
                chosen.append(mask)
                return "scope"
            return "keep"

        for _ in masks(chain, decide):
            pass
        return chosen

    # -- heredoc scripts without errexit -----------------------------------------------
    def _check_heredoc(self, ctx: Context, instruction: Instruction,
                       script: ShellScript) -> Finding | None:
        doc = ctx.doc
        heredoc = instruction.heredocs[0]
        body = doc.text[heredoc.body.start:heredoc.body.end]
        insert_at = heredoc.body.start
        if body.startswith("#!"):
            newline = body.find("\n")
            if newline < 0:
                return None
            if _errexit_options(body[2:newline].split()[1:]):
                return None
            insert_at += newline + 1
        else:
            shell = stage_shell(doc, instruction)
            if shell and _errexit_options(shell[1:]):
                return None
        chain = script.chain
        lists = chain.and_or_lists()
        errexit = next((position for position, (begin, end) in enumerate(lists)
                        if any(element.command is not None and _sets_errexit(element.command)
                               for element in chain.elements[begin:end + 1])), None)
        unchecked = lists[:errexit] if errexit is not None else lists[:-1]
        ignored = [chain.elements[begin] for begin, end in unchecked
                   if _list_can_fail(chain, begin, end)]
        if not ignored:
            return None
        first_line = body[insert_at - heredoc.body.start:]
        indent = first_line[:len(first_line) - len(first_line.lstrip(" \t"))]
        if errexit is None:
            message = (f"this heredoc script runs without `set -e`: the RUN's status is "
                       f"that of its last command only, so a failure of "
                       f"{describe_all(doc, ignored)} does not fail the build")
        else:
            line = doc.position(chain.elements[lists[errexit][0]].span.start)[0]
            message = (f"this heredoc script turns on `set -e` only at line {line}: a "
                       f"failure of {describe_all(doc, ignored)} before it does not fail "
                       "the build")
        fix = Fix((insert_text(insert_at, f"{indent}set -e{doc.newline}"),),
                  Applicability.UNSAFE, "Insert `set -e` as the script's first line")
        return self.finding(heredoc.word_span, message, fix)

