"""The shell model of a `RUN`: chains, commands and words, with spans in the file.

tree-sitter-bash parses the shell text Docker actually hands to `/bin/sh -c` (continuations
joined, inner comment lines dropped — see `dfmod.syntax.text.MappedText`) in microseconds and
tolerates every bash construct. This module flattens its tree into what codemods reason
about: a `Chain` of elements joined by `&&`, `||`, `;`, `&` or newlines, where an element is
a simple `Command`, a pipeline or a compound (group, subshell, if, loop…) with chains of its
own. One quirk is normalised here: tree-sitter attaches a trailing redirect to the whole
`&&` list before it (`a && b 2>/dev/null` → `(a && b) 2>/dev/null`), whereas the shell
binds it to `b`; the redirect is re-attached to the last element.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from dfmod.syntax.records import Record
from dfmod.syntax.text import MappedText, Span

TYPE_CHECKING = False  # not typing's: importing typing costs ~7 ms (tests/test_startup.py)
if TYPE_CHECKING:
    from typing import Any

_PARSER: Any = None

_SEPARATORS = {"&&", "||", ";", "&", ";;"}
_BLOCK_SKIP = {"{", "}", "(", ")", "do", "done", "then", "fi", "else", "elif", "comment",
               "in", "esac", "if", "while", "until", "for", "case", "!"}
_COMPOUND_TYPES = {"if_statement", "for_statement", "c_style_for_statement", "while_statement",
                   "case_statement", "function_definition", "negated_command", "test_command"}
_DECLARATION_KEYWORDS = {"export", "declare", "local", "readonly", "typeset", "unset", "unsetenv"}
_POSIX_SHELLS = {"sh", "bash", "dash", "ash", "zsh", "ksh", "busybox", "mksh"}


def _parser() -> Any:
    """tree-sitter is imported on first use so that `dfmod --help` stays instant."""
    global _PARSER
    if _PARSER is None:
        tree_sitter = _binding("tree_sitter")
        _PARSER = tree_sitter.Parser(tree_sitter.Language(_binding("tree_sitter_bash").language()))
    return _PARSER


def _binding(package: str) -> Any:
    """The compiled module of `package` (`tree_sitter` or `tree_sitter_bash`), `_binding`,
    which holds everything dfmod uses of it.

    The packages' `__init__`s import what dfmod never uses, at a cost of several
    milliseconds of every run: tree-sitter's imports `typing` for one Protocol, and
    tree-sitter-bash's imports `importlib.resources` (and with it `tempfile`, `shutil`,
    `random`…) to read query files. So the extension module is loaded alone, from the
    package's directory; if it is not found there, the package is imported as usual.
    """
    import sys

    try:  # importlib.machinery's names, where it takes them from (its package imports `warnings`)
        from _frozen_importlib import ModuleSpec
        from _frozen_importlib_external import EXTENSION_SUFFIXES, ExtensionFileLoader
    except ImportError:  # pragma: no cover (an interpreter without CPython's frozen importlib)
        from importlib.machinery import EXTENSION_SUFFIXES, ExtensionFileLoader, ModuleSpec

    name = f"{package}._binding"
    if name in sys.modules:  # imported already (by a test, say): the same classes, once
        return sys.modules[name]
    for entry in sys.path:
        for suffix in EXTENSION_SUFFIXES:
            path = os.path.join(entry or ".", package, "_binding" + suffix)
            if os.path.isfile(path):
                loader = ExtensionFileLoader(name, path)
                module = loader.create_module(ModuleSpec(name, loader, origin=path))
                loader.exec_module(module)
                return module
    return __import__(package)


class ShellWord:
    """A shell word: `raw` as written, `value` unquoted (None if it expands at run time).

    Computed on first access: most words are never looked at (a codemod reads a command's
    name and moves on), and building them eagerly was most of the cost of a check.
    """

    __slots__ = ("_builder", "_node", "_raw", "_span", "_value")

    def __init__(self, builder: _Builder, node: Any) -> None:
        self._builder = builder
        self._node = node
        self._raw: str | None = None
        self._value: str | bool | None = False  # False: not computed yet
        self._span: Span | None = None

    @property
    def raw(self) -> str:
        if self._raw is None:
            self._raw = self._builder.raw(self._node)
        return self._raw

    @property
    def value(self) -> str | None:
        if self._value is False:
            self._value = _word_value(self._node, self._builder.raw)
        return self._value  # type: ignore[return-value]

    @property
    def span(self) -> Span:
        if self._span is None:
            self._span = self._builder.span(self._node)
        return self._span

    def __repr__(self) -> str:
        return f"ShellWord({self.raw!r})"


class Command:
    """A simple command: `PIP_NO_CACHE_DIR=1 pip install x 2>/dev/null`."""

    def __init__(self, words: list[ShellWord], assignments: list[ShellWord],
                 redirects: list[ShellWord], span: Span) -> None:
        self.words = words
        self.assignments = assignments
        self.redirects = redirects
        self.span = span

    @property
    def name(self) -> str | None:
        return self.words[0].value if self.words else None

    @property
    def argv(self) -> list[str | None]:
        return [word.value for word in self.words]

    def memo(self, key: str, compute: Callable[[Command], Any]) -> Any:
        """`compute(self)`, worked out once: several codemods ask the same of a command."""
        cache = self.__dict__
        if key not in cache:
            cache[key] = compute(self)
        return cache[key]


class Element:
    """One item of a chain: a command, a pipeline, or a compound with inner chains."""

    def __init__(self, kind: str, span: Span, commands: list[Command],
                 command: Command | None = None, chains: list[Chain] | None = None,
                 chain: Chain | None = None, index: int = 0) -> None:
        self.kind = kind  # "command", "pipeline", "group", "subshell", or the compound's node type
        self.span = span
        self.commands = commands  # every simple command inside, in order
        self.command = command  # set when kind == "command"
        self.chains = [] if chains is None else chains
        self.chain = chain
        self.index = index


class Operator(Record):
    __slots__ = ("text", "span")

    def __init__(self, text: str, span: Span) -> None:
        self.text = text  # "&&", "||", ";", "&" or "\n"
        self.span = span


class Chain:
    """Elements joined by operators; `operators[i]` sits between elements i and i+1."""

    def __init__(self, elements: list[Element], operators: list[Operator],
                 condition: bool = False) -> None:
        self.elements = elements
        self.operators = operators
        # The condition of an `if`/`elif`/`while`/`until`: its status picks a branch, and a
        # failure in it never fails the script (not even under `set -e`).
        self.condition = condition

    def and_or_lists(self) -> list[tuple[int, int]]:
        """Index ranges `[first, last]` of the and-or lists (split at `;`, `&`, newline)."""
        ranges: list[tuple[int, int]] = []
        first = 0
        for index, operator in enumerate(self.operators):
            if operator.text not in ("&&", "||"):
                ranges.append((first, index))
                first = index + 1
        if self.elements:
            ranges.append((first, len(self.elements) - 1))
        return ranges


class ShellScript:
    """A parsed shell program and where it lives in the Dockerfile."""

    def __init__(self, source: MappedText, chain: Chain, chains: list[Chain],
                 commands: list[Command], has_error: bool, is_heredoc_body: bool) -> None:
        self.source = source
        self.chain = chain
        self.chains = chains
        self.commands = commands
        self.has_error = has_error
        self.is_heredoc_body = is_heredoc_body


def parse_shell(source: MappedText, is_heredoc_body: bool = False) -> ShellScript:
    """Parse `source` as shell. Carriage returns are read as blanks (same offsets)."""
    data = source.text.replace("\r", " ").encode("utf-8")
    tree = _parser().parse(data)
    builder = _Builder(source, data)
    chain = builder.block(tree.root_node.children)
    return ShellScript(source, chain, builder.chains, builder.commands,
                       tree.root_node.has_error, is_heredoc_body)


class _Builder:
    def __init__(self, source: MappedText, data: bytes) -> None:
        self.source = source
        self.data = data
        self.chains: list[Chain] = []
        self.commands: list[Command] = []
        if len(data) == len(source.text):
            self.char_of = None
        else:
            self.char_of = _byte_to_char_table(source.text)

    def span(self, node: Any) -> Span:
        start, end = node.start_byte, node.end_byte
        if self.char_of is not None:
            start, end = self.char_of[start], self.char_of[end]
        return self.source.span(start, end)

    def raw(self, node: Any) -> str:
        return self.data[node.start_byte:node.end_byte].decode("utf-8")

    def word(self, node: Any) -> ShellWord:
        return ShellWord(self, node)

    # -- blocks and statements ------------------------------------------------------
    def block(self, children: list[Any], condition: bool = False) -> Chain:
        chain = Chain([], [], condition)
        self.chains.append(chain)
        pending: Operator | None = None
        for child in children:
            kind = child.type
            if kind in _SEPARATORS:
                pending = Operator(kind, self.span(child))
            elif kind in _BLOCK_SKIP or kind == "heredoc_body":
                continue
            elif child.is_named:
                if chain.elements and pending is None:
                    gap = Span(chain.elements[-1].span.end, self.span(child).start)
                    pending = Operator("\n", gap)
                if pending is not None and chain.elements:
                    chain.operators.append(pending)
                pending = None
                self.statement(child, chain)
        for index, element in enumerate(chain.elements):
            element.chain = chain
            element.index = index
        return chain

    def statement(self, node: Any, chain: Chain) -> None:
        kind = node.type
        if kind == "list":
            left, operator, right = _list_parts(node)
            self.statement(left, chain)
            chain.operators.append(Operator(operator.type, self.span(operator)))
            self.statement(right, chain)
        elif kind == "redirected_statement":
            body = node.child_by_field_name("body")
            redirects = [self.word(child) for child in node.children
                         if child.type.endswith("redirect")]
            if body is None:
                element = Element("command", self.span(node), [])
                command = Command([], [], redirects, self.span(node))
                element.command = command
                element.commands.append(command)
                self.commands.append(command)
                chain.elements.append(element)
                return
            self.statement(body, chain)
            last = chain.elements[-1]
            end = max(redirect.span.end for redirect in redirects) if redirects else last.span.end
            last.span = Span(last.span.start, max(end, last.span.end))
            if last.command is not None:
                last.command.redirects.extend(redirects)
                last.command.span = last.span
        elif kind == "pipeline" and self._leading_list(node) is not None:
            self._split_pipeline(node, chain)
        else:
            chain.elements.append(self.element(node))

    @staticmethod
    def _leading_list(node: Any) -> tuple[Any, list[Any]] | None:
        """A pipeline's first stage when tree-sitter made it an `&&`/`||` list (with the
        redirects it attached to that list)."""
        first = node.named_children[0] if node.named_children else None
        if first is None:
            return None
        if first.type == "list":
            return first, []
        body = first.child_by_field_name("body") if first.type == "redirected_statement" else None
        if body is not None and body.type == "list":
            return body, [child for child in first.children if child.type.endswith("redirect")]
        return None

    def _split_pipeline(self, node: Any, chain: Chain) -> None:
        """`a && c 2>&1 | d`: the shell reads `a && (c 2>&1 | d)` — `|` binds tighter than
        `&&` — while tree-sitter builds `(a && c 2>&1) | d`. Re-group it as the shell does."""
        found = self._leading_list(node)
        assert found is not None
        inner_list, redirects = found
        left, operator, right = _list_parts(inner_list)
        self.statement(left, chain)
        chain.operators.append(Operator(operator.type, self.span(operator)))
        start = len(self.commands)
        inner = Chain([], [])
        self.statement(right, inner)
        if redirects and inner.elements:
            last = inner.elements[-1]
            words = [self.word(child) for child in redirects]
            last.span = Span(last.span.start, max(last.span.end, *(w.span.end for w in words)))
            if last.command is not None:
                last.command.redirects.extend(words)
                last.command.span = last.span
        for child in node.children[1:]:
            if child.type in ("|", "|&"):
                inner.operators.append(Operator(child.type, self.span(child)))
            elif child.is_named:
                self.statement(child, inner)
        span = Span(self.span(right).start, self.span(node).end)
        chain.elements.append(Element("pipeline", span, self.commands[start:], chains=[inner]))

    def element(self, node: Any) -> Element:
        kind = node.type
        span = self.span(node)
        if kind in ("command", "variable_assignment", "variable_assignments",
                    "declaration_command", "unset_command"):
            command = self.command(node)
            return Element("command", span, [command], command=command)
        start = len(self.commands)
        if kind == "pipeline":
            inner = Chain([], [])
            for child in node.children:
                if child.type in ("|", "|&"):
                    inner.operators.append(Operator(child.type, self.span(child)))
                elif child.is_named:
                    self.statement(child, inner)
            return Element("pipeline", span, self.commands[start:], chains=[inner])
        if kind == "subshell":
            chains = [self.block(node.children)]
            return Element("subshell", span, self.commands[start:], chains=chains)
        if kind == "compound_statement":
            chains = [self.block(node.children)]
            return Element("group", span, self.commands[start:], chains=chains)
        chains = self.nested_blocks(node)
        return Element(kind, span, self.commands[start:], chains=chains)

    def nested_blocks(self, node: Any) -> list[Chain]:
        """Chains inside if/for/while/case/functions: each body becomes its own chain, and
        each condition its own chain marked `condition`."""
        chains: list[Chain] = []
        conditions = {child.id for child in node.children_by_field_name("condition")}
        statements = [child for child in node.children
                      if child.is_named and child.type not in _BLOCK_SKIP
                      and child.type not in ("variable_name", "word", "heredoc_body")]
        for child in statements:
            if child.type == "elif_clause":  # `elif COND; then BODY`: no fields to tell them apart
                children = child.children
                then = next((i for i, item in enumerate(children) if item.type == "then"), len(children))
                chains.append(self.block(children[:then], condition=True))
                chains.append(self.block(children[then + 1:]))
            elif child.type in ("do_group", "compound_statement", "subshell", "else_clause",
                                "case_item"):
                chains.append(self.block(child.children))
            elif child.type in _COMPOUND_TYPES or child.type in (
                    "command", "list", "pipeline", "redirected_statement"):
                chains.append(self.block([child], condition=child.id in conditions))
        return chains

    def command(self, node: Any) -> Command:
        words: list[ShellWord] = []
        assignments: list[ShellWord] = []
        redirects: list[ShellWord] = []
        if node.type in ("variable_assignment",):
            assignments.append(self.word(node))
        else:
            for child in node.children:
                kind = child.type
                if kind in ("variable_assignment", "variable_assignments"):
                    assignments.append(self.word(child))
                elif kind.endswith("redirect"):
                    redirects.append(self.word(child))
                elif kind == "command_name":
                    words.append(self.word(child.children[0] if child.children else child))
                elif (child.is_named and kind != "comment") or kind in _DECLARATION_KEYWORDS:
                    words.append(self.word(child))
        command = Command(words, assignments, redirects, self.span(node))
        self.commands.append(command)
        return command


def _list_parts(node: Any) -> tuple[Any, Any, Any]:
    """(left, operator, right) of an `&&`/`||` list node. A comment line may sit between
    the operator and the right operand (`a ||` newline `# why` newline `b`), so the parts
    are found by kind, not by position."""
    operands = [child for child in node.children if child.is_named and child.type != "comment"]
    operator = next(child for child in node.children if child.type in ("&&", "||"))
    return operands[0], operator, operands[-1]


def _byte_to_char_table(text: str) -> list[int]:
    table: list[int] = []
    for index, char in enumerate(text):
        table.extend([index] * len(char.encode("utf-8")))
    table.append(len(text))
    return table


def _word_value(node: Any, raw: Any) -> str | None:
    """The word's value after quote removal, or None if it depends on run-time expansion."""
    kind = node.type
    if kind == "word" or kind == "number":
        text = raw(node)
        if "\\" not in text:
            return text
        out: list[str] = []
        index = 0
        while index < len(text):
            if text[index] == "\\" and index + 1 < len(text):
                index += 1
            out.append(text[index])
            index += 1
        return "".join(out)
    if kind == "raw_string":
        return raw(node)[1:-1]
    if kind == "string":
        parts: list[str] = []
        for child in node.children:
            if child.type == '"':
                continue
            if child.type != "string_content":
                return None
            text = raw(child)
            for escaped in ('\\"', "\\\\", "\\$", "\\`"):
                text = text.replace(escaped, escaped[1])
            parts.append(text)
        return "".join(parts)
    if kind == "concatenation":
        values = [_word_value(child, raw) for child in node.children]
        if any(value is None for value in values):
            return None
        return "".join(value for value in values if value is not None)
    if kind == "variable_assignment":
        return raw(node)
    return None


def is_posix_shell(shell_argv: list[str] | None) -> bool:
    """Whether a stage's `SHELL` (None = default `/bin/sh -c`) is one dfmod can model."""
    if not shell_argv:
        return True
    return shell_argv[0].rsplit("/", 1)[-1].lower() in _POSIX_SHELLS
