"""The step states of the item receipt, the receipt correction and the account check as stored
(the PO kinds' are in test_po_states.py; a malformed state of any kind fails its job here).

Every state these kinds write reads back and writes out the same JSON, key for key, so jobs a
database already holds carry on after an upgrade; the exchange's own flags (``_solo``,
``_internal_error``) are left to the exchange; a malformed state fails its job with a message
naming the field.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.clock import utcnow
from service.jobstore import JobStore
from service.kinds import Context, Next, RetryLater
from service.qbxml.types import Response
from service.settings import load_settings
from service.simulators.webconnector import Faults
from service.sync.accounts import AccountCheckState
from service.sync.corrections import CorrectionState, CorrectReceipts
from service.sync.jsondata import MalformedJson
from service.sync.receipts import ReceiptState
from tests.sync.helpers import CABLE, Harness, assert_same_json, line, order, stock

#: Every state the item receipt writes (service/sync/receipts.py), in the order of its keys.
RECEIPT_STATES: list[dict[str, Any]] = [
    {},  # before the first step; after a lookup that did not find the lost add
    {"sent": "add", "quantity": "5"},
    {"sent": "add", "quantity": "2.5"},
    {"phase": "find", "quantity": "5"},  # as the kind writes the lookup's state
    {"phase": "find", "quantity": "5", "sent": "add"},  # the exchange carries a lost add's "sent"
    {"phase": "find", "sent": "add"},  # a lost add's state without its quantity
]

MOD: dict[str, Any] = {
    "phase": "mod",
    "txn_id": "T-1",
    "txn_date": "2026-03-01",
    "edit_sequence": "9",
    "line": "L-1",
    "item": "80-I",
    "quantity": "2",
    "changes": [],
    "stale": 0,
}
DEL: dict[str, Any] = {
    "phase": "del",
    "txn_id": "T-2",
    "quantity": "0",
    "txn_date": "2026-03-01",
    "changes": ["item receipt T-1 lowered to 2"],
    "stale": 1,
}
#: Every state the receipt correction writes (service/sync/corrections.py), in the order of its
#: keys.
CORRECTION_STATES: list[dict[str, Any]] = [
    {},
    {"changes": [], "stale": 0},  # planning again
    {"changes": ["item receipt T-1 deleted"], "stale": 0},
    {"changes": ["item receipt T-1 deleted"]},  # after a RetryLater (3200 too often)
    {"phase": "read", "txn_id": "T-1", "changes": [], "stale": 0},
    {"phase": "read", "txn_id": "T-1", "changes": ["item receipt T-2 deleted"], "stale": 3},
    {"phase": "read", "txn_id": "T-1", "changes": [], "stale": 0, "sent": "mod"},  # a lost mod
    {"phase": "read", "txn_id": "T-2", "changes": [], "stale": 1, "sent": "del"},  # a lost del
    MOD,
    {**MOD, "txn_date": None, "item": None, "stale": 2},
    {**MOD, "sent": "mod"},
    DEL,
    {**DEL, "txn_date": None},
    {**DEL, "sent": "del"},
]

#: The state the account check writes (service/sync/accounts.py).
ACCOUNT_STATES: list[dict[str, Any]] = [
    {"names": ["Sales", "Cost of Goods Sold", "Inventory Asset"]},
]

READERS: dict[str, Any] = {
    "item_receipt": ReceiptState.from_json,
    "item_receipt_correction": CorrectionState.from_json,
    "account_check": AccountCheckState.from_json,
}
LISTED = {
    "item_receipt": RECEIPT_STATES,
    "item_receipt_correction": CORRECTION_STATES,
    "account_check": ACCOUNT_STATES,
}
STORED = [(kind, state) for kind, states in LISTED.items() for state in states]
#: The exchange's own flags, which it adds after a kind's keys.
FLAGS = [{}, {"_solo": True}, {"_internal_error": True}, {"_solo": True, "_internal_error": True}]


@pytest.mark.parametrize("flags", FLAGS, ids=["", "solo", "internal-error", "both"])
@pytest.mark.parametrize(("kind", "stored"), STORED)
def test_a_state_as_stored_reads_back_the_same(
    kind: str, stored: dict[str, Any], flags: dict[str, bool]
) -> None:
    assert_same_json(READERS[kind]({**stored, **flags}).to_json(), stored)


@pytest.mark.parametrize(
    ("kind", "stored", "why"),
    [
        ("item_receipt", [], "[] is not an object"),
        ("item_receipt", {"phase": "add"}, "'phase' is 'add', not 'find'"),
        ("item_receipt", {"sent": "add"}, "'quantity' is missing"),
        ("item_receipt", {"sent": "add", "quantity": 5}, "'quantity' is 5, not a text"),
        ("item_receipt", {"phase": "find", "sent": True}, "'sent' is True, not a text"),
        ("item_receipt_correction", "read", "'read' is not an object"),
        ("item_receipt_correction", {"phase": "fix"}, "'phase' is 'fix', not one of"),
        ("item_receipt_correction", {"phase": "read"}, "'txn_id' is missing"),
        ("item_receipt_correction", {**MOD, "edit_sequence": None}, "'edit_sequence' is None"),
        ("item_receipt_correction", {**MOD, "line": 3}, "'line' is 3, not a text"),
        ("item_receipt_correction", {**MOD, "txn_date": 20260301}, "'txn_date' is 20260301"),
        ("item_receipt_correction", {"phase": "del", "txn_id": "T-1"}, "'quantity' is missing"),
        ("item_receipt_correction", {"changes": "none"}, "'changes' is 'none', not a list"),
        ("item_receipt_correction", {"changes": [1]}, "'changes' is [1], not texts"),
        ("item_receipt_correction", {"stale": "1"}, "'stale' is '1', not an integer"),
        ("item_receipt_correction", {"stale": True}, "'stale' is True, not an integer"),
        ("item_receipt_correction", {**DEL, "sent": 1}, "'sent' is 1, not a text"),
        ("account_check", {}, "'names' is missing"),
        ("account_check", {"names": "Sales"}, "'names' is 'Sales', not a list"),
        ("account_check", {"names": ["Sales", None]}, "'names' is ['Sales', None], not texts"),
    ],
)
def test_a_malformed_state_names_the_field(kind: str, stored: Any, why: str) -> None:
    with pytest.raises(MalformedJson, match=f"the {kind} job's state is malformed: ") as raised:
        READERS[kind](stored)
    assert why in str(raised.value)


# -- every state survives JSON ------------------------------------------------------------------

_TEXT = st.text(max_size=12)
_MAYBE_TEXT = st.none() | _TEXT
_CHANGES = st.none() | st.lists(_TEXT, max_size=3).map(tuple)
_STALE = st.none() | st.integers(0, 9)

RECEIPTS = st.one_of(
    st.builds(ReceiptState, st.none(), _MAYBE_TEXT),  # nothing sent
    st.builds(ReceiptState, st.none(), _TEXT, _TEXT),  # the add out, with its quantity
    st.builds(ReceiptState, st.just("find"), _MAYBE_TEXT, _MAYBE_TEXT),
)
CORRECTIONS = st.one_of(
    st.builds(CorrectionState, st.none(), changes=_CHANGES, stale=_STALE, sent=_MAYBE_TEXT),
    st.builds(
        CorrectionState,
        st.just("read"),
        _TEXT,
        changes=_CHANGES,
        stale=_STALE,
        sent=_MAYBE_TEXT,
    ),
    st.builds(
        CorrectionState,
        st.just("mod"),
        _TEXT,
        _MAYBE_TEXT,
        _TEXT,
        _TEXT,
        _MAYBE_TEXT,
        _TEXT,
        _CHANGES,
        _STALE,
        _MAYBE_TEXT,
    ),
    st.builds(
        CorrectionState,
        st.just("del"),
        _TEXT,
        _MAYBE_TEXT,
        quantity=_TEXT,
        changes=_CHANGES,
        stale=_STALE,
        sent=_MAYBE_TEXT,
    ),
)
ACCOUNTS = st.builds(AccountCheckState, st.lists(_TEXT, max_size=5).map(tuple))


@settings(max_examples=300, deadline=None)
@given(RECEIPTS)
def test_every_receipt_state_survives_json(state: ReceiptState) -> None:
    assert ReceiptState.from_json(json.loads(json.dumps(state.to_json()))) == state


@settings(max_examples=300, deadline=None)
@given(CORRECTIONS)
def test_every_correction_state_survives_json(state: CorrectionState) -> None:
    assert CorrectionState.from_json(json.loads(json.dumps(state.to_json()))) == state


@settings(max_examples=100, deadline=None)
@given(ACCOUNTS)
def test_every_account_check_state_survives_json(state: AccountCheckState) -> None:
    assert AccountCheckState.from_json(json.loads(json.dumps(state.to_json()))) == state


# -- through the exchange -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "state", "why", "changed_to"),
    [
        ("item_receipt", {"sent": "add"}, "'quantity' is missing", None),
        ("item_receipt_correction", {"phase": "read", "changes": []}, "'txn_id' is missing", 3),
        ("purchase_order", {"phase": "verify", "kind": "item"}, "'query' is missing", None),
        ("purchase_order_update", {"phase": "mod", "stale": 0}, "'change' is missing", 7),
    ],
)
def test_a_malformed_state_fails_its_job_naming_the_field(
    h: Harness, kind: str, state: dict[str, Any], why: str, changed_to: int | None
) -> None:
    """Through the real exchange, for every kind that reads its state (``changed_to``: the
    kind's job comes from a later change of the PO's quantity)."""
    h.enqueue([order(1, line(11, CABLE, 5))])
    if changed_to is not None:
        h.run()
        h.enqueue([order(1, line(11, CABLE, changed_to))])
    h.store_state(kind, state)
    h.run()
    h.assert_failed_on_state(kind, why)


def test_the_account_check_never_reads_its_state(h: Harness) -> None:
    """Its answer is checked against the settings, not against the names it asked for: even a
    malformed state (which no version wrote) does not stop it."""
    h.enqueue([order(1, line(11, CABLE, 5))])
    h.store_state("account_check", {"names": "Sales"})
    h.run()
    h.assert_all_done()


def test_the_states_written_in_real_runs_are_the_states_listed(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every state the exchange stored for these kinds in runs with lost answers (a lost receipt
    add, then its lost lookup; a lost correction Mod) has the keys of a state listed above, in
    the same order, and reads back the same."""
    written: list[tuple[int, dict[str, Any]]] = []
    record_requests, advance = JobStore.record_requests, JobStore.advance

    def record(store: JobStore, session_id: int, sent: Any) -> None:
        written.extend((s.job.id, s.state) for s in sent)
        record_requests(store, session_id, sent)

    def advanced(store: JobStore, job_id: int, state: dict[str, Any]) -> None:
        written.append((job_id, state))
        advance(store, job_id, state)

    monkeypatch.setattr(JobStore, "record_requests", record)
    monkeypatch.setattr(JobStore, "advance", advanced)
    h.enqueue([order(1, line(11, CABLE, 5))], stock(p101=7))
    h.run(Faults(crash_after_message=5))  # the receipt's add
    h.run(Faults(drop_connection_on_call=4))  # its lookup
    h.enqueue([order(1, line(11, CABLE, 3))], stock(p101=3))
    h.run(Faults(crash_after_message=2))  # the correction's Mod, after its read
    h.run()
    h.assert_all_done()

    kinds = {job.id: job.kind for job in h.jobs()}
    listed = {kind: [list(s) for s in states] for kind, states in LISTED.items()}
    seen: dict[str, list[list[str]]] = {kind: [] for kind in listed}
    for job_id, state in written:
        kind = kinds[job_id]
        if kind in listed:
            keys = [k for k in state if not k.startswith("_")]
            assert keys in listed[kind], (kind, state)
            kept = {k: state[k] for k in keys}
            assert_same_json(READERS[kind](state).to_json(), kept)
            seen[kind].append(keys)
    assert ["sent", "quantity"] in seen["item_receipt"]
    assert ["phase", "quantity", "sent"] in seen["item_receipt"]
    assert [*MOD, "sent"] in seen["item_receipt_correction"]
    assert ["phase", "txn_id", "changes", "stale", "sent"] in seen["item_receipt_correction"]
    assert seen["account_check"] == [["names"]]


@pytest.mark.parametrize(
    ("stored", "code", "written"),
    [
        (MOD, 3200, {"phase": "read", "txn_id": "T-1", "changes": [], "stale": 1}),
        ({**MOD, "stale": 5}, 3200, {"changes": []}),  # RetryLater: the stale count starts over
        (DEL, 3120, {"changes": DEL["changes"], "stale": 1}),  # deleted meanwhile
        (DEL, 0, {"changes": [*DEL["changes"], "item receipt T-2 deleted"], "stale": 0}),
    ],
    ids=["stale-mod", "stale-too-often", "deleted-meanwhile", "deleted"],
)
def test_the_states_a_correction_writes_after_its_change(
    h: Harness, stored: dict[str, Any], code: int, written: dict[str, Any]
) -> None:
    """The answers to a Mod or a Del that real runs rarely give (3200, 3120): the state written
    has the keys of one listed above."""
    h.enqueue([order(1, line(11, CABLE, 5))])
    h.run()
    h.enqueue([order(1, line(11, CABLE, 3))])
    (job,) = h.jobs("item_receipt_correction")
    answer = Response("ItemReceiptModRs", str(job.id), code, "Error" if code else "Info", "")
    with h.db.transaction() as conn:
        now = utcnow()
        ctx = Context(conn, JobStore(conn, now), load_settings(), now)
        decision = CorrectReceipts().handle(replace(job, state=stored), answer, ctx)
    assert isinstance(decision, Next | RetryLater)
    assert decision.state is not None
    assert_same_json(decision.state, written)
    assert [*written] in [[*state] for state in CORRECTION_STATES]
