"""atqb against the rules real QuickBooks applies and the simulator now enforces (inactive
records, accounts, received lines, the closing date, status 1000, sub-items), end to end over
HTTP on PostgreSQL. Each test names what an operator would see."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from service.clock import utcnow
from service.jobstore import JobStore
from service.sync.model import Product, Receiving
from tests.sync.helpers import CABLE, SWITCH, Harness, line, name_of, order, stock

pytestmark = pytest.mark.postgres


def _failed(h: Harness) -> dict[str, str]:
    return {j.kind: str(j.error) for j in h.jobs() if j.status == "failed"}


def test_an_inactive_vendor_fails_its_job_by_default_naming_it_and_what_to_do(h: Harness) -> None:
    h.qb.add_vendor("Acme Supply", is_active=False)
    h.enqueue([order(1, line(11, CABLE, 2))])
    h.run()
    error = _failed(h)["vendor"]
    assert '"Acme Supply" (inactive)' in error
    assert "ATQB_REACTIVATE_INACTIVE=true" in error
    assert "retry this job" in error
    assert h.qb.counts()["PurchaseOrder"] == 0  # the PO waited and failed with its vendor
    assert "VendorModRq" not in h.request_names()
    assert h.qb.vendor("Acme Supply").is_active is False  # type: ignore[union-attr]


def test_an_inactive_vendor_is_made_active_when_the_setting_says_so(h: Harness) -> None:
    h.qb.add_vendor("Acme Supply", is_active=False)
    h.settings["reactivate_inactive"] = True
    h.enqueue([order(1, line(11, CABLE, 2))])
    h.run()
    h.assert_all_done()
    (vendor_job,) = h.jobs("vendor")
    assert "made it active" in vendor_job.result["reactivated"]  # type: ignore[index]
    assert h.qb.vendor("Acme Supply").is_active is True  # type: ignore[union-attr]
    assert h.qb.counts()["Vendor"] == 1
    assert h.qb.counts()["PurchaseOrder"] == 1


def test_an_inactive_item_fails_by_default_and_is_reactivated_with_the_setting(
    h: Harness,
) -> None:
    h.qb.add_item("Cable Cat6", is_active=False)
    h.enqueue([order(1, line(11, CABLE, 2))])
    h.run()
    assert 'inventory part "Cable Cat6" (inactive)' in _failed(h)["item"]
    assert h.qb.counts()["ItemInventory"] == 1  # not added a second time either
    h.settings["reactivate_inactive"] = True
    (item_job,) = h.jobs("item")
    with h.db.transaction() as conn:
        JobStore(conn, utcnow()).retry(item_job.id)
    h.run()
    h.assert_all_done()
    assert h.qb.item("Cable Cat6").is_active is True  # type: ignore[union-attr]
    assert h.qb.purchase_orders("AT1")[0].lines[0].received_quantity == 2


def test_an_item_made_inactive_after_mapping_fails_the_po_naming_it(h: Harness) -> None:
    h.enqueue([order(1, line(11, CABLE, 1))])
    h.run()
    h.qb.set_active("Cable Cat6", False)
    h.enqueue([order(2, line(21, CABLE, 1))])
    h.run()
    error = _failed(h)["purchase_order"]
    assert '"Cable Cat6" (inactive)' in error
    assert "make it active" in error
    assert len(h.qb.purchase_orders("AT2")) == 0


def test_a_missing_account_fails_one_job_naming_the_setting_and_sends_no_item(
    h: Harness,
) -> None:
    h.settings["asset_account"] = "Stock On Hand"
    h.enqueue([order(1, line(11, CABLE, 2), line(12, SWITCH, 1))])
    h.run()
    (check,) = h.jobs("account_check")
    assert check.status == "failed"
    assert "ATQB_ASSET_ACCOUNT is 'Stock On Hand'" in str(check.error)
    assert "no account of that name" in str(check.error)
    assert "ItemInventoryAddRq" not in h.request_names()
    items = h.jobs("item")
    assert [j.status for j in items] == ["failed", "failed"]
    assert all(f"#{check.id}" in str(j.error) or "account_check" in str(j.error) for j in items)
    # The administrator creates the account; retrying the check brings the items back.
    h.qb.add_account("Stock On Hand", "OtherCurrentAsset")
    with h.db.transaction() as conn:
        JobStore(conn, utcnow()).retry(check.id)
    h.run()
    h.assert_all_done()
    assert h.qb.item("Cable Cat6").asset_account.full_name == "Stock On Hand"  # type: ignore[union-attr]


def test_an_account_of_the_wrong_type_names_the_setting_and_the_types(h: Harness) -> None:
    h.settings["income_account"] = "Checking"
    h.enqueue([order(1, line(11, CABLE, 2))])
    h.run()
    (check,) = h.jobs("account_check")
    assert "ATQB_INCOME_ACCOUNT is 'Checking'" in str(check.error)
    assert "a QuickBooks Bank account; it must be Income or OtherIncome" in str(check.error)


def test_the_accounts_are_checked_once_not_before_every_item(h: Harness) -> None:
    h.enqueue([order(1, line(11, CABLE, 2))])
    h.run()
    h.enqueue([order(2, line(21, SWITCH, 1))])
    h.run()
    h.assert_all_done()
    assert len(h.jobs("account_check")) == 1
    assert h.request_names().count("AccountQueryRq") == 1


def _po_mod_statuses(h: Harness) -> list[int]:
    return [
        o.status_code for e in h.qb.log for o in e.requests if o.request == "PurchaseOrderModRq"
    ]


def test_a_quantity_lowered_after_receipt_lowers_the_receipt_then_the_po_line(
    h: Harness,
) -> None:
    """Received mode: the correction lowers atqb's receipt first, so QuickBooks (which refuses a
    PO line below its received quantity, 3180) takes the lower quantity without a refusal."""
    h.enqueue([order(1, line(11, CABLE, 5))], stock(p101=5))
    h.run()  # received mode: 5 received
    h.enqueue([order(1, line(11, CABLE, 3))], stock(p101=3))
    h.run()
    h.assert_all_done()
    (update,) = h.jobs("purchase_order_update")
    assert not any("kept at" in c for c in update.result["changes"])  # type: ignore[index]
    assert 3180 not in _po_mod_statuses(h)
    (po_line,) = h.qb.purchase_orders("AT1")[0].lines
    assert (po_line.quantity, po_line.received_quantity) == (Decimal(3), Decimal(3))
    (receipt,) = h.qb.item_receipts("ATL11")
    assert [ln.quantity for ln in receipt.lines] == [3]
    assert h.qb.quantity_on_hand("Cable Cat6") == 3


def test_an_update_below_the_received_quantity_never_sends_a_refused_mod(h: Harness) -> None:
    """Unreceived mode: Autotask's rows still hold 5 received on a line lowered to 3, so nothing
    is corrected; the PO line keeps the received quantity and the summary says so."""
    h.settings["transfer_mode"] = "unreceived"
    h.enqueue([order(1, line(11, CABLE, 5), receivings=(Receiving(901, 11, 5),))])
    h.run()
    h.enqueue([order(1, line(11, CABLE, 3), receivings=(Receiving(901, 11, 5),))])
    h.run()
    (update,) = h.jobs("purchase_order_update")
    assert update.status == "done", update.error
    assert any("kept at 5, not 3" in c for c in update.result["changes"])  # type: ignore[index]
    assert 3180 not in _po_mod_statuses(h)
    assert h.qb.purchase_orders("AT1")[0].lines[0].quantity == 5


def test_a_new_item_on_a_received_line_fails_the_update_without_a_mod(h: Harness) -> None:
    h.enqueue([order(1, line(11, CABLE, 5))])
    h.run()
    h.enqueue([order(1, line(11, SWITCH, 5))])
    h.run()
    (update,) = h.jobs("purchase_order_update")
    assert update.status == "failed"
    assert "refuses to change the item of a received line" in str(update.error)
    assert "PurchaseOrderModRq" not in h.request_names()


def test_a_receipt_names_its_item_and_the_po_line_cost(h: Harness) -> None:
    h.enqueue([order(1, line(11, CABLE, 5))])
    h.run()
    h.assert_all_done()
    (receipt_xml,) = [e.request_xml for e in h.qb.log if "ItemReceiptAddRq" in e.request_xml]
    assert "<ItemRef>" in receipt_xml
    assert "<Cost>3.125" in receipt_xml
    (receipt,) = h.qb.item_receipts("ATL11")
    assert receipt.lines[0].item.full_name == "Cable Cat6"


def test_a_transaction_before_the_closing_date_fails_in_plain_words_once(h: Harness) -> None:
    h.qb.set_closing_date(date(2024, 12, 31))
    h.enqueue([order(1, line(11, CABLE, 5), order_date=date(2024, 6, 1))])
    h.run()
    (transfer,) = h.jobs("purchase_order")
    assert transfer.status == "failed"
    assert transfer.attempts == 1  # not retried blindly
    error = str(transfer.error)
    assert "dated 2024-06-01" in error
    assert "closing date" in error
    assert "3171" in error
    assert h.request_names().count("PurchaseOrderAddRq") == 1


def test_a_receipt_correction_in_a_closed_period_fails_in_plain_words(h: Harness) -> None:
    """The receipt to lower is dated in a closed period: the correction names its date, and the
    PO line is not lowered below what stays received."""
    h.enqueue([order(1, line(11, CABLE, 5), order_date=date(2024, 6, 1))], stock(p101=5))
    h.run()
    h.assert_all_done()
    h.qb.set_closing_date(date(2024, 12, 31))
    h.enqueue([order(1, line(11, CABLE, 3), order_date=date(2024, 6, 1))], stock(p101=3))
    h.run()
    (correction,) = h.jobs("item_receipt_correction")
    assert correction.status == "failed"
    assert correction.attempts == 1
    error = str(correction.error)
    assert "dated 2024-06-01" in error
    assert "closing date" in error
    assert "3171" in error
    (po_line,) = h.qb.purchase_orders("AT1")[0].lines
    assert (po_line.quantity, po_line.received_quantity) == (Decimal(5), Decimal(5))
    assert h.request_names().count("PurchaseOrderModRq") == 0


def _due_now(h: Harness) -> None:
    """Make every job waiting out a backoff ready now (the backoff itself is tested elsewhere)."""
    with h.db.transaction() as conn:
        store = JobStore(conn, utcnow())
        for job in h.jobs():
            if job.status == "pending":
                store.set_run_after(job.id, utcnow())


INTERNAL = "There has been an internal error when processing the request."


def test_status_1000_is_retried_once_then_the_job_fails(h: Harness) -> None:
    h.qb.fail_next("VendorAddRq", 1000, INTERNAL)
    h.enqueue([order(1, line(11, CABLE, 1))])
    h.run()
    (vendor,) = h.jobs("vendor")
    assert vendor.status == "pending"
    assert "atqb tries once more" in str(vendor.error)
    _due_now(h)
    h.run()
    h.assert_all_done()  # the second try worked
    assert h.qb.counts()["Vendor"] == 1
    h.qb.fail_next("PurchaseOrderAddRq", 1000, INTERNAL, times=2)
    h.enqueue([order(2, line(21, CABLE, 1))])
    h.run()
    _due_now(h)
    h.run()
    (second,) = [j for j in h.jobs("purchase_order") if j.autotask_id == 2]
    assert second.status == "failed"
    assert "QuickBooks 1000" in str(second.error)
    assert h.request_names().count("PurchaseOrderAddRq") == 3  # PO 1, then PO 2 twice


def test_a_tilde_in_a_product_name_makes_a_sub_item_of_the_parent(h: Harness) -> None:
    h.qb.add_item("Cables")
    sub = Product(104, "Cables~Cat6 patch 2m", unit_cost=CABLE.unit_cost)
    h.enqueue([order(1, line(11, sub, 2))], stock(p104=2))
    h.run()
    h.assert_all_done()
    item = h.qb.item("Cables:Cat6 patch 2m")
    assert item is not None
    assert name_of(item.parent) == "Cables"
    assert name_of(h.qb.purchase_orders("AT1")[0].lines[0].item) == "Cables:Cat6 patch 2m"


def test_an_item_made_inactive_after_mapping_is_reactivated_with_the_setting(
    h: Harness,
) -> None:
    h.enqueue([order(1, line(11, CABLE, 1))])
    h.run()
    h.qb.set_active("Cable Cat6", False)
    h.settings["reactivate_inactive"] = True
    h.enqueue([order(2, line(21, CABLE, 1))])
    h.run()
    h.assert_all_done()
    assert h.qb.item("Cable Cat6").is_active is True  # type: ignore[union-attr]
    (second,) = [j for j in h.jobs("purchase_order") if j.autotask_id == 2]
    assert second.result is not None
    assert second.result["how"] == "added"
    assert h.request_names().count("ItemInventoryModRq") == 1
    assert len(h.qb.purchase_orders("AT2")) == 1
