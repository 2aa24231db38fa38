"""An `|| true` that swallows failures it was not written for, and heredocs without `set -e`.

## What it finds
1. An unscoped tolerance — `|| true`, `|| :`, `|| echo …`, `|| printf …`, `|| exit 0` —
   inside an `&&` chain, when it swallows the failure of commands *before* the one it was
   written after: `poetry install && find … 2>/dev/null || true && …`. The shell gives `&&`
   and `||` equal precedence and groups them left to right, so that line is
   `((poetry install && find …) || true) && …`. A command's failure skips the following
   `&&` commands until the first `||`; when the command after that `||` is a tolerance, the
   failure is gone. Each tolerance is one finding, naming the commands whose failure it
   swallows. These are never counted as failures, and a tolerance that swallows only them
   is not reported:
   - conditions, whose "no" is an answer: tests (`[`, `[[`, `test`), probes
     (`command -v X`, `which`, `type`, `hash`, `grep` — also as the last command of a
     pipeline, whose status is the pipeline's —, `id USER`, `getent`, `dpkg -s`,
     `dpkg-query`, `rpm -q`, `pgrep`, `pidof`) and negations (`! cmd`);
   - commands that cannot fail as written: `true`, `:`, `echo`, `printf`, `sleep N`,
     `rm -f` / `rm -rf`, `export` / `set` / `umask` and assignments without command
     substitution, and a `for` / `while` / `if` / `case` / group / subshell whose commands
     cannot fail (an `if` or `while` condition does not count).
   `cmd || true` on its own (or after `;`) tolerates only `cmd` and is not reported.
   Conditions of `if`, `elif`, `while` and `until` are not build steps (their status picks
   a branch, even under `set -e`) and are not read.
2. A `RUN <<EOF` heredoc script (run by `/bin/sh`, or a `#!` POSIX shell) without
   `set -e` / `set -o errexit` at its top (nor `-e` in the `#!` line, nor, without a `#!`
   line, in the stage's `SHELL ["/bin/bash", "-eo", "pipefail", "-c"]`) with a line before
   the last one that can fail: the build step's status is that of the **last** line only.
   Lines that cannot fail (assignments, a loop that builds a variable, `rm -rf`) hide
   nothing.

A tolerance right after a package install (`pip install x || true`) is left to
`masked-install-failure`, whose fix is to remove it rather than scope it — unless that
rule leaves the install alone (the tolerance declares it optional, or it upgrades pip):
then the tolerance is this rule's like any other.

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
- Scope each tolerance to the command it was written after:
  `a && b 2>/dev/null || true && c` → `a && { b 2>/dev/null || true; } && c`. Braces keep
  the command in the current shell (`cd`, variables still apply). A tolerance of the same
  chain that would swallow earlier commands once this one is scoped is scoped by the same
  fix, so one pass is enough.
- When a condition's "no" reaches the tolerance too (`a && command -v strip && strip x ||
  true`), scoping would make that "no" fail the build. The chain becomes an `if` instead
  where that is exactly equivalent — a plain `|| true` / `|| :`, and conditions right
  before the command, after `&&`, with no failure among them:
  `a && if command -v strip; then strip x || true; fi`. Whenever `a` succeeds, that runs
  the same commands and ends with the same status, whatever the condition answers
  (checked in bash, dash and BusyBox sh, with and without `set -e`). Otherwise (after
  `|| echo …`, which would no longer print when the condition says no) there is no fix.
- No fix either when the command the tolerance follows is itself a tolerance or a
  condition (`build && echo ok || echo failed`) or always fails
  (`cond && (echo bad; exit 1) || echo ok`, an if/else whose `|| echo ok` is the else
  branch): which command it was meant for is a guess.
- Heredoc: insert `set -e` as the script's first line (after a `#!` line) — not when the
  status of an earlier line is a condition's answer (`grep -q bookworm /etc/os-release`
  alone on a line): `set -e` would end the script when it says no, so there is no fix.

Both are unsafe because they change the build's outcome: a step that used to fail silently
now fails the build, which is the point — review it (a command that may fail on purpose
needs its own `|| true`).

## Proof
Built with BuildKit by `tests/builds/test_rules.py`:
`test_masked_failure_unscoped_or_true_swallows_failed_install` (the build passes with a
failed install before the fix and fails at that step after it) and
`test_masked_failure_heredoc_without_set_e_passes_on_last_line`. The no-breakage set
(`tests/builds/test_no_breakage.py`) builds the fix on working Dockerfiles with probes and
tolerated cleanups. `dfmod verify` has no probe: the build's outcome is the proof (a fix
that fails the build *surfaces a hidden failure*).

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
RUN ./configure && make install && command -v strip >/dev/null && strip bin/* || true
# after
RUN ./configure && make install && if command -v strip >/dev/null; then strip bin/* || true; fi
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
from dfmod.linting.wording import join_names
from dfmod.semantic.masking import (
    Mask,
    can_fail,
    describe,
    describe_each,
    if_form_start,
    is_condition,
    is_tolerance,
    label,
    line_of,
    list_can_fail,
    masks,
    meant_for_guarded,
    owned_by_install,
    shared_line,
    snippet,
)
from dfmod.syntax.dockerfile import Instruction, stage_shell
from dfmod.syntax.shell import Chain, Command, ShellScript
from dfmod.syntax.text import Span

TYPE_CHECKING = False  # not typing's: importing typing costs ~7 ms (tests/test_startup.py)
if TYPE_CHECKING:
    from dfmod.semantic.masking import Outcome


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


def _answers(chain: Chain, first: int, last: int) -> bool:
    """Whether an and-or list's status can be a condition's "no" (`grep -q x f` alone,
    `a && [ -f x ]`): under `set -e` that "no" would end the script."""
    if last > first and chain.operators[last - 1].text == "||" and is_tolerance(chain.elements[last]):
        return False
    return is_condition(chain.elements[last])


class MaskedFailure(Codemod):
    id = "masked-failure"
    summary = "An unscoped `|| true` or a heredoc without `set -e` lets a failed command pass"
    applicability = Applicability.UNSAFE
    needs = ("||", "<<")  # a tolerance follows a `||` operator (never quoted); a heredoc script's RUN line has `<<`

    def check(self, ctx: Context) -> Iterator[Finding]:
        for instruction, script in ctx.run_scripts(self.needs):
            for chain in script.chains:
                yield from self._check_chain(ctx, chain)
            if script.is_heredoc_body:
                finding = self._check_heredoc(ctx, instruction, script)
                if finding is not None:
                    yield finding

    # -- unscoped tolerances -----------------------------------------------------------
    def _check_chain(self, ctx: Context, chain: Chain) -> Iterator[Finding]:
        found = [mask for mask in masks(chain) if mask.masks_others and not owned_by_install(mask)]
        if not found:
            return
        plan = self._plan(chain)
        for first, last in chain.and_or_lists():
            here = [mask for mask in found if first <= mask.index <= last]
            for number, mask in enumerate(here):
                # A tolerance that swallows others only once an earlier one is fixed is
                # fixed with that one, so that one pass reaches the fixed point.
                until = here[number + 1].index if number + 1 < len(here) else last + 1
                fixes = [item for index, item in sorted(plan.items()) if mask.index <= index < until]
                yield self._chain_finding(ctx, mask, plan.get(mask.index), fixes)

    def _chain_finding(self, ctx: Context, mask: Mask, own: tuple[Mask, Outcome] | None,
                       fixes: list[tuple[Mask, Outcome]]) -> Finding:
        doc = ctx.doc
        here = doc.position(mask.span.start)[0]
        guarded = describe(doc, mask.guarded, here)
        names = describe_each(doc, mask.others, here)
        shared = [item for item in mask.others if label(doc, item) == label(doc, mask.guarded)]
        if any(line_of(doc, item) == line_of(doc, mask.guarded) for item in shared):
            # `ls /x && ls /y || true`: tell them apart by their text
            guarded, names = describe(doc, mask.guarded, here, True), describe_each(doc, mask.others, here, True)
        elif shared:  # `find` after `find` (lines 6 and 7): name it once
            guarded = ""
        after = f" after {guarded}" if guarded else ""
        message = f"`{snippet(doc, mask.span, 32)}`{after} also swallows a failure of "
        line = shared_line(doc, mask.others)
        if line is not None and line != here and len(names) > 1:  # `a` and `b` (line 2)
            names = [name.rsplit(" (line ", 1)[0] for name in names]
            message += f"{join_names(names, limit=3, quote=False)} (line {line})"
        else:
            message += join_names(names, limit=3, quote=False)
        edits: list[Edit] = []
        for item, outcome in fixes if own is not None else []:
            edits += self._edits(ctx, item, outcome)
        if not edits:
            return self.finding(mask.span, message)
        title = ("Scope the `|| …` to the command it follows: `{ cmd || true; }`" if own is not None
                 and own[1] == "scope" else "Make the condition an `if`: `if probe; then cmd || true; fi`")
        return self.finding(mask.span, message, Fix(tuple(edits), Applicability.UNSAFE, title))

    @staticmethod
    def _edits(ctx: Context, mask: Mask, outcome: Outcome) -> list[Edit]:
        guarded, tolerance = mask.guarded, mask.tolerance
        if outcome == "scope":
            return wrap_in_group(Span(guarded.span.start, tolerance.span.end))
        start = if_form_start(mask)
        assert start is not None
        chain = mask.chain
        condition = chain.elements[start]
        before = chain.elements[guarded.index - 1]
        operator = chain.operators[guarded.index - 1]
        text = ctx.doc.text
        edits = [insert_text(condition.span.start, "if ")]
        if text[before.span.end:operator.span.start].strip(" \t") == "":
            edits.append(Edit(before.span.end, operator.span.end, "; then"))
        else:  # `cond \` newline `&& cmd`: `then` goes right after the condition
            end = operator.span.end
            while end < guarded.span.start and text[end] in " \t":
                end += 1
            edits += [insert_text(before.span.end, "; then"), Edit(operator.span.start, end, "")]
        return [*edits, insert_text(tolerance.span.end, "; fi")]

    @staticmethod
    def _plan(chain: Chain) -> dict[int, tuple[Mask, Outcome]]:
        """The tolerances to fix (by index) and how, decided left to right as if the earlier
        ones were already fixed, so that one pass reaches the fixed point: in
        `a && b || true && c || true`, the second one swallows only `c` today, but `a`
        as well once the first one is scoped.

        A tolerance `masked-install-failure` owns is left to it: it removes it (after which
        failures flow past it), unless a condition's "no" reaches it too (then it has no
        fix). A tolerance reached by a condition's "no" is not scoped — that would make the
        "no" fail the build — but made an `if` where that is exactly equivalent
        (`masking.if_form_start`). A tolerance after a command that cannot fail
        (`build && echo ok || echo failed`) or always fails (`cond && (echo bad; exit 1)
        || echo ok`, an if/else) was not meant for that command: which one it was meant
        for is a guess, so it is reported without a fix.
        """
        chosen: dict[int, tuple[Mask, Outcome]] = {}

        def decide(mask: Mask) -> Outcome:
            if owned_by_install(mask):
                return "keep" if mask.conditions else "remove"
            if not mask.masks_others or not meant_for_guarded(mask):
                return "keep"
            outcome: Outcome = "scope" if not mask.conditions else (
                "if" if if_form_start(mask) is not None else "keep")
            if outcome != "keep":
                chosen[mask.index] = (mask, outcome)
            return outcome

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
        ignored = [next(element for element in chain.elements[begin:end + 1] if can_fail(element))
                   for begin, end in unchecked if list_can_fail(chain, begin, end)]
        if not ignored:
            return None
        names = join_names(describe_each(doc, ignored), limit=3, quote=False)
        if errexit is None:
            message = f"this heredoc runs without `set -e`, so a failure of {names} does not fail the build"
        else:
            line = doc.position(chain.elements[lists[errexit][0]].span.start)[0]
            message = (f"this heredoc turns on `set -e` only at line {line}: a failure of {names} "
                       "before it does not fail the build")
        if any(_answers(chain, begin, end) for begin, end in unchecked):
            # `set -e` would also end the script when a test or probe on its own says "no".
            return self.finding(heredoc.word_span, message)
        first_line = body[insert_at - heredoc.body.start:]
        indent = first_line[:len(first_line) - len(first_line.lstrip(" \t"))]
        fix = Fix((insert_text(insert_at, f"{indent}set -e{doc.newline}"),),
                  Applicability.UNSAFE, "Insert `set -e` as the script's first line")
        return self.finding(heredoc.word_span, message, fix)
