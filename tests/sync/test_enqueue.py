"""The enqueue API on both engines: which jobs it makes, how they wait for each other, and what
it makes of the same, changed or canceled data."""

from __future__ import annotations

from decimal import Decimal

from service.clock import utcnow
from service.db import Database
from service.jobstore import Job, JobStore
from service.settings import load_settings
from service.sync.enqueue import EnqueueReport, enqueue_purchase_orders
from service.sync.mapping import Mappings
from service.sync.model import Company, Product, PurchaseOrder, Receiving
from tests.sync.helpers import ACME, CABLE, MOUSE, SWITCH, USER, line, order, stock


def _enqueue(db: Database, *orders: PurchaseOrder, **settings: object) -> EnqueueReport:
    return enqueue_purchase_orders(
        db, load_settings(**settings), USER, list(orders), stock(p101=1, p102=1)
    )


def _deps(db: Database, job: Job) -> list[str]:
    with db.transaction() as conn:
        store = JobStore(conn, utcnow())
        return sorted(store.get(i).kind for i in store.prerequisites(job.id))


def test_a_po_waits_for_its_records_receipts_for_the_po_and_the_sync_for_the_receipts(
    db: Database,
) -> None:
    report = _enqueue(db, order(1, line(11, CABLE, 5), line(12, SWITCH, 1)))
    by_kind = {job.kind: job for job in report.created}
    assert _deps(db, by_kind["purchase_order"]) == ["customer", "item", "item", "vendor"]
    assert _deps(db, by_kind["item_receipt"]) == ["purchase_order"]
    assert _deps(db, by_kind["inventory_adjustment"]) == [
        "item_receipt",
        "item_receipt",
        "purchase_order",
    ]
    assert by_kind["purchase_order"].status == "waiting"
    assert by_kind["vendor"].status == "pending"
    assert by_kind["purchase_order"].subject == "PO P1 · Acme Supply"
    assert by_kind["purchase_order"].payload["po"]["ref_number"] == "AT1"


def test_records_are_ensured_once_for_many_pos(db: Database) -> None:
    report = _enqueue(db, order(1, line(11, CABLE, 1)), order(2, line(21, CABLE, 2)))
    assert report.kinds()["vendor"] == 1
    assert report.kinds()["item"] == 1
    assert report.kinds()["purchase_order"] == 2


def test_records_the_mappings_know_get_no_job(db: Database) -> None:
    with db.transaction() as conn:
        mappings = Mappings(conn, utcnow(), USER)
        mappings.put("vendor", ACME.id, qb_id="80000001-1", qb_name="ACME SUPPLY")
        mappings.put("item", CABLE.id, qb_id="80000002-1", qb_name="Cable Cat6")
    report = _enqueue(db, order(1, line(11, CABLE, 1)))
    assert "vendor" not in report.kinds()
    assert "item" not in report.kinds()
    # A renamed Autotask vendor is looked up under its new name.
    renamed = _enqueue(db, order(2, line(21, CABLE, 1), vendor=Company(ACME.id, "Acme Inc")))
    assert renamed.kinds()["vendor"] == 1


def test_a_change_before_the_transfer_ran_makes_an_update_after_it(db: Database) -> None:
    first = _enqueue(db, order(1, line(11, CABLE, 1)))
    changed = _enqueue(db, order(1, line(11, CABLE, 3)))
    (update,) = [j for j in changed.created if j.kind == "purchase_order_update"]
    (transfer,) = [j for j in first.created if j.kind == "purchase_order"]
    with db.transaction() as conn:
        assert transfer.id in JobStore(conn, utcnow()).prerequisites(update.id)
    assert "purchase_order" not in changed.kinds()
    # The receipt for the new quantity waits for the update.
    (receipt,) = [j for j in changed.created if j.kind == "item_receipt"]
    assert _deps(db, receipt) == ["item_receipt", "purchase_order_update"]


def test_a_po_canceled_before_its_transfer_is_withdrawn(db: Database) -> None:
    first = _enqueue(db, order(1, line(11, CABLE, 1)))
    report = _enqueue(db, order(1, line(11, CABLE, 1), status="Canceled"))
    assert report.skipped == [
        "PO P1 was canceled in Autotask before its transfer: its jobs are cancelled"
    ]
    with db.transaction() as conn:
        store = JobStore(conn, utcnow())
        statuses = {j.kind: store.get(j.id).status for j in first.created}
    assert statuses["purchase_order"] == "cancelled"
    assert statuses["item_receipt"] == "cancelled"
    assert statuses["inventory_adjustment"] == "cancelled"
    assert statuses["vendor"] == "pending"  # shared records are still wanted


def test_unreceived_mode_makes_one_receipt_per_receiving_row(db: Database) -> None:
    po = order(
        1,
        line(11, CABLE, 5),
        line(12, SWITCH, 2),
        receivings=(Receiving(901, 11, 2), Receiving(902, 11, 1)),
    )
    report = _enqueue(db, po, transfer_mode="unreceived")
    receipts = [j for j in report.created if j.kind == "item_receipt"]
    assert [(j.payload["receiving_id"], j.payload["quantity"]) for j in receipts] == [
        (901, "2"),
        (902, "1"),
    ]
    assert [j.payload["ref_number"] for j in receipts] == ["ATR901", "ATR902"]


def test_names_that_would_merge_in_quickbooks_are_marked(db: Database) -> None:
    a = Product(201, "Ethernet patch cable category 6 - 1m")
    b = Product(202, "Ethernet patch cable category 6 - 2m")
    report = _enqueue(db, order(1, line(11, a, 1), line(12, b, 1)))
    items = [j for j in report.created if j.kind == "item"]
    assert [j.payload["qb_name"] for j in items] == ["Ethernet patch cable category 6"] * 2
    assert items[0].payload["collides_with"] == [{"id": 202, "name": b.name}]


def test_a_po_that_cannot_be_sent_is_skipped_and_the_others_go(db: Database) -> None:
    unnamed = Product(301, "\x00\x01")
    report = _enqueue(
        db,
        order(1, line(11, unnamed, 1)),
        PurchaseOrder(2, ACME, ()),
        order(3, line(31, MOUSE, 1)),
    )
    assert report.skipped == [
        "PO P1: Autotask product 301 '\\x00\\x01' has no character QuickBooks can store in a name",
        "PO 2: no line with a product, nothing to send",
    ]
    assert report.kinds()["purchase_order"] == 1


def test_on_hand_counts_are_recorded_for_the_sync_to_read(db: Database) -> None:
    enqueue_purchase_orders(
        db, load_settings(), USER, [order(1, line(11, CABLE, 1))], stock(p101=(2, 3))
    )
    with db.transaction() as conn:
        item = Mappings(conn, utcnow(), USER).get("item", CABLE.id)
    assert item is not None
    assert Decimal(item.data["on_hand"]) == 5
    assert item.qb_id is None
