"""The one memo rule of the model and the renderers: a value made from some inputs is made again only when they
change. The sources hand on what did not change as the very same objects (a quiet node's listing, an idle pod's
row), so inputs are compared by identity; plain values that travel beside them (counters, flags) by equality."""
from __future__ import annotations

import operator
from typing import Generic, TypeVar

T = TypeVar("T")


class Kept(Generic[T]):
    """``value`` as made from ``inputs`` (objects) and ``facts`` (a plain, comparable value)."""

    __slots__ = ("value", "inputs", "facts")

    def __init__(self, value: T, inputs: tuple[object, ...], facts: object = None) -> None:
        self.value = value
        self.inputs = inputs
        self.facts = facts

    def holds(self, inputs: tuple[object, ...], facts: object = None) -> bool:
        """Made from these very objects and equal facts: ``value`` is what making it again would give."""
        mine = self.inputs
        return (len(mine) == len(inputs) and self.facts == facts
                and all(map(operator.is_, mine, inputs)))
