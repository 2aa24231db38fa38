"""How a word can be written: what `Codemod.needs` lists is looked for in `unquoted` text,
so that the claim is exact.

A shell word's value drops its quotes and backslashes (`p'i'p`, `"pi"p`, `p\\ip` are all
`pip`), a line continuation inside it (`pi\\`, a newline, `p`: BuildKit joins the lines of an
instruction, the shell those of a heredoc), and so does a Dockerfile word's (a flag such as
`--fr"om"=build`). So a text with those removed (`unquoted`) holds the value wherever a word
is written with it, however it is quoted; a need is a plain value then, not a list of ways
to write it. A JSON string (an exec form) can write a character as `\\u0070`: a text with
one is also read with those decoded. (`$'\\x70'` has no value for dfmod's shell model, so
nothing dfmod finds comes from one.)

The same test on one instruction's text (`mentions`) lets a codemod leave a RUN unparsed
when its findings about that RUN need a string the RUN does not hold.
"""

from __future__ import annotations

from itertools import product

TYPE_CHECKING = False  # not typing's: importing typing costs ~7 ms (tests/test_startup.py)
if TYPE_CHECKING:
    from dfmod.syntax.dockerfile import Instruction

_CUTS = str.maketrans("", "", "'\"\\")


def unquoted(text: str) -> str:
    """`text` without line continuations, quotes and backslashes: what needs are looked for in
    (followed by its reading with JSON's `\\uXXXX` escapes decoded, if it has one)."""
    joined = text.replace("\\\r\n", "").replace("\\\n", "")
    plain = joined.translate(_CUTS)
    if "\\u" not in joined:
        return plain
    import re  # a text with a `\u` is rare: no pattern is compiled for the others

    decoded = re.sub(r"\\u([0-9a-fA-F]{4})", lambda match: chr(int(match.group(1), 16)), joined)
    return f"{plain}\n{decoded.translate(_CUTS)}"


def _cases(value: str, any_case: bool) -> list[list[str]]:
    """Each character of `value` in the cases that count."""
    return [sorted({char.lower(), char.upper()}) if any_case else [char] for char in value]


def spellings(*values: str, any_case: bool = False) -> tuple[str, ...]:
    """The needs for words with one of `values` (`any_case`: a value matched
    case-insensitively, `-iname '*.DIST-INFO'`): each value, in every case if it counts."""
    found: dict[str, None] = {}
    for value in values:
        if any(char in value for char in "'\"\\"):
            raise ValueError(f"a need is a value, never written with quotes: {value!r}")
        found.update(dict.fromkeys("".join(chars) for chars in product(*_cases(value, any_case))))
    return tuple(found)


def keyword_cases(*keywords: str) -> tuple[str, ...]:
    """Every case of each of `keywords` (or of a part of one): BuildKit reads an
    instruction's keyword in any case (`cmd`), and never unquotes it."""
    return spellings(*keywords, any_case=True)


def holds(text: str, needs: tuple[str, ...], also_needs: tuple[str, ...] = ()) -> bool:
    """Whether one of `needs` is in `text` once unquoted, and one of `also_needs` too (no
    needs: always)."""
    if not needs and not also_needs:
        return True
    return found_in(unquoted(text), needs, also_needs)


def found_in(readable: str, needs: tuple[str, ...], also_needs: tuple[str, ...] = ()) -> bool:
    """`holds` on text that is `unquoted` already (the engine unquotes a document once)."""
    return all(not group or any(needed in readable for needed in group) for group in (needs, also_needs))


def mentions(instruction: Instruction, needs: tuple[str, ...]) -> bool:
    """Whether one of `needs` may be in the instruction's own text: its line, continuations
    joined (a heredoc's body is not in the line, so an instruction with one always may)."""
    return bool(instruction.heredocs) or holds(instruction.logical.text, needs)
