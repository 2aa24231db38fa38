"""How a word can be written: the strings a `Codemod.needs` lists, so that the claim is exact.

A shell word's value drops its quotes and backslashes (`p'i'p`, `"pi"p`, `p\\ip` are all
`pip`), and so does a Dockerfile word's (a flag such as `--fr"om"=build`). Such a word either
holds its value's characters side by side, or has a quote or a backslash right after one of
them but the last (where the value is cut). `spellings("pip")` lists those strings: a file
holds one of them wherever it runs `pip`, however it is quoted. (Not for JSON strings, whose
`\\u0070` stands for a character without it being written.)

The same test on one instruction's text (`mentions`) lets a codemod leave a RUN unparsed
when its findings about that RUN need a string the RUN does not hold.
"""

from __future__ import annotations

from itertools import product

from dfmod.syntax.dockerfile import Instruction

_CUTS = ("'", '"', "\\")


def _cases(value: str, any_case: bool) -> list[list[str]]:
    """Each character of `value` in the cases that count."""
    return [sorted({char.lower(), char.upper()}) if any_case else [char] for char in value]


def spellings(*values: str, any_case: bool = False) -> tuple[str, ...]:
    """One of these strings is in the text wherever a word with one of `values` is written
    (`any_case`: a value matched case-insensitively, `-iname '*.DIST-INFO'`)."""
    found: dict[str, None] = {}
    for value in values:
        letters = _cases(value, any_case)
        found.update(dict.fromkeys("".join(chars) for chars in product(*letters)))
        for chars in letters[:-1]:
            found.update(dict.fromkeys(char + cut for char in chars for cut in _CUTS))
    return tuple(found)


def keyword_cases(*keywords: str) -> tuple[str, ...]:
    """Every case of each of `keywords` (or of a part of one): BuildKit reads an
    instruction's keyword in any case (`cmd`), and never unquotes it."""
    return tuple("".join(chars) for keyword in keywords for chars in product(*_cases(keyword, True)))


def mentions(instruction: Instruction, needs: tuple[str, ...]) -> bool:
    """Whether one of `needs` may be in the instruction's own text: its line, continuations
    joined (a heredoc's body is not in the line, so an instruction with one always may)."""
    return bool(instruction.heredocs) or any(needed in instruction.logical.text for needed in needs)

