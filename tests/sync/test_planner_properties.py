"""Properties of the PO update's planner (:func:`plan_change` and its line planning), and of the
job payloads (each reads back what it writes, through JSON).

QuickBooks deletes the lines a line Mod does not name (reference/qbxml.md 4.9), and the update
runs again whenever the PO changes, so the planner must name every line it keeps and must find
nothing more to do once its Mod has been carried out. The scenarios are drawn at random: Autotask
lines mapped or new, lines removed in Autotask (received or not), lines people added in
QuickBooks, different items, quantities, rates, customers, received quantities, cancel flags.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.db import Database
from service.qbxml.types import (
    NEW_LINE_ID,
    PurchaseOrderChange,
    PurchaseOrderLineMod,
    PurchaseOrderLineRecord,
    PurchaseOrderRecord,
    Ref,
)
from service.sync.common import decimal
from service.sync.inventory import AdjustedLine, InventoryState
from service.sync.lists import ListState
from service.sync.mapping import Mappings
from service.sync.payloads import (
    CompanyOf,
    CorrectionPayload,
    EnsurePayload,
    InventoryPayload,
    ItemFacts,
    PoLine,
    PoLineOf,
    PoLink,
    PurchaseOrderData,
    PurchaseOrderPayload,
    ReceiptPayload,
)
from service.sync.po_state import Modifying, PlannedMod, update_state
from service.sync.purchase_orders import Unplannable, memo_text, plan_change

NOW = datetime(2026, 3, 1, tzinfo=UTC)
USER = "qbwc"
PO_ID = 7
PRODUCTS = (1, 2, 3)
CUSTOMERS = (10, 11)
QUANTITIES = ("1", "2", "5", "2.5")
RATES = (None, "3.00", "4.50")
TEXTS = (None, "blue", "red")
RECEIVED = (None, Decimal(0), Decimal(1), Decimal(3))
#: What the summary says of a line the Mod leaves as it is (repeated by every update).
NOTE = re.compile(r"kept at|closed \(removed in Autotask, already received\)")
PROPERTIES = settings(max_examples=100, deadline=None)


@dataclass(frozen=True)
class Scenario:
    """An Autotask PO (as its job payload holds it), the QuickBooks PO, and what is mapped."""

    po: dict[str, Any]
    record: PurchaseOrderRecord
    #: Autotask line id → TxnLineID, for the lines atqb transferred (current and removed ones).
    mapped: dict[int, str]
    #: The ``canceled`` the PO's mapping remembers from the previous update.
    was_canceled: bool


def _company(ids: tuple[int, ...]) -> st.SearchStrategy[dict[str, Any] | None]:
    return st.one_of(
        st.none(), st.sampled_from(ids).map(lambda i: {"id": i, "qb_name": f"Customer {i}"})
    )


@st.composite
def _autotask_line(draw: st.DrawFn, line_id: int) -> dict[str, Any]:
    product = draw(st.sampled_from(PRODUCTS))
    return {
        "id": line_id,
        "product_id": product,
        "item": f"Item {product}",
        "quantity": draw(st.sampled_from(QUANTITIES)),
        "rate": draw(st.sampled_from(RATES)),
        "desc": draw(st.sampled_from(TEXTS)),
        "mpn": None,
        "customer": draw(_company(CUSTOMERS)),
    }


@st.composite
def _quickbooks_line(
    draw: st.DrawFn, txn_line_id: str, product: int | None
) -> PurchaseOrderLineRecord:
    """A QuickBooks line; ``product``: most often of the Autotask line's product."""
    if product is None or draw(st.booleans()):
        product = draw(st.sampled_from(PRODUCTS))
    rate = draw(st.sampled_from(RATES))
    customer = draw(st.sampled_from((None, *CUSTOMERS)))
    return PurchaseOrderLineRecord(
        txn_line_id,
        item=Ref(list_id=f"I-{product}"),
        desc=draw(st.sampled_from(TEXTS)),
        quantity=draw(st.sampled_from((None, *map(Decimal, QUANTITIES)))),
        rate=decimal(rate) if rate is not None else None,
        customer=Ref(list_id=f"C-{customer}") if customer is not None else None,
        received_quantity=draw(st.sampled_from(RECEIVED)),
        is_manually_closed=draw(st.booleans()),
    )


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    """A PO as Autotask and QuickBooks each hold it."""
    line_ids = draw(st.lists(st.integers(1, 30), max_size=5, unique=True))
    lines = [draw(_autotask_line(i)) for i in line_ids]
    removed = draw(st.lists(st.integers(31, 40), max_size=3, unique=True))
    mapped = {i: f"L-{i}" for i in line_ids if draw(st.booleans())} | {i: f"L-{i}" for i in removed}
    foreign = [f"F-{n}" for n in range(draw(st.integers(0, 2)))]
    products = {line["id"]: line["product_id"] for line in lines}
    qb_lines = [draw(_quickbooks_line(txn, products.get(i))) for i, txn in mapped.items()]
    qb_lines += [draw(_quickbooks_line(txn, None)) for txn in foreign]
    po: dict[str, Any] = {
        "id": PO_ID,
        "label": f"PO{PO_ID}",
        "ref_number": f"AT{PO_ID}",
        "guid": "{00000000-0000-0000-0000-000000000007}",
        "txn_date": None,
        "memo": draw(st.sampled_from(TEXTS)),
        "canceled": draw(st.booleans()),
        "vendor": {"id": 1, "qb_name": "Vendor 1"},
        "ship_to": draw(_company(CUSTOMERS)),
        "lines": lines,
    }
    record = PurchaseOrderRecord(
        "T-1",
        "1",
        ref_number=f"AT{PO_ID}",
        vendor=Ref(list_id="V-1"),
        ship_to=Ref(list_id=f"C-{draw(st.sampled_from(CUSTOMERS))}"),
        memo=draw(st.sampled_from((memo_text(_read(po), canceled=po["canceled"]), "old memo"))),
        vendor_msg=draw(st.sampled_from(TEXTS)),
        is_manually_closed=draw(st.booleans()),
        lines=tuple(draw(st.permutations(qb_lines))),
    )
    return Scenario(po, record, mapped, was_canceled=draw(st.booleans()))


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Database]:
    """One migrated SQLite database for the module; each example rolls its writes back."""
    path = tmp_path_factory.mktemp("planner") / "atqb.db"
    shutil.copyfile(sqlite_template, path)
    made = Database.from_url(f"sqlite:///{path}")
    yield made
    made.dispose()


def _with_mappings(database: Database, scenario: Scenario, check: Any) -> None:
    """Run ``check(mappings)`` with the scenario's mappings, in a transaction rolled back."""
    with database.engine.connect() as conn, conn.begin() as transaction:
        mappings = Mappings(conn, NOW, USER)
        mappings.put("vendor", 1, qb_id="V-1")
        for customer in CUSTOMERS:
            mappings.put("customer", customer, qb_id=f"C-{customer}")
        for product in PRODUCTS:
            mappings.put("item", product, qb_id=f"I-{product}")
        for at_line, txn_line in scenario.mapped.items():
            mappings.put("po_line", at_line, qb_id=txn_line)
        mappings.put(
            "purchase_order",
            PO_ID,
            qb_id="T-1",
            data={"lines": sorted(scenario.mapped), "canceled": scenario.was_canceled},
        )
        try:
            check(mappings)
        finally:
            transaction.rollback()


def _applied(
    record: PurchaseOrderRecord, plan: PlannedMod, mappings: Mappings, po: dict[str, Any]
) -> PurchaseOrderRecord:
    """The PO as QuickBooks holds it after the planned Mod, with the mappings the update then
    keeps (the added lines' TxnLineIDs, the PO's lines and cancel flag)."""
    change = plan.change
    lines = record.lines
    if change.lines is not None:
        by_id = {line.txn_line_id: line for line in record.lines}
        lines = tuple(_applied_line(entry, by_id, n) for n, entry in enumerate(change.lines))
        added = [line for line in lines if line.txn_line_id not in by_id]
        for entry, line in zip(plan.adding, added, strict=True):
            mappings.put("po_line", entry.at_line, qb_id=line.txn_line_id)
    previous = mappings.get("purchase_order", PO_ID)
    assert previous is not None
    known = list(previous.data["lines"])
    known += [line["id"] for line in po["lines"] if line["id"] not in known]
    mappings.put("purchase_order", PO_ID, data={"lines": known, "canceled": po["canceled"]})
    return replace(
        record,
        vendor=change.vendor or record.vendor,
        ship_to=change.ship_to or record.ship_to,
        memo=record.memo if change.memo is None else change.memo,
        vendor_msg=record.vendor_msg if change.vendor_msg is None else change.vendor_msg,
        is_manually_closed=_either(change.is_manually_closed, record.is_manually_closed),
        lines=lines,
    )


def _either(change: bool | None, current: bool | None) -> bool | None:
    return current if change is None else change


def _applied_line(
    entry: PurchaseOrderLineMod, by_id: dict[str, PurchaseOrderLineRecord], n: int
) -> PurchaseOrderLineRecord:
    """One line of a line Mod as QuickBooks carries it out (``-1``: a new line)."""
    new = entry.txn_line_id == NEW_LINE_ID
    line = PurchaseOrderLineRecord(f"N-{n}") if new else by_id[entry.txn_line_id]
    return replace(
        line,
        item=entry.item or line.item,
        quantity=line.quantity if entry.quantity is None else Decimal(entry.quantity),
        rate=line.rate if entry.rate is None else Decimal(entry.rate),
        desc=entry.desc or line.desc,
        customer=entry.customer or line.customer,
        is_manually_closed=_either(entry.is_manually_closed, line.is_manually_closed),
    )


def _read(po: dict[str, Any]) -> PurchaseOrderData:
    return PurchaseOrderData.from_json(po, "the PO")


def _plan(po: dict[str, Any], record: PurchaseOrderRecord, mappings: Mappings) -> PlannedMod | None:
    """The planned Mod; None when there is nothing to change or QuickBooks would refuse it."""
    data = mappings.get("purchase_order", PO_ID)
    assert data is not None
    try:
        return plan_change(_read(po), record, mappings, data.data)
    except Unplannable:
        return None


@PROPERTIES
@given(scenarios())
def test_applying_a_plan_leaves_nothing_to_plan(database: Database, scenario: Scenario) -> None:
    """Once QuickBooks has carried out the planned Mod, the planner finds nothing to change; but
    with a line kept at its received quantity, it says so again in a Mod that changes nothing."""

    def check(mappings: Mappings) -> None:
        plan = _plan(scenario.po, scenario.record, mappings)
        if plan is None:
            return
        after = _applied(scenario.record, plan, mappings, scenario.po)
        again = _plan(scenario.po, after, mappings)
        if again is not None:
            # A line kept at its received quantity is said again, in a Mod changing nothing.
            assert any("kept at" in words for words in again.summary), again.summary
            assert all(NOTE.search(words) for words in again.summary), again.summary
            bare = PurchaseOrderChange(after.txn_id, after.edit_sequence, lines=again.change.lines)
            assert again.change == bare
            assert again.adding == ()
            assert again.change.lines is not None
            for line in again.change.lines:  # named bare (a removed received line: closed)
                closed = line.is_manually_closed
                assert line == PurchaseOrderLineMod(line.txn_line_id, is_manually_closed=closed)

    _with_mappings(database, scenario, check)


@PROPERTIES
@given(scenarios())
def test_every_kept_line_is_named(database: Database, scenario: Scenario) -> None:
    """A line Mod names every QuickBooks line but the unreceived ones removed in Autotask, and
    adds every Autotask line QuickBooks lacks."""

    def check(mappings: Mappings) -> None:
        plan = _plan(scenario.po, scenario.record, mappings)
        if plan is None or plan.change.lines is None:
            return
        current = {line["id"] for line in scenario.po["lines"]}
        dropped = {
            txn
            for at_line, txn in scenario.mapped.items()
            if at_line not in current
            and not next(
                line.received_quantity for line in scenario.record.lines if line.txn_line_id == txn
            )
        }
        named = [entry.txn_line_id for entry in plan.change.lines]
        kept = [
            line.txn_line_id for line in scenario.record.lines if line.txn_line_id not in dropped
        ]
        assert [i for i in named if i != NEW_LINE_ID] == kept
        assert sorted(entry.at_line for entry in plan.adding) == sorted(
            current - set(scenario.mapped)
        )
        assert named.count(NEW_LINE_ID) == len(plan.adding)

    _with_mappings(database, scenario, check)


@PROPERTIES
@given(scenarios())
def test_a_planned_mod_survives_the_job_state(database: Database, scenario: Scenario) -> None:
    """The Mod the update keeps in its state between planning it and sending it (through JSON,
    as the database stores it) is the Mod planned: no field lost or changed on the way."""

    def check(mappings: Mappings) -> None:
        plan = _plan(scenario.po, scenario.record, mappings)
        if plan is None:
            return
        state = Modifying(plan, ("L-1",), "2026-03-01", stale=1)
        assert update_state(json.loads(json.dumps(state.to_json()))) == state
        sent = replace(state, sent="mod")
        assert update_state(json.loads(json.dumps(sent.to_json()))) == sent

    _with_mappings(database, scenario, check)


_TEXTS = st.text(max_size=20)
_MAYBE = st.none() | _TEXTS
_IDS = st.integers(-(2**53), 2**53)
ENSURE_PAYLOADS = st.builds(
    EnsurePayload,
    autotask_id=_IDS,
    name=_TEXTS,
    qb_name=_TEXTS,
    item=st.none() | st.builds(ItemFacts, _MAYBE, _MAYBE, _MAYBE, _MAYBE),
    collides_with=st.lists(st.tuples(_IDS, _TEXTS), max_size=3).map(tuple),
)


_LINES = st.builds(PoLineOf, _IDS, _TEXTS, _IDS, _IDS, _TEXTS)
_QUANTITIES = st.decimals(0, 10_000, places=3).map(str)
RECEIPT_PAYLOADS = st.one_of(
    st.builds(ReceiptPayload, _LINES, _TEXTS, _TEXTS, _MAYBE, target=_QUANTITIES),
    st.builds(
        ReceiptPayload, _LINES, _TEXTS, _TEXTS, _MAYBE, receiving_id=_IDS, quantity=_QUANTITIES
    ),
)
CORRECTION_PAYLOADS = st.builds(
    CorrectionPayload,
    _LINES,
    _QUANTITIES,
    st.none() | st.lists(_IDS, max_size=4).map(tuple),
)

_COMPANIES = st.builds(CompanyOf, _IDS, _TEXTS)
_PO_LINES = st.builds(
    PoLine, _IDS, _IDS, _TEXTS, _QUANTITIES, _MAYBE, _MAYBE, _MAYBE, st.none() | _COMPANIES
)
PO_PAYLOADS = st.builds(
    PurchaseOrderPayload,
    st.builds(
        PurchaseOrderData,
        _IDS,
        _TEXTS,
        _TEXTS,
        _TEXTS,
        _MAYBE,
        _MAYBE,
        st.booleans(),
        _COMPANIES,
        st.none() | _COMPANIES,
        st.lists(_PO_LINES, max_size=3).map(tuple),
        st.none() | st.builds(PoLink, _TEXTS, st.booleans()),
    ),
    _TEXTS,
)
INVENTORY_PAYLOADS = st.builds(InventoryPayload, st.lists(_IDS, max_size=5).map(tuple), _TEXTS)
INVENTORY_STATES = st.one_of(
    st.builds(InventoryState, st.sampled_from([None, "count"]), sent=_MAYBE),
    st.builds(
        InventoryState,
        st.just("adjust"),
        st.lists(st.builds(AdjustedLine, _TEXTS, _MAYBE, _MAYBE, _TEXTS), max_size=3).map(tuple),
        st.lists(_TEXTS, max_size=3).map(tuple),
        _MAYBE,
    ),
)
LIST_STATES = st.one_of(
    st.builds(ListState, st.sampled_from([None, "lookup"]), sent=_MAYBE),
    st.builds(ListState, st.just("add"), holder=_MAYBE, sent=_MAYBE),
    st.builds(ListState, st.sampled_from(["relookup", "holder"]), said=_TEXTS, sent=_MAYBE),
    st.builds(
        ListState,
        st.just("reactivate"),
        list_id=_TEXTS,
        edit_sequence=_TEXTS,
        how=_TEXTS,
        sent=_MAYBE,
    ),
)
Payload = (
    EnsurePayload
    | InventoryPayload
    | ReceiptPayload
    | CorrectionPayload
    | PurchaseOrderPayload
    | InventoryState
    | ListState
)


@pytest.mark.parametrize(
    "payloads",
    [
        ENSURE_PAYLOADS,
        INVENTORY_PAYLOADS,
        RECEIPT_PAYLOADS,
        CORRECTION_PAYLOADS,
        PO_PAYLOADS,
        INVENTORY_STATES,
        LIST_STATES,
    ],
    ids=[
        "ensure",
        "inventory",
        "receipt",
        "correction",
        "purchase_order",
        "inventory_state",
        "ensure_state",
    ],
)
@PROPERTIES
@given(data=st.data())
def test_a_payload_reads_back_what_it_writes(
    payloads: st.SearchStrategy[Payload], data: st.DataObject
) -> None:
    """Each kind's payload (and the step states of the inventory sync and the ensure jobs),
    written as JSON text and read back, is the same."""
    payload = data.draw(payloads)
    stored = json.loads(json.dumps(payload.to_json()))
    assert type(payload).from_json(stored) == payload
