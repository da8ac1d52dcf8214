"""Typed query filters, serialised exactly as the Autotask REST API expects.

A query body carries a list of filter objects ``{"op", "field", "value", "udf", "items"}``
(Swagger ``Filter``; reference/autotask.md 4.2). The list is an implicit AND. This module builds
them with small functions named after the operators::

    from service.autotask import filters as f

    f.eq("status", 3)                        # {"op": "eq", "field": "status", "value": 3}
    f.in_("orderID", [1, 2, 3])              # value is an array
    f.exist("externalPONumber")              # exist / not_exist take no value
    f.or_(f.eq("status", 1), f.eq("status", 2))   # {"op": "or", "items": [...]}
    f.gte("createDateTime", datetime(2024, 1, 1, tzinfo=UTC))  # "2024-01-01T00:00:00.000Z"

Values are checked when the filter is built (a wrong value is a programming error and raises
``ValueError``/``TypeError`` at once, not a 500 from Autotask later): booleans are real
booleans (Autotask rejects anything else, including null), datetimes must be timezone-aware
and are sent as UTC ISO-8601 with a ``Z``, ``in``/``not_in`` take a non-empty list of ints or
strings.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, TypeAlias

__all__ = [
    "Condition",
    "Filter",
    "Group",
    "Scalar",
    "and_",
    "begins_with",
    "contains",
    "ends_with",
    "eq",
    "exist",
    "gt",
    "gte",
    "in_",
    "lt",
    "lte",
    "not_exist",
    "not_in",
    "noteq",
    "or_",
    "serialise",
]

#: A single filter value as the API accepts it (datetimes are sent as ISO-8601 UTC strings).
Scalar: TypeAlias = int | str | bool | datetime

ComparisonOp = Literal[
    "eq", "noteq", "gt", "gte", "lt", "lte", "beginsWith", "endsWith", "contains"
]
ListOp = Literal["in", "notIn"]
ExistOp = Literal["exist", "notExist"]


def _wire_value(value: object) -> int | str | bool:
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"filter datetime {value!r} has no time zone; Autotask works in UTC")
        utc = value.astimezone(UTC)
        return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
    raise TypeError(
        f"filter value {value!r} is a {type(value).__name__}; "
        "Autotask accepts an integer, a string, a boolean or a datetime"
    )


def _check_field(field: str) -> str:
    if not isinstance(field, str) or not field.strip():
        raise ValueError(f"filter field must be a non-empty string, got {field!r}")
    return field


@dataclass(frozen=True)
class Condition:
    """One comparison: ``field op value`` (``value`` is None for exist/notExist)."""

    op: str
    field: str
    value: int | str | bool | tuple[int | str, ...] | None = None
    udf: bool = False

    def to_json(self) -> dict[str, Any]:
        """The filter object as sent in the query body."""
        out: dict[str, Any] = {"op": self.op, "field": self.field}
        if self.value is not None:
            out["value"] = list(self.value) if isinstance(self.value, tuple) else self.value
        if self.udf:
            out["udf"] = True
        return out


@dataclass(frozen=True)
class Group:
    """``and``/``or`` over nested filters: ``{"op": "or", "items": [...]}``."""

    op: Literal["and", "or"]
    items: tuple[Filter, ...]

    def to_json(self) -> dict[str, Any]:
        """The filter object as sent in the query body."""
        return {"op": self.op, "items": [item.to_json() for item in self.items]}


Filter: TypeAlias = Condition | Group


def _compare(op: ComparisonOp, field: str, value: Scalar, udf: bool) -> Condition:
    return Condition(op, _check_field(field), _wire_value(value), udf)


def eq(field: str, value: Scalar, *, udf: bool = False) -> Condition:
    """``field`` equals ``value``. ``udf=True`` filters on a user-defined field of that name."""
    return _compare("eq", field, value, udf)


def noteq(field: str, value: Scalar, *, udf: bool = False) -> Condition:
    """``field`` differs from ``value``."""
    return _compare("noteq", field, value, udf)


def gt(field: str, value: Scalar, *, udf: bool = False) -> Condition:
    """``field`` is greater than ``value``."""
    return _compare("gt", field, value, udf)


def gte(field: str, value: Scalar, *, udf: bool = False) -> Condition:
    """``field`` is greater than or equal to ``value``."""
    return _compare("gte", field, value, udf)


def lt(field: str, value: Scalar, *, udf: bool = False) -> Condition:
    """``field`` is less than ``value``."""
    return _compare("lt", field, value, udf)


def lte(field: str, value: Scalar, *, udf: bool = False) -> Condition:
    """``field`` is less than or equal to ``value``."""
    return _compare("lte", field, value, udf)


def begins_with(field: str, value: str, *, udf: bool = False) -> Condition:
    """``field`` begins with the string ``value``."""
    return _compare("beginsWith", field, value, udf)


def ends_with(field: str, value: str, *, udf: bool = False) -> Condition:
    """``field`` ends with the string ``value``."""
    return _compare("endsWith", field, value, udf)


def contains(field: str, value: str, *, udf: bool = False) -> Condition:
    """``field`` contains the string ``value``."""
    return _compare("contains", field, value, udf)


def exist(field: str, *, udf: bool = False) -> Condition:
    """``field`` has a value (no ``value`` is sent)."""
    return Condition("exist", _check_field(field), None, udf)


def not_exist(field: str, *, udf: bool = False) -> Condition:
    """``field`` has no value."""
    return Condition("notExist", _check_field(field), None, udf)


def _list_values(field: str, values: Iterable[int | str]) -> tuple[int | str, ...]:
    out = tuple(values)
    if not out:
        raise ValueError(f"an in/notIn filter on {field!r} needs at least one value")
    for value in out:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise TypeError(
                f"in/notIn values on {field!r} must be integers or strings, got {value!r}"
            )
    return out


def in_(field: str, values: Iterable[int | str], *, udf: bool = False) -> Condition:
    """``field`` is one of ``values`` (non-empty). For long id lists use the client's
    ``query_in``, which splits them into requests of at most 500 values."""
    return Condition("in", _check_field(field), _list_values(field, values), udf)


def not_in(field: str, values: Iterable[int | str], *, udf: bool = False) -> Condition:
    """``field`` is none of ``values`` (non-empty)."""
    return Condition("notIn", _check_field(field), _list_values(field, values), udf)


def _group(op: Literal["and", "or"], items: Sequence[Filter]) -> Group:
    if not items:
        raise ValueError(f"an {op!r} group needs at least one filter")
    for item in items:
        if not isinstance(item, Condition | Group):
            raise TypeError(f"{op!r} groups filters, got {item!r}")
    return Group(op, tuple(items))


def and_(*items: Filter) -> Group:
    """All of ``items`` hold."""
    return _group("and", items)


def or_(*items: Filter) -> Group:
    """At least one of ``items`` holds."""
    return _group("or", items)


def serialise(filters: Sequence[Filter]) -> list[dict[str, Any]]:
    """The ``filter`` array of a query body: every filter must hold (implicit AND)."""
    for item in filters:
        if not isinstance(item, Condition | Group):
            raise TypeError(f"expected a filter built with service.autotask.filters, got {item!r}")
    return [item.to_json() for item in filters]
