"""What an unscoped `|| true` really swallows: and-or list semantics, once, for every codemod.

The shell gives `&&` and `||` equal precedence and groups them left to right, so
`a && b || true && c` is `((a && b) || true) && c`: the `|| true` catches the failure of
*every* command whose failure reaches it, not just the one it was written after. A failing
command's status travels right, skipping `&&` elements, until the first `||`; the element
after that `||` runs instead. If that element is a tolerance (`true`, `:`, `echo …`,
`exit 0`), the failure is gone. `masks` walks an and-or list that way and says, for each
tolerance, which earlier elements it swallows today.

Not everything whose status reaches a tolerance is a failure. A condition (`is_condition`:
a test, a probe such as `command -v X`, `grep -q`, `id USER`, a negation) answers "no";
`Mask.conditions` carries those, so that a fix never makes that answer fail the build
(`probe && cmd || true` scoped to `probe && { cmd || true; }` would). Commands that cannot
fail as written (`can_fail`: `echo`, `sleep 2`, `rm -rf`, assignments, a loop that only
sets a variable) are in neither list.

Used by `masked-failure` (scope the tolerance) and `masked-install-failure` (remove it after
a package install); both must agree on what a tolerance is and who owns which fix
(`owned_by_install`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from dfmod.semantic.tools import basename, is_test, tool_call
from dfmod.syntax.dockerfile import Dockerfile
from dfmod.syntax.records import Record
from dfmod.syntax.shell import Chain, Command, Element, Operator
from dfmod.syntax.text import Span

TYPE_CHECKING = False  # not typing's: importing typing costs ~7 ms (tests/test_startup.py)
if TYPE_CHECKING:
    from typing import Literal

    Outcome = Literal["keep", "scope", "remove", "if"]  # what a `decide` says about a mask

# Patterns are strings, compiled on first use (`re` caches them): most files need none of
# them, and start-up would pay for compiling them all.
_SUBCOMMAND = r"[a-z][a-z0-9-]*$"
_ALWAYS_SUCCEED = {"true", ":", "echo", "printf"}
# Questions whose "no" is an answer, not a failure (with the options that make them one).
_PROBES = {"which", "type", "hash", "grep", "egrep", "fgrep", "zgrep", "id", "getent",
           "dpkg-query", "pgrep", "pidof"}
_DPKG_QUERIES = {"-s", "--status", "-l", "--list", "-L", "--listfiles", "-S", "--search"}
# Commands that cannot fail as written (`rm` only with `-f`, `sleep` only with a duration,
# the builtins only without command substitution).
_INFALLIBLE_BUILTINS = {"export", "set", "umask"}
_DURATION = r"\d+(\.\d+)?[smhd]?$"
_COMPOUNDS = {"group", "subshell", "for_statement", "c_style_for_statement", "while_statement",
              "if_statement", "case_statement"}


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


def is_plain_true(element: Element) -> bool:
    """`true` or `:` alone: a tolerance that prints nothing and does not exit."""
    command = element.command
    return (element.kind == "command" and command is not None and len(command.words) == 1
            and command.words[0].value in ("true", ":") and not command.redirects
            and not command.assignments)


def _is_probe_command(command: Command) -> bool:
    name = basename(command.name)
    argv = command.argv
    if name in _PROBES:
        return True
    if name == "command":
        return len(argv) > 1 and argv[1] in ("-v", "-V")
    if name == "dpkg":
        return any(value in _DPKG_QUERIES for value in argv[1:])
    if name == "rpm":
        return any(value is not None and (value.startswith("--query") or (
            value.startswith("-q") and not value.startswith("--"))) for value in argv[1:])
    return False


def is_condition(element: Element) -> bool:
    """A question whose "no" is an answer, not a failure: a test (`[`, `[[`, `test`), a
    probe (`command -v X`, `which`, `type`, `hash`, `grep`, `id USER`, `getent`,
    `dpkg -s`, `dpkg-query`, `rpm -q`, `pgrep`, `pidof`), a pipeline whose last command is
    one (`… | grep -q x`: its status is the last command's), or a negation (`! cmd`)."""
    if is_test(element) or element.kind == "negated_command":
        return True
    if element.kind == "command":
        return element.command is not None and _is_probe_command(element.command)
    if element.kind == "pipeline" and element.chains and element.chains[0].elements:
        return is_condition(element.chains[0].elements[-1])
    return False


def always_fails(element: Element) -> bool:
    """A group or subshell that ends in `exit N` (N ≠ 0) or `false`, not after `||`:
    `( echo "GPL build"; exit 1 )` — the then-branch of a `cond && (…; exit 1) || echo ok`
    if/else, whose `|| echo ok` is the else-branch."""
    if element.kind not in ("group", "subshell") or not element.chains:
        return False
    chain = element.chains[0]
    if not chain.elements or (chain.operators and chain.operators[-1].text == "||"):
        return False
    last = chain.elements[-1].command
    if last is None or chain.elements[-1].kind != "command":
        return False
    argv = last.argv
    if basename(last.name) == "false":
        return True
    return basename(last.name) == "exit" and len(argv) == 2 and argv[1] is not None and (
        argv[1].isdigit() and argv[1] != "0")


def _substitutes(command: Command) -> bool:
    return any("$(" in word.raw or "`" in word.raw
               for word in [*command.words, *command.assignments])


def _command_can_fail(command: Command) -> bool:
    if not command.words:  # `X=1`: an assignment fails only with its command substitution
        return _substitutes(command)
    name = basename(command.name) if command.name is not None else command.words[0].raw
    argv = command.argv
    if _is_tolerance_command(command) or name in ("true", ":"):
        return False
    if name == "sleep":
        return not (len(argv) > 1 and all(value is not None and re.match(_DURATION, value)
                                           for value in argv[1:]))
    if name == "rm":
        return not any(value is not None and (value == "--force" or (
            value.startswith("-") and not value.startswith("--") and "f" in value))
            for value in argv[1:])
    if name in _INFALLIBLE_BUILTINS:
        return _substitutes(command)
    return True


def chain_can_fail(chain: Chain) -> bool:
    """Whether one of `chain`'s and-or lists can end with a real failure."""
    return any(list_can_fail(chain, first, last) for first, last in chain.and_or_lists())


def list_can_fail(chain: Chain, first: int, last: int) -> bool:
    """Whether an and-or list can end with a failure (`x || true` cannot)."""
    if last > first and chain.operators[last - 1].text == "||" and is_tolerance(
            chain.elements[last]):
        return False
    return any(can_fail(element) for element in chain.elements[first:last + 1])


def can_fail(element: Element) -> bool:
    """Whether a failure of `element` is worth reporting.

    Not: a tolerance, a condition (`[ -f x ]`, `command -v x`, `… | grep -q y`: its "no" is
    an answer), a function definition, an assignment without command substitution, and
    commands that cannot fail as written — `true`, `:`, `echo`, `printf`, `sleep 2`,
    `rm -f`/`rm -rf`, `export`/`set`/`umask` without command substitution. A group,
    subshell, loop, `if` or `case` can fail only if a command inside it can (an `if`/`while`
    condition does not count)."""
    if is_condition(element) or element.kind == "function_definition":
        return False
    if element.kind == "command":
        return element.command is not None and _command_can_fail(element.command)
    if element.kind in _COMPOUNDS:
        return any(chain_can_fail(chain) for chain in element.chains if not chain.condition)
    return True


class Mask(Record):
    """A tolerance at `chain.elements[index]`, reached through the `||` `operator`."""

    __slots__ = ("chain", "index", "operator", "masked", "conditions")

    def __init__(self, chain: Chain, index: int, operator: Operator, masked: tuple[Element, ...],
                 conditions: tuple[Element, ...] = ()) -> None:
        self.chain = chain
        self.index = index
        self.operator = operator
        self.masked = masked  # the elements whose failure it swallows, in order
        # The conditions whose "no" reaches it too (`command -v strip && strip x || true`):
        # not failures, but a fix must not change what happens when they answer "no".
        self.conditions = conditions

    @property
    def tolerance(self) -> Element:
        return self.chain.elements[self.index]

    @property
    def guarded(self) -> Element:
        """The element written just before the `||`: the one the tolerance was meant for."""
        return self.chain.elements[self.index - 1]

    @property
    def masks_others(self) -> bool:
        """True when it swallows a failure of more than the element it was written after."""
        return any(element is not self.guarded for element in self.masked)

    @property
    def others(self) -> list[Element]:
        """The real failures it swallows besides the guarded element's."""
        return [element for element in self.masked if element is not self.guarded]

    @property
    def span(self) -> Span:
        """The `|| true` itself: from the operator to the end of the tolerance."""
        return Span(self.operator.span.start, self.tolerance.span.end)


def meant_for_guarded(mask: Mask) -> bool:
    """Whether the tolerance was plausibly written for the element before it, so scoping
    it there keeps what the author meant: not when that element is itself a tolerance or a
    condition (`build && echo ok || echo failed`: an if/else) or always fails
    (`cond && (echo bad; exit 1) || echo ok`: the tolerance is the else-branch). A command
    that cannot fail (`rm -rf build || true`) is fine: its author believed it could."""
    guarded = mask.guarded
    return not (is_tolerance(guarded) or is_condition(guarded) or always_fails(guarded))


def if_form_start(mask: Mask) -> int | None:
    """Where `if` goes when `prefix && COND && cmd || true` can become, exactly,
    `prefix && if COND; then cmd || true; fi` (the index of COND's first element).

    Whenever `prefix` succeeds, both run the same commands and end with status 0, whatever
    COND answers and whether `cmd` fails; only a failure of `prefix` is no longer
    swallowed. That holds when the tolerance is a plain `true`/`:` (an `echo` would no
    longer print when COND says no, `exit 0` would no longer exit), COND's elements are
    joined by `&&` and hold every condition and no real failure, and COND is the start of
    the and-or list or follows `&&` (after `||` the shell would group `(q || COND) && cmd`).
    """
    if not mask.conditions or not is_plain_true(mask.tolerance):
        return None
    guarded = mask.guarded
    if not meant_for_guarded(mask):
        return None
    chain = mask.chain
    start = min(element.index for element in mask.conditions)
    if any(can_fail(chain.elements[index]) for index in range(start, guarded.index)):
        return None
    if any(chain.operators[index].text != "&&" for index in range(start, guarded.index)):
        return None
    first = next(begin for begin, end in chain.and_or_lists() if begin <= mask.index <= end)
    if start > first and chain.operators[start - 1].text != "&&":
        return None
    return start


def masks(chain: Chain, decide: Callable[[Mask], Outcome] | None = None) -> Iterator[Mask]:
    """Every tolerance reached through `||` in `chain`, with what it swallows.

    Without `decide`, that is what each tolerance swallows today. With `decide`, the walk
    goes on as if each tolerance had been handled as `decide` says: "keep" (as written —
    everything pending is swallowed), "scope" (`{ guarded || true; }` swallows only the
    guarded element; earlier failures and conditions flow on to the next `||`), "if"
    (`if COND; then guarded || true; fi`, see `if_form_start`: the conditions are
    answered inside the `if`, earlier failures flow on) or "remove" (the mask is gone;
    every failure flows on). A fix that handles several tolerances of one chain uses this
    to see what the later ones would swallow once the earlier ones are fixed.

    Conditions (`is_condition`) are not failures: they are carried in `Mask.conditions`,
    never in `Mask.masked`. A condition chain (`if a || true; then`) swallows nothing a
    build would notice: its status only picks a branch.
    """
    if chain.condition or all(operator.text != "||" for operator in chain.operators):
        return  # no tolerance without `||` (the common chain: no need to judge its elements)
    for first, last in chain.and_or_lists():
        pending: list[Element] = []  # elements whose failure would reach the next `||`
        asked: list[Element] = []  # conditions whose "no" would reach it
        for index in range(first, last + 1):
            element = chain.elements[index]
            operator = chain.operators[index - 1] if index > first else None
            if operator is not None and operator.text == "||":
                if is_tolerance(element):
                    mask = Mask(chain, index, operator, tuple(pending), tuple(asked))
                    outcome = decide(mask) if decide is not None else "keep"
                    yield mask
                    if outcome == "scope":
                        pending = [item for item in pending if item is not mask.guarded]
                    elif outcome == "if":
                        start = if_form_start(mask)
                        pending = [item for item in pending
                                   if start is not None and item.index < start]
                        asked = []
                    elif outcome == "keep":
                        pending, asked = [], []
                else:
                    pending = [element] if can_fail(element) else []
                    asked = [element] if is_condition(element) else []
            elif can_fail(element):
                pending.append(element)
            elif is_condition(element):
                asked.append(element)


# -- who owns which tolerance ------------------------------------------------------------
# A tolerance that says the install is optional: the author decided the image may ship
# without it ("not available" is not such a word: it is the incident's own message).
_DECLARED_OPTIONAL = (
    r"(?i)\boptional(ly)?\b|\bfall\s*-?\s*back\b|\bwill\s+use\b|\bdisabled\b|\bskipping\b|"
    r"\bcontinu(e|ing)\s+without\b")
_TOOLING = {"pip", "setuptools", "wheel"}
_NAME = r"[A-Za-z0-9._-]+"


def declares_optional(tolerance: Element) -> bool:
    """`|| echo "optional: using SDPA fallback"`, "will use …", "disabled", "skipping",
    "continuing without …": the tolerance's own words say the install may fail."""
    return any(re.search(_DECLARED_OPTIONAL, word.raw)
               for command in tolerance.commands for word in command.words[1:])


def upgrades_tooling(command: Command) -> bool:
    """`pip install --upgrade pip`, `pip install -U pip setuptools wheel`: an upgrade of
    installer tooling only. The image has pip either way; a failed upgrade keeps the old."""
    call = tool_call(command)
    if call is None or call.tool != "pip" or not call.is_install or call.requirement_files():
        return False
    upgrade = any(value == "--upgrade" or (value is not None and re.fullmatch(r"-[a-zA-Z]*U[a-zA-Z]*", value)
                                           is not None) for value in (word.value for word in call.args))
    names = []
    for word in call.operands():
        match = re.match(_NAME, word.value or "")
        names.append(match.group(0).lower() if match else None)
    return upgrade and bool(names) and all(name in _TOOLING for name in names)


def owned_by_install(mask: Mask) -> bool:
    """Whether the tolerance is `masked-install-failure`'s: it follows a package install
    that it would leave missing — not one it declares optional, nor an upgrade of pip."""
    install = mask.guarded
    if element_install(install) is None or install.command is None:
        return False
    return not declares_optional(mask.tolerance) and not upgrades_tooling(install.command)


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


def label(doc: Dockerfile, element: Element, text: bool = False) -> str:
    """`poetry install`, `apt-get update`, `… | grep`, `(echo bad; exit 1)` — how a message
    names an element. With `text`, by its own text (`ls /x`), to tell apart elements that
    share a name."""
    name: str | None = element_install(element)
    command = element.command
    if text:
        return snippet(doc, element.span, 28)
    if name is not None:
        return name
    if element.kind == "pipeline" and element.commands:
        # A pipeline's status is its last command's (without `pipefail`): name that one.
        last = element.commands[-1]
        return f"… | {package_install(last) or _label(last)}"
    if element.kind == "command" and command is not None and command.words and not is_test(element):
        return _label(command)
    if element.kind in ("group", "subshell"):  # `{ echo "nonfr…; exit 1; }`: keep how it ends
        text = " ".join(doc.text[element.span.start:element.span.end].split())
        return text if len(text) <= 28 else f"{text[:14]}…{text[-13:]}"
    return snippet(doc, element.span, 28)  # a test, an assignment, a loop


def line_of(doc: Dockerfile, element: Element) -> int:
    return doc.position(element.span.start)[0]


def describe(doc: Dockerfile, element: Element, here: int | None = None, text: bool = False) -> str:
    """`poetry install` (line 2); "(line N)" is left out when N is `here`, the line the
    message is about."""
    line = line_of(doc, element)
    name = label(doc, element, text)
    return f"`{name}`" if line == here else f"`{name}` (line {line})"


# Programs whose first word after the options is a subcommand (`apt-get --yes update`).
_WITH_SUBCOMMANDS = {"apt-get", "apt", "apt-cache", "aptitude", "apk", "dnf", "yum", "microdnf",
                     "zypper", "tdnf", "pip", "pip3", "npm", "yarn", "pnpm", "git", "gem", "bundle",
                     "poetry", "uv", "conda", "mamba", "micromamba", "cargo", "go", "docker",
                     "systemctl", "rustup", "corepack", "pipx", "helm", "kubectl"}


def _label(command: Command) -> str:
    """`apt-get update`, `poetry install`, `curl`: a command's name and subcommand (the
    options before a subcommand are skipped: `apt-get --yes --quiet update`)."""
    words = command.words
    if not words:
        return "…"
    label = basename(words[0].value) if words[0].value else words[0].raw
    if label == "command" and len(words) > 2 and words[1].value in ("-v", "-V"):
        return f"command {words[1].value} {words[2].raw}"
    second = _subcommand(command) if label in _WITH_SUBCOMMANDS else (
        words[1].value if len(words) > 1 else None)
    if second is not None and re.match(_SUBCOMMAND, second):
        label = f"{label} {second}"
    return label


def shared_line(doc: Dockerfile, elements: tuple[Element, ...] | list[Element]) -> int | None:
    """The line all `elements` start on, if they share one."""
    lines = {line_of(doc, element) for element in elements}
    return lines.pop() if len(lines) == 1 else None


def describe_each(doc: Dockerfile, elements: tuple[Element, ...] | list[Element],
                  here: int | None = None, text: bool = False) -> list[str]:
    """Each element's name once, in order, with its lines: `find` (lines 6 and 7)."""
    grouped: dict[str, list[int]] = {}
    for element in elements:
        lines = grouped.setdefault(label(doc, element, text), [])
        if line_of(doc, element) not in lines:
            lines.append(line_of(doc, element))
    names: list[str] = []
    for name, lines in grouped.items():
        if lines == [here]:
            names.append(f"`{name}`")
        elif len(lines) == 1:
            names.append(f"`{name}` (line {lines[0]})")
        else:
            names.append(f"`{name}` (lines {', '.join(map(str, lines[:-1]))} and {lines[-1]})")
    return names


def describe_all(doc: Dockerfile, elements: tuple[Element, ...] | list[Element],
                 limit: int = 6) -> str:
    names = describe_each(doc, elements)
    if len(names) > limit:
        names = [*names[:limit], f"and {len(names) - limit} more"]
    return ", ".join(names)


def snippet(doc: Dockerfile, span: Span, limit: int = 40) -> str:
    """Source text for a message, on one line and shortened."""
    text = " ".join(doc.text[span.start:span.end].split())
    return text if len(text) <= limit else text[:limit - 1] + "…"
