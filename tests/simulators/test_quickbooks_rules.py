"""The rules of real QuickBooks the simulator enforces so that atqb cannot lean on its own
assumptions (issue "QuickBooks as it really is"): each test makes one rule fire. The sources and
confidence of each rule are written beside it in service/simulators/quickbooks."""

from __future__ import annotations

from datetime import date

from lxml import etree

from service.simulators.quickbooks import SimulatedQuickBooks
from tests.simulators.helpers import item_add, one, po_add, po_line, ret, status, value
from tests.simulators.test_quickbooks_purchasing import (
    line_ids,
    line_mod,
    po_mod,
    query_po,
    receipt,
    receive,
    received,
    stocked,
    two_line_po,
)

__all__ = ["stocked"]  # the fixture, shared with the purchasing tests

GUID = "{6B063959-81B0-4622-85D6-F548C8CCB517}"


def _po_with_guid(qb: SimulatedQuickBooks) -> etree._Element:
    rs = one(
        qb,
        po_add(
            "Acme Supply",
            po_line("Widget", "5", "10.00"),
            after_ref=f"<ExternalGUID>{GUID}</ExternalGUID>",
        ),
    )
    assert status(rs)[0] == 0, status(rs)
    return ret(rs)


# ------------------------------------------------------------------ 1. ExternalGUID and OwnerID


def test_external_guid_comes_back_from_the_add_but_from_a_query_only_with_owner_id_0(
    stocked: SimulatedQuickBooks,
) -> None:
    po = _po_with_guid(stocked)
    assert po.findtext("ExternalGUID") == GUID  # Add answers carry it
    plain = query_po(stocked, po)
    assert plain.find("ExternalGUID") is None
    assert plain.findtext("RefNumber") == "PO-1"  # the rest is there
    assert query_po(stocked, po, "<OwnerID>0</OwnerID>").findtext("ExternalGUID") == GUID


def test_a_receipts_external_guid_is_hidden_from_a_query_by_ref_number(
    stocked: SimulatedQuickBooks,
) -> None:
    po = two_line_po(stocked)
    lines = receive(po, 0, "1")
    rs = one(stocked, receipt(lines, header=f"<ExternalGUID>{GUID}</ExternalGUID>"))
    assert status(rs)[0] == 0
    assert ret(rs).findtext("ExternalGUID") == GUID
    query = "<ItemReceiptQueryRq><RefNumber>RCV-1</RefNumber>{}</ItemReceiptQueryRq>"
    assert ret(one(stocked, query.format(""))).find("ExternalGUID") is None
    with_owner = ret(one(stocked, query.format("<OwnerID>0</OwnerID>")))
    assert with_owner.findtext("ExternalGUID") == GUID


# ------------------------------------------------------------------ 2. inactive list elements


def test_a_po_naming_an_inactive_vendor_item_or_customer_is_refused(
    stocked: SimulatedQuickBooks,
) -> None:
    stocked.set_active("Acme Supply", False)
    rs = one(stocked, po_add("Acme Supply", po_line("Widget", "1")))
    assert status(rs)[:2] == (3140, "Error")
    assert "inactive" in status(rs)[2]
    assert '"Acme Supply"' in status(rs)[2]
    stocked.set_active("Acme Supply", True)
    stocked.set_active("Widget", False)
    rs = one(stocked, po_add("Acme Supply", po_line("Widget", "1")))
    assert status(rs)[0] == 3140
    assert "PurchaseOrder line" in status(rs)[2]
    stocked.set_active("Widget", True)
    stocked.set_active("Contoso", False)
    ship_to = "<ShipToEntityRef><FullName>Contoso</FullName></ShipToEntityRef>"
    rs = one(stocked, po_add("Acme Supply", po_line("Widget", "1"), before_ref=ship_to))
    assert status(rs)[0] == 3140
    assert stocked.counts()["PurchaseOrder"] == 0
    # Queries still find inactive records (the list forms ignore ActiveStatus).
    found = one(stocked, "<CustomerQueryRq><FullName>Contoso</FullName></CustomerQueryRq>")
    assert value(ret(found), "IsActive") == "false"


def test_a_vendor_mod_with_the_current_edit_sequence_makes_it_active_again(
    stocked: SimulatedQuickBooks,
) -> None:
    stocked.set_active("Acme Supply", False)
    vendor = stocked.vendor("Acme Supply")
    assert vendor is not None
    mod = (
        "<VendorModRq><VendorMod><ListID>{}</ListID><EditSequence>{}</EditSequence>"
        "<IsActive>true</IsActive></VendorMod></VendorModRq>"
    )
    stale = one(stocked, mod.format(vendor.list_id, "1"))
    assert status(stale)[0] == 3200
    rs = one(stocked, mod.format(vendor.list_id, vendor.edit_sequence))
    assert status(rs)[0] == 0
    assert value(ret(rs), "IsActive") == "true"
    assert value(ret(rs), "EditSequence") != vendor.edit_sequence
    assert status(one(stocked, po_add("Acme Supply", po_line("Widget", "1"))))[0] == 0


# ------------------------------------------------------------------ 3. receipt lines name items


def test_a_linked_receipt_line_without_item_ref_is_refused(stocked: SimulatedQuickBooks) -> None:
    po = two_line_po(stocked)
    bare = (
        f"<ItemLineAdd><Quantity>1</Quantity><LinkToTxn><TxnID>{value(po, 'TxnID')}</TxnID>"
        f"<TxnLineID>{line_ids(po)[0]}</TxnLineID></LinkToTxn></ItemLineAdd>"
    )
    rs = one(stocked, receipt(bare))
    assert status(rs)[0] == 3140
    assert "ItemReceipt line" in status(rs)[2]
    assert stocked.counts()["ItemReceipt"] == 0


# ------------------------------------------------------------------ 4. what a PO Mod may not do


def test_a_mod_may_not_lower_a_line_below_what_was_received(stocked: SimulatedQuickBooks) -> None:
    po = two_line_po(stocked)
    assert status(one(stocked, receipt(receive(po, 0, "3"))))[0] == 0
    po = query_po(stocked, po)
    ids = line_ids(po)
    lowered = po_mod(po, line_mod(ids[0], "<Quantity>2</Quantity>") + line_mod(ids[1]))
    rs = one(stocked, lowered)
    assert status(rs)[0] == 3180
    assert "already received (3)" in status(rs)[2]
    at_received = po_mod(po, line_mod(ids[0], "<Quantity>3</Quantity>") + line_mod(ids[1]))
    assert status(one(stocked, at_received))[0] == 0  # down to the received quantity is fine
    assert received(query_po(stocked, po)) == ["3", "0"]


def test_a_mod_may_not_change_the_item_of_a_received_line_or_the_vendor(
    stocked: SimulatedQuickBooks,
) -> None:
    po = two_line_po(stocked)
    assert status(one(stocked, receipt(receive(po, 0, "1"))))[0] == 0
    po = query_po(stocked, po)
    ids = line_ids(po)
    gadget = "<ItemRef><FullName>Gadget</FullName></ItemRef>"
    rs = one(stocked, po_mod(po, line_mod(ids[0], gadget) + line_mod(ids[1])))
    assert status(rs)[0] == 3180
    assert "item of a line" in status(rs)[2]
    # The unreceived line may change its item.
    widget = "<ItemRef><FullName>Widget</FullName></ItemRef>"
    assert status(one(stocked, po_mod(po, line_mod(ids[0]) + line_mod(ids[1], widget))))[0] == 0
    po = query_po(stocked, po)
    vendor = "<VendorRef><FullName>Globex</FullName></VendorRef>"
    rs = one(stocked, po_mod(po, vendor))
    assert status(rs)[0] == 3180
    assert "vendor" in status(rs)[2]
    assert value(query_po(stocked, po), "VendorRef/FullName") == "Acme Supply"


# ------------------------------------------------------------------ 5. accounts


def test_an_inventory_part_with_an_unsuitable_asset_account_is_refused(
    qb: SimulatedQuickBooks,
) -> None:
    accounts = (
        "<IncomeAccountRef><FullName>Sales</FullName></IncomeAccountRef>"
        "<COGSAccountRef><FullName>Cost of Goods Sold</FullName></COGSAccountRef>"
        "<AssetAccountRef><FullName>Checking</FullName></AssetAccountRef>"
    )
    rs = one(qb, item_add("Widget", accounts=accounts))
    assert status(rs)[0] == 3140
    assert '"Checking"' in status(rs)[2]
    missing = accounts.replace("Checking", "Stock On Hand")
    rs = one(qb, item_add("Widget", accounts=missing))
    assert status(rs)[0] == 3140
    assert '"Stock On Hand"' in status(rs)[2]
    assert qb.counts()["ItemInventory"] == 0


# ------------------------------------------------------------------ 6. closing date


def test_transactions_on_or_before_the_closing_date_are_refused_with_3171(
    stocked: SimulatedQuickBooks,
) -> None:
    po = two_line_po(stocked)  # dated today (2024-03-01 on the test clock)
    stocked.set_closing_date(date(2024, 1, 31))
    dated = "<TxnDate>2024-01-31</TxnDate>"
    rs = one(stocked, po_add("Acme Supply", po_line("Widget", "1"), before_ref=dated))
    assert status(rs)[0] == 3171
    assert "closing date" in status(rs)[2]
    after = "<TxnDate>2024-02-01</TxnDate>"
    assert (
        status(one(stocked, po_add("Acme Supply", po_line("Widget", "1"), before_ref=after)))[0]
        == 0
    )
    closed_receipt = receipt(receive(po, 0, "1")).replace("<RefNumber>", f"{dated}<RefNumber>")
    rs = one(stocked, closed_receipt)
    assert status(rs)[0] == 3171  # a receipt dated in the closed period is refused as well
    assert stocked.counts()["ItemReceipt"] == 0
    stocked.set_closing_date(date(2024, 3, 1))  # the PO's own date is now closed
    rs = one(stocked, po_mod(po, "<Memo>late change</Memo>"))
    assert status(rs)[0] == 3171
    stocked.set_closing_date(None)
    assert status(one(stocked, po_mod(po, "<Memo>late change</Memo>")))[0] == 0
