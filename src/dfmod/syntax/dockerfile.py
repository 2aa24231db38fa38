"""A lossless Dockerfile document: BuildKit's instruction layer, with exact spans.

The lexer follows BuildKit's `frontend/dockerfile/parser` step by step (parser directives,
the escape token, continuation lines with trailing whitespace, comment and empty lines
inside continuations, heredocs after the instruction line) so that dfmod reads a file the
way `docker build` does. It never re-prints anything: the document keeps the original text
and every instruction, flag, heredoc and word knows its span in it. Tests check the lexer
against BuildKit's own parser (the `dockerfile` package) on every file in the suite.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cached_property

from dfmod.syntax.document import DocumentError, TextDocument
from dfmod.syntax.records import Record
from dfmod.syntax.shell import ShellScript, is_posix_shell, parse_shell
from dfmod.syntax.text import MappedText, Span, is_number, line_starts

TYPE_CHECKING = False  # not typing's: importing typing costs ~7 ms (tests/test_startup.py)
if TYPE_CHECKING:
    from typing import Any, TypeVar

    State = TypeVar("State")

# Go's unicode.IsSpace, which BuildKit uses to trim lines.
_GO_SPACE = ("\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
             "\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
# Patterns are strings, compiled on first use (`re` caches them): a file without directives,
# continuations or heredocs compiles none.
_DIRECTIVE = r"#[\t\n\f\r ]*([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=[\t\n\f\r ]*(.+?)[\t\n\f\r ]*$"
_KNOWN_DIRECTIVES = frozenset({"syntax", "escape", "check"})
_HEREDOC_WORD = r"^(\d*)<<(-?)([^<]*)$"
_HEREDOC_INSTRUCTIONS = frozenset({"RUN", "COPY", "ADD"})
_JSON_INSTRUCTIONS = frozenset({"RUN", "CMD", "ENTRYPOINT", "SHELL", "COPY", "ADD", "VOLUME"})


class DockerfileSyntaxError(DocumentError):
    """BuildKit would reject this file; `line` is 1-based."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


class Directive(Record):
    __slots__ = ("name", "value", "span")

    def __init__(self, name: str, value: str, span: Span) -> None:
        self.name = name
        self.value = value
        self.span = span  # the whole comment line, without its newline


class Comment(Record):
    __slots__ = ("text", "span", "line", "inside_instruction")

    def __init__(self, text: str, span: Span, line: int, inside_instruction: bool) -> None:
        self.text = text  # without the leading '#', stripped
        self.span = span  # from '#' to the end of the line, without its newline
        self.line = line
        self.inside_instruction = inside_instruction


class Word(Record):
    """A word of Dockerfile syntax (not shell): raw text, unquoted value and span."""

    __slots__ = ("raw", "value", "span")

    def __init__(self, raw: str, value: str, span: Span) -> None:
        self.raw = raw
        self.value = value
        self.span = span


class Flag(Record):
    """An instruction flag such as `--mount=type=cache,target=/root/.cache/pip`."""

    __slots__ = ("name", "value", "span", "value_span")

    def __init__(self, name: str, value: str | None, span: Span, value_span: Span | None) -> None:
        self.name = name
        self.value = value
        self.span = span
        self.value_span = value_span


class MountField(Record):
    __slots__ = ("key", "value", "span")

    def __init__(self, key: str, value: str, span: Span) -> None:
        self.key = key
        self.value = value
        self.span = span  # `key=value`


class Mount(Record):
    """A parsed `--mount` flag; `fields` keep their order and spans for precise edits."""

    __slots__ = ("flag", "fields")

    def __init__(self, flag: Flag, fields: tuple[MountField, ...]) -> None:
        self.flag = flag
        self.fields = fields

    def get(self, *keys: str) -> MountField | None:
        for item in self.fields:
            if item.key in keys:
                return item
        return None

    @property
    def type(self) -> str:
        item = self.get("type")
        return item.value if item else "bind"

    @property
    def target(self) -> str | None:
        item = self.get("target", "dst", "destination")
        return item.value if item else None


class Heredoc(Record):
    __slots__ = ("name", "chomp", "expand", "fd", "word_span", "body", "terminator")

    def __init__(self, name: str, chomp: bool, expand: bool, fd: int | None,
                 word_span: Span, body: Span, terminator: Span) -> None:
        self.name = name
        self.chomp = chomp  # `<<-` strips leading tabs
        self.expand = expand  # unquoted terminator: the body is expanded
        self.fd = fd
        self.word_span = word_span  # the `<<EOF` word in the instruction line
        self.body = body  # the lines between the instruction line and the terminator
        self.terminator = terminator  # the terminator line, without its newline


class Instruction:
    """One instruction with everything an edit needs to stay exact."""

    def __init__(self, index: int, keyword: str, keyword_span: Span, span: Span,
                 start_line: int, end_line: int, logical: MappedText, args: MappedText,
                 flags: tuple[Flag, ...], heredocs: tuple[Heredoc, ...],
                 open_continuation: bool = False, stage: Stage | None = None) -> None:
        self.index = index
        self.keyword = keyword  # upper case
        self.keyword_span = keyword_span
        self.span = span  # keyword .. end of the last line (heredoc terminator included), no newline
        self.start_line = start_line
        self.end_line = end_line
        self.logical = logical  # the joined instruction line as BuildKit sees it
        self.args = args  # after the keyword and its flags
        self.flags = flags
        self.heredocs = heredocs
        # The file ended while the last line still asked for a continuation (`RUN a \` at
        # the end): a line added after this instruction would become part of it.
        self.open_continuation = open_continuation
        self.stage = stage

    @cached_property
    def json_args(self) -> list[str] | None:
        """The exec-form arguments, or None in shell form."""
        if self.keyword not in _JSON_INSTRUCTIONS:
            return None
        return _json_array(self.args.text)

    @cached_property
    def mounts(self) -> tuple[Mount, ...]:
        return tuple(_parse_mount(flag) for flag in self.flags if flag.name == "mount")

    def flag(self, name: str) -> Flag | None:
        for item in self.flags:
            if item.name == name:
                return item
        return None

    @cached_property
    def words(self) -> tuple[Word, ...]:
        """The arguments split as BuildKit splits them (quotes removed in `value`)."""
        try:
            return tuple(_split_words(self.args))
        except _UnterminatedQuote:
            return ()

    @property
    def arg_text(self) -> str:
        return self.args.text.strip(_GO_SPACE)


class Stage:
    def __init__(self, index: int, name: str | None, base: str, from_instruction: Instruction,
                 instructions: list[Instruction] | None = None) -> None:
        self.index = index
        self.name = name
        self.base = base
        self.from_instruction = from_instruction
        self.instructions = [] if instructions is None else instructions


class EnvPair(Record):
    __slots__ = ("name", "value", "name_span", "value_span")

    def __init__(self, name: str, value: str, name_span: Span, value_span: Span) -> None:
        self.name = name
        self.value = value  # unquoted
        self.name_span = name_span
        self.value_span = value_span  # raw value text, quotes included


class Dockerfile(TextDocument):
    """A parsed Dockerfile; `text` is never modified, edits are computed against it."""

    kind = "dockerfile"

    def __init__(self, text: str, path: str = "Dockerfile") -> None:
        self.text = text
        self.path = path
        self.directives: list[Directive] = []
        self.comments: list[Comment] = []
        self.instructions: list[Instruction] = []
        self.escape = "\\"
        _Lexer(self).run()
        self.stages = _build_stages(self.instructions)
        self._folds: dict[Callable[..., Any], list[Any]] = {}

    @cached_property
    def line_starts(self) -> list[int]:
        return line_starts(self.text)

    @cached_property
    def _instruction_starts(self) -> list[int]:
        return [instruction.span.start for instruction in self.instructions]

    def read_text(self, instruction: Instruction) -> str:
        """`instruction` as BuildKit reads it: its line with continuations joined (comment
        lines in them dropped), then each heredoc body on the lines after it."""
        return "\n".join([instruction.logical.text, *(self.text[heredoc.body.start:heredoc.body.end]
                                                       for heredoc in instruction.heredocs)])

    @cached_property
    def searchable(self) -> str:
        """Every instruction as BuildKit reads it (`read_text`), one after the other: a
        string split by a line continuation (`pi\\` then `p install`) is whole here, as the
        shell sees it."""
        return "\n".join(self.read_text(instruction) for instruction in self.instructions)

    def instruction_at(self, offset: int) -> Instruction | None:
        """The instruction holding `offset`, heredocs included (None: between instructions)."""
        from bisect import bisect_right  # a clean file never asks: bisect loads a C module

        index = bisect_right(self._instruction_starts, offset) - 1
        if index >= 0 and offset <= self.instructions[index].span.end:
            return self.instructions[index]
        return None

    def anchor(self, offset: int) -> int | None:
        """Where the instruction holding `offset` starts (suppressions sit above it)."""
        instruction = self.instruction_at(offset)
        return None if instruction is None else instruction.span.start

    def anchor_text(self, offset: int) -> str | None:
        """The instruction holding `offset` as BuildKit reads it (continuations joined,
        comment lines in them dropped, heredoc bodies included), each run of whitespace one
        space: what a baseline matches, so a moved or re-indented instruction is the same one."""
        instruction = self.instruction_at(offset)
        if instruction is None:
            return None
        return " ".join(self.read_text(instruction).split())

    def problems(self) -> int:
        """How many RUN shells fail to parse (a fix must never add one)."""
        return sum(script.has_error for instruction in self.instructions
                   for script in run_scripts(self, instruction))

    def parent(self, stage: Stage) -> Stage | None:
        """The earlier stage `stage` is built `FROM` (None: it starts from an image)."""
        parent = self.stage_named(stage.base)
        return parent if parent is not None and parent.index < stage.index else None

    def lineage(self, stage: Stage) -> list[Stage]:
        """The stage and the earlier stages it is built `FROM`, oldest first."""
        chain = [stage]
        parent = self.parent(stage)
        while parent is not None:
            chain.append(parent)
            parent = self.parent(parent)
        return chain[::-1]

    def root(self, stage: Stage) -> Stage:
        """The first stage of `stage`'s lineage: the one built `FROM` an image."""
        return self.lineage(stage)[0]

    def instructions_before(self, instruction: Instruction) -> list[Instruction]:
        """The instructions whose effect (ENV, USER, WORKDIR, SHELL…) reaches `instruction`:
        those before it in its stage and, first, those of the stages it is built FROM.

        A new list, as long as that history: to know what is in force at every
        instruction, `fold` instead.
        """
        if instruction.stage is None:
            return []
        stage = instruction.stage
        inherited = [item for parent in self.lineage(stage)[:-1] for item in parent.instructions]
        return inherited + stage.instructions[:instruction.index - stage.from_instruction.index]

    def fold(self, step: Callable[[Dockerfile, State, Instruction], State],
             initial: State) -> list[State]:
        """What is in force before each instruction (by `instruction.index`): `step` applied
        over `instructions_before` it, computed in one pass over the file and kept.

        This is what keeps the cost linear: a stage built `FROM` an earlier one starts from
        the state that stage ended in, any other from `initial`, and each instruction costs
        one `step`, however long the history before it. `step` must not change the state it
        is given (return a new one, or the same when nothing changes); `step` itself is the
        cache key, so it must be one function (a module-level one), not a new closure.
        """
        cached = self._folds.get(step)
        if cached is not None:
            return cached
        before: list[State] = [initial] * len(self.instructions)
        ends: list[State] = []
        for stage in self.stages:
            parent = self.parent(stage)
            state = initial if parent is None else ends[parent.index]
            for instruction in stage.instructions:
                before[instruction.index] = state
                state = step(self, state, instruction)
            ends.append(state)
        self._folds[step] = before
        return before

    def directive(self, name: str) -> Directive | None:
        for item in self.directives:
            if item.name == name:
                return item
        return None

    @property
    def final_stage(self) -> Stage | None:
        return self.stages[-1] if self.stages else None

    @cached_property
    def _stages_by_name(self) -> dict[str, Stage]:
        named: dict[str, Stage] = {}
        for stage in self.stages:
            if stage.name is not None:
                named.setdefault(stage.name.lower(), stage)
        return named

    def stage_named(self, name: str) -> Stage | None:
        """The first stage named `name` (case-insensitive), else stage number `name`."""
        stage = self._stages_by_name.get(name.lower())
        if stage is None and is_number(name) and int(name) < len(self.stages):
            stage = self.stages[int(name)]
        return stage


class _Lexer:
    """BuildKit's `parser.Parse`, re-done over offsets instead of byte slices."""

    def __init__(self, doc: Dockerfile) -> None:
        self.doc = doc
        self.text = doc.text
        self.starts = line_starts(doc.text)
        if self.starts[-1] == len(doc.text) and len(self.starts) > 1:
            self.starts.pop()  # a final newline does not open another line
        self.directives_done = False
        self.continuation = self._continuation_pattern("\\")

    @staticmethod
    def _continuation_pattern(escape: str) -> str:
        e = re.escape(escape)
        return rf"([^{e}]){e}[ \t]*$|^{e}[ \t]*$"

    def _line(self, number: int) -> tuple[int, int, int]:
        """(start, content end without trailing CR/LF, end with newline) of a 0-based line."""
        start = self.starts[number]
        end = self.starts[number + 1] if number + 1 < len(self.starts) else len(self.text)
        content_end = end
        while content_end > start and self.text[content_end - 1] in "\r\n":
            content_end -= 1
        return start, content_end, end

    def _directive(self, number: int, start: int, end: int) -> bool:
        if self.directives_done:
            return False
        content = self.text[start:end]
        match = re.match(_DIRECTIVE, content) if content.startswith("#") else None
        if not match or match.group(1).lower() not in _KNOWN_DIRECTIVES:
            self.directives_done = True
            return False
        name = match.group(1).lower()
        if self.doc.directive(name):
            raise DockerfileSyntaxError(number + 1, f"only one {name} parser directive can be used")
        value = match.group(2)
        if name == "escape":
            if value not in ("\\", "`"):
                raise DockerfileSyntaxError(
                    number + 1, f"invalid escape token '{value}' does not match ` or \\"
                )
            self.doc.escape = value
            self.continuation = self._continuation_pattern(value)
        self.doc.directives.append(Directive(name, value, Span(start, end)))
        return True

    def _trim_continuation(self, content: str) -> tuple[int, bool]:
        """Length of `content` to keep, and whether the line continues."""
        if not content.rstrip(" \t").endswith(self.doc.escape):
            return len(content), False  # what the pattern needs first; most lines lack it
        match = re.search(self.continuation, content)
        if not match:
            return len(content), False
        return match.start() + (1 if match.group(1) else 0), True

    def run(self) -> None:
        total = len(self.starts) if self.text else 0
        number = 0
        while number < total:
            start, content_end, _ = self._line(number)
            if number == 0 and self.text.startswith("\ufeff"):
                start += 1
            stripped_start = start
            while stripped_start < content_end and self.text[stripped_start] in _GO_SPACE:
                stripped_start += 1
            is_directive = self._directive(number, stripped_start, content_end)
            if stripped_start < content_end and self.text[stripped_start] == "#":
                if not is_directive:
                    self._comment(number, stripped_start, content_end, inside=False)
                number += 1
                continue
            first = self.text[stripped_start:content_end]
            keep, continues = self._trim_continuation(first)
            if not continues and keep == 0:
                number += 1
                continue
            first_line = number
            offsets: list[int] | None = None  # None: one unbroken run (MappedText)
            parts = [first[:keep]]
            last_content_end = content_end
            while continues and number + 1 < total:
                number += 1
                line_start, line_content_end, _ = self._line(number)
                content = self.text[line_start:line_content_end]
                lead = len(content) - len(content.lstrip(_GO_SPACE))
                if content[lead:lead + 1] == "#":
                    self._comment(number, line_start + lead, line_content_end, inside=True)
                    last_content_end = line_content_end
                    continue
                last_content_end = line_content_end
                if lead == len(content):
                    continue
                keep, continues = self._trim_continuation(content)
                if offsets is None:
                    offsets = list(range(stripped_start, stripped_start + len(parts[0])))
                parts.append(content[:keep])
                offsets.extend(range(line_start, line_start + keep))
            logical = MappedText("".join(parts), offsets, stripped_start)
            number = self._instruction(first_line, number, logical, last_content_end, continues)
            number += 1
        if not self.doc.instructions:
            raise DockerfileSyntaxError(max(total, 1), "file with no instructions")

    def _comment(self, number: int, start: int, end: int, inside: bool) -> None:
        body = self.text[start + 1:end].strip()
        self.doc.comments.append(Comment(body, Span(start, end), number + 1, inside))

    def _instruction(self, first_line: int, last_line: int, logical: MappedText,
                     content_end: int, open_continuation: bool) -> int:
        line = logical.text
        stripped = line.strip(_GO_SPACE)
        lead = len(line) - len(line.lstrip(_GO_SPACE))
        keyword = _first_word(stripped)
        keyword_span = logical.span(lead, lead + len(keyword))
        rest_start = lead + len(keyword)
        while rest_start < len(line) and line[rest_start] in "\t\v\f\r ":
            rest_start += 1
        flags, args_start = _extract_flags(logical, rest_start)
        args = logical.slice(args_start)
        upper = keyword.upper()
        heredocs: list[Heredoc] = []
        inner = upper
        if upper == "ONBUILD":
            inner = _first_word(args.text.strip(_GO_SPACE)).upper()
        end = content_end
        if inner in _HEREDOC_INSTRUCTIONS and "<<" in line and not _is_json(args.text):
            try:
                words = _split_words(logical)
            except _UnterminatedQuote:
                words = []  # BuildKit ignores the lexer's error: no heredocs on this line
            for word in words:
                found = _heredoc_word(word)
                if found is None:
                    continue
                name, chomp, expand, fd = found
                body_start = self._line(last_line + 1)[0] if last_line + 1 < len(self.starts) else len(self.text)
                terminated = False
                while last_line + 1 < len(self.starts):
                    last_line += 1
                    start, content_end_, _ = self._line(last_line)
                    candidate = self.text[start:content_end_]
                    if chomp:
                        candidate = candidate.lstrip("\t")
                    if candidate == name:
                        terminated = True
                        heredocs.append(Heredoc(
                            name, chomp, expand, fd, word.span,
                            Span(body_start, start), Span(start, content_end_),
                        ))
                        end = content_end_
                        break
                if not terminated:
                    raise DockerfileSyntaxError(first_line + 1, "unterminated heredoc")
        self.doc.instructions.append(Instruction(
            index=len(self.doc.instructions),
            keyword=upper,
            keyword_span=keyword_span,
            span=Span(keyword_span.start, end),
            start_line=first_line + 1,
            end_line=last_line + 1,
            logical=logical,
            args=args,
            flags=tuple(flags),
            heredocs=tuple(heredocs),
            open_continuation=open_continuation,
        ))
        return last_line


def _json_array(args: str) -> list[str] | None:
    """BuildKit's `parseJSON`: the first JSON value (trailing text is ignored, as Go's
    `json.Decoder.Decode` does) if it is an array of strings.

    Read here rather than by `json` (whose import is about 3 ms of a check's start-up): an
    array of anything but strings is no exec form, so only strings need decoding (`_json_string`)."""
    text = args.lstrip(_GO_SPACE)
    if not text.startswith("["):
        return None
    values: list[str] = []
    index = _json_space(text, 1)
    if text.startswith("]", index):
        return values
    while text.startswith('"', index):
        try:
            value, index = _json_string(text, index + 1)
        except ValueError:  # not JSON: an unterminated string, a control character…
            return None
        values.append(value)
        index = _json_space(text, index)
        if text.startswith("]", index):
            return values
        if not text.startswith(",", index):
            return None
        index = _json_space(text, index + 1)
    return None  # not a string: a number, an object, `]` after a comma, the end


def _json_string(text: str, start: int) -> tuple[str, int]:
    """The JSON string whose opening quote is before `start`, and the index after its
    closing one; `ValueError` if it is not one. A string without a backslash is its text
    (`"python"`); one with escapes is read by the json module's own string scanner, in
    strict mode (its compiled module is loaded only then)."""
    end = text.find('"', start)
    value = text[start:end]
    if end >= 0 and "\\" not in value and (not value or min(value) >= " "):
        return value, end + 1
    try:
        from _json import scanstring
    except ImportError:  # pragma: no cover (an interpreter without CPython's accelerator)
        from json.decoder import scanstring
    return scanstring(text, start, True)  # type: ignore[no-any-return]


def _json_space(text: str, index: int) -> int:
    """The index of the first character at or after `index` that is not JSON whitespace."""
    while index < len(text) and text[index] in " \t\n\r":
        index += 1
    return index


def exec_form(words: list[str]) -> str:
    """The exec form (`["python", "-c", "..."]`) of `words`, as JSON writes it."""
    import json

    return json.dumps(words)


def _first_word(text: str) -> str:
    """`text` up to its first space, tab, vertical tab, form feed or carriage return (where
    BuildKit splits an instruction's keyword from its arguments)."""
    ends = [index for index in map(text.find, "\t\v\f\r ") if index >= 0]
    return text[:min(ends)] if ends else text


def _is_json(args: str) -> bool:
    return _json_array(args) is not None


def _heredoc_word(word: Word) -> tuple[str, bool, bool, int | None] | None:
    match = re.match(_HEREDOC_WORD, word.raw)
    if not match or not match.group(3):
        return None
    rest = match.group(3)
    unquoted = _split_plain(rest)
    if len(unquoted) != 1:
        return None
    name = unquoted[0]
    quotes_raw = rest.count("'") + rest.count('"')
    quotes_value = name.count("'") + name.count('"')
    fd = int(match.group(1)) if match.group(1) else None
    return name, match.group(2) == "-", quotes_raw == quotes_value, fd


def _split_plain(text: str) -> list[str]:
    try:
        return [word.value for word in _split_words(MappedText(text, None, 0))]
    except _UnterminatedQuote:
        return []


class _UnterminatedQuote(Exception):
    """A quote opened and never closed: BuildKit's word lexer fails on the line."""


def _split_words(text: MappedText) -> list[Word]:
    """Split like BuildKit's shell lexer: whitespace outside quotes, backslash escapes.

    `value` has quotes and escapes removed; `raw` keeps the original characters. An
    unterminated quote raises `_UnterminatedQuote`.
    """
    source = text.text
    words: list[Word] = []
    index = 0
    length = len(source)
    while index < length:
        while index < length and source[index] in " \t\r\n":
            index += 1
        if index >= length:
            break
        start = index
        value: list[str] = []
        quote = ""
        while index < length:
            char = source[index]
            if quote == "'":
                if char == "'":
                    quote = ""
                else:
                    value.append(char)
            elif quote == '"':
                if char == '"':
                    quote = ""
                elif char == "\\" and index + 1 < length and source[index + 1] in '"\\$`':
                    index += 1
                    value.append(source[index])
                else:
                    value.append(char)
            elif char in " \t\r\n":
                break
            elif char in "'\"":
                quote = char
            elif char == "\\" and index + 1 < length:
                index += 1
                value.append(source[index])
            else:
                value.append(char)
            index += 1
        if quote:
            raise _UnterminatedQuote
        words.append(Word(source[start:index], "".join(value), text.span(start, index)))
    return words


def _extract_flags(logical: MappedText, start: int) -> tuple[list[Flag], int]:
    """BuildKit's `extractBuilderFlags`: leading `--name[=value]` words; `--` ends them."""
    line = logical.text
    flags: list[Flag] = []
    position = start
    length = len(line)
    while True:
        while position < length and line[position] in _GO_SPACE:
            position += 1
        if position + 1 >= length or line[position] != "-" or line[position + 1] != "-":
            return flags, position
        word_start = position
        value_chars: list[str] = []
        quote = ""
        while position < length:
            char = line[position]
            if quote:
                if char == quote:
                    quote = ""
                elif char == "\\" and position + 1 < length:
                    position += 1
                    value_chars.append(line[position])
                else:
                    value_chars.append(char)
            elif char in _GO_SPACE:
                break
            elif char in "'\"":
                quote = char
            elif char == "\\":
                if position + 1 < length:
                    position += 1
                    value_chars.append(line[position])
            else:
                value_chars.append(char)
            position += 1
        word = "".join(value_chars)
        if word == "--":
            return flags, position
        body = word[2:]
        name, equals, value = body.partition("=")
        raw = line[word_start:position]
        value_span = None
        if equals:
            value_offset = raw.find("=") + 1
            value_span = logical.span(word_start + value_offset, position)
        flags.append(Flag(name, value if equals else None, logical.span(word_start, position), value_span))


def _parse_mount(flag: Flag) -> Mount:
    """Split `--mount` fields (`key=value`, comma separated) keeping each field's span.

    Field spans are exact when the flag's value has no quotes or continuations inside,
    which is how mounts are written in practice; otherwise fields carry the value span.
    """
    value = flag.value or ""
    fields: list[MountField] = []
    exact = flag.value_span is not None and len(flag.value_span) == len(value)
    offset = 0
    for part in value.split(","):
        key, _, item = part.partition("=")
        if exact and flag.value_span is not None:
            start = flag.value_span.start + offset
            span = Span(start, start + len(part))
        else:
            span = flag.value_span or flag.span
        fields.append(MountField(key.strip().lower(), item.strip(), span))
        offset += len(part) + 1
    return Mount(flag, tuple(fields))


def env_pairs(instruction: Instruction) -> list[EnvPair]:
    """`ENV`/`ARG` assignments with spans: `ENV A=1 B="x y"` and legacy `ENV A 1`."""
    words = instruction.words
    if not words:
        return []
    pairs: list[EnvPair] = []
    if instruction.keyword == "ENV" and "=" not in words[0].raw:
        name = words[0]
        rest = instruction.args.text
        value_start = rest.find(name.raw) + len(name.raw)
        while value_start < len(rest) and rest[value_start] in _GO_SPACE:
            value_start += 1
        value_end = len(rest.rstrip(_GO_SPACE))
        raw_value = rest[value_start:value_end]
        pairs.append(EnvPair(
            name.value, raw_value, name.span, instruction.args.span(value_start, value_end)
        ))
        return pairs
    for word in words:
        name, equals, _ = word.raw.partition("=")
        if not equals:
            if instruction.keyword == "ARG":
                pairs.append(EnvPair(name, "", word.span, Span(word.span.end, word.span.end)))
            continue
        value = word.value.partition("=")[2]
        value_span = Span(word.span.start + len(name) + 1, word.span.end)
        pairs.append(EnvPair(name, value, Span(word.span.start, word.span.start + len(name)), value_span))
    return pairs


def _build_stages(instructions: list[Instruction]) -> list[Stage]:
    stages: list[Stage] = []
    for instruction in instructions:
        if instruction.keyword == "FROM":
            words = [word.value for word in instruction.words]
            name = words[2] if len(words) >= 3 and words[1].lower() == "as" else None
            stages.append(Stage(len(stages), name, words[0] if words else "", instruction))
        if stages:
            instruction.stage = stages[-1]
            stages[-1].instructions.append(instruction)
    return stages


def run_scripts(doc: Dockerfile, instruction: Instruction) -> list[ShellScript]:
    """The shell programs a `RUN` executes (parsed once per instruction; see `_run_scripts`)."""
    cached: list[ShellScript] | None = instruction.__dict__.get("_scripts")
    if cached is None:
        cached = _run_scripts(doc, instruction)
        instruction.__dict__["_scripts"] = cached
    return cached


def readable_scripts(doc: Dockerfile, instruction: Instruction) -> list[ShellScript]:
    """The scripts of `run_scripts` that parse fully.

    A script tree-sitter cannot fully parse is left out: nothing reasons about, let alone
    edits, shell it cannot read. (Kept per instruction: every codemod asks.)
    """
    cached: list[ShellScript] | None = instruction.__dict__.get("_readable")
    if cached is None:
        cached = [script for script in run_scripts(doc, instruction) if not script.has_error]
        instruction.__dict__["_readable"] = cached
    return cached


def _run_scripts(doc: Dockerfile, instruction: Instruction) -> list[ShellScript]:
    """The shell programs a `RUN` executes, as BuildKit's `dispatchRun` builds them.

    - shell form: the instruction's joined command line;
    - `RUN <<EOF` (the heredoc alone): the heredoc body is the script, unless it starts
      with `#!` naming a non-POSIX interpreter;
    - `RUN cmd <<EOF …`: the command line plus the heredoc, exactly as the shell reads it.
    Exec form and stages whose `SHELL` is not a POSIX shell have no script.
    """
    if instruction.keyword != "RUN" or instruction.json_args is not None:
        return []
    if not is_posix_shell(stage_shell(doc, instruction)):
        return []
    command = instruction.args
    if not instruction.heredocs:
        return [parse_shell(command)]
    first = instruction.heredocs[0]
    # The command line is the heredoc word alone (`<<EOF`, even written `<\` newline `<EOF`:
    # BuildKit reads the joined line): BuildKit runs the body itself.
    if len(instruction.heredocs) == 1 and len(command.text.split()) == 1:
        body = doc.text[first.body.start:first.body.end]
        if body.startswith("#!"):
            interpreter = body[2:body.find("\n")].strip().split()
            names = [part.rsplit("/", 1)[-1] for part in interpreter[:2]]
            if not any(is_posix_shell([name]) for name in names):
                return []
        return [parse_shell(MappedText.verbatim(doc.text, first.body.start, first.body.end), True)]
    last = instruction.heredocs[-1]
    line_end = command.offset(len(command.text))
    tail = MappedText.verbatim(doc.text, line_end, last.terminator.end)
    return [parse_shell(command + tail)]


def stage_shell(doc: Dockerfile, instruction: Instruction) -> list[str] | None:
    """The `SHELL` in force for an instruction (None: the default `/bin/sh -c`).

    `SHELL` is part of the image config, so a stage built `FROM` an earlier stage keeps
    that stage's `SHELL`.
    """
    return doc.fold(_shell_step, None)[instruction.index]


def _shell_step(_doc: Dockerfile, shell: list[str] | None,
                instruction: Instruction) -> list[str] | None:
    return instruction.json_args if instruction.keyword == "SHELL" else shell
