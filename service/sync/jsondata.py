"""Reading a job's stored JSON (its payload, its step state) into typed values, field by field.

A job's payload and state are JSON in the database, written by this or an earlier version of atqb.
Each kind reads them into frozen dataclasses with ``from_json`` and writes them back with
``to_json``, which gives the same JSON the kinds wrote when they used plain dicts. A value of the
wrong shape raises :class:`MalformedJson` naming the field; the exchange turns a kind's exception
into a failed job with that message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

T = TypeVar("T")

_TYPE_NAMES = {
    int: "an integer",
    str: "a text",
    bool: "true or false",
    list: "a list",
    dict: "an object",
}


class MalformedJson(ValueError):
    """A payload or state that is not what its kind expects."""


class Fields:
    """A JSON object whose fields are read with their types checked; errors name ``what``."""

    def __init__(self, data: object, what: str) -> None:
        if not isinstance(data, Mapping):
            raise MalformedJson(f"{what} is malformed: {data!r} is not an object")
        self.data: Mapping[str, Any] = data
        self.what = what

    def required(self, key: str, kind: type[T]) -> T:
        """The value of ``key``, which must be there and of type ``kind``."""
        if key not in self.data:
            raise MalformedJson(f"{self.what} is malformed: {key!r} is missing")
        return self._checked(key, kind)

    def optional(self, key: str, kind: type[T]) -> T | None:
        """The value of ``key`` (None when missing or null), of type ``kind`` otherwise."""
        if self.data.get(key) is None:
            return None
        return self._checked(key, kind)

    def ints(self, key: str) -> tuple[int, ...]:
        """The value of ``key``, which must be there and a list of integers."""
        values = self.required(key, list)
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            raise MalformedJson(f"{self.what} is malformed: {key!r} is {values!r}, not integers")
        return tuple(values)

    def texts(self, key: str) -> tuple[str, ...]:
        """The value of ``key``, which must be there and a list of texts."""
        values = self.required(key, list)
        if not all(isinstance(v, str) for v in values):
            raise MalformedJson(f"{self.what} is malformed: {key!r} is {values!r}, not texts")
        return tuple(values)

    def _checked(self, key: str, kind: type[T]) -> T:
        value = self.data[key]
        # JSON has no separate booleans and integers in Python: True is not an id.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise MalformedJson(
                f"{self.what} is malformed: {key!r} is {value!r}, not "
                f"{_TYPE_NAMES.get(kind, kind.__name__)}"
            )
        return value
