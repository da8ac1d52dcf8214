"""Query selection shared by every ``…QueryRq`` (reference/qbxml.md 4.1, 4.5, 4.10).

* The list forms (``ListID+``, ``FullName+``, ``TxnID+``, ``RefNumber+``) are exact lookups: what
  is found is returned, in the order asked, and anything missing makes the status 500 (Warn)
  naming the first missing value (real text, ``qbwc-qbwc-responses``).
* The filter form selects; nothing selected is status 1 (Info). ``ActiveStatus`` defaults to
  ``ActiveOnly``; the list forms ignore it (they find inactive records too).
* ``MaxReturned`` caps a filter's answer; with ``iterator="Start"`` it is the page size instead
  (the simulator pages, see :mod:`.simulator`).
* Names and RefNumbers compare case-insensitively; ``RefNumberCaseSensitive`` does not.
* ``ToModifiedDate``/``ToTxnDate`` given as a bare date include that whole day (assumption).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TypeVar

from lxml import etree

from service.simulators.quickbooks import errors
from service.simulators.quickbooks.context import text, texts
from service.simulators.quickbooks.model import Company, ListRecord, Ref, Txn, name_key
from service.simulators.quickbooks.values import parse_date, parse_datetime

L = TypeVar("L", bound=ListRecord)
T = TypeVar("T", bound=Txn)
X = TypeVar("X")


def _match(criterion: str, value: str, wanted: str) -> bool:
    value, wanted = value.lower(), wanted.lower()
    if criterion == "StartsWith":
        return value.startswith(wanted)
    if criterion == "EndsWith":
        return value.endswith(wanted)
    return wanted in value


def _max_returned(rq: etree._Element) -> int | None:
    value = text(rq, "MaxReturned")
    return int(value) if value else None


def _moment(company: Company, value: str, field: str, *, end_of_day: bool = False) -> datetime:
    try:
        return parse_datetime(value, company.zone, end_of_day=end_of_day)
    except ValueError as exc:
        raise errors.date_conversion(value, field) from exc


def _modified_between(
    company: Company, record_time: datetime, low: str | None, high: str | None
) -> bool:
    if low and record_time < _moment(company, low, "FromModifiedDate"):
        return False
    return not (high and record_time > _moment(company, high, "ToModifiedDate", end_of_day=True))


def select_list(
    company: Company, rq: etree._Element, records: Iterable[L]
) -> tuple[list[L], errors.StatusError | None]:
    """Records a list query (Vendor, Customer, Item…, Account) asks for, and its status."""
    pool = list(records)
    ids, names = texts(rq, "ListID"), texts(rq, "FullName")
    if ids or names:
        wanted = ids or names
        found: list[L] = []
        missing: list[str] = []
        for value in wanted:
            if ids:
                record = next((r for r in pool if r.list_id == value), None)
            else:
                record = next((r for r in pool if name_key(r.full_name) == name_key(value)), None)
            if record is None:
                missing.append(value)
            elif record not in found:
                found.append(record)
        return found, errors.not_found_in_list(missing[0]) if missing else None

    active = text(rq, "ActiveStatus") or "ActiveOnly"
    selected = [
        r
        for r in pool
        if (active == "All" or r.is_active == (active == "ActiveOnly"))
        and _modified_between(
            company, r.time_modified, text(rq, "FromModifiedDate"), text(rq, "ToModifiedDate")
        )
    ]
    name_filter = rq.find("NameFilter")
    if name_filter is not None:
        criterion, wanted_name = text(name_filter, "MatchCriterion"), text(name_filter, "Name")
        selected = [r for r in selected if _match(criterion or "", r.full_name, wanted_name or "")]
    name_range = rq.find("NameRangeFilter")
    if name_range is not None:
        low, high = text(name_range, "FromName"), text(name_range, "ToName")
        selected = [
            r
            for r in selected
            if (not low or name_key(r.full_name) >= name_key(low))
            and (not high or name_key(r.full_name) <= name_key(high))
        ]
    account_types = texts(rq, "AccountType")
    if account_types:
        selected = [r for r in selected if getattr(r, "account_type", None) in account_types]
    selected.sort(key=lambda r: name_key(r.full_name))
    return _capped(rq, selected)


def _capped(rq: etree._Element, selected: list[X]) -> tuple[list[X], errors.StatusError | None]:
    limit = _max_returned(rq)
    if limit is not None and rq.get("iterator") is None:
        selected = selected[:limit]
    return selected, None if selected else errors.no_match()


def _ref_matches(ref: Ref | None, rq_filter: etree._Element, company: Company, kind: str) -> bool:
    """EntityFilter/AccountFilter/ItemFilter: ListID+, FullName+, or …WithChildren."""
    if ref is None:
        return False
    ids, names = texts(rq_filter, "ListID"), texts(rq_filter, "FullName")
    if ids:
        return ref.list_id in ids
    if names:
        return name_key(ref.full_name) in {name_key(n) for n in names}
    root_id = text(rq_filter, "ListIDWithChildren")
    if root_id:
        root: ListRecord | None
        if kind == "Entity":
            root = company.entities.get(root_id)
        elif kind == "Account":
            root = company.accounts.get(root_id)
        else:
            root = company.items.get(root_id)
        if root is None:
            return False
        return ref.list_id == root_id or name_key(ref.full_name).startswith(
            name_key(root.full_name) + ":"
        )
    root_name = name_key(text(rq_filter, "FullNameWithChildren") or "")
    key = name_key(ref.full_name)
    return key == root_name or key.startswith(root_name + ":")


def select_txns(
    company: Company,
    rq: etree._Element,
    txns: Iterable[T],
    *,
    entity_of: Callable[[T], Ref | None],
    accounts_of: Callable[[T], Sequence[Ref]] = lambda _t: (),
    items_of: Callable[[T], Sequence[Ref]] = lambda _t: (),
) -> tuple[list[T], errors.StatusError | None]:
    """Transactions a PurchaseOrder/ItemReceipt/InventoryAdjustment query asks for."""
    pool = sorted(txns, key=lambda t: t.txn_number)
    ids = texts(rq, "TxnID")
    refs = texts(rq, "RefNumber")
    exact = texts(rq, "RefNumberCaseSensitive")
    if ids or refs or exact:
        found: list[T] = []
        missing: list[str] = []
        for value in ids or refs or exact:
            if ids:
                hits = [t for t in pool if t.txn_id == value]
            elif refs:
                hits = [t for t in pool if name_key(t.ref_number or "") == name_key(value)]
            else:
                hits = [t for t in pool if t.ref_number == value]
            if not hits:
                missing.append(value)
            found.extend(h for h in hits if h not in found)
        return found, errors.not_found_in_list(missing[0]) if missing else None

    selected = list(pool)
    modified = rq.find("ModifiedDateRangeFilter")
    if modified is not None:
        low, high = text(modified, "FromModifiedDate"), text(modified, "ToModifiedDate")
        selected = [t for t in selected if _modified_between(company, t.time_modified, low, high)]
    dates = rq.find("TxnDateRangeFilter")
    if dates is not None:
        low_date, high_date = (
            parse_date(text(dates, "FromTxnDate")),
            parse_date(text(dates, "ToTxnDate")),
        )
        selected = [
            t
            for t in selected
            if (low_date is None or t.txn_date >= low_date)
            and (high_date is None or t.txn_date <= high_date)
        ]
    for tag, kind, refs_of in (
        ("EntityFilter", "Entity", lambda t: [r for r in [entity_of(t)] if r is not None]),
        ("AccountFilter", "Account", accounts_of),
        ("ItemFilter", "Item", items_of),
    ):
        rq_filter = rq.find(tag)
        if rq_filter is not None:
            selected = [
                t
                for t in selected
                if any(_ref_matches(r, rq_filter, company, kind) for r in refs_of(t))
            ]
    ref_filter = rq.find("RefNumberFilter")
    if ref_filter is not None:
        criterion, wanted = text(ref_filter, "MatchCriterion"), text(ref_filter, "RefNumber")
        selected = [
            t for t in selected if _match(criterion or "", t.ref_number or "", wanted or "")
        ]
    ref_range = rq.find("RefNumberRangeFilter")
    if ref_range is not None:
        low_ref, high_ref = text(ref_range, "FromRefNumber"), text(ref_range, "ToRefNumber")
        selected = [t for t in selected if _in_ref_range(t.ref_number or "", low_ref, high_ref)]
    return _capped(rq, selected)


def _in_ref_range(value: str, low: str | None, high: str | None) -> bool:
    """Numeric RefNumbers compare as numbers, others as case-insensitive text."""

    def key(ref: str) -> tuple[int, int, str]:
        return (0, int(ref), "") if ref.isdigit() else (1, 0, ref.lower())

    return (not low or key(value) >= key(low)) and (not high or key(value) <= key(high))
