"""Nothing twice: the Web Connector dies right after QuickBooks carried out each kind of add; the
next run looks before adding again, and QuickBooks ends with exactly one of everything."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from service.db import Database
from service.simulators.quickbooks import SimulatedQuickBooks
from service.simulators.webconnector import Faults, SimulatedWebConnector
from service.sync.model import Receiving
from tests.support import run_service
from tests.sync.helpers import (
    CABLE,
    PASSWORD,
    USER,
    Harness,
    harness,
    line,
    name_of,
    order,
    stock,
)

pytestmark = pytest.mark.postgres

EXACTLY_ONE = {
    "Vendor": 1,
    "Customer": 1,
    "ItemInventory": 1,
    "PurchaseOrder": 1,
    "ItemReceipt": 1,
    "InventoryAdjustment": 1,
}


def _counts(qb: SimulatedQuickBooks) -> dict[str, int]:
    return {k: v for k, v in qb.counts().items() if k in EXACTLY_ONE}


def _message_requests(h: Harness, number: int) -> set[str]:
    from service.xmlsafe import parse_text

    messages = parse_text(h.qb.log[number - 1].request_xml).find("QBXMLMsgsRq")
    assert messages is not None
    return {str(rq.tag) for rq in messages}


@pytest.mark.parametrize(
    ("crash_after", "adds", "lookup_after"),
    [
        # Message 1 also checks the accounts, so the item's lookup waits for message 2.
        (2, {"VendorAddRq", "CustomerAddRq", "ItemQueryRq"}, "VendorQueryRq"),
        (3, {"ItemInventoryAddRq"}, "ItemQueryRq"),
        (4, {"PurchaseOrderAddRq"}, "PurchaseOrderQueryRq"),
        (5, {"ItemReceiptAddRq"}, "ItemReceiptQueryRq"),
        (7, {"InventoryAdjustmentAddRq"}, "ItemInventoryQueryRq"),
    ],
    ids=["vendor-customer", "item", "purchase-order", "receipt", "adjustment"],
)
def test_crash_right_after_an_add_leaves_exactly_one_of_everything(
    h: Harness, crash_after: int, adds: set[str], lookup_after: str
) -> None:
    h.enqueue([order(1, line(11, CABLE, 5))], stock(p101=7))
    (crashed,) = h.run(Faults(crash_after_message=crash_after))
    assert crashed.crashed
    assert _message_requests(h, crash_after) == adds  # the crash came right after these adds
    before = len(h.request_names())
    h.run()
    h.assert_all_done()
    h.assert_requests_valid()
    assert _counts(h.qb) == EXACTLY_ONE
    assert h.qb.quantity_on_hand("Cable Cat6") == 7
    # The job whose answer was lost looked before adding again.
    assert lookup_after in h.request_names()[before:]
    retried = [j for j in h.jobs() if j.attempts > 1 or "after a lost answer" in str(j.result)]
    assert retried or crash_after == 7


def test_crash_after_an_unreceived_mode_receipt(
    postgres_database_url: str, postgres_db: Database
) -> None:
    with harness(postgres_database_url, postgres_db, transfer_mode="unreceived") as h:
        po = order(1, line(11, CABLE, 5))
        h.enqueue([po])
        h.run()
        h.enqueue([order(1, *po.lines, receivings=(Receiving(901, 11, 2),))], stock(p101=2))
        (crashed,) = h.run(Faults(crash_after_message=1))
        assert crashed.crashed
        assert _message_requests(h, len(h.qb.log)) == {"ItemReceiptAddRq"}
        h.run()
        h.assert_all_done()
        (receipt,) = h.qb.item_receipts()
        assert receipt.ref_number == "ATR901"
        (job,) = h.jobs("item_receipt")
        assert job.result is not None
        assert job.result["how"] == "found after a lost answer"
        assert h.qb.purchase_orders("AT1")[0].lines[0].received_quantity == 2


def test_crash_after_a_mod_that_added_a_line_does_not_add_it_twice(h: Harness) -> None:
    h.enqueue([order(1, line(11, CABLE, 5))])
    h.run()
    from tests.sync.helpers import MOUSE

    h.enqueue([order(1, line(11, CABLE, 5), line(12, MOUSE, 3))])
    # The new item first (lookup, add), then the PO is read and modified.
    (crashed,) = h.run(Faults(crash_after_message=4))
    assert crashed.crashed
    assert _message_requests(h, len(h.qb.log)) == {"PurchaseOrderModRq"}
    h.run()
    h.assert_all_done()
    (po,) = h.qb.purchase_orders("AT1")
    assert [(name_of(ln.item), ln.quantity) for ln in po.lines] == [
        ("Cable Cat6", Decimal(5)),
        ("Mouse", Decimal(3)),
    ]
    assert [ln.received_quantity for ln in po.lines] == [5, 3]
    assert h.qb.counts()["ItemReceipt"] == 2


def test_crash_and_service_restart_with_real_processes(
    postgres_database_url: str, postgres_db: Database, tmp_path: Path
) -> None:
    with harness(postgres_database_url, postgres_db) as h:
        h.enqueue([order(1, line(11, CABLE, 2))], stock(p101=2))
        qb = h.qb
        with (
            run_service(postgres_database_url, tmp_path) as service,
            SimulatedWebConnector(
                service.soap_url,
                qb,
                username=USER,
                password=PASSWORD,
                noop_wait=0,
                faults=Faults(crash_after_message=4),
            ) as crashing,
        ):
            assert crashing.run_session().crashed
        # A new service process (the old one is gone) serves the next run.
        with (
            run_service(postgres_database_url, tmp_path) as service,
            SimulatedWebConnector(
                service.soap_url, qb, username=USER, password=PASSWORD, noop_wait=0
            ) as healthy,
        ):
            reports = healthy.run_until_idle()
            log = service.log()
        assert reports[0].percents[-1] == 100
        assert "Traceback" not in log
        h.assert_all_done()
        h.assert_requests_valid()
        counts = qb.counts()
        assert (counts["PurchaseOrder"], counts["ItemReceipt"], counts["Vendor"]) == (1, 1, 1)
        assert qb.quantity_on_hand("Cable Cat6") == Decimal(2)


@pytest.mark.parametrize(
    ("crash_after", "lookup"),
    [(4, "PurchaseOrderQueryRq"), (5, "ItemReceiptQueryRq")],
    ids=["purchase-order", "receipt"],
)
def test_a_lost_lookup_after_a_lost_add_looks_again_instead_of_adding(
    h: Harness, crash_after: int, lookup: str
) -> None:
    """Found by the fault-injection run (seed 206313720): the answer to the add is lost, then the
    lookup that should find it is lost too (the connection is cut after sendRequestXML, so the
    Web Connector never hands it to QuickBooks). The next attempt must look again."""
    h.enqueue([order(1, line(11, CABLE, 5))], stock(p101=7))
    (crashed,) = h.run(Faults(crash_after_message=crash_after))
    assert crashed.crashed
    # Call 4 of the next session is its first sendRequestXML: the lookup, never delivered.
    h.run(Faults(drop_connection_on_call=4))
    h.assert_all_done()
    assert h.request_names().count(lookup) >= 1
    assert _counts(h.qb) == EXACTLY_ONE


def test_a_lost_read_after_a_lost_mod_does_not_add_the_line_twice(h: Harness) -> None:
    h.enqueue([order(1, line(11, CABLE, 5))])
    h.run()
    from tests.sync.helpers import MOUSE

    h.enqueue([order(1, line(11, CABLE, 5), line(12, MOUSE, 3))])
    (crashed,) = h.run(Faults(crash_after_message=4))  # right after the Mod that adds the line
    assert crashed.crashed
    h.run(Faults(drop_connection_on_call=4))  # the read that follows is never delivered
    h.assert_all_done()
    (po,) = h.qb.purchase_orders("AT1")
    assert [(name_of(ln.item), ln.quantity) for ln in po.lines] == [
        ("Cable Cat6", Decimal(5)),
        ("Mouse", Decimal(3)),
    ]


@pytest.mark.parametrize(
    ("crash_after", "kind", "how"),
    [
        (4, "purchase_order", "matched by vendor, date and lines"),
        (5, "item_receipt", "matched by PO link, item, quantity"),
    ],
    ids=["purchase-order", "receipt"],
)
def test_a_lost_add_found_without_its_external_guid_is_not_added_again(
    h: Harness, crash_after: int, kind: str, how: str
) -> None:
    """QuickBooks may hold the object without a GUID atqb can read (an older QuickBooks, a copy
    restored by hand): the lookup then decides from what QuickBooks does return."""
    h.enqueue([order(1, line(11, CABLE, 5))], stock(p101=7))
    (crashed,) = h.run(Faults(crash_after_message=crash_after))
    assert crashed.crashed
    added = h.qb.purchase_orders("AT1") if kind == "purchase_order" else h.qb.item_receipts()
    (txn,) = added
    h.qb.drop_external_guid(txn.txn_id)
    h.run()
    h.assert_all_done()
    assert _counts(h.qb) == EXACTLY_ONE
    (job,) = h.jobs(kind)
    assert job.result is not None
    assert how in job.result["how"]


def test_a_po_of_the_same_number_but_other_lines_is_not_taken_for_ours(h: Harness) -> None:
    """Without a GUID to prove it, a PO whose lines differ from what atqb sent is someone
    else's: atqb adds its own."""
    h.qb.add_vendor("Acme Supply")
    h.qb.add_item("Cable Cat6")
    from tests.simulators.helpers import po_add, po_line

    h.qb.process(
        '<?xml version="1.0"?><?qbxml version="13.0"?><QBXML><QBXMLMsgsRq onError="stopOnError">'
        + po_add("Acme Supply", po_line("Cable Cat6", "9"), ref_number="AT1")
        + "</QBXMLMsgsRq></QBXML>"
    )
    h.enqueue([order(1, line(11, CABLE, 5))], stock(p101=5))
    (crashed,) = h.run(Faults(crash_after_message=3))  # the item exists: one message fewer
    assert crashed.crashed
    ours = [p for p in h.qb.purchase_orders("AT1") if p.lines[0].quantity == 5]
    h.qb.drop_external_guid(ours[0].txn_id)
    h.run()
    h.assert_all_done()
    # Its own PO (5 cables) was found; the stranger's (9) was left alone; nothing added twice.
    assert sorted(p.lines[0].quantity or 0 for p in h.qb.purchase_orders("AT1")) == [5, 9]


def test_a_lost_reactivation_is_read_again_not_repeated_blindly(
    postgres_database_url: str, postgres_db: Database
) -> None:
    with harness(postgres_database_url, postgres_db, reactivate_inactive=True) as h:
        h.qb.add_vendor("Acme Supply", is_active=False)
        h.enqueue([order(1, line(11, CABLE, 5))], stock(p101=7))
        (crashed,) = h.run(Faults(crash_after_message=2))
        assert crashed.crashed
        assert "VendorModRq" in _message_requests(h, 2)
        h.run()
        h.assert_all_done()
        assert _counts(h.qb) == EXACTLY_ONE
        assert h.request_names().count("VendorModRq") == 1  # looked again: already active
        assert h.qb.vendor("Acme Supply").is_active is True  # type: ignore[union-attr]
