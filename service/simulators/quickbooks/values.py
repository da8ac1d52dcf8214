"""Reading and writing qbXML scalar values (reference/qbxml.md 6, ``qbxmltypes130.xsd``)."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal

_DATETIME = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:T(\d{1,2})(?::(\d{1,2})(?::(\d{1,2})(?:([+-])(\d{1,2}):(\d{1,2}))?)?)?)?"
)

CENT = Decimal("0.01")


def parse_bool(text: str | None) -> bool | None:
    """BOOLTYPE: ``true``/``false``/``1``/``0``; empty means "not given"."""
    value = (text or "").strip()
    if not value:
        return None
    return value in ("true", "1")


def parse_decimal(text: str | None) -> Decimal | None:
    """AMTTYPE, PRICETYPE, QUANTYPE; empty means "not given" (the schema allows empty values)."""
    value = (text or "").strip()
    return Decimal(value) if value else None


def parse_date(text: str | None) -> date | None:
    """DATETYPE ``YYYY-MM-DD``; empty means "not given"."""
    value = (text or "").strip()
    return date.fromisoformat(value) if value else None


def parse_datetime(text: str, local: timezone, *, end_of_day: bool = False) -> datetime:
    """DATETIMETYPE, any of the precisions the schema allows, as an aware datetime.

    Without an offset the value is QuickBooks' local time (reference/qbxml.md 6). A bare date
    means the start of that day, or its last second when ``end_of_day`` (for ``To…`` bounds).
    """
    match = _DATETIME.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"not a qbXML date-time: {text!r}")
    year, month, day, hour, minute, second, sign, off_h, off_m = match.groups()
    zone = local
    if sign is not None:
        offset = timedelta(hours=int(off_h), minutes=int(off_m))
        zone = timezone(offset if sign == "+" else -offset)
    if hour is None and end_of_day:
        return datetime(int(year), int(month), int(day), 23, 59, 59, tzinfo=zone)
    return datetime(
        int(year),
        int(month),
        int(day),
        int(hour or 0),
        int(minute or 0),
        int(second or 0),
        tzinfo=zone,
    )


def format_datetime(moment: datetime) -> str:
    """``YYYY-MM-DDThh:mm:ss±hh:mm``, as QuickBooks writes TimeCreated and TimeModified."""
    return moment.isoformat(timespec="seconds")


def format_bool(value: bool) -> str:
    return "true" if value else "false"


def format_amount(value: Decimal) -> str:
    """AMTTYPE with two decimals, like ``125.00``."""
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def format_price(value: Decimal) -> str:
    """PRICETYPE: two decimals unless more are significant (at most five), like ``25.00``."""
    value = value.quantize(Decimal("0.00001"), rounding=ROUND_HALF_UP)
    if value == value.quantize(CENT):
        return str(value.quantize(CENT))
    return str(value.normalize())


def format_quantity(value: Decimal) -> str:
    """QUANTYPE without trailing zeros, like ``5`` or ``2.5`` (at most five decimals)."""
    value = value.quantize(Decimal("0.00001"), rounding=ROUND_HALF_UP).normalize()
    return f"{value:f}"


def money(value: Decimal) -> Decimal:
    """Round to cents the way amounts are stored."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)
