"""Day one at a real company, through the enqueue API and over HTTP (PostgreSQL): POs already in
QuickBooks under a number someone else gave them, and corrections after the fact. Bad input
fails the one job with a message that names the record and says what to do; nothing is lost or
made twice."""

from __future__ import annotations

from decimal import Decimal

import pytest

from service.qbxml import build
from service.qbxml.types import ItemReceipt, ItemReceiptLine, PurchaseOrder, PurchaseOrderLine, Ref
from service.simulators.webconnector import Faults
from service.sync.corrections import planned_change
from service.sync.model import Receiving, SyncInputError
from tests.sync.helpers import CABLE, SWITCH, Harness, line, order, stock

pytestmark = pytest.mark.postgres


def _hand_keyed(
    h: Harness, ref_number: str, *lines: tuple[str, int], vendor: str = "Acme Supply"
) -> str:
    """A PO a bookkeeper keyed into QuickBooks (vendor and items made as needed); its TxnID."""
    if h.qb.vendor(vendor) is None:
        h.qb.add_vendor(vendor)
    for item, _ in lines:
        if h.qb.item(item) is None:
            h.qb.add_item(item, purchase_cost=1)
    request = build.purchase_order_add(
        "1",
        PurchaseOrder(
            Ref(full_name=vendor),
            tuple(PurchaseOrderLine(Ref(full_name=i), n, Decimal(1)) for i, n in lines),
            ref_number=ref_number,
        ),
    )
    h.qb.process(build.message([request]))
    return h.qb.purchase_orders()[-1].txn_id


def _job(h: Harness, kind: str, po_id: int | None = None) -> object:
    found = [j for j in h.jobs(kind) if po_id is None or j.payload["po"]["id"] == po_id]
    return found[-1]


# ------------------------------------------------------------------------- planning (pure)


def test_corrections_take_deleted_rows_first_then_the_newest_receipts() -> None:
    receipts = [
        {"txn_id": "A", "quantity": "3", "receiving": 1},
        {"txn_id": "B", "quantity": "2", "receiving": 2},
        {"txn_id": "C", "quantity": "4", "receiving": 3},
    ]
    assert planned_change(receipts, Decimal(5), [1, 3]) == ("B", Decimal(0))
    assert planned_change(receipts, Decimal(7), None) == ("C", Decimal(2))
    assert planned_change(receipts, Decimal(3), None) == ("C", Decimal(0))
    assert planned_change(receipts, Decimal(9), [1, 2, 3]) is None
    assert planned_change([], Decimal(0), []) is None


def test_a_receiving_row_of_zero_is_refused_and_a_negative_one_is_taken() -> None:
    with pytest.raises(SyncInputError, match="receiving 7 quantity: 0 received nothing"):
        Receiving(7, 5, 0)
    assert Receiving(8, 5, -2).quantity == -2
    with pytest.raises(SyncInputError, match="PO 1: linked_number"):
        order(1, line(11, CABLE, 1), linked_number="  ")


# ----------------------------------------------------------------------- foreign numbers


@pytest.mark.parametrize(
    ("number", "stored"), [("1042", "1042"), ("Ω-7", "?-7")], ids=["plain", "not-latin-1"]
)
def test_a_twin_is_linked_and_brought_in_line_with_autotask(
    h: Harness, number: str, stored: str
) -> None:
    twin = _hand_keyed(h, number, ("Cable Cat6", 5))  # QuickBooks stores Latin-1 only
    h.enqueue(
        [order(1, line(11, CABLE, 5), line(12, SWITCH, 2), linked_number=number)],
        stock(p101=5, p102=2),
    )
    h.run()
    h.assert_all_done()
    (po,) = h.qb.purchase_orders()
    assert po.txn_id == twin
    assert po.ref_number == stored
    # The line QuickBooks lacked was added by the update that follows the link.
    assert [(ln.item.full_name if ln.item else "", ln.quantity) for ln in po.lines] == [
        ("Cable Cat6", Decimal(5)),
        ("Switch 24 port", Decimal(2)),
    ]
    transfer = h.jobs("purchase_order")[0]
    assert transfer.result is not None
    assert transfer.result["lines_not_in_quickbooks"] == [12]
    assert h.qb.quantity_on_hand("Cable Cat6") == 5


@pytest.mark.parametrize(
    ("number", "words"),
    [
        ("PO-2026-000017", "QuickBooks cannot hold such a PO number"),
        ("\x01\x02", "QuickBooks cannot hold such a PO number"),
        ("1042", "QuickBooks has none"),
    ],
    ids=["too-long", "nothing-left-once-cleaned", "other-vendor-only"],
)
def test_without_a_twin_the_po_is_reported_not_added(h: Harness, number: str, words: str) -> None:
    _hand_keyed(h, "1042", ("Cable Cat6", 5), vendor="Globex")  # another vendor's 1042
    h.enqueue([order(7, line(71, CABLE, 5), linked_number=number)], stock(p101=5))
    h.run()
    transfer = h.jobs("purchase_order")[0]
    assert transfer.status == "failed"
    assert transfer.error is not None
    assert f"Autotask PO P7 has the External P.O. # {number!r}" in transfer.error
    assert words in transfer.error
    assert "atqb transfer 7" in transfer.error
    assert len(h.qb.purchase_orders()) == 1
    # Selected with `atqb transfer`: added, as any PO.
    h.enqueue(
        [order(7, line(71, CABLE, 5), linked_number=number, add_if_unlinked=True)],
        stock(p101=5),
    )
    h.run()
    (added,) = h.qb.purchase_orders("AT7")
    assert [ln.quantity for ln in added.lines] == [5]
    unfinished = [j for j in h.jobs() if j.status not in ("done", "cancelled")]
    assert unfinished == []


def test_two_twins_or_a_twin_taken_by_another_po_are_left_to_people(h: Harness) -> None:
    first = _hand_keyed(h, "77", ("Cable Cat6", 1))
    second = _hand_keyed(h, "77", ("Cable Cat6", 2))
    _hand_keyed(h, "88", ("Cable Cat6", 3))
    h.enqueue(
        [
            order(1, line(11, CABLE, 1), linked_number="77"),
            order(2, line(21, CABLE, 3), linked_number="88"),
            order(3, line(31, CABLE, 3), linked_number="88"),
        ],
        stock(p101=7),
    )
    h.run()
    errors = {j.payload["po"]["id"]: (j.status, j.error) for j in h.jobs("purchase_order")}
    assert errors[1][0] == "failed"
    assert f"TxnIDs {first}, {second}" in str(errors[1][1])
    assert errors[2] == ("done", None)
    assert errors[3][0] == "failed"
    assert "is already linked to Autotask PO 2" in str(errors[3][1])
    assert len(h.qb.purchase_orders()) == 3  # nothing added


# ------------------------------------------------------------------------------ corrections


def test_received_on_receipts_atqb_did_not_make_is_left_to_people(h: Harness) -> None:
    """A twin a bookkeeper already received by hand: atqb cannot lower that receipt, says so,
    and does not lower the PO line below what was received."""
    twin = _hand_keyed(h, "1042", ("Cable Cat6", 5))
    po_line = h.qb.purchase_orders("1042")[0].lines[0].txn_line_id
    receipt = build.item_receipt_add(
        "1",
        ItemReceipt(
            Ref(full_name="Acme Supply"),
            (ItemReceiptLine(twin, po_line, 5, item=Ref(full_name="Cable Cat6")),),
        ),
    )
    h.qb.process(build.message([receipt]))
    assert h.qb.purchase_orders("1042")[0].lines[0].received_quantity == 5
    h.enqueue([order(1, line(11, CABLE, 5), linked_number="1042")], stock(p101=5))
    h.run()
    h.assert_all_done()
    h.enqueue([order(1, line(11, CABLE, 3), linked_number="1042")], stock(p101=3))
    h.run()
    (correction,) = h.jobs("item_receipt_correction")
    assert correction.status == "failed"
    assert correction.error is not None
    assert "receipts atqb did not make" in correction.error
    assert "PO P1" in correction.error
    (po,) = h.qb.purchase_orders()
    assert (po.lines[0].quantity, po.lines[0].received_quantity) == (Decimal(5), Decimal(5))


@pytest.mark.parametrize("crash_after", [1, 2, 3], ids=["after-read", "after-mod", "after-count"])
def test_a_lost_answer_during_a_correction_changes_the_receipt_once(
    h: Harness, crash_after: int
) -> None:
    h.settings["transfer_mode"] = "unreceived"
    po = order(1, line(11, CABLE, 5), receivings=(Receiving(901, 11, 4),))
    h.enqueue([po], stock(p101=4))
    h.run()
    h.assert_all_done()
    taken_back = order(
        1, line(11, CABLE, 5), receivings=(Receiving(901, 11, 4), Receiving(902, 11, -3))
    )
    report = h.enqueue([taken_back], stock(p101=1))
    assert report.kinds() == {"item_receipt_correction": 1, "inventory_adjustment": 1}
    (crashed,) = h.run(Faults(crash_after_message=crash_after))
    assert crashed.crashed
    h.run()
    h.assert_all_done()
    (receipt,) = h.qb.item_receipts("ATR901")
    assert [ln.quantity for ln in receipt.lines] == [1]
    assert h.qb.purchase_orders("AT1")[0].lines[0].received_quantity == 1
    assert h.qb.quantity_on_hand("Cable Cat6") == 1
    assert h.request_names().count("ItemReceiptModRq") == 1
    assert h.enqueue([taken_back], stock(p101=1)).created == []


@pytest.mark.parametrize(
    "quantities", [(5, 3, 5), (5, 7, 6), (5, 2, 4, 1)], ids=["down-up", "up-down", "zigzag"]
)
def test_received_mode_quantities_changed_back_and_forth_before_quickbooks_runs(
    h: Harness, quantities: tuple[int, ...]
) -> None:
    """Each change is enqueued before the previous one reached QuickBooks; QuickBooks ends with
    the last quantity ordered and received, on atqb's receipts, none received twice."""
    first, *changes = quantities
    h.enqueue([order(1, line(11, CABLE, first))], stock(p101=first))
    h.run()
    for quantity in changes:
        h.enqueue([order(1, line(11, CABLE, quantity))], stock(p101=quantity))
    h.run()
    h.assert_all_done()
    (po,) = h.qb.purchase_orders("AT1")
    last = Decimal(changes[-1])
    assert (po.lines[0].quantity, po.lines[0].received_quantity) == (last, last)
    assert sum(ln.quantity for r in h.qb.item_receipts() for ln in r.lines) == last
    guids = [f.text for r in h.qb.item_receipts() for f in r.fields if f.tag == "ExternalGUID"]
    assert len(set(guids)) == len(guids) == len(h.qb.item_receipts())
    assert h.qb.quantity_on_hand("Cable Cat6") == last
