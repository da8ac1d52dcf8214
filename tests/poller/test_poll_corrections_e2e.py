"""Corrections made in Autotask after the fact reach QuickBooks, end to end on PostgreSQL:
`atqb poll --once` reads the simulated Autotask over HTTP, the real service hands the jobs to the
simulated Web Connector and QuickBooks. QuickBooks never keeps more received than ordered, and
never more received than Autotask says."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from service.db import Database
from service.simulators.autotask import SimulatedAutotask
from tests.poller.helpers import Shop, all_jobs, atqb, point_cli_at, populate
from tests.sync.helpers import Harness, harness

pytestmark = pytest.mark.postgres


@pytest.fixture
def tenant() -> Iterator[SimulatedAutotask]:
    with SimulatedAutotask() as made:
        yield made


def _lines(h: Harness, ref: str) -> list[tuple[str, Decimal | None, Decimal]]:
    (po,) = h.qb.purchase_orders(ref)
    return [
        (ln.item.full_name if ln.item else "", ln.quantity, ln.received_quantity) for ln in po.lines
    ]


def _never_more_received_than_ordered(h: Harness) -> None:
    for po in h.qb.purchase_orders():
        for line in po.lines:
            assert line.received_quantity <= (line.quantity or 0), (po.ref_number, line)


def _poll(capsys: pytest.CaptureFixture[str]) -> str:
    status, out, err = atqb(capsys, "poll", "--once")
    assert status == 0, (out, err)
    return out


def _new_kinds(db: Database, before: int) -> list[str]:
    return sorted(j.kind for j in all_jobs(db)[before:])


@pytest.fixture
def shop(tenant: SimulatedAutotask, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Shop:
    monkeypatch.chdir(tmp_path)  # no stray .env
    return populate(tenant)


def test_received_mode_a_quantity_lowered_after_receipt_lowers_the_receipt_first(
    postgres_database_url: str,
    postgres_db: Database,
    tenant: SimulatedAutotask,
    shop: Shop,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    point_cli_at(monkeypatch, tenant, postgres_database_url, ATQB_TRANSFER_MODE="received")
    with harness(postgres_database_url, postgres_db, transfer_mode="received") as h:
        _poll(capsys)
        h.run()
        h.assert_all_done()
        po1 = f"AT{shop.po1}"
        assert _lines(h, po1) == [
            ("Widget", Decimal(4), Decimal(4)),
            ("Cable Cat6", Decimal(3), Decimal(3)),
        ]
        _poll(capsys)  # writes the PO numbers back
        tenant.set_on_hand(shop.cable, shop.main, 1)  # the 3 cables were never all there

        # Autotask: the cables line goes from 3 to 1 (nothing of it received there).
        tenant.change("PurchaseOrderItems", shop.po1_cables, quantity=1)
        before = len(all_jobs(postgres_db))
        _poll(capsys)
        assert _new_kinds(postgres_db, before) == [
            "inventory_adjustment",
            "item_receipt_correction",
            "purchase_order_update",
        ]
        logged = len(h.qb.log)
        h.run()
        h.assert_all_done()
        _never_more_received_than_ordered(h)
        assert _lines(h, po1) == [
            ("Widget", Decimal(4), Decimal(4)),
            ("Cable Cat6", Decimal(1), Decimal(1)),
        ]
        (cable_receipt,) = h.qb.item_receipts(f"ATL{shop.po1_cables}")
        assert [ln.quantity for ln in cable_receipt.lines] == [Decimal(1)]
        assert h.qb.quantity_on_hand("Cable Cat6") == 1  # Autotask's total
        # The receipt was lowered before the PO line (QuickBooks refuses the other order).
        names = [
            rq.tag
            for entry in h.qb.log[logged:]
            for rq in _requests(entry.request_xml)
            if rq.tag in ("ItemReceiptModRq", "PurchaseOrderModRq")
        ]
        assert names == ["ItemReceiptModRq", "PurchaseOrderModRq"]
        correction = next(j for j in all_jobs(postgres_db) if j.kind == "item_receipt_correction")
        assert correction.result is not None
        assert correction.result["changes"] == [f"item receipt {cable_receipt.txn_id} lowered to 1"]

        # Nothing more to do: the next cycles enqueue nothing.
        assert "enqueued nothing new" in _poll(capsys)


def _requests(xml: str) -> list[object]:
    from service.xmlsafe import parse_text

    messages = parse_text(xml).find("QBXMLMsgsRq")
    return list(messages) if messages is not None else []


def test_unreceived_mode_a_cancelled_receipt_corrects_quickbooks_both_ways(
    postgres_database_url: str,
    postgres_db: Database,
    tenant: SimulatedAutotask,
    shop: Shop,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    point_cli_at(monkeypatch, tenant, postgres_database_url, ATQB_TRANSFER_MODE="unreceived")
    with harness(postgres_database_url, postgres_db, transfer_mode="unreceived") as h:
        _poll(capsys)
        h.run()
        h.assert_all_done()
        po1 = f"AT{shop.po1}"
        (first_row,) = [
            r["id"]
            for r in tenant.records("PurchaseOrderItemReceiving")
            if r["purchaseOrderItemID"] == shop.po1_widgets
        ]
        assert _lines(h, po1)[0] == ("Widget", Decimal(4), Decimal(2))
        assert h.qb.quantity_on_hand("Widget") == 3
        _poll(capsys)

        # 1. The receipt is cancelled in Autotask: its row disappears.
        tenant.cancel_receipt(first_row)
        before = len(all_jobs(postgres_db))
        _poll(capsys)
        assert _new_kinds(postgres_db, before) == [
            "inventory_adjustment",
            "item_receipt_correction",
        ]
        h.run()
        h.assert_all_done()
        assert _lines(h, po1)[0] == ("Widget", Decimal(4), Decimal(0))
        assert h.qb.item_receipts(f"ATR{first_row}") == []  # deleted (TxnDelRq)
        assert h.qb.quantity_on_hand("Widget") == tenant.on_hand(shop.widget) == 1
        assert "enqueued nothing new" in _poll(capsys)

        # 2. Three arrive, then two are taken back with a negative receiving row.
        second_row = tenant.receive(shop.po1_widgets, 3)
        _poll(capsys)
        h.run()
        h.assert_all_done()
        assert _lines(h, po1)[0] == ("Widget", Decimal(4), Decimal(3))
        tenant.unreceive(shop.po1_widgets, 2)
        before = len(all_jobs(postgres_db))
        _poll(capsys)
        assert _new_kinds(postgres_db, before) == [
            "inventory_adjustment",
            "item_receipt_correction",
        ]
        h.run()
        h.assert_all_done()
        _never_more_received_than_ordered(h)
        assert _lines(h, po1)[0] == ("Widget", Decimal(4), Decimal(1))
        (kept,) = h.qb.item_receipts(f"ATR{second_row}")
        assert [ln.quantity for ln in kept.lines] == [Decimal(1)]  # lowered (ItemReceiptModRq)
        assert h.qb.quantity_on_hand("Widget") == tenant.on_hand(shop.widget) == 2
        assert "enqueued nothing new" in _poll(capsys)


def test_an_edit_after_a_po_became_received_full_or_canceled_is_still_seen(
    postgres_database_url: str,
    postgres_db: Database,
    tenant: SimulatedAutotask,
    shop: Shop,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    point_cli_at(monkeypatch, tenant, postgres_database_url, ATQB_TRANSFER_MODE="unreceived")
    with harness(postgres_database_url, postgres_db, transfer_mode="unreceived") as h:
        _poll(capsys)
        h.run()
        h.assert_all_done()
        _poll(capsys)
        # PO 1 becomes Received Full, PO 2 is canceled; both reach QuickBooks.
        tenant.receive_all(shop.po1)
        tenant.delete("PurchaseOrderItems", tenant.find_id("PurchaseOrderItems", orderID=shop.po2))
        tenant.add_line(shop.po2, shop.widget, 1, "19.99")  # still New: lines can change
        tenant.cancel_purchase_order(shop.po2)
        _poll(capsys)
        h.run()
        h.assert_all_done()
        (po1,) = h.qb.purchase_orders(f"AT{shop.po1}")
        (po2,) = h.qb.purchase_orders(f"AT{shop.po2}")
        assert po1.is_fully_received and po2.is_manually_closed
        assert "enqueued nothing new" in _poll(capsys)

        # Then people correct the memos; no count, line or receipt shows it.
        tenant.change("PurchaseOrders", shop.po1, generalMemo="Invoice 5521 matched")
        tenant.change("PurchaseOrders", shop.po2, generalMemo="Vendor out of stock")
        before = len(all_jobs(postgres_db))
        _poll(capsys)
        updates = [k for k in _new_kinds(postgres_db, before) if k != "inventory_adjustment"]
        assert updates == ["purchase_order_update"] * 2
        h.run()
        h.assert_all_done()
        (po1,) = h.qb.purchase_orders(f"AT{shop.po1}")
        (po2,) = h.qb.purchase_orders(f"AT{shop.po2}")
        assert po1.memo is not None and po1.memo.endswith("Invoice 5521 matched")
        assert po2.memo is not None and po2.memo.startswith("CANCELED in Autotask")
        assert po2.memo.endswith("Vendor out of stock") and po2.is_manually_closed
