"""Field values of the simulated tenant: checking, storing and writing them as JSON.

Stored values are Python objects of the field's type: ``int`` (``long``/``integer``),
:class:`~decimal.Decimal` (``double``), ``str``, ``bool``, aware UTC :class:`~datetime.datetime`
(``datetime``), and a list of ``{"name", "value"}`` dicts (``userDefinedFields``); any field may
be None. An empty string is stored as None, as Autotask does not tell an empty text from none.

On the wire, date-times are ISO-8601 UTC with milliseconds and ``Z``
(``"2024-04-30T17:22:05.483Z"``, reference/autotask.md 6) and doubles are JSON numbers.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from .schema import FieldDef

__all__ = ["coerce_filter_value", "dumps", "format_datetime", "parse_datetime", "to_stored"]


def format_datetime(value: datetime) -> str:
    """``2024-04-30T17:22:05.483Z``."""
    utc = value.astimezone(UTC)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}Z"


def parse_datetime(text: str) -> datetime:
    """An ISO-8601 date or date-time as an aware UTC datetime (naive means UTC).

    Raises ValueError for anything else.
    """
    parsed = datetime.fromisoformat(text.strip())
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _as_datetime(value: object) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, str):
        return parse_datetime(value)
    raise ValueError("is not a date-time")


def _as_decimal(value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise ValueError("is not a number")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError("is not a number") from None
    if not number.is_finite():
        raise ValueError("is not a finite number")
    return number


def _udfs(value: object) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise ValueError("is not a list of {name, value}")
    out = []
    for entry in value:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise ValueError("is not a list of {name, value}")
        out.append({"name": entry["name"], "value": entry.get("value")})
    return out


def _strict(fd: FieldDef, value: object) -> Any:
    """A non-null ``value`` as stored in field ``fd``; raises ValueError saying what is wrong."""
    if fd.type in ("long", "integer"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("is not an integer")
        if fd.type == "integer" and not -(2**31) <= value < 2**31:
            raise ValueError("is outside the 32-bit range")
        return value
    if fd.type == "double":
        if isinstance(value, str):
            raise ValueError("is not a number")
        return _as_decimal(value)
    if fd.type == "string":
        if not isinstance(value, str):
            raise ValueError("is not a string")
        return value or None
    if fd.type == "boolean":
        if not isinstance(value, bool):
            raise ValueError("is not a boolean")
        return value
    if fd.type == "datetime":
        return _as_datetime(value)
    return _udfs(value)


def to_stored(fd: FieldDef, value: object) -> Any:
    """``value`` as stored in field ``fd``. Raises ValueError saying what is wrong (the message
    starts with the field name). Strict: integers must be integers, booleans booleans."""
    if value is None:
        return [] if fd.type == "udf" else None
    try:
        return _strict(fd, value)
    except ValueError as exc:
        raise ValueError(f"{fd.name} {exc}: {value!r}"[:200]) from None


def coerce_filter_value(fd: FieldDef, value: object) -> Any:
    """A query filter's value compared with field ``fd``: more lenient than :func:`to_stored`
    (numbers may come as strings, as they do in a URL's ``search``). Raises ValueError."""
    if fd.type in ("long", "integer"):
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{value!r} is not an integer")
        return value
    if fd.type == "double":
        try:
            return _as_decimal(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a number") from None
    if fd.type == "boolean":
        # "Booleans must be true/false; anything else, including null, is an error" (4.2).
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.casefold() in ("true", "false"):
            return value.casefold() == "true"
        raise ValueError(f"{value!r} is not true or false")
    if fd.type == "datetime":
        try:
            return _as_datetime(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a date-time") from None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"{value!r} is not a string")
    return str(value)


def _default(value: object) -> Any:
    if isinstance(value, Decimal):
        # Shortest float repr keeps 19.99 as 19.99 on the wire.
        return float(value)
    if isinstance(value, datetime):
        return format_datetime(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def dumps(body: object) -> bytes:
    """The JSON of an answer (Decimal as a number, datetime as ISO-8601 UTC)."""
    return json.dumps(body, default=_default, ensure_ascii=False).encode("utf-8")
