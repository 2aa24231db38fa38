"""`Record`, the base of dfmod's value types (dfmod.syntax.records)."""

from __future__ import annotations

import pickle

import pytest

from dfmod.syntax.records import Record, replace


class Point(Record):
    __slots__ = ("x", "y")

    def __init__(self, x: int, y: int = 0) -> None:
        self.x = x
        self.y = y


class Labelled(Point):
    __slots__ = ("label",)

    def __init__(self, x: int, y: int, label: str) -> None:
        super().__init__(x, y)
        self.label = label


class Single(Record):
    __slots__ = "value"

    def __init__(self, value: object) -> None:
        self.value = value


class Empty(Record):
    __slots__ = ()


def test_equality_and_hash_are_by_value_and_type() -> None:
    assert Point(1, 2) == Point(1, 2)
    assert Point(1, 2) != Point(2, 1)
    assert len({Point(1, 2), Point(1, 2), Point(1, 3)}) == 2
    assert Labelled(1, 2, "a") != Point(1, 2)  # another type is never equal
    assert Point(1, 2) != (1, 2)
    assert Single(3) == Single(3) and Single(3) != Single(4)
    assert hash(Single(3)) == hash(Single(3))
    assert Empty() == Empty()


def test_fields_follow_the_bases() -> None:
    assert Labelled._fields == ("x", "y", "label")
    assert repr(Labelled(1, 2, "a")) == "Labelled(x=1, y=2, label='a')"


def test_replace_copies_with_changes() -> None:
    original = Labelled(1, 2, "a")
    changed = replace(original, label="b")
    assert changed == Labelled(1, 2, "b") and original.label == "a"
    with pytest.raises(TypeError):
        replace(original, z=1)


def test_records_have_no_instance_dict_and_pickle() -> None:
    with pytest.raises(AttributeError):
        Point(1).z = 3  # type: ignore[attr-defined]
    assert pickle.loads(pickle.dumps(Labelled(1, 2, "a"))) == Labelled(1, 2, "a")
