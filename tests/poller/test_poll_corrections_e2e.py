"""Corrections made in Autotask after the fact reach QuickBooks, end to end on PostgreSQL:
`atqb poll --once` reads the simulated Autotask over HTTP, the real service hands the jobs to the
simulated Web Connector and QuickBooks. QuickBooks never keeps more received than ordered, and
never more received than Autotask says."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import pytest

from service.xmlsafe import parse_text
from tests.poller.helpers import Shop, World, po_lines, populate
from tests.sync.helpers import Harness

pytestmark = pytest.mark.postgres


def _never_more_received_than_ordered(h: Harness) -> None:
    for po in h.qb.purchase_orders():
        for line in po.lines:
            assert line.received_quantity <= (line.quantity or 0), (po.ref_number, line)


def _poll_makes(world: World) -> list[str]:
    """One poll cycle; the kinds of the jobs it made, sorted."""
    before = len(world.jobs())
    world.poll()
    return sorted(j.kind for j in world.jobs()[before:])


def _requests(xml: str) -> list[str]:
    messages = parse_text(xml).find("QBXMLMsgsRq")
    return [str(rq.tag) for rq in messages] if messages is not None else []


@contextmanager
def _started(world: World, mode: str) -> Iterator[tuple[Harness, Shop]]:
    """The small tenant in this transfer mode: the first cycle carried to QuickBooks, then the
    cycle that writes the PO numbers back."""
    shop = populate(world.tenant)
    with world.connected(mode) as h:
        world.poll()
        h.run()
        h.assert_all_done()
        world.poll()
        yield h, shop


def test_received_mode_a_quantity_lowered_after_receipt_lowers_the_receipt_first(
    world: World,
) -> None:
    with _started(world, "received") as (h, shop):
        po1 = f"AT{shop.po1}"
        assert po_lines(h, po1) == [
            ("Widget", Decimal(4), Decimal(4)),
            ("Cable Cat6", Decimal(3), Decimal(3)),
        ]
        world.tenant.set_on_hand(shop.cable, shop.main, 1)  # the 3 cables were never all there

        # Autotask: the cables line goes from 3 to 1 (nothing of it received there).
        world.tenant.change("PurchaseOrderItems", shop.po1_cables, quantity=1)
        assert _poll_makes(world) == [
            "inventory_adjustment",
            "item_receipt_correction",
            "purchase_order_update",
        ]
        logged = len(h.qb.log)
        h.run()
        h.assert_all_done()
        _never_more_received_than_ordered(h)
        assert po_lines(h, po1) == [
            ("Widget", Decimal(4), Decimal(4)),
            ("Cable Cat6", Decimal(1), Decimal(1)),
        ]
        (cable_receipt,) = h.qb.item_receipts(f"ATL{shop.po1_cables}")
        assert [ln.quantity for ln in cable_receipt.lines] == [Decimal(1)]
        assert h.qb.quantity_on_hand("Cable Cat6") == 1  # Autotask's total
        # The receipt was lowered before the PO line (QuickBooks refuses the other order).
        names = [
            rq
            for entry in h.qb.log[logged:]
            for rq in _requests(entry.request_xml)
            if rq in ("ItemReceiptModRq", "PurchaseOrderModRq")
        ]
        assert names == ["ItemReceiptModRq", "PurchaseOrderModRq"]
        correction = next(j for j in world.jobs() if j.kind == "item_receipt_correction")
        assert correction.result is not None
        assert correction.result["changes"] == [f"item receipt {cable_receipt.txn_id} lowered to 1"]

        # Nothing more to do: the next cycles enqueue nothing.
        assert "enqueued nothing new" in world.poll()


def test_unreceived_mode_a_cancelled_receipt_corrects_quickbooks_both_ways(world: World) -> None:
    with _started(world, "unreceived") as (h, shop):
        po1 = f"AT{shop.po1}"
        (first_row,) = [
            r["id"]
            for r in world.tenant.records("PurchaseOrderItemReceiving")
            if r["purchaseOrderItemID"] == shop.po1_widgets
        ]
        assert po_lines(h, po1)[0] == ("Widget", Decimal(4), Decimal(2))
        assert h.qb.quantity_on_hand("Widget") == 3

        # 1. The receipt is cancelled in Autotask: its row disappears.
        world.tenant.cancel_receipt(first_row)
        assert _poll_makes(world) == [
            "inventory_adjustment",
            "item_receipt_correction",
        ]
        h.run()
        h.assert_all_done()
        assert po_lines(h, po1)[0] == ("Widget", Decimal(4), Decimal(0))
        assert h.qb.item_receipts(f"ATR{first_row}") == []  # deleted (TxnDelRq)
        assert h.qb.quantity_on_hand("Widget") == world.tenant.on_hand(shop.widget) == 1
        assert "enqueued nothing new" in world.poll()

        # 2. Three arrive, then two are taken back with a negative receiving row.
        second_row = world.tenant.receive(shop.po1_widgets, 3)
        world.poll()
        h.run()
        h.assert_all_done()
        assert po_lines(h, po1)[0] == ("Widget", Decimal(4), Decimal(3))
        world.tenant.unreceive(shop.po1_widgets, 2)
        assert _poll_makes(world) == [
            "inventory_adjustment",
            "item_receipt_correction",
        ]
        h.run()
        h.assert_all_done()
        _never_more_received_than_ordered(h)
        assert po_lines(h, po1)[0] == ("Widget", Decimal(4), Decimal(1))
        (kept,) = h.qb.item_receipts(f"ATR{second_row}")
        assert [ln.quantity for ln in kept.lines] == [Decimal(1)]  # lowered (ItemReceiptModRq)
        assert h.qb.quantity_on_hand("Widget") == world.tenant.on_hand(shop.widget) == 2
        assert "enqueued nothing new" in world.poll()


def test_an_edit_after_a_po_became_received_full_or_canceled_is_still_seen(world: World) -> None:
    with _started(world, "unreceived") as (h, shop):
        # PO 1 becomes Received Full, PO 2 is canceled; both reach QuickBooks.
        world.tenant.receive_all(shop.po1)
        world.tenant.cancel_purchase_order(shop.po2)
        world.poll()
        h.run()
        h.assert_all_done()
        (po1,) = h.qb.purchase_orders(f"AT{shop.po1}")
        (po2,) = h.qb.purchase_orders(f"AT{shop.po2}")
        assert po1.is_fully_received
        assert po2.is_manually_closed
        assert "enqueued nothing new" in world.poll()

        # Then people correct the memos; no count, line or receipt shows it.
        world.tenant.change("PurchaseOrders", shop.po1, generalMemo="Invoice 5521 matched")
        world.tenant.change("PurchaseOrders", shop.po2, generalMemo="Vendor out of stock")
        updates = [k for k in _poll_makes(world) if k != "inventory_adjustment"]
        assert updates == ["purchase_order_update"] * 2
        h.run()
        h.assert_all_done()
        (po1,) = h.qb.purchase_orders(f"AT{shop.po1}")
        (po2,) = h.qb.purchase_orders(f"AT{shop.po2}")
        assert po1.memo is not None
        assert po1.memo.endswith("Invoice 5521 matched")
        assert po2.memo is not None
        assert po2.memo.startswith("CANCELED in Autotask")
        assert po2.memo.endswith("Vendor out of stock")
        assert po2.is_manually_closed
