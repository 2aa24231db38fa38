"""What an unscoped `|| true` really swallows: and-or list semantics, once, for every codemod.

The shell gives `&&` and `||` equal precedence and groups them left to right, so
`a && b || true && c` is `((a && b) || true) && c`: the `|| true` catches the failure of
*every* command whose failure reaches it, not just the one it was written after. A failing
command's status travels right, skipping `&&` elements, until the first `||`; the element
after that `||` runs instead. If that element is a tolerance (`true`, `:`, `echo …`,
`exit 0`), the failure is gone. `masks` walks an and-or list that way and says, for each
tolerance, which earlier elements it swallows today.

Used by `masked-failure` (scope the tolerance) and `masked-install-failure` (remove it after
a package install); both must agree on what a tolerance is and who owns which fix.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

from dfmod.semantic.tools import basename, tool_call
from dfmod.syntax.dockerfile import Dockerfile
from dfmod.syntax.shell import Chain, Command, Element, Operator
from dfmod.syntax.text import Span

_SUBCOMMAND = re.compile(r"[a-z][a-z0-9-]*$")
_ALWAYS_SUCCEED = {"true", ":", "echo", "printf"}


def _is_tolerance_command(command: Command) -> bool:
    name = basename(command.name)
    if name in _ALWAYS_SUCCEED:
        return True
    return name == "exit" and command.argv[1:] == ["0"]


def is_tolerance(element: Element) -> bool:
    """Whether `element` always succeeds: `true`, `:`, `echo …`, `printf …`, `exit 0`,
    or a group/subshell made only of those (`{ echo "skipped"; exit 0; }`)."""
    if element.kind == "command":
        return element.command is not None and _is_tolerance_command(element.command)
    if element.kind in ("group", "subshell"):
        return bool(element.commands) and all(map(_is_tolerance_command, element.commands))
    return False


def is_test(element: Element) -> bool:
    """`[ … ]`, `[[ … ]]` or `test …`: a question, whose "no" is an answer, not a failure."""
    if element.kind == "test_command":
        return True
    return element.kind == "command" and element.command is not None and (
        basename(element.command.name) in ("[", "test"))


def can_fail(element: Element) -> bool:
    """Whether a failure of `element` is worth reporting (a tolerance, a test such as
    `[ -f x ]`, a function definition or a plain assignment without command substitution
    cannot fail)."""
    if is_tolerance(element) or is_test(element) or element.kind == "function_definition":
        return False
    command = element.command
    if command is not None and not command.words:
        return any("$(" in word.raw or "`" in word.raw for word in command.assignments)
    return True


@dataclass(frozen=True)
class Mask:
    """A tolerance at `chain.elements[index]`, reached through the `||` `operator`."""

    chain: Chain
    index: int
    operator: Operator
    masked: tuple[Element, ...]  # the elements whose failure it swallows, in order

    @property
    def tolerance(self) -> Element:
        return self.chain.elements[self.index]

    @property
    def guarded(self) -> Element:
        """The element written just before the `||`: the one the tolerance was meant for."""
        return self.chain.elements[self.index - 1]

    @property
    def masks_others(self) -> bool:
        """True when it swallows more than the element it was written after."""
        return any(element is not self.guarded for element in self.masked)

    @property
    def span(self) -> Span:
        """The `|| true` itself: from the operator to the end of the tolerance."""
        return Span(self.operator.span.start, self.tolerance.span.end)


Outcome = Literal["keep", "scope", "remove"]


def masks(chain: Chain, decide: Callable[[Mask], Outcome] | None = None) -> Iterator[Mask]:
    """Every tolerance reached through `||` in `chain`, with what it swallows.

    Without `decide`, that is what each tolerance swallows today. With `decide`, the walk
    goes on as if each tolerance had been handled as `decide` says: "keep" (as written —
    everything pending is swallowed), "scope" (`{ guarded || true; }` swallows only the
    guarded element; earlier failures flow on to the next `||`) or "remove" (the mask is
    gone; every failure flows on). A fix that scopes several tolerances of one chain uses
    this to see what the later ones would swallow once the earlier ones are fixed.

    A condition (`if a || true; then`) swallows nothing a build would notice: its status
    only picks a branch.
    """
    if chain.condition:
        return
    for first, last in chain.and_or_lists():
        pending: list[Element] = []  # elements whose failure would reach the next `||`
        for index in range(first, last + 1):
            element = chain.elements[index]
            operator = chain.operators[index - 1] if index > first else None
            if operator is not None and operator.text == "||":
                if is_tolerance(element):
                    mask = Mask(chain, index, operator, tuple(pending))
                    outcome = decide(mask) if decide is not None else "keep"
                    yield mask
                    if outcome == "scope":
                        pending = [item for item in pending if item is not mask.guarded]
                    elif outcome == "keep":
                        pending = []
                else:
                    pending = [element] if can_fail(element) else []
            elif can_fail(element):
                pending.append(element)


_APT = {"apt-get", "apt", "aptitude"}
_OS_INSTALL = {"dnf", "yum", "microdnf", "zypper", "tdnf"}
_JS = {"npm", "yarn", "pnpm"}
_CONDA = {"conda", "mamba", "micromamba"}
_OPTION_VALUE = {"-o", "-c", "-t", "--option", "--config-file", "--target-release",
                 "--prefix", "-C", "--cwd", "--dir", "-n", "--name", "-p"}


def _subcommand(command: Command) -> str | None:
    """The first non-option word after the program name (option values skipped)."""
    words = command.words
    index = 1
    while index < len(words):
        value = words[index].value
        if value is None:
            return None
        if not value.startswith("-"):
            return value
        index += 2 if value in _OPTION_VALUE else 1
    return None


def package_install(command: Command) -> str | None:
    """A label such as `pip install` if `command` installs packages, else None.

    Python tools in every spelling come from `dfmod.semantic.tools.tool_call`; system and
    JavaScript package managers are matched here: apt-get/apt install, apk add,
    dnf/yum/microdnf/zypper install, npm install/i/ci/add, yarn (bare) / yarn install/add,
    pnpm install/i/add, gem install, conda/mamba install.
    """
    call = tool_call(command)
    if call is not None:
        if not call.is_install:
            return None
        tool = {"uv-pip": "uv pip"}.get(call.tool, call.tool)
        return f"{tool} {call.subcommand}"
    name = basename(command.name)
    sub = _subcommand(command)
    if (name in _APT | _OS_INSTALL and sub in ("install", "in")) or (
            name == "apk" and sub == "add") or (
            name == "gem" and sub == "install") or (name in _CONDA and sub == "install"):
        return f"{name} {sub}"
    if name in _JS:
        if name == "yarn" and sub is None:
            return "yarn"
        if sub in ("install", "i", "ci", "add"):
            return f"{name} {sub}"
    return None


def element_install(element: Element) -> str | None:
    """`package_install` of a simple-command element (None for anything else)."""
    if element.kind != "command" or element.command is None:
        return None
    return package_install(element.command)


def describe(doc: Dockerfile, element: Element) -> str:
    """`poetry install` (line 2) — how a message names an element."""
    line = doc.position(element.span.start)[0]
    label: str | None = element_install(element)
    if label is None and (is_test(element) or not element.commands):
        label = snippet(doc, element.span, 24)
    elif label is None:
        # A pipeline's status is its last command's (without `pipefail`): name that one.
        command = element.commands[-1] if element.kind == "pipeline" else element.commands[0]
        label = package_install(command) or _label(command)
        if element.kind == "pipeline":
            label = f"… | {label}"
        elif element.kind != "command":
            label = f"{label} …"
    return f"`{label}` (line {line})"


def _label(command: Command) -> str:
    """`apt-get update`, `poetry install`, `curl`: a command's name and subcommand."""
    words = command.words
    if not words:
        return "…"
    label = basename(words[0].value) if words[0].value else words[0].raw
    if len(words) > 1 and _SUBCOMMAND.match(words[1].value or ""):
        label = f"{label} {words[1].value}"
    return label


def describe_all(doc: Dockerfile, elements: tuple[Element, ...] | list[Element],
                 limit: int = 6) -> str:
    names = [describe(doc, element) for element in elements]
    if len(names) > limit:
        names = [*names[:limit], f"and {len(names) - limit} more"]
    return ", ".join(names)


def snippet(doc: Dockerfile, span: Span, limit: int = 40) -> str:
    """Source text for a message, on one line and shortened."""
    text = " ".join(doc.text[span.start:span.end].split())
    return text if len(text) <= limit else text[:limit - 1] + "…"
