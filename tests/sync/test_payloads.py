"""Job payloads as stored: what this version writes reads back the same, and a malformed one
fails its job with a message naming what is wrong (the exchange turns the kind's error into it)."""

from __future__ import annotations

from typing import Any

import pytest

from service.clock import utcnow
from service.jobstore import JobStore, NewJob
from service.sync.enqueue import fingerprint
from service.sync.inventory import InventoryState
from service.sync.jsondata import MalformedJson
from service.sync.lists import ListState
from service.sync.model import Receiving
from service.sync.payloads import (
    CorrectionPayload,
    EnsurePayload,
    InventoryPayload,
    PurchaseOrderPayload,
    ReceiptPayload,
)
from tests.sync.helpers import ACME, CABLE, USER, Harness, line, order, stock


def test_the_payloads_written_read_back_the_same(h: Harness) -> None:
    """Jobs as the enqueue API writes them: read, then written, unchanged."""
    h.enqueue([order(1, line(11, CABLE, 5))], stock(p101=5))
    (transfer,) = h.jobs("purchase_order")
    read = PurchaseOrderPayload.from_json(transfer.payload)
    assert read.to_json() == transfer.payload
    assert read.fingerprint == fingerprint(transfer.payload["po"])
    (sync,) = h.jobs("inventory_adjustment")
    assert InventoryPayload.from_json(sync.payload).to_json() == sync.payload
    assert sync.payload == {"product_ids": [CABLE.id], "reason": "after PO P1"}
    jobs = h.jobs("vendor") + h.jobs("item")
    assert [job.kind for job in jobs] == ["vendor", "item"]
    for job in jobs:
        assert EnsurePayload.from_json(job.payload, job.kind).to_json() == job.payload
    assert h.jobs("vendor")[0].payload == {
        "autotask_id": ACME.id,
        "name": ACME.name,
        "qb_name": ACME.name,
    }


def test_the_line_payloads_written_read_back_the_same(h: Harness) -> None:
    """Receipts of both modes and a correction, as the enqueue API writes them."""
    h.enqueue([order(1, line(11, CABLE, 5))])
    h.run()
    h.enqueue([order(1, line(11, CABLE, 3))])
    h.settings["transfer_mode"] = "unreceived"
    h.enqueue([order(2, line(21, CABLE, 5), receivings=(Receiving(901, 21, 2),))])
    receipts = h.jobs("item_receipt")
    assert [("target" in j.payload, "receiving_id" in j.payload) for j in receipts] == [
        (True, False),
        (False, True),
    ]
    for job in receipts:
        assert ReceiptPayload.from_json(job.payload).to_json() == job.payload
    (correction,) = h.jobs("item_receipt_correction")
    assert CorrectionPayload.from_json(correction.payload).to_json() == correction.payload
    assert correction.payload == {
        "po_id": 1,
        "po_label": "P1",
        "line_id": 11,
        "product_id": CABLE.id,
        "item": CABLE.name,
        "target": "3",
    }


LINE = {"po_id": 1, "po_label": "P1", "line_id": 11, "product_id": 101, "item": "Cable"}


@pytest.mark.parametrize(
    ("kind", "payload", "why"),
    [
        ("vendor", {"autotask_id": 1, "name": "Acme"}, "'qb_name' is missing"),
        ("vendor", {"autotask_id": "1", "name": "Acme", "qb_name": "Acme"}, "'autotask_id' is '1'"),
        ("vendor", [], "[] is not an object"),
        ("inventory_adjustment", {"product_ids": [101]}, "'reason' is missing"),
        ("inventory_adjustment", {"product_ids": 101, "reason": "x"}, "'product_ids' is 101"),
        ("purchase_order", {"fingerprint": "0"}, "'po' is missing"),
        ("purchase_order_update", {"po": [], "fingerprint": "0"}, "'po' is [], not an object"),
        ("item_receipt", {**LINE, "ref_number": "ATL11", "date": None, "target": "1"}, "'guid'"),
        ("item_receipt_correction", {**LINE, "target": 3}, "'target' is 3, not a text"),
    ],
)
def test_a_malformed_payload_fails_its_job_naming_the_field(
    h: Harness, kind: str, payload: Any, why: str
) -> None:
    with h.db.transaction() as conn:
        JobStore(conn, utcnow()).enqueue(NewJob(kind=kind, qbwc_user=USER, payload=payload))
    h.run()
    (job,) = h.jobs(kind)
    assert job.status == "failed"
    assert job.error is not None
    assert job.error.startswith(
        f"atqb could not build the request: the {kind} job's payload is malformed: "
    ), job.error
    assert why in job.error


def test_an_inventory_state_as_stored_reads_back_without_the_exchange_flags() -> None:
    """A stored adjusting state reads back the same, less the exchange's own flags (``_``),
    which the exchange keeps itself."""
    stored = {
        "phase": "adjust",
        "lines": [{"list_id": "80-1", "item": "Cable", "from": None, "to": "5"}],
        "missing": ["Old part"],
        "sent": "adjust",
        "_internal_error": True,
    }
    state = InventoryState.from_json(stored)
    assert state.to_json() == {k: v for k, v in stored.items() if not k.startswith("_")}
    with pytest.raises(MalformedJson, match="'to' is missing"):
        InventoryState.from_json({"phase": "adjust", "lines": [{"list_id": "80-1"}]})


@pytest.mark.parametrize(
    "stored",
    [
        {"phase": "add", "holder": None, "sent": "add"},
        {"phase": "relookup", "said": "QuickBooks 3100: name in use."},
        {"phase": "reactivate", "list_id": "80-1", "edit_sequence": "7", "how": "matched"},
    ],
)
def test_an_ensure_state_as_stored_reads_back_the_same(stored: dict[str, Any]) -> None:
    assert ListState.from_json({**stored, "_solo": True}).to_json() == stored


def test_a_malformed_stored_po_job_does_not_stop_a_poll(h: Harness) -> None:
    """The enqueue API reads other stored jobs' fingerprints loosely: a PO job stored without one
    (hand-edited, or from a version that did not write it) matches no data, so the poll goes on
    and plans the PO as usual; the malformed job fails when it runs, naming the field, and so
    does what waits on it. The other POs are not held back."""
    with h.db.transaction() as conn:
        JobStore(conn, utcnow()).enqueue(
            NewJob(
                kind="purchase_order",
                qbwc_user=USER,
                payload={"po": {}},
                autotask_entity="PurchaseOrders",
                autotask_id=1,
            )
        )
    report = h.enqueue([order(1, line(11, CABLE, 5)), order(2, line(21, CABLE, 2))])
    assert report.kinds()["purchase_order"] == 1  # PO 2's; PO 1's waits behind the stored one
    h.run()
    malformed, transfer = h.jobs("purchase_order")
    assert malformed.status == "failed"
    assert "payload (po) is malformed: 'id' is missing" in (malformed.error or "")
    assert (transfer.autotask_id, transfer.status) == (2, "done")
    assert len(h.qb.purchase_orders("AT2")) == 1
    (update,) = h.jobs("purchase_order_update")  # PO 1 as Autotask has it, after the stored one
    assert update.autotask_id == 1
    assert update.status == "failed"
    assert f"prerequisite job #{malformed.id}" in (update.error or "")
