"""Lists of names in finding messages, written the way a person writes them.

Messages name services, keys and images; a bare comma list (`a`, `b`, `c`) reads as a
dump, and a list of forty services buries the point of the message. Every codemod joins
names here so all messages read alike: "`a`, `b` and `c`", at most `limit` names then
"and N more", and the verb or pronoun that goes with one name or several. A message that
lists names names as many as fit in `WIDTH` characters (`fitted`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

WIDTH = 120  # what a message aims at: one line, read in a second
MOST = 160  # what no message exceeds: an optional clause that would is left out


def join_names(names: Sequence[str], limit: int = 5, quote: bool = True) -> str:
    """`a`, `b` and `c` — in the given order, each once; past `limit` names, "and N more"
    (never "and 1 more": the name itself says as much)."""
    unique = list(dict.fromkeys(names))
    shown = [f"`{name}`" if quote else name
             for name in unique[:limit + 1 if len(unique) == limit + 1 else limit]]
    rest = len(unique) - len(shown)
    if rest:
        return f"{', '.join(shown)} and {rest} more"
    if len(shown) <= 1:
        return "".join(shown)
    return f"{', '.join(shown[:-1])} and {shown[-1]}"


def agree(names: Sequence[str], one: str, several: str) -> str:
    """`one` for a single (distinct) name, `several` otherwise: "uses"/"use", "it"/"they"."""
    return one if len(set(names)) == 1 else several


def fitted(message: Callable[[int], str], most: int = 4) -> str:
    """`message(limit)` with the largest `limit` of names, up to `most`, that keeps it within
    `WIDTH` characters (one name at least: a long path must not cost the only name)."""
    for limit in range(most, 1, -1):
        text = message(limit)
        if len(text) <= WIDTH:
            return text
    return message(1)
