"""A lossless Compose document: ruamel.yaml reads it, dfmod never re-dumps it.

A ruamel.yaml load + dump changes lines nobody asked to change (indentation is normalised
per file, long strings re-flow, comments after a deleted key go with it; measured on 98
real compose files, a third did not come back byte-identical). So ruamel.yaml is used only
to *read*: its round-trip loader gives the data as Compose sees it (merge keys `<<: *x`
resolved, duplicate keys rejected), and its parser's events give every node's exact start
and end offset in the original text. Codemods turn those offsets into `Edit`s; the text
itself is never regenerated, so comments, quoting, anchors, flow style, long values, blank
lines and CRLF outside an edit stay byte for byte.

Events rather than the loaded objects' `.lc` positions, because `.lc` records where a node
*starts* only, and a value reached through an alias (`*x`) reports the anchor's position:
an edit there would change every service sharing the anchor. The event tree keeps aliases
as their own nodes, so codemods can refuse to edit through them.

ruamel.yaml is imported inside the parsing function: `dfmod check Dockerfile` never pays
for it.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from dfmod.syntax.document import DocumentError, TextDocument


class ComposeSyntaxError(DocumentError):
    """A YAML parser (and so Compose) would reject this file; `line` is 1-based."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


@dataclass(eq=False)
class Node:
    """One YAML node with its exact span `[start, end)` in the original text.

    `kind` is "map", "seq", "scalar" or "alias" (an `*x` reference, whose `value` is the
    anchor name). A block collection ends where its last child ends; a flow collection at
    its closing bracket. `style` is a scalar's quoting: None (plain), `'`, `"`, `|` or `>`.
    """

    kind: str
    start: int
    end: int
    flow: bool = False
    style: str | None = None
    value: str | None = None
    anchor: str | None = None
    tag: str | None = None
    children: list[Node] = field(default_factory=list)
    parent: Node | None = None

    @property
    def items(self) -> list[Node]:
        """A sequence's items."""
        return self.children if self.kind == "seq" else []

    @property
    def pairs(self) -> list[tuple[Node, Node]]:
        """A mapping's own (key, value) pairs, in file order (merge keys included as `<<`)."""
        if self.kind != "map":
            return []
        return list(zip(self.children[0::2], self.children[1::2], strict=True))

    def pair(self, name: str) -> tuple[Node, Node] | None:
        """The mapping's own pair whose scalar key is `name` (the last one, as YAML loaders do)."""
        found = None
        for key, value in self.pairs:
            if key.kind == "scalar" and key.value == name:
                found = (key, value)
        return found

    def get(self, name: str) -> Node | None:
        pair = self.pair(name)
        return pair[1] if pair else None

    @property
    def is_null(self) -> bool:
        return (self.kind == "scalar" and self.style is None and self.tag is None
                and self.value in ("", "~", "null", "Null", "NULL"))

    def inside_flow(self) -> bool:
        """Whether the node sits inside a flow collection (`[...]`/`{...}`)."""
        parent = self.parent
        while parent is not None:
            if parent.flow:
                return True
            parent = parent.parent
        return False


@dataclass(frozen=True)
class Service:
    """A service as written (`key`, `node`) and as Compose reads it (`data`, merges resolved)."""

    name: str
    document: int
    key: Node
    node: Node
    data: Any


@dataclass(frozen=True)
class Build:
    """A service's local build: the context directory and the Dockerfile (absolute or not,
    as the compose file's path is)."""

    service: str
    context: str
    dockerfile: str
    target: str | None = None  # `build.target`: the stage Compose builds and runs


def build_target(build: Any) -> str | None:
    """The stage a service's `build:` names with `target:`, if a plain name."""
    target = build.get("target") if hasattr(build, "get") else None
    return target if isinstance(target, str) and "$" not in target else None


def build_location(build: Any, base: str) -> tuple[str, str] | None:
    """(context, Dockerfile) of a service's `build:` value, paths resolved against `base`;
    None for no build, a remote context, `dockerfile_inline` or an interpolated path."""
    if isinstance(build, str):
        context, dockerfile = build, "Dockerfile"
    elif hasattr(build, "get"):
        if build.get("dockerfile_inline") is not None:
            return None
        context = build.get("context", ".")
        dockerfile = build.get("dockerfile", "Dockerfile")
    else:
        return None
    if not isinstance(context, str) or not isinstance(dockerfile, str):
        return None
    if "$" in context + dockerfile or re.match(r"^[a-z][a-z0-9+.-]*://|^git@", context):
        return None
    directory = os.path.normpath(os.path.join(base, os.path.expanduser(context)))
    return directory, os.path.normpath(os.path.join(directory, dockerfile))


def healthcheck_state(data: Any) -> str | None:
    """"defined" if a service's data has a healthcheck, "disabled", or None."""
    check = data.get("healthcheck") if hasattr(data, "get") else None
    if check is None:
        return None
    test = check.get("test") if hasattr(check, "get") else None
    disabled = (hasattr(check, "get") and check.get("disable") is True) or (
        test == "NONE" or (isinstance(test, list) and test[:1] == ["NONE"]))
    return "disabled" if disabled else "defined"


_NULL_NAMES = {"", "~", "null", "Null", "NULL"}


def _build(text: str) -> list[Node | None]:
    """The parser's events as a node tree per document (None for an empty document)."""
    from ruamel.yaml import YAML, events

    documents: list[Node | None] = []
    stack: list[Node] = []
    root: Node | None = None

    def add(node: Node) -> None:
        nonlocal root
        if stack:
            node.parent = stack[-1]
            stack[-1].children.append(node)
        else:
            root = node

    for event in YAML(typ="rt").parse(text):
        start, end = event.start_mark.index, event.end_mark.index
        if isinstance(event, events.DocumentStartEvent):
            root = None
        elif isinstance(event, events.DocumentEndEvent):
            documents.append(root)
        elif isinstance(event, events.ScalarEvent):
            add(Node("scalar", start, end, style=event.style, value=event.value,
                     anchor=event.anchor, tag=_tag(event.tag)))
        elif isinstance(event, events.AliasEvent):
            add(Node("alias", start, end, value=event.anchor))
        elif isinstance(event, (events.MappingStartEvent, events.SequenceStartEvent)):
            kind = "map" if isinstance(event, events.MappingStartEvent) else "seq"
            node = Node(kind, start, end, flow=bool(event.flow_style), anchor=event.anchor,
                        tag=_tag(event.tag))
            add(node)
            stack.append(node)
        elif isinstance(event, (events.MappingEndEvent, events.SequenceEndEvent)):
            node = stack.pop()
            if node.flow:
                node.end = end
            elif node.children:
                node.end = node.children[-1].end
    return documents


def _tag(tag: Any) -> str | None:
    if tag is None:
        return None
    return str(getattr(tag, "value", tag))


MAX_FLOW_DEPTH = 200


def _check_flow_depth(text: str) -> None:
    """Refuse `[`/`{` nested deeper than `MAX_FLOW_DEPTH`, before ruamel.yaml sees them.

    Its scanner's cost grows with the square of the nesting (5,000 levels: minutes), and
    its parser gives up at a few hundred anyway (Python's recursion limit); no compose file
    nests a tenth as deep. Brackets are counted without regard to quoting: it takes 200
    unclosed ones in a row to be refused.
    """
    depth = 0
    for match in _BRACKET.finditer(text):
        depth = depth + 1 if match.group() in "[{" else max(0, depth - 1)
        if depth > MAX_FLOW_DEPTH:
            raise ComposeSyntaxError(text.count("\n", 0, match.start()) + 1,
                                     f"flow collections nested deeper than {MAX_FLOW_DEPTH} levels")


_BRACKET = re.compile(r"[\[\]{}]")


def _load(text: str) -> tuple[list[Node | None], list[Any]]:
    """Events tree and round-trip data of every document; YAML errors become one line."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    _check_flow_depth(text)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. a re-defined anchor, which Compose accepts
            documents = _build(text)
            data = list(YAML(typ="rt").load_all(text))
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else 1
        message = (error.problem or error.context or "invalid YAML").splitlines()[0]
        raise ComposeSyntaxError(line, message) from None
    except YAMLError as error:
        position = getattr(error, "position", None)
        line = text.count("\n", 0, position) + 1 if isinstance(position, int) else 1
        raise ComposeSyntaxError(line, str(error).splitlines()[0]) from None
    except (ValueError, TypeError, RecursionError) as error:
        raise ComposeSyntaxError(1, f"cannot read YAML: {str(error).splitlines()[0]}") from None
    return documents, data


class ComposeFile(TextDocument):
    """A parsed compose file; `text` is never modified, edits are computed against it."""

    kind = "compose"

    def __init__(self, text: str, path: str = "compose.yaml") -> None:
        self.text = text
        self.path = path
        documents, self.data = _load(text)
        self.documents: list[Node | None] = []
        for root in documents:
            if root is None or (root.kind == "scalar" and root.is_null and root.anchor is None):
                self.documents.append(None)
            elif root.kind != "map":
                raise ComposeSyntaxError(self.position(root.start)[0],
                                         "a compose file must be a mapping at the top level")
            else:
                self.documents.append(root)

    # -- the Document protocol ------------------------------------------------------------

    @cached_property
    def line_starts(self) -> list[int]:
        """Line starts as YAML counts lines: `\\n`, `\\r\\n`, a lone `\\r`, NEL, LS and PS."""
        return [0] + [match.end() for match in _LINE_BREAK.finditer(self.text)]

    def problems(self) -> int:
        """Always 0: a file that no longer parses raises `ComposeSyntaxError` instead."""
        return 0

    def anchor(self, offset: int) -> int | None:
        """Where the key or list item a finding at `offset` is about starts (suppressions
        sit above it), or None outside every node (a comment).

        A value is anchored at its key, and anything inside a flow collection (`{…}`,
        `[…]`) at the key or item holding the outermost one: a comment line can only go
        where a line of block context begins. Inside a flow collection it could land in the
        middle of a multi-line quoted value of a neighbour; inside a block scalar it would
        be content.
        """
        node = self.node_at(offset)
        if node is None:
            return None
        ancestor: Node | None = node
        while ancestor is not None:
            if ancestor.flow:
                node = ancestor
            ancestor = ancestor.parent
        holder = node.parent
        if holder is not None and holder.kind == "map":
            index = next(index for index, child in enumerate(holder.children) if child is node)
            if index % 2:
                node = holder.children[index - 1]
        return node.start

    def anchor_text(self, offset: int) -> str | None:
        """The key (or list item) a finding at `offset` is anchored at (`anchor`), named by
        its path from the top (`services.db.environment[]`, list items without an index)
        and its value unless that is a block mapping or list, each run of whitespace one
        space: what a baseline matches, so moving a service or re-indenting keeps it, while
        changing the value (another image tag, another literal password) does not."""
        start = self.anchor(offset)
        node = None if start is None else self.node_at(start)
        if node is None:
            return None
        path: list[str] = []
        child, parent = node, node.parent
        while parent is not None:
            if parent.kind == "seq":
                path.append("[]")
            elif parent.kind == "map":
                index = next(index for index, item in enumerate(parent.children) if item is child)
                key = parent.children[index - index % 2]
                path.append(("." if parent.parent is not None else "") + self.raw(key))
            child, parent = parent, parent.parent
        name = "".join(reversed(path))
        value: Node | None = node  # a list item is its own value
        holder = node.parent
        if holder is not None and holder.kind == "map":
            index = next(index for index, item in enumerate(holder.children) if item is node)
            value = holder.children[index + 1]
        elif holder is None:
            value = None
        if value is None or (value.kind in ("map", "seq") and not value.flow):
            return name
        shown = value.value if value.kind == "scalar" else self.raw(value)  # quoting aside
        return " ".join(f"{name}: {shown}".split())

    def node_at(self, offset: int) -> Node | None:
        """The innermost node whose span holds `offset` (None: in no node)."""
        found = None
        candidates = [root for root in self.documents if root is not None]
        while candidates:
            node = next((node for node in candidates
                         if node.start <= offset < node.end or node.start == offset), None)
            if node is None:
                break
            found, candidates = node, node.children
        return found

    def builds(self) -> list[Build]:
        """What each service builds (`build.context` + `build.dockerfile`), files present or not.

        Paths are relative to the compose file's directory, as Compose resolves them;
        remote contexts (git URLs), `dockerfile_inline` and interpolated paths are skipped.
        """
        found: list[Build] = []
        for service in self.services():
            data = service.data.get("build") if hasattr(service.data, "get") else None
            location = build_location(data, os.path.dirname(self.path))
            if location is not None:
                found.append(Build(service.name, *location, build_target(data)))
        return found

    # -- what codemods read ---------------------------------------------------------------

    def services(self) -> Iterator[Service]:
        """Every service of every document, as written and as Compose reads it."""
        for index, root in enumerate(self.documents):
            services = root.get("services") if root is not None else None
            if services is None or services.kind != "map":
                continue
            try:
                datas = self.data[index]["services"]
            except (KeyError, TypeError, IndexError):
                continue
            for key, node in services.pairs:
                if key.kind == "scalar" and key.value is not None and key.value in datas:
                    yield Service(key.value, index, key, node, datas[key.value])

    def resolve(self, node: Node) -> Node:
        """The node an alias (`*x`) stands for: the last `&x` defined before it."""
        if node.kind != "alias":
            return node
        found = node
        for root in self.documents:
            for candidate in _walk(root):
                if candidate.anchor == node.value and candidate.start < node.start:
                    found = candidate
        return found

    def raw(self, node: Node) -> str:
        return self.text[node.start:node.end]

    def line_start(self, offset: int) -> int:
        """Offset of the start of the (YAML) line holding `offset`."""
        from bisect import bisect_right

        start = self.line_starts[bisect_right(self.line_starts, offset) - 1]
        return 1 if start == 0 and self.text.startswith("\ufeff") and offset > 0 else start

    def line_end(self, offset: int) -> int:
        """Offset just past the line break ending the line holding `offset` (or len(text))."""
        from bisect import bisect_right

        index = bisect_right(self.line_starts, offset)
        return self.line_starts[index] if index < len(self.line_starts) else len(self.text)

    def column(self, offset: int) -> int:
        """0-based column of an offset (characters since the start of its line)."""
        return offset - self.line_start(offset)

    def single_line(self, node: Node) -> bool:
        return _LINE_BREAK.search(self.text, node.start, node.end) is None

    def owns_line(self, node: Node) -> bool:
        """Whether only blanks precede the node on its line."""
        return self.text[self.line_start(node.start):node.start].strip(" \t") == ""

    def rest_of_line_is_comment(self, offset: int) -> bool:
        """Whether only blanks and an optional `# comment` follow `offset` on its line."""
        rest = _LINE_BREAK.sub("", self.text[offset:self.line_end(offset)])
        stripped = rest.lstrip(" \t")
        return stripped == "" or (stripped.startswith("#") and stripped != rest)

    def indent_unit(self, service: Service) -> int:
        """The file's indentation step, read from a service's own nesting (default 2)."""
        if service.node.kind == "map" and not service.node.flow and service.node.pairs:
            step = self.column(service.node.pairs[0][0].start) - self.column(service.key.start)
            if step > 0:
                return step
        return 2

    def scalar_inner(self, node: Node) -> tuple[int, int] | None:
        """The span of a one-line plain or quoted scalar's value, or None if not exact.

        Exact means the characters between the quotes are the value itself (no escapes,
        no folding), so an offset inside the value is an offset inside the text.
        """
        if node.kind != "scalar" or node.tag is not None or not self.single_line(node):
            return None
        raw = self.raw(node)
        if node.style is None:
            return (node.start, node.end) if raw == node.value else None
        if node.style in ("'", '"') and len(raw) >= 2 and raw[1:-1] == node.value:
            return node.start + 1, node.end - 1
        return None


def _walk(node: Node | None) -> Iterator[Node]:
    if node is not None:
        yield node
        for child in node.children:
            yield from _walk(child)


_LINE_BREAK = re.compile("\r\n|[\n\r\x85\u2028\u2029]")


def compose_of(ctx: Any) -> ComposeFile:
    """The compose document of a codemod `Context` (compose codemods only run on these)."""
    doc = ctx.doc
    if not isinstance(doc, ComposeFile):
        raise TypeError(f"expected a compose file, got {type(doc).__name__}")
    return doc
