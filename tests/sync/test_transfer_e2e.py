"""The workflow of the seeds over HTTP: enqueue API → atqb's WSGI app → simulated Web Connector →
simulated QuickBooks, on PostgreSQL. Each test ends with QuickBooks' state as a user would see it,
and every qbXML message checked against the reference XSD."""

from __future__ import annotations

from decimal import Decimal

import pytest

from service.db import Database
from service.sync.model import Company, Product, Receiving
from tests.sync.helpers import (
    ACME,
    CABLE,
    CONTOSO,
    MOUSE,
    SWITCH,
    Harness,
    element_texts,
    harness,
    line,
    name_of,
    order,
    stock,
)

pytestmark = pytest.mark.postgres


def test_received_mode_makes_everything_once_and_on_hand_ends_at_the_autotask_total(
    h: Harness,
) -> None:
    first = order(1, line(11, CABLE, 5), line(12, SWITCH, 2), memo="Rack build")
    second = order(2, line(21, CABLE, 3), vendor=Company(3, "Northwind"))
    # Autotask counts 10 cables over two locations: more than the 8 received.
    report = h.enqueue([first, second], stock(p101=(6, 4), p102=2))
    assert report.kinds() == {
        "vendor": 2,
        "customer": 1,
        "account_check": 1,  # once, before the first item
        "item": 2,
        "purchase_order": 2,
        "item_receipt": 3,
        "inventory_adjustment": 2,
    }
    (session,) = h.run()  # one Web Connector session does it all
    assert session.outcome == "done"
    h.assert_all_done()
    h.assert_requests_valid()
    counts = h.qb.counts()
    assert (counts["Vendor"], counts["Customer"], counts["ItemInventory"]) == (2, 1, 2)
    assert (counts["PurchaseOrder"], counts["ItemReceipt"]) == (2, 3)
    assert counts["InventoryAdjustment"] == 1  # one adjustment, only for the cable
    assert h.qb.quantity_on_hand("Cable Cat6") == 10
    assert h.qb.quantity_on_hand("Switch 24 port") == 2
    (po,) = h.qb.purchase_orders("AT1")
    assert po.is_fully_received
    assert [ln.quantity for ln in po.lines] == [5, 2]
    assert po.memo == "Autotask PO P1 - Rack build"
    # Each line has its own receipt, linked to it.
    receipts = h.qb.item_receipts(linked_to=po.txn_id)
    assert [r.ref_number for r in receipts] == ["ATL11", "ATL12"]
    links = [ln.link for r in receipts for ln in r.lines]
    assert links == [(po.txn_id, qb_line.txn_line_id) for qb_line in po.lines]
    # Lookups of several jobs share a request; dependent steps wait for later round trips.
    names = h.request_names()
    assert names.count("ItemQueryRq") == 1
    assert names.count("ItemInventoryQueryRq") == 1
    assert session.round_trips == 7  # one of them for the one-time account check
    assert list(session.percents) == sorted(session.percents)
    assert session.percents[-1] == 100
    (adjustment,) = h.qb.inventory_adjustments()
    assert [str(a.quantity_difference) for a in adjustment.lines] == ["2"]


def test_the_same_data_enqueued_again_makes_no_new_work(h: Harness) -> None:
    po = order(1, line(11, CABLE, 5))
    first = h.enqueue([po], stock(p101=5))
    again = h.enqueue([po], stock(p101=5))
    assert again.created == []
    assert {j.id for j in again.reused} <= {j.id for j in first.created}
    h.run()
    h.assert_all_done()
    after = h.enqueue([po], stock(p101=5))
    assert after.created == []
    assert after.reused == []
    assert h.qb.counts()["PurchaseOrder"] == 1


def test_unreceived_mode_sends_only_newly_received_quantities(
    postgres_database_url: str, postgres_db: Database
) -> None:
    with harness(postgres_database_url, postgres_db, transfer_mode="unreceived") as h:
        po = order(1, line(11, CABLE, 5), line(12, SWITCH, 2))
        h.enqueue([po], stock(p101=0, p102=0))
        h.run()
        h.assert_all_done()
        (qb_po,) = h.qb.purchase_orders("AT1")
        assert [ln.received_quantity for ln in qb_po.lines] == [0, 0]
        assert h.qb.counts()["ItemReceipt"] == 0
        # Autotask receives 2 cables, then 3 more and both switches.
        partial = order(1, *po.lines, receivings=(Receiving(901, 11, 2),))
        assert h.enqueue([partial], stock(p101=2, p102=0)).kinds() == {
            "item_receipt": 1,
            "inventory_adjustment": 1,
        }
        h.run()
        rest = order(
            1,
            *po.lines,
            receivings=(Receiving(901, 11, 2), Receiving(902, 11, 3), Receiving(903, 12, 2)),
        )
        assert h.enqueue([rest], stock(p101=5, p102=2)).kinds()["item_receipt"] == 2
        h.run()
        h.assert_all_done()
        h.assert_requests_valid()
        (qb_po,) = h.qb.purchase_orders("AT1")
        assert [ln.received_quantity for ln in qb_po.lines] == [5, 2]
        assert qb_po.is_fully_received
        assert sorted(r.ref_number or "" for r in h.qb.item_receipts()) == [
            "ATR901",
            "ATR902",
            "ATR903",
        ]
        assert h.qb.quantity_on_hand("Cable Cat6") == 5
        assert h.qb.counts()["InventoryAdjustment"] == 0


def test_updates_change_quantities_add_and_remove_lines_in_place(h: Harness) -> None:
    po = order(1, line(11, CABLE, 5), line(12, SWITCH, 2), line(13, MOUSE, 1))
    h.enqueue([po])
    h.run()
    (before,) = h.qb.purchase_orders("AT1")
    kept_line_id = before.lines[0].txn_line_id
    # Autotask: cable 5 -> 7, the switch line removed (it was received: closed, not deleted),
    # a new line of mice.
    changed = order(1, line(11, CABLE, 7), line(13, MOUSE, 1), line(14, MOUSE, 4), memo="More")
    report = h.enqueue([changed])
    assert report.kinds()["purchase_order_update"] == 1
    assert "item" not in report.kinds()  # every product is known already
    h.run()
    h.assert_all_done()
    h.assert_requests_valid()
    (after,) = h.qb.purchase_orders("AT1")
    assert after.txn_id == before.txn_id
    assert after.lines[0].txn_line_id == kept_line_id
    assert [(name_of(ln.item), ln.quantity) for ln in after.lines] == [
        ("Cable Cat6", Decimal(7)),
        ("Switch 24 port", Decimal(2)),
        ("Mouse", Decimal(1)),
        ("Mouse", Decimal(4)),
    ]
    switch = after.lines[1]
    assert switch.is_manually_closed  # removed in Autotask, but received: closed
    assert after.memo == "Autotask PO P1 - More"
    # Received mode: the new quantities are received too (2 more cables, 4 mice).
    assert [ln.received_quantity for ln in after.lines] == [7, 2, 1, 4]
    assert h.qb.counts()["ItemReceipt"] == 5
    (update,) = h.jobs("purchase_order_update")
    changes = update.result["changes"]  # type: ignore[index]
    assert "line 11: quantity 5 → 7" in changes
    assert any("line 12 closed" in c for c in changes)
    assert any(c.startswith("line 14 added") for c in changes)
    mods = [e.request_xml for e in h.qb.log if "PurchaseOrderModRq" in e.request_xml]
    (mod_xml,) = mods
    # The Mod lists every line to keep (QuickBooks deletes the others) and adds with -1.
    ids = element_texts(mod_xml, ".//PurchaseOrderLineMod/TxnLineID")
    assert ids[0] == kept_line_id
    assert ids.count("-1") == 1
    assert len(ids) == 4


def test_a_line_removed_before_any_receipt_is_deleted(
    postgres_database_url: str, postgres_db: Database
) -> None:
    with harness(postgres_database_url, postgres_db, transfer_mode="unreceived") as h:
        h.enqueue([order(1, line(11, CABLE, 5), line(12, SWITCH, 2))])
        h.run()
        h.enqueue([order(1, line(11, CABLE, 5))])
        h.run()
        h.assert_all_done()
        (po,) = h.qb.purchase_orders("AT1")
        assert [name_of(ln.item) for ln in po.lines] == ["Cable Cat6"]


def test_a_stale_edit_sequence_is_read_again_and_the_change_repeated(h: Harness) -> None:
    h.enqueue([order(1, line(11, CABLE, 5))])
    h.run()
    (po,) = h.qb.purchase_orders("AT1")
    h.qb.fail_next(
        "PurchaseOrderModRq",
        3200,
        f'The provided edit sequence "{po.edit_sequence}" is out-of-date.',
    )
    h.enqueue([order(1, line(11, CABLE, 6))])
    h.run()
    h.assert_all_done()
    (po,) = h.qb.purchase_orders("AT1")
    assert po.lines[0].quantity == 6
    names = h.request_names()
    assert names.count("PurchaseOrderModRq") == 2
    assert names.count("PurchaseOrderQueryRq") == 2


def test_a_product_named_like_a_non_inventory_part_fails_with_its_po_and_nothing_else(
    h: Harness,
) -> None:
    h.qb.add_item("Mouse", "NonInventory")
    blocked = order(1, line(11, CABLE, 1), line(12, MOUSE, 2))
    fine = order(2, line(21, CABLE, 3), line(22, SWITCH, 1))
    h.enqueue([blocked, fine], stock(p101=4, p102=1, p103=2))
    h.run()
    h.assert_requests_valid()
    statuses = {(j.kind, j.autotask_id): (j.status, j.error or "") for j in h.jobs()}
    status, error = statuses[("item", 103)]
    assert status == "failed"
    assert 'QuickBooks 3100 (Error): The name "Mouse" of the list element is already in use.' in (
        error
    )
    assert 'the QuickBooks non-inventory part "Mouse"' in error
    po_status, po_error = statuses[("purchase_order", 1)]
    assert po_status == "failed"
    assert "(Item Mouse (Autotask 103)) failed" in po_error
    assert statuses[("purchase_order", 2)][0] == "done"
    assert h.qb.counts()["PurchaseOrder"] == 1
    assert h.qb.purchase_orders("AT2")
    assert h.qb.quantity_on_hand("Cable Cat6") == 4  # the other PO's sync went through
    # The operator converts the part in QuickBooks... (here: not possible) -- the PO stays failed
    # and later polls of the same data do not try again by themselves.
    assert h.enqueue([blocked, fine], stock(p101=4)).created == []


def test_a_vendor_named_like_a_quickbooks_customer_fails_naming_the_customer(h: Harness) -> None:
    h.qb.add_customer("Acme Supply")
    h.enqueue([order(1, line(11, CABLE, 1))])
    h.run()
    h.assert_requests_valid()
    (vendor,) = h.jobs("vendor")
    assert vendor.status == "failed"
    assert "QuickBooks 3100 (Error)" in (vendor.error or "")
    assert 'held by the QuickBooks customer "Acme Supply"' in (vendor.error or "")
    (po,) = h.jobs("purchase_order")
    assert po.status == "failed"
    assert f"job #{vendor.id}" in (po.error or "")
    assert h.qb.counts()["Vendor"] == 0
    assert h.qb.counts()["PurchaseOrder"] == 0


def test_an_existing_vendor_in_another_case_is_matched_not_duplicated(h: Harness) -> None:
    h.qb.add_vendor("ACME SUPPLY")
    h.qb.add_item("cable cat6", purchase_cost=Decimal("3.00"))
    h.enqueue([order(1, line(11, CABLE, 2))])
    h.run()
    h.assert_all_done()
    assert h.qb.counts()["Vendor"] == 1
    assert h.qb.counts()["ItemInventory"] == 1
    (po,) = h.qb.purchase_orders("AT1")
    assert po.vendor is not None
    assert po.vendor.full_name == "ACME SUPPLY"
    (vendor,) = h.jobs("vendor")
    assert vendor.result == {
        "how": "matched",
        "list_id": po.vendor.list_id,
        "full_name": "ACME SUPPLY",
    }
    assert "VendorAddRq" not in h.request_names()


def test_names_with_ampersands_accents_and_over_the_limits(h: Harness) -> None:
    vendor = Company(7, "Müller & Söhne Großhandel für Netzwerktechnik GmbH")  # 50 characters
    customer = Company(8, "Café <Zürich> & Co")
    product = Product(
        109, "Überlange Produktbezeichnung mit mehr als 31 Zeichen", unit_cost=Decimal("1.5")
    )
    h.enqueue([order(1, line(11, product, 2), vendor=vendor, ship_to=customer)], stock(p109=2))
    h.run()
    h.assert_all_done()
    h.assert_requests_valid()
    assert h.qb.vendor("Müller & Söhne Großhandel für Netzwerktec") is not None  # 41
    assert h.qb.customer("Café <Zürich> & Co") is not None
    assert h.qb.item("Überlange Produktbezeichnung mi") is not None  # 31
    assert h.qb.quantity_on_hand("Überlange Produktbezeichnung mi") == 2
    # Accents travel as character references: no raw non-ASCII byte reaches QuickBooks.
    assert all(entry.request_xml.isascii() for entry in h.qb.log)


def test_two_products_that_become_one_quickbooks_name_are_refused_not_merged(h: Harness) -> None:
    a = Product(201, "Ethernet patch cable category 6 - 1m")
    b = Product(202, "Ethernet patch cable category 6 - 2m")
    h.enqueue([order(1, line(11, a, 1), line(12, b, 1))])
    h.run()
    items = h.jobs("item")
    assert [j.status for j in items] == ["failed", "failed"]
    assert "would all be the QuickBooks item" in (items[0].error or "")
    assert h.qb.counts()["ItemInventory"] == 0


def test_a_canceled_po_is_never_sent_and_one_canceled_later_is_closed_and_flagged(
    h: Harness,
) -> None:
    never = order(1, line(11, CABLE, 1), status="Canceled")
    later = order(2, line(21, CABLE, 2))
    report = h.enqueue([never, later])
    assert report.skipped == ["PO P1 is Canceled in Autotask: not transferred"]
    h.run()
    assert h.qb.purchase_orders("AT1") == []
    (po,) = h.qb.purchase_orders("AT2")
    assert not po.is_manually_closed
    h.enqueue([order(2, line(21, CABLE, 2), status="Canceled")])
    h.run()
    h.assert_all_done()
    (po,) = h.qb.purchase_orders("AT2")
    assert po.is_manually_closed
    assert (po.memo or "").startswith("CANCELED in Autotask.")
    assert h.qb.counts()["PurchaseOrder"] == 1  # closed, not deleted, not added again
    assert h.enqueue([order(2, line(21, CABLE, 2), status="Canceled")]).created == []


def test_on_hand_split_over_locations_ends_as_the_total(h: Harness) -> None:
    h.qb.add_item("Cable Cat6", quantity_on_hand=40)
    h.enqueue([order(1, line(11, CABLE, 5))], stock(p101=(10, 7, 3)))
    h.run()
    h.assert_all_done()
    assert h.qb.quantity_on_hand("Cable Cat6") == 20


def test_full_inventory_sync_creates_missing_items_and_adjusts_only_what_differs(
    h: Harness,
) -> None:
    h.qb.add_item("Cable Cat6", quantity_on_hand=4)
    h.qb.add_item("Switch 24 port", quantity_on_hand=2)
    report = h.full_sync([CABLE, SWITCH, MOUSE], stock(p101=(1, 2), p102=2, p103=9))
    assert report.kinds() == {"account_check": 1, "item": 3, "inventory_adjustment": 1}
    h.run()
    h.assert_all_done()
    h.assert_requests_valid()
    assert h.qb.quantity_on_hand("Cable Cat6") == 3
    assert h.qb.quantity_on_hand("Switch 24 port") == 2
    assert h.qb.quantity_on_hand("Mouse") == 9
    (adjustment,) = h.qb.inventory_adjustments()
    assert len(adjustment.lines) == 2  # cable and mouse; the switch already matched


def test_a_stale_mapping_is_checked_and_the_po_sent_again_by_name(h: Harness) -> None:
    from sqlalchemy import update

    from service.models import qb_mappings

    h.enqueue([order(1, line(11, CABLE, 1))])
    h.run()
    # Someone merged the vendor away in QuickBooks: atqb's ListID no longer exists.
    with h.db.transaction() as conn:
        conn.execute(
            update(qb_mappings)
            .where(qb_mappings.c.kind == "vendor")
            .values(qb_id="8000FFFF-1700000000")
        )
    h.enqueue([order(2, line(21, CABLE, 1))])
    h.run()
    h.assert_all_done()
    (po,) = h.qb.purchase_orders("AT2")
    assert name_of(po.vendor) == "Acme Supply"
    (transfer,) = [j for j in h.jobs("purchase_order") if j.autotask_id == 2]
    assert transfer.attempts == 1
    assert h.qb.counts()["Vendor"] == 1


def test_the_ship_to_and_line_customers_are_ensured(h: Harness) -> None:
    fabrikam = Company(9, "Fabrikam")
    h.enqueue([order(1, line(11, CABLE, 1, customer=fabrikam), line(12, SWITCH, 1))])
    h.run()
    h.assert_all_done()
    (po,) = h.qb.purchase_orders("AT1")
    assert name_of(po.ship_to) == "Contoso Ltd"
    assert [ln.customer.full_name if ln.customer else None for ln in po.lines] == [
        "Fabrikam",
        None,
    ]
    assert ACME.name == name_of(po.vendor)
    assert CONTOSO.name == "Contoso Ltd"


def test_the_embedded_sqlite_database_runs_the_same_workflow(sqlite_database_url: str) -> None:
    database = Database.from_url(sqlite_database_url)
    try:
        with harness(sqlite_database_url, database, transfer_mode="received") as h:
            h.enqueue(
                [order(1, line(11, CABLE, 2), line(12, SWITCH, 1)), order(2, line(21, CABLE, 1))],
                stock(p101=(2, 2), p102=1),
            )
            h.run()
            h.assert_all_done()
            counts = h.qb.counts()
            assert (counts["PurchaseOrder"], counts["ItemReceipt"]) == (2, 3)
            assert h.qb.quantity_on_hand("Cable Cat6") == 4
            assert counts["InventoryAdjustment"] == 1
    finally:
        database.dispose()


def test_received_mode_a_later_autotask_receipt_sets_on_hand_to_the_new_total(
    h: Harness,
) -> None:
    """QuickBooks' On Hand follows Autotask's total after every receipt there (seeds): in
    received mode the PO is already received in QuickBooks, so only the sync runs again."""
    po = order(1, line(11, CABLE, 5))
    h.enqueue([po], stock(p101=2))  # ordered, not yet received in Autotask
    h.run()
    h.assert_all_done()
    assert h.qb.quantity_on_hand("Cable Cat6") == 2
    unchanged = h.enqueue([po], stock(p101=2))
    assert unchanged.created == []
    received = order(1, line(11, CABLE, 5), receivings=(Receiving(901, 11, 5),))
    report = h.enqueue([received], stock(p101=(4, 3)))
    assert report.kinds() == {"inventory_adjustment": 1}
    h.run()
    h.assert_all_done()
    assert h.qb.quantity_on_hand("Cable Cat6") == 7
    assert h.qb.counts()["ItemReceipt"] == 1  # the PO was received in QuickBooks at transfer
    assert h.enqueue([received], stock(p101=(4, 3))).created == []
