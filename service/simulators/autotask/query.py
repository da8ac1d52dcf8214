"""Autotask's query language, evaluated over the simulated tenant's records.

A query body is a ``QueryModel`` (reference/autotask.md 4.2): ``filter`` (a list that must all
hold), ``includeFields``, ``maxRecords``; keys in any case (the Swagger's example uses
PascalCase, clients send camelCase). Filter objects have ``op``, ``field``, ``value``, ``udf``
and, for ``and``/``or`` groups, ``items``. Operators: ``eq, noteq, gt, gte, lt, lte,
beginsWith, endsWith, contains, exist, notExist, in, notIn`` and the groups.

Choices where the references are silent (marked [U] in reference/autotask.md):

* field names and string comparisons ignore case (SQL Server's default collation; the
  reference's ``isactive`` example);
* a null field matches only ``notExist``: every comparison, ``noteq`` and ``notIn`` included,
  is false for it, as in SQL;
* results are ordered by id; pages are keyset cursors on it (4.3), and a next page is offered
  only when more records match;
* a query that Autotask would refuse raises :class:`QueryError`, answered as HTTP 500 with
  ``{"errors": [message]}`` (9). The messages are the simulator's own wording except the
  500-OR-conditions one (4.2).
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .schema import EntityDef, FieldDef
from .values import coerce_filter_value

__all__ = [
    "MAX_OR_CONDITIONS",
    "MAX_PAGE_SIZE",
    "Cursor",
    "Query",
    "QueryError",
    "parse_query",
    "project",
    "run",
]

#: Records per page at most (reference/autotask.md 4.3).
MAX_PAGE_SIZE = 500
#: OR conditions per query at most; every value of an in/notIn list counts as one (4.2).
MAX_OR_CONDITIONS = 500
TOO_MANY_ORS = "Invalid query syntax. Queries are limited to 500 or fewer 'OR' conditions."
ID_REQUIRED = (
    "For search results that contain more than 500 results, you must include Id as a field."
)

Row = Mapping[str, Any]
Predicate = Callable[[Row], bool]


class QueryError(Exception):
    """A query Autotask would refuse (answered as HTTP 500, reference/autotask.md 9)."""


@dataclass(frozen=True)
class Query:
    """A parsed query: which records match, which fields to return, how many per page."""

    entity: EntityDef
    predicate: Predicate
    include: tuple[str, ...] | None
    max_records: int


def _keys(obj: Mapping[str, Any]) -> dict[str, Any]:
    return {str(k).casefold(): v for k, v in obj.items()}


_COMPARE: Mapping[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "noteq": operator.ne,
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
    "beginswith": lambda have, want: have.startswith(want),
    "endswith": lambda have, want: have.endswith(want),
    "contains": lambda have, want: want in have,
}
_TEXT_ONLY = ("beginswith", "endswith", "contains")


def _norm(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


def _udf_getter(entity: EntityDef, name: object) -> tuple[FieldDef, Callable[[Row], Any]]:
    if entity.field("userDefinedFields") is None:
        raise QueryError(f"{entity.name} has no user-defined fields.")
    if not isinstance(name, str) or not name:
        raise QueryError("A user-defined field filter needs a field name.")
    wanted = name.casefold()

    def get(row: Row) -> Any:
        for udf in row.get("userDefinedFields") or ():
            if str(udf.get("name", "")).casefold() == wanted:
                value = udf.get("value")
                return None if value in (None, "") else str(value)
        return None

    return FieldDef(name, "string"), get


def _field_getter(entity: EntityDef, name: object) -> tuple[FieldDef, Callable[[Row], Any]]:
    fd = entity.field(name) if isinstance(name, str) else None
    if fd is None or fd.type == "udf":
        raise QueryError(f"Unable to find the field {name!r} in the {entity.name} entity.")
    key = fd.name
    return fd, lambda row: row.get(key)


def _coerce(fd: FieldDef, value: object) -> Any:
    try:
        return coerce_filter_value(fd, value)
    except ValueError as exc:
        raise QueryError(f"Invalid filter value for field {fd.name}: {exc}.") from None


def _compile(entity: EntityDef, raw: object, budget: list[int]) -> Predicate:
    if not isinstance(raw, dict):
        raise QueryError(f"A filter is not an object: {str(raw)[:100]}")
    keys = _keys(raw)
    op = keys.get("op")
    if not isinstance(op, str):
        raise QueryError("A filter has no op.")
    op = op.casefold()
    if op in ("and", "or"):
        return _compile_group(entity, op, keys.get("items"), budget)
    udf = keys.get("udf") is True
    fd, get = (_udf_getter if udf else _field_getter)(entity, keys.get("field"))
    if op in ("exist", "notexist"):
        present = op == "exist"
        return lambda row: (get(row) is not None) is present
    if "value" not in keys or keys["value"] is None:
        raise QueryError(f"The {op} filter on {fd.name} needs a value.")
    value = keys["value"]
    if op in ("in", "notin"):
        return _compile_membership(fd, get, op, value, budget)
    if op not in _COMPARE:
        raise QueryError(f"Unknown filter operator {keys['op']!r}.")
    return _compile_comparison(fd, get, op, value)


def _compile_group(entity: EntityDef, op: str, items: object, budget: list[int]) -> Predicate:
    """An ``and`` or ``or`` of the filters in ``items`` (each condition of an ``or`` counts)."""
    if not isinstance(items, list) or not items:
        raise QueryError(f"An {op!r} filter needs a non-empty items array.")
    parts = [_compile(entity, item, budget) for item in items]
    if op == "or":
        budget[0] += len(parts)
        return lambda row: any(p(row) for p in parts)
    return lambda row: all(p(row) for p in parts)


def _compile_membership(
    fd: FieldDef, get: Callable[[Row], Any], op: str, value: object, budget: list[int]
) -> Predicate:
    """An ``in`` or ``notin`` filter (each value counts as a condition of an ``or``)."""
    if not isinstance(value, list) or not value:
        raise QueryError(f"The {op} filter on {fd.name} needs a non-empty array of values.")
    budget[0] += len(value)
    wanted = {_norm(_coerce(fd, v)) for v in value}
    inside = op == "in"
    return lambda row: (v := get(row)) is not None and (_norm(v) in wanted) is inside


def _compile_comparison(
    fd: FieldDef, get: Callable[[Row], Any], op: str, value: object
) -> Predicate:
    """A filter comparing the field with one value (``eq``, ``gt``, ``contains``...)."""
    if isinstance(value, list | dict):
        raise QueryError(f"The {op} filter on {fd.name} needs a single value.")
    if op in _TEXT_ONLY and fd.type != "string":
        raise QueryError(f"The {op} filter needs a text field; {fd.name} is {fd.type}.")
    want = _norm(_coerce(fd, value))
    compare = _COMPARE[op]
    return lambda row: (v := get(row)) is not None and compare(_norm(v), want)


def parse_query(entity: EntityDef, body: object) -> Query:
    """Parse a ``QueryModel`` for ``entity``; raises :class:`QueryError`."""
    if not isinstance(body, dict):
        raise QueryError("The query must be a JSON object with a filter array.")
    keys = _keys(body)
    filters = keys.get("filter")
    # Every query needs a filter (reference/autotask.md 4.2: "all rows" is id gte 0).
    if not isinstance(filters, list) or not filters:
        raise QueryError("A query needs at least one filter.")
    budget = [0]
    parts = [_compile(entity, raw, budget) for raw in filters]
    if budget[0] > MAX_OR_CONDITIONS:
        raise QueryError(TOO_MANY_ORS)
    include: tuple[str, ...] | None = None
    raw_include = keys.get("includefields")
    if raw_include:
        if not isinstance(raw_include, list):
            raise QueryError("includeFields must be an array of field names.")
        names = []
        for name in raw_include:
            fd = entity.field(name) if isinstance(name, str) else None
            if fd is None:
                raise QueryError(f"Unable to find the field {name!r} in the {entity.name} entity.")
            names.append(fd.name)
        include = tuple(dict.fromkeys(names))
    max_records = keys.get("maxrecords", MAX_PAGE_SIZE)
    if max_records is None:
        max_records = MAX_PAGE_SIZE
    if (
        isinstance(max_records, bool)
        or not isinstance(max_records, int)
        or not 1 <= max_records <= MAX_PAGE_SIZE
    ):
        raise QueryError(f"MaxRecords must be between 1 and {MAX_PAGE_SIZE}.")
    return Query(entity, lambda row: all(p(row) for p in parts), include, max_records)


@dataclass(frozen=True)
class Cursor:
    """The ``paging`` parameter of a ``nextPageUrl``: ``{"pageSize", "previousIds",
    "nextIds"}`` as in the real example (reference/autotask/samples); the next page holds the
    records after ``nextIds[0]``."""

    page_size: int
    previous_ids: tuple[int, ...]
    after_id: int

    def to_json(self) -> str:
        """The parameter's JSON."""
        return json.dumps(
            {
                "pageSize": self.page_size,
                "previousIds": list(self.previous_ids),
                "nextIds": [self.after_id],
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> Cursor:
        """Read a ``paging`` parameter; raises :class:`QueryError`."""
        try:
            data = json.loads(text)
            size, previous, (after,) = data["pageSize"], data["previousIds"], data["nextIds"]
            numbers = [size, after, *previous]
            if not all(isinstance(n, int) and not isinstance(n, bool) for n in numbers):
                raise ValueError
        except (ValueError, KeyError, TypeError):
            raise QueryError("The paging parameter of the next-page URL is not valid.") from None
        return cls(size, tuple(previous), after)


def run(query: Query, rows: Sequence[Row], after_id: int) -> tuple[list[Row], bool]:
    """The records of one page after ``after_id`` (rows are sorted by id), and whether more
    match after it."""
    page: list[Row] = []
    for row in rows:
        if row["id"] > after_id and query.predicate(row):
            if len(page) == query.max_records:
                if query.include is not None and "id" not in query.include:
                    raise QueryError(ID_REQUIRED)
                return page, True
            page.append(row)
    return page, False


def project(row: Row, include: tuple[str, ...] | None) -> dict[str, Any]:
    """The record as answered: every field, or only ``include``."""
    names = row.keys() if include is None else include
    return {name: list(row[name]) if isinstance(row[name], list) else row[name] for name in names}
