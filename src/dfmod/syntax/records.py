"""`Record`: the base of dfmod's value types, instead of `dataclasses`.

Why not dataclasses: start-up is a feature (pre-commit runs dfmod on every commit), and on
the path of `dfmod check` on one Dockerfile, `import dataclasses` (which imports `inspect`)
and generating the methods of some sixty classes by `exec` cost about 100 ms, more than
all of dfmod's own work. A `Record` subclass declares `__slots__` and writes its
`__init__`; equality, hashing, `repr` and `replace` come from here, generic over the
slots, with no code generated. Instances are also about twice as fast to create as a
frozen dataclass's (no `object.__setattr__` per field), which the 20,000-instruction
files of hostile repositories feel.

Records are immutable by convention: nothing assigns to a value record's field after
`__init__` (they were frozen dataclasses before, so nothing did). A mutable model class
(an instruction, a stage, a shell chain) is a plain class with identity equality instead;
one that must compare by value while mutable sets `__hash__ = None`, as a mutable
dataclass does, so it cannot sit in a set.
"""

from __future__ import annotations

from operator import attrgetter

TYPE_CHECKING = False  # not typing's: importing typing costs ~7 ms (tests/test_startup.py)
if TYPE_CHECKING:
    from typing import Any, TypeVar

    _R = TypeVar("_R", bound="Record")


class Record:
    """Value equality, hashing and `repr` over the fields a class lists in `__slots__`
    (its own after its bases'; `__init__` takes them by the same names)."""

    __slots__ = ()
    _fields: tuple[str, ...] = ()
    _values: attrgetter[Any]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("__slots__", ())
        cls._fields = cls._fields + ((own,) if isinstance(own, str) else tuple(own))
        # attrgetter of one name returns the value, not a 1-tuple; keep it a tuple.
        cls._values = attrgetter(*cls._fields, *(() if len(cls._fields) > 1 else ("_fields",)))

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._values(self) == self._values(other)

    def __hash__(self) -> int:
        return hash(self._values(self))

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__name__}({shown})"


def replace(record: _R, **changes: Any) -> _R:
    """A copy of `record` with `changes` (as `dataclasses.replace`)."""
    values = {name: getattr(record, name) for name in record._fields}
    values.update(changes)
    return type(record)(**values)
