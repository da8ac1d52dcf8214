"""The step states of the PO transfer and update (service/sync/po_state.py) as stored.

Every state these kinds write reads back and writes out the same JSON, key for key, so jobs a
database already holds carry on after an upgrade; the exchange's own flags are left to the
exchange; a malformed state fails its job with a message naming the field. The last test is a
lost answer the typed states made visible: a reactivation carried out whose answer never came.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.qbxml.types import NEW_LINE_ID, PurchaseOrderChange, PurchaseOrderLineMod, Ref
from service.simulators.webconnector import Faults
from service.sync.jsondata import MalformedJson
from service.sync.po_state import (
    AddedLine,
    Adding,
    Begin,
    Checking,
    Finding,
    Idle,
    Linking,
    Modifying,
    PlannedMod,
    Reading,
    transfer_state,
    update_state,
)
from tests.sync.helpers import CABLE, Harness, assert_same_json, line, order

USED = {"vendor": {"5": "80-V"}, "customer": {}, "item": {"101": "80-I", "102": "80-J"}}
CHECK = {
    "kind": "item",
    "query": "item",
    "list_ids": ["80-I", "80-J"],
    "used": {"101": "80-I", "102": "80-J"},
    "error": "QuickBooks 3140: There is an invalid reference to QuickBooks Item.",
}
PENDING = {"inactive": [["80-I", "12"], ["80-J", "3"]], "named": "item Cable, item Patch"}

#: Every state the transfer writes (service/sync/purchase_orders.py), in the order of its keys.
TRANSFER_STATES: list[dict[str, Any]] = [
    {},
    {"unlinked": True},
    {"verified": True, "forgotten": {"item": [101, 102]}},
    {"verified": True, "reactivated": "item Cable"},
    {"phase": "link"},
    {"phase": "find"},
    {"phase": "find", "sent": "add"},  # the exchange carries a lost add's "sent"
    {"sent": "add", "used": USED, "verified": None},
    {"sent": "add", "used": USED, "verified": True},
    {"phase": "verify", **CHECK},
    {"phase": "reactivate", **CHECK, **PENDING},
    {"phase": "reactivate", **CHECK, **PENDING, "sent": "reactivate"},
    {"phase": "verify", **CHECK, **PENDING},  # 3200 on a reactivation: read again
    {"phase": "verify", **CHECK, **PENDING, "sent": "reactivate"},  # a lost reactivation
]

CHANGE = {
    "txn_id": "T-1",
    "edit_sequence": "9",
    "header": {
        "vendor": {"list_id": "80-V"},
        "ship_to": {"full_name": "Globex"},
        "memo": "CANCELED in Autotask. Autotask PO P1",
        "vendor_msg": "",
        "closed": True,
    },
    "lines": [
        {"id": "L-1"},
        {"id": "L-2", "closed": True},
        {
            "item": {"list_id": "80-I"},
            "quantity": "2.5",
            "rate": "4.50",
            "customer": {"full_name": "Globex"},
            "desc": "blue",
            "id": "L-3",
        },
        {
            "id": NEW_LINE_ID,
            "item": {"full_name": "Cable"},
            "quantity": "3",
            "rate": None,
            "desc": None,
            "customer": None,
            "mpn": "C-6",
        },
    ],
}
ADDING = [{"at_line": 12, "item": {"full_name": "Cable"}}]
MOD = {
    "phase": "mod",
    "change": CHANGE,
    "adding": ADDING,
    "summary": ["memo", "line 12 added (Cable x 3)"],
    "known_lines": ["L-1", "L-2", "L-3"],
    "txn_date": "2026-03-01",
    "stale": 0,
}

#: Every state the update writes, in the order of its keys.
UPDATE_STATES: list[dict[str, Any]] = [
    {},
    {"stale": 0},  # after a RetryLater
    {"phase": "read", "stale": 0},
    {"phase": "read", "stale": 2},
    {"phase": "read", "stale": 0, "adding": ADDING, "lost": True, "sent": "mod"},
    {"phase": "read", "stale": 1, "adding": [], "lost": True, "sent": "mod"},
    MOD,
    {**MOD, "change": {**CHANGE, "header": {}, "lines": None}, "txn_date": None, "stale": 3},
    {**MOD, "sent": "mod"},
]


@pytest.mark.parametrize("stored", TRANSFER_STATES)
def test_a_transfer_state_as_stored_reads_back_the_same(stored: dict[str, Any]) -> None:
    assert_same_json(transfer_state(stored).to_json(), stored)
    flagged = {**stored, "_solo": True, "_internal_error": True}
    assert_same_json(transfer_state(flagged).to_json(), stored)


@pytest.mark.parametrize("stored", UPDATE_STATES)
def test_an_update_state_as_stored_reads_back_the_same(stored: dict[str, Any]) -> None:
    assert_same_json(update_state(stored).to_json(), stored)
    assert_same_json(update_state({**stored, "_internal_error": True}).to_json(), stored)


def test_a_stored_mod_reads_as_the_mod_it_sends() -> None:
    state = update_state(MOD)
    assert isinstance(state, Modifying)
    change = state.plan.change
    assert (change.vendor, change.ship_to, change.is_manually_closed) == (
        Ref(list_id="80-V"),
        Ref(full_name="Globex"),
        True,
    )
    assert change.vendor_msg == ""  # an empty element: clears the vendor message
    assert change.lines is not None
    kept, closed, changed, new = change.lines
    assert kept == PurchaseOrderLineMod.keep("L-1")
    assert closed == PurchaseOrderLineMod("L-2", is_manually_closed=True)
    assert (changed.quantity, changed.rate) == (Decimal("2.5"), Decimal("4.50"))
    assert (new.txn_line_id, new.manufacturer_part_number) == (NEW_LINE_ID, "C-6")
    assert state.plan.adding == (AddedLine(12, Ref(full_name="Cable")),)


@pytest.mark.parametrize(
    ("read", "stored", "why"),
    [
        (transfer_state, [], "[] is not an object"),
        (transfer_state, {"phase": "add"}, "'phase' is 'add'"),
        (transfer_state, {"sent": "add"}, "'used' is missing"),
        (transfer_state, {"sent": "add", "used": {"supplier": {}}}, "'supplier' is 'supplier'"),
        (transfer_state, {"sent": "add", "used": {"item": {"101": 7}}}, "'101' is 7"),
        (transfer_state, {"sent": "add", "used": {"item": {"x": "80-I"}}}, "'x' is not an"),
        (transfer_state, {"verified": True, "forgotten": {"item": ["101"]}}, "not integers"),
        (transfer_state, {"phase": "verify", **CHECK, "error": None}, "'error' is None"),
        (transfer_state, {"phase": "verify", **CHECK, "kind": "account"}, "'kind' is 'account'"),
        (transfer_state, {"phase": "reactivate", **CHECK}, "'inactive' is missing or empty"),
        (transfer_state, {"phase": "reactivate", **CHECK, "inactive": [["80-I"]]}, "['80-I']"),
        (update_state, {"phase": "read"}, "'stale' is missing"),
        (update_state, {"phase": "read", "stale": "1"}, "'stale' is '1', not an integer"),
        (update_state, {"phase": "fix"}, "'phase' is 'fix'"),
        (update_state, {**MOD, "sent": "del"}, "'sent' is 'del', not 'mod'"),
        (transfer_state, {"phase": "find", "sent": "mod"}, "'sent' is 'mod', not 'add'"),
        (update_state, {**MOD, "summary": [1]}, "'summary' is [1], not texts"),
        (update_state, {**MOD, "change": {**CHANGE, "txn_id": None}}, "'txn_id' is None"),
        (update_state, {**MOD, "adding": [{"at_line": 12}]}, "'item' is missing"),
        (
            update_state,
            {**MOD, "change": {**CHANGE, "lines": [{"id": "L-1", "quantity": "two"}]}},
            "'quantity' is 'two', not a number",
        ),
        (
            update_state,
            {**MOD, "change": {**CHANGE, "header": {"vendor": {"name": "Acme"}}}},
            "'vendor' is {'name': 'Acme'}, not a reference",
        ),
    ],
)
def test_a_malformed_state_names_the_field(read: Any, stored: Any, why: str) -> None:
    with pytest.raises(MalformedJson, match=r"job's state( \([\w ]+\))* is malformed") as raised:
        read(stored)
    assert why in str(raised.value)


# -- every state survives JSON ------------------------------------------------------------------

_TEXT = st.text(max_size=12)
_KINDS = st.sampled_from(["vendor", "customer", "item"])
_IDS = st.lists(
    st.tuples(st.integers(1, 10**9).map(str), _TEXT), max_size=3, unique_by=lambda p: p[0]
)
_PAIRS = st.lists(st.tuples(_TEXT, _TEXT), min_size=1, max_size=3).map(tuple)
_REFS = st.builds(Ref, list_id=st.text(min_size=1, max_size=8)) | st.builds(
    Ref, full_name=st.text(min_size=1, max_size=8)
)
_NUMBERS = st.decimals(0, 10**6, places=2, allow_nan=False, allow_infinity=False)


def _checking(phase: str) -> st.SearchStrategy[Checking]:
    kind = st.sampled_from([("vendor", "vendor"), ("customer", "customer"), ("item", "item")])
    return st.builds(
        lambda k, ids, used, error, inactive, named, sent: Checking(
            phase, k[0], k[1], tuple(ids), tuple(used), error, inactive, named, sent
        ),
        kind,
        st.lists(_TEXT, max_size=3),
        _IDS,
        _TEXT,
        _PAIRS if phase == "reactivate" else st.just(()) | _PAIRS,
        st.none() | _TEXT,
        st.none() | st.just("reactivate"),
    )


TRANSFERS = st.one_of(
    st.builds(
        Begin,
        st.booleans(),
        st.booleans(),
        st.lists(
            st.tuples(_KINDS, st.lists(st.integers(1, 10**9), max_size=3).map(tuple)),
            max_size=3,
            unique_by=lambda p: p[0],
        ).map(tuple),
        st.none() | _TEXT,
    ),
    st.just(Linking()),
    st.builds(Finding, st.none() | st.just("add")),
    st.builds(
        Adding,
        st.lists(st.tuples(_KINDS, _IDS.map(tuple)), max_size=3, unique_by=lambda p: p[0]).map(
            tuple
        ),
        st.booleans(),
    ),
    _checking("verify"),
    _checking("reactivate"),
)


def _line_mods() -> st.SearchStrategy[PurchaseOrderLineMod]:
    maybe_ref = st.none() | _REFS
    maybe_number = st.none() | _NUMBERS
    kept = st.builds(
        PurchaseOrderLineMod,
        st.text(min_size=1, max_size=8).filter(lambda t: t != NEW_LINE_ID),
        item=maybe_ref,
        quantity=maybe_number,
        rate=maybe_number,
        desc=st.none() | _TEXT,
        customer=maybe_ref,
        is_manually_closed=st.none() | st.booleans(),
    )
    new = st.builds(
        PurchaseOrderLineMod,
        st.just(NEW_LINE_ID),
        item=_REFS,
        quantity=_NUMBERS,
        rate=maybe_number,
        desc=st.none() | _TEXT,
        customer=maybe_ref,
        manufacturer_part_number=st.none() | _TEXT,
    )
    return kept | new


_CHANGES = st.builds(
    PurchaseOrderChange,
    _TEXT,
    _TEXT,
    vendor=st.none() | _REFS,
    ship_to=st.none() | _REFS,
    is_manually_closed=st.none() | st.booleans(),
    memo=st.none() | _TEXT,
    vendor_msg=st.none() | _TEXT,
    lines=st.none() | st.lists(_line_mods(), max_size=4).map(tuple),
)
_ADDING = st.lists(st.builds(AddedLine, st.integers(1, 10**9), _REFS), max_size=3).map(tuple)
UPDATES = st.one_of(
    st.builds(Idle, st.none() | st.integers(0, 9)),
    st.builds(Reading, st.integers(0, 9), st.none() | _ADDING, st.none() | st.just("mod")),
    st.builds(
        Modifying,
        st.builds(PlannedMod, _CHANGES, _ADDING, st.lists(_TEXT, max_size=3).map(tuple)),
        st.lists(_TEXT, max_size=3).map(tuple),
        st.none() | _TEXT,
        st.integers(0, 9),
        st.none() | st.just("mod"),
    ),
)


@settings(max_examples=300, deadline=None)
@given(TRANSFERS)
def test_every_transfer_state_survives_json(state: Any) -> None:
    assert transfer_state(json.loads(json.dumps(state.to_json()))) == state


@settings(max_examples=300, deadline=None)
@given(UPDATES)
def test_every_update_state_survives_json(state: Any) -> None:
    assert update_state(json.loads(json.dumps(state.to_json()))) == state


# -- through the exchange -----------------------------------------------------------------------


def test_a_lost_reactivation_of_a_po_reference_is_read_again_and_the_po_added(h: Harness) -> None:
    """An item made inactive in QuickBooks after atqb mapped it, with ATQB_REACTIVATE_INACTIVE:
    the transfer's 3140 leads to the item's reactivation; its answer is lost. The next session
    reads the item again, finds it active, and adds the PO once (it used to fail the job)."""
    h.enqueue([order(1, line(11, CABLE, 1))])
    h.run()
    h.qb.set_active("Cable Cat6", False)
    h.settings["reactivate_inactive"] = True
    h.enqueue([order(2, line(21, CABLE, 1))])
    (crashed,) = h.run(Faults(crash_after_message=3))
    assert crashed.crashed
    assert "<ItemInventoryModRq" in h.qb.log[-1].request_xml  # the last message QuickBooks saw
    assert h.qb.item("Cable Cat6").is_active is True  # type: ignore[union-attr]
    h.run()
    h.assert_all_done()
    (second,) = [j for j in h.jobs("purchase_order") if j.autotask_id == 2]
    assert second.result is not None
    assert second.result["how"] == "added"
    assert h.request_names().count("ItemInventoryModRq") == 1
    assert len(h.qb.purchase_orders("AT2")) == 1
