"""Reading `find` commands, `rm` commands and chain layout the way the cleanup codemods need.

Image-slimming `RUN`s are mostly `find DIR -type d -name X -exec rm -rf {} +` and
`rm -rf DIR/*.x` lines chained with `&&`. Several codemods ask the same questions about
them — which paths does find start from, which `-name`/`-path` patterns select, which
actions (`-delete`, `-exec rm -rf {} +`) run, is a directory removed recursively — so the
parsing lives here once. Words whose value depends on run-time expansion (`$DIR`) keep
`value` None; callers decide what to do with them.

`tolerated_by` recognises a command that is followed by `|| true` (`find … 2>/dev/null ||
true`): such a pair is one unit when it is removed from a chain (see
`dfmod.linting.edits.remove_elements`).
"""

from __future__ import annotations

from dfmod.syntax.shell import Chain, Command, Element, ShellWord

# find's global options, which come before the starting points.
_GLOBAL_OPTIONS = {"-H", "-L", "-P"}
_GLOBAL_WITH_ARG = {"-D"}
# Expression primaries that take one argument (so the argument is not a primary itself).
_WITH_ARG = {
    "-name", "-iname", "-path", "-ipath", "-wholename", "-iwholename", "-regex", "-iregex",
    "-lname", "-ilname", "-type", "-xtype", "-maxdepth", "-mindepth", "-user", "-group",
    "-uid", "-gid", "-perm", "-size", "-mtime", "-mmin", "-atime", "-amin", "-ctime",
    "-cmin", "-newer", "-anewer", "-cnewer", "-inum", "-links", "-samefile", "-used",
    "-fstype", "-regextype", "-context", "-printf", "-fprint", "-fprint0", "-files0-from",
}
_EXEC = {"-exec", "-execdir", "-ok", "-okdir"}
_ALTERNATION = {"-o", "-or", ","}
_TOLERANCE = {"true", ":"}


class FindAction:
    """An action of a find expression: `-delete`, or `-exec CMD… {} +` / `;`."""

    __slots__ = ("word", "argv", "terminator")

    def __init__(self, word: ShellWord, argv: list[ShellWord], terminator: ShellWord | None) -> None:
        self.word = word  # the `-exec` / `-execdir` / `-ok` / `-okdir` / `-delete` word
        self.argv = argv  # the command run by -exec (empty for -delete)
        self.terminator = terminator  # `+` or `;` (None if missing)

    @property
    def batched(self) -> bool:
        """`+`: the command runs on many paths at once (`-execdir`: per directory)."""
        return self.terminator is not None and self.terminator.value == "+"


class FindCommand:
    """A `find` command split into starting points and expression words."""

    __slots__ = ("command", "paths", "expression", "actions")

    def __init__(self, command: Command, paths: list[ShellWord], expression: list[ShellWord],
                 actions: list[FindAction]) -> None:
        self.command = command
        self.paths = paths
        self.expression = expression
        self.actions = actions

    def has(self, *primaries: str) -> bool:
        """Whether the expression uses one of `primaries` as a primary (not as an argument)."""
        return any(word.value in primaries for word in self.primaries())

    def primaries(self) -> list[ShellWord]:
        """Expression words that are primaries or operators, skipping their arguments."""
        out: list[ShellWord] = []
        skip = False
        inside_exec = False
        for word in self.expression:
            if inside_exec:
                if word.value in (";", "+"):
                    inside_exec = False
                continue
            if skip:
                skip = False
                continue
            out.append(word)
            if word.value in _WITH_ARG:
                skip = True
            elif word.value in _EXEC:
                inside_exec = True
        return out

    def arguments(self, *primaries: str) -> list[tuple[str, ShellWord]]:
        """`(primary, argument)` for every use of one of `primaries`, e.g. `-name` patterns."""
        out: list[tuple[str, ShellWord]] = []
        words = self.expression
        for index, word in enumerate(words[:-1]):
            if word.value in primaries and word in self.primaries():
                out.append((word.value or "", words[index + 1]))
        return out

    @property
    def has_alternation(self) -> bool:
        """`-o` / `-or` / `,` make the expression select by more than one rule."""
        return self.has(*_ALTERNATION)

    def type_letters(self) -> str | None:
        """The letters of `-type` (e.g. "d", "f", "df"), or None if there is no `-type`."""
        found = self.arguments("-type")
        if not found:
            return None
        return "".join((word.value or "dfl").replace(",", "") for _, word in found)


def basename(word: str | None) -> str:
    return (word or "").rsplit("/", 1)[-1]


def parse_find(command: Command) -> FindCommand | None:
    """The command as a `find` invocation, or None if it is not one (or cannot be read)."""
    return command.memo("find", _parse_find)  # type: ignore[no-any-return]


def _parse_find(command: Command) -> FindCommand | None:
    words = command.words
    if not words or basename(words[0].value) != "find":
        return None
    index = 1
    while index < len(words):
        value = words[index].value
        if value in _GLOBAL_OPTIONS or (value or "").startswith("-O"):
            index += 1
        elif value in _GLOBAL_WITH_ARG:
            index += 2
        else:
            break
    paths: list[ShellWord] = []
    while index < len(words):
        value = words[index].value
        if value is not None and (value.startswith("-") or value in ("(", "!", ")")):
            break
        paths.append(words[index])
        index += 1
    expression = words[index:]
    actions: list[FindAction] = []
    position = 0
    while position < len(expression):
        word = expression[position]
        if word.value == "-delete":
            actions.append(FindAction(word, [], None))
        elif word.value in _EXEC:
            argv: list[ShellWord] = []
            terminator: ShellWord | None = None
            position += 1
            while position < len(expression):
                item = expression[position]
                if item.value == ";" or (item.value == "+" and argv and argv[-1].value == "{}"):
                    terminator = item
                    break
                argv.append(item)
                position += 1
            actions.append(FindAction(word, argv, terminator))
        elif word.value in _WITH_ARG:
            position += 1
        position += 1
    return FindCommand(command, paths, expression, actions)


def is_recursive_rm(argv: list[ShellWord]) -> bool:
    """`rm -rf …`, `rm -r …`, `rm --recursive …` (also `/bin/rm`)."""
    if not argv or basename(argv[0].value) != "rm":
        return False
    for word in argv[1:]:
        value = word.value or ""
        if value == "--":
            break
        if value == "--recursive" or (value.startswith("-") and not value.startswith("--")
                                      and ("r" in value or "R" in value)):
            return True
    return False


def rm_operands(command: Command) -> list[ShellWord] | None:
    """The paths an `rm` command removes (None if the command is not `rm`)."""
    words = command.words
    if not words or basename(words[0].value) != "rm":
        return None
    operands: list[ShellWord] = []
    options_done = False
    for word in words[1:]:
        value = word.value
        if not options_done and value == "--":
            options_done = True
        elif not options_done and value is not None and value.startswith("-") and value != "-":
            continue
        else:
            operands.append(word)
    return operands


def is_tolerance(element: Element) -> bool:
    """`true` or `:` alone: what `|| true` appends to ignore a failure."""
    command = element.command
    return (element.kind == "command" and command is not None and len(command.words) == 1
            and command.words[0].value in _TOLERANCE and not command.redirects
            and not command.assignments)


def tolerated_by(element: Element) -> Element | None:
    """The `true` of `element || true` right after the element in its chain, if any."""
    chain = element.chain
    if chain is None:
        return None
    index = element.index
    if index + 1 >= len(chain.elements) or chain.operators[index].text != "||":
        return None
    following = chain.elements[index + 1]
    return following if is_tolerance(following) else None


def is_scoped_tolerance(element: Element) -> bool:
    """`{ cmd …|| true; }`: the element and its `|| true` are all of their chain."""
    chain = element.chain
    return (chain is not None and len(chain.elements) == 2 and element.index == 0
            and tolerated_by(element) is not None)


def always_succeeds_before(chain: Chain, index: int) -> bool:
    """Whether the and-or list before element `index` ends in `|| true` (exit status 0)."""
    return (index >= 2 and chain.operators[index - 2].text == "||"
            and is_tolerance(chain.elements[index - 1]))
