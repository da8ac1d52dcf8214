"""The simulated QuickBooks' purchasing: purchase orders, item receipts, inventory adjustments."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from lxml import etree

from service.simulators.quickbooks import SimulatedQuickBooks
from tests.simulators.helpers import (
    Clock,
    check_answer,
    envelope,
    is_valid,
    one,
    po_add,
    po_line,
    ret,
    send,
    status,
    value,
)

TXN_ID = re.compile(r"^[0-9A-F]+-\d{10}$")


@pytest.fixture
def stocked(qb: SimulatedQuickBooks) -> SimulatedQuickBooks:
    """A company with a vendor, a customer, two inventory parts and a non-inventory part."""
    qb.add_vendor("Acme Supply")
    qb.add_vendor("Globex")
    qb.add_customer("Contoso")
    qb.add_item("Widget", purchase_cost=10)
    qb.add_item("Gadget", purchase_cost=Decimal("2.5"))
    qb.add_item("Cable Kit", "NonInventory", purchase_cost=1)
    return qb


def add_po(qb: SimulatedQuickBooks, *lines: str, ref_number: str = "PO-1") -> etree._Element:
    rs = one(qb, po_add("Acme Supply", *lines, ref_number=ref_number))
    assert status(rs)[0] == 0, status(rs)
    return ret(rs)


def two_line_po(qb: SimulatedQuickBooks) -> etree._Element:
    return add_po(qb, po_line("Widget", "5", "10.00"), po_line("Gadget", "2", "2.50"))


def line_ids(po: etree._Element) -> list[str]:
    return [line.findtext("TxnLineID") or "" for line in po.findall("PurchaseOrderLineRet")]


def po_mod(po: etree._Element, body: str, edit_sequence: str | None = None) -> str:
    sequence = edit_sequence or value(po, "EditSequence")
    return (
        f'<PurchaseOrderModRq requestID="m"><PurchaseOrderMod><TxnID>{value(po, "TxnID")}</TxnID>'
        f"<EditSequence>{sequence}</EditSequence>{body}</PurchaseOrderMod></PurchaseOrderModRq>"
    )


def line_mod(line_id: str, body: str = "") -> str:
    return f"<PurchaseOrderLineMod><TxnLineID>{line_id}</TxnLineID>{body}</PurchaseOrderLineMod>"


def receipt(
    lines: str, *, vendor: str = "Acme Supply", ref_number: str = "RCV-1", header: str = ""
) -> str:
    return (
        '<ItemReceiptAddRq requestID="r"><ItemReceiptAdd>'
        f"<VendorRef><FullName>{vendor}</FullName></VendorRef><RefNumber>{ref_number}</RefNumber>"
        f"{header}{lines}</ItemReceiptAdd></ItemReceiptAddRq>"
    )


def receive(po: etree._Element, index: int, quantity: str | None) -> str:
    """An ItemLineAdd receiving ``quantity`` against line ``index`` of ``po``."""
    quantity_el = f"<Quantity>{quantity}</Quantity>" if quantity is not None else ""
    item = po.findall("PurchaseOrderLineRet")[index].findtext("ItemRef/ListID")
    return (
        f"<ItemLineAdd><ItemRef><ListID>{item}</ListID></ItemRef>{quantity_el}"
        f"<LinkToTxn><TxnID>{value(po, 'TxnID')}</TxnID>"
        f"<TxnLineID>{line_ids(po)[index]}</TxnLineID></LinkToTxn></ItemLineAdd>"
    )


def query_po(qb: SimulatedQuickBooks, po: etree._Element, extra: str = "") -> etree._Element:
    rs = one(
        qb,
        f"<PurchaseOrderQueryRq><TxnID>{value(po, 'TxnID')}</TxnID>"
        f"<IncludeLineItems>true</IncludeLineItems>{extra}</PurchaseOrderQueryRq>",
    )
    return ret(rs)


def received(po: etree._Element) -> list[str]:
    return [ln.findtext("ReceivedQuantity") or "" for ln in po.findall("PurchaseOrderLineRet")]


# ----------------------------------------------------------------------------- PurchaseOrderAdd


def test_a_purchase_order_enters_unreceived_with_line_ids_and_amounts(
    stocked: SimulatedQuickBooks, clock: Clock
) -> None:
    po = add_po(
        stocked,
        po_line("Widget", "5", "10.00"),
        po_line("Gadget", "3", extra="<CustomerRef><FullName>Contoso</FullName></CustomerRef>"),
    )
    assert TXN_ID.match(value(po, "TxnID"))
    assert value(po, "EditSequence") == str(int(clock.now.timestamp()))
    assert value(po, "VendorRef/FullName") == "Acme Supply"
    assert value(po, "RefNumber") == "PO-1"
    assert value(po, "TxnDate") == "2024-03-01"
    assert value(po, "TotalAmount") == "57.50"
    assert value(po, "IsManuallyClosed") == "false"
    assert value(po, "IsFullyReceived") == "false"
    lines = po.findall("PurchaseOrderLineRet")
    assert len(set(line_ids(po))) == 2
    assert all(TXN_ID.match(i) for i in line_ids(po))
    assert [ln.findtext("ReceivedQuantity") for ln in lines] == ["0", "0"]
    assert [ln.findtext("IsManuallyClosed") for ln in lines] == ["false", "false"]
    assert [ln.findtext("Amount") for ln in lines] == ["50.00", "7.50"]
    assert lines[1].findtext("Rate") == "2.50"  # the item's PurchaseCost
    assert lines[1].findtext("CustomerRef/FullName") == "Contoso"
    assert stocked.quantity_on_order("Widget") == 5
    assert stocked.counts()["PurchaseOrder"] == 1


def test_an_amount_without_rate_gives_the_rate(stocked: SimulatedQuickBooks) -> None:
    po = add_po(stocked, po_line("Widget", "4", extra="<Amount>10.00</Amount>"))
    line = po.find("PurchaseOrderLineRet")
    assert line is not None
    assert (line.findtext("Rate"), line.findtext("Amount")) == ("2.50", "10.00")


@pytest.mark.parametrize(
    ("request_xml", "message"),
    [
        (
            po_add("Nobody Inc", po_line("Widget", "1")),
            'There is an invalid reference to QuickBooks Vendor "Nobody Inc" in the PurchaseOrder.',
        ),
        (
            po_add("Contoso", po_line("Widget", "1")),
            'There is an invalid reference to QuickBooks Vendor "Contoso" in the PurchaseOrder.',
        ),
        (
            po_add("Acme Supply", po_line("Sprocket", "1")),
            'There is an invalid reference to QuickBooks Item "Sprocket" in the '
            "PurchaseOrder line.",
        ),
        (
            po_add(
                "Acme Supply",
                po_line(
                    "Widget", "1", extra="<CustomerRef><FullName>Nobody</FullName></CustomerRef>"
                ),
            ),
            'There is an invalid reference to QuickBooks Customer "Nobody" in the '
            "PurchaseOrder line.",
        ),
        (
            po_add(
                "Acme Supply",
                po_line("Widget", "1"),
                before_ref="<ShipToEntityRef><FullName>Nobody</FullName></ShipToEntityRef>",
            ),
            'There is an invalid reference to QuickBooks Entity "Nobody" in the PurchaseOrder.',
        ),
        (
            po_add(
                "Acme Supply",
                po_line("Widget", "1"),
                before_ref="<ClassRef><FullName>Hardware</FullName></ClassRef>",
            ),
            'There is an invalid reference to QuickBooks Class "Hardware" in the PurchaseOrder.',
        ),
    ],
    ids=["vendor", "customer-as-vendor", "item", "line-customer", "ship-to", "class"],
)
def test_a_reference_to_something_missing_is_3140_and_adds_nothing(
    stocked: SimulatedQuickBooks, request_xml: str, message: str
) -> None:
    assert status(one(stocked, request_xml)) == (3140, "Error", message)
    assert stocked.counts()["PurchaseOrder"] == 0


def test_ship_to_may_name_any_entity_and_class_once_it_exists(stocked: SimulatedQuickBooks) -> None:
    stocked.add_list_entry("Class", "Hardware")
    po = ret(
        one(
            stocked,
            po_add(
                "Acme Supply",
                po_line("Widget", "1"),
                before_ref="<ClassRef><FullName>hardware</FullName></ClassRef>"
                "<ShipToEntityRef><FullName>Contoso</FullName></ShipToEntityRef>",
            ),
        )
    )
    assert value(po, "ClassRef/FullName") == "Hardware"
    assert value(po, "ShipToEntityRef/FullName") == "Contoso"


def test_inventory_sites_need_advanced_inventory(stocked: SimulatedQuickBooks) -> None:
    request_xml = po_add(
        "Acme Supply",
        po_line("Widget", "1"),
        before_ref="<InventorySiteRef><FullName>Main</FullName></InventorySiteRef>",
    )
    assert status(one(stocked, request_xml))[0] == 3250


def test_a_ref_number_over_11_characters_is_3070_at_run_time(stocked: SimulatedQuickBooks) -> None:
    document = envelope(po_add("Acme Supply", po_line("Widget", "1"), ref_number="PO-12345678"))
    assert is_valid(document)
    document = envelope(
        po_add("Acme Supply", po_line("Widget", "1"), ref_number="PO-123456789"), valid=False
    )
    assert not is_valid(document)
    (rs,) = check_answer(stocked.process(document))
    assert status(rs) == (
        3070,
        "Error",
        'The string "PO-123456789" in the field "RefNumber" is too long.',
    )
    assert stocked.counts()["PurchaseOrder"] == 0


def test_ref_numbers_need_not_be_unique(stocked: SimulatedQuickBooks) -> None:
    first = add_po(stocked, po_line("Widget", "1"), ref_number="1001")
    second = add_po(stocked, po_line("Gadget", "1"), ref_number="1001")
    assert value(first, "TxnID") != value(second, "TxnID")
    rs = one(stocked, "<PurchaseOrderQueryRq><RefNumber>1001</RefNumber></PurchaseOrderQueryRq>")
    assert [p.findtext("TxnID") for p in rs] == [value(first, "TxnID"), value(second, "TxnID")]
    assert len(stocked.purchase_orders("1001")) == 2


def test_without_a_ref_number_quickbooks_numbers_the_purchase_order(
    stocked: SimulatedQuickBooks,
) -> None:
    add_po(stocked, po_line("Widget", "1"), ref_number="41")
    rs = one(stocked, po_add("Acme Supply", po_line("Widget", "1"), ref_number=None))
    assert value(ret(rs), "RefNumber") == "42"


# ----------------------------------------------------------------------------- PurchaseOrderQuery


def test_purchase_order_query_forms(stocked: SimulatedQuickBooks, clock: Clock) -> None:
    early = add_po(stocked, po_line("Widget", "1"), ref_number="AT-100")
    clock.advance(3600)
    late = ret(one(stocked, po_add("Globex", po_line("Gadget", "2"), ref_number="AT-200")))

    def txn_ids(body: str) -> list[str]:
        rs = one(stocked, f"<PurchaseOrderQueryRq>{body}</PurchaseOrderQueryRq>")
        return [p.findtext("TxnID") or "" for p in rs]

    early_id, late_id = value(early, "TxnID"), value(late, "TxnID")
    assert txn_ids(f"<TxnID>{late_id}</TxnID>") == [late_id]
    assert txn_ids("<RefNumber>at-100</RefNumber>") == [early_id]
    assert txn_ids("<RefNumberCaseSensitive>at-100</RefNumberCaseSensitive>") == []
    assert txn_ids(
        "<RefNumberFilter><MatchCriterion>StartsWith</MatchCriterion>"
        "<RefNumber>AT-</RefNumber></RefNumberFilter>"
    ) == [early_id, late_id]
    assert txn_ids(
        "<ModifiedDateRangeFilter><FromModifiedDate>2024-03-01T10:30:00-05:00</FromModifiedDate>"
        "</ModifiedDateRangeFilter>"
    ) == [late_id]
    assert txn_ids("<EntityFilter><FullName>Globex</FullName></EntityFilter>") == [late_id]
    assert txn_ids("<MaxReturned>1</MaxReturned>") == [early_id]

    missing = one(
        stocked, "<PurchaseOrderQueryRq><RefNumber>AT-999</RefNumber></PurchaseOrderQueryRq>"
    )
    assert status(missing)[:2] == (500, "Warn")
    no_match = one(
        stocked,
        "<PurchaseOrderQueryRq><RefNumberFilter><MatchCriterion>Contains</MatchCriterion>"
        "<RefNumber>zzz</RefNumber></RefNumberFilter></PurchaseOrderQueryRq>",
    )
    assert status(no_match)[:2] == (1, "Info")


def test_lines_come_back_only_when_asked(stocked: SimulatedQuickBooks) -> None:
    po = two_line_po(stocked)
    bare = one(
        stocked, f"<PurchaseOrderQueryRq><TxnID>{value(po, 'TxnID')}</TxnID></PurchaseOrderQueryRq>"
    )
    assert ret(bare).find("PurchaseOrderLineRet") is None
    assert line_ids(query_po(stocked, po)) == line_ids(po)


# ----------------------------------------------------------------------------- PurchaseOrderMod


def test_a_stale_edit_sequence_is_3200_and_the_fresh_one_works(
    stocked: SimulatedQuickBooks,
) -> None:
    po = two_line_po(stocked)
    first = one(stocked, po_mod(po, "<Memo>first</Memo>"))
    assert status(first)[0] == 0
    fresh = value(ret(first), "EditSequence")
    assert fresh != value(po, "EditSequence")  # changed although the clock did not move

    stale = one(stocked, po_mod(po, "<Memo>second</Memo>"))
    assert status(stale) == (
        3200,
        "Error",
        f'The provided edit sequence "{value(po, "EditSequence")}" is out-of-date.',
    )
    assert stocked.purchase_orders("PO-1")[0].memo == "first"
    again = one(stocked, po_mod(po, "<Memo>second</Memo>", edit_sequence=fresh))
    assert value(ret(again), "Memo") == "second"


def test_an_edit_in_quickbooks_makes_the_stored_edit_sequence_stale(
    stocked: SimulatedQuickBooks,
) -> None:
    po = two_line_po(stocked)
    stocked.simulate_ui_edit(value(po, "TxnID"))
    assert status(one(stocked, po_mod(po, "<Memo>x</Memo>")))[0] == 3200


def test_modifying_an_unknown_purchase_order_is_3120(stocked: SimulatedQuickBooks) -> None:
    rs = one(
        stocked,
        "<PurchaseOrderModRq><PurchaseOrderMod><TxnID>FFFF-1700000000</TxnID>"
        "<EditSequence>1</EditSequence></PurchaseOrderMod></PurchaseOrderModRq>",
    )
    assert status(rs) == (
        3120,
        "Error",
        'Object "FFFF-1700000000" specified in the request cannot be found.  QuickBooks error '
        "message: Invalid argument.  The specified record does not exist in the list.",
    )


def test_a_header_only_mod_keeps_every_line(stocked: SimulatedQuickBooks) -> None:
    po = two_line_po(stocked)
    modified = ret(one(stocked, po_mod(po, "<RefNumber>PO-1A</RefNumber><Memo>m</Memo>")))
    assert line_ids(modified) == line_ids(po)
    assert value(modified, "RefNumber") == "PO-1A"


def test_a_line_mod_deletes_unnamed_lines_changes_named_ones_and_adds_minus_one(
    stocked: SimulatedQuickBooks,
) -> None:
    po = two_line_po(stocked)
    widget_line, gadget_line = line_ids(po)
    body = line_mod(widget_line, "<Quantity>7</Quantity>") + line_mod(
        "-1", "<ItemRef><FullName>Cable Kit</FullName></ItemRef><Quantity>3</Quantity>"
    )
    modified = ret(one(stocked, po_mod(po, body)))
    lines = modified.findall("PurchaseOrderLineRet")
    assert [ln.findtext("ItemRef/FullName") for ln in lines] == ["Widget", "Cable Kit"]
    assert lines[0].findtext("TxnLineID") == widget_line
    assert lines[0].findtext("Quantity") == "7"
    assert lines[0].findtext("Amount") == "70.00"  # Rate kept, Amount recomputed
    assert lines[1].findtext("TxnLineID") not in (widget_line, gadget_line, "-1")
    assert TXN_ID.match(lines[1].findtext("TxnLineID") or "")
    assert value(modified, "TotalAmount") == "73.00"
    assert stocked.purchase_orders("PO-1")[0].line(gadget_line) is None


def test_a_line_mod_naming_an_unknown_line_is_3120_and_changes_nothing(
    stocked: SimulatedQuickBooks,
) -> None:
    po = two_line_po(stocked)
    rs = one(stocked, po_mod(po, line_mod(line_ids(po)[0]) + line_mod("FFFF-1700000000")))
    assert status(rs)[0] == 3120
    assert line_ids(query_po(stocked, po)) == line_ids(po)
    assert value(query_po(stocked, po), "EditSequence") == value(po, "EditSequence")


def test_deleting_a_line_that_was_received_against_is_refused(
    stocked: SimulatedQuickBooks,
) -> None:
    po = two_line_po(stocked)
    assert status(one(stocked, receipt(receive(po, 1, "1"))))[0] == 0
    current = query_po(stocked, po)
    rs = one(stocked, po_mod(current, line_mod(line_ids(po)[0])))
    assert status(rs) == (
        3180,
        "Error",
        "There was an error when saving a PurchaseOrder.  QuickBooks error message: A line that "
        "has been received against cannot be deleted.",
    )
    assert line_ids(query_po(stocked, po)) == line_ids(po)
    # Keeping the received line (a bare TxnLineID) while deleting the other one works.
    assert status(one(stocked, po_mod(current, line_mod(line_ids(po)[1]))))[0] == 0


def test_manually_closing_a_line_and_the_whole_purchase_order(stocked: SimulatedQuickBooks) -> None:
    po = two_line_po(stocked)
    widget_line, gadget_line = line_ids(po)
    body = line_mod(widget_line, "<IsManuallyClosed>true</IsManuallyClosed>") + line_mod(
        gadget_line
    )
    closed_line = ret(one(stocked, po_mod(po, body)))
    flags = [ln.findtext("IsManuallyClosed") for ln in closed_line.findall("PurchaseOrderLineRet")]
    assert flags == ["true", "false"]
    assert value(closed_line, "IsManuallyClosed") == "false"
    assert stocked.quantity_on_order("Widget") == 0

    closed = ret(one(stocked, po_mod(closed_line, "<IsManuallyClosed>true</IsManuallyClosed>")))
    assert value(closed, "IsManuallyClosed") == "true"
    assert [ln.findtext("IsManuallyClosed") for ln in closed.findall("PurchaseOrderLineRet")] == [
        "true",
        "true",
    ]


# ----------------------------------------------------------------------------- ItemReceiptAdd


def test_a_linked_receipt_raises_received_quantity_and_quantity_on_hand(
    stocked: SimulatedQuickBooks,
) -> None:
    po = two_line_po(stocked)
    rs = one(stocked, receipt(receive(po, 0, "3")))
    assert status(rs) == (0, "Info", "Status OK")
    item_receipt = ret(rs)
    assert value(item_receipt, "ItemLineRet/ItemRef/FullName") == "Widget"
    assert value(item_receipt, "ItemLineRet/Cost") == "10.00"  # the PO line's rate
    assert value(item_receipt, "TotalAmount") == "30.00"
    assert value(item_receipt, "APAccountRef/FullName") == "Accounts Payable"
    assert stocked.quantity_on_hand("Widget") == 3
    assert stocked.quantity_on_order("Widget") == 2

    after = query_po(stocked, po)
    assert received(after) == ["3", "0"]
    assert value(after, "IsFullyReceived") == "false"
    assert value(after, "EditSequence") != value(po, "EditSequence")  # receiving changes the PO


def test_the_purchase_order_is_fully_received_when_every_line_is(
    stocked: SimulatedQuickBooks,
) -> None:
    po = two_line_po(stocked)
    one(stocked, receipt(receive(po, 0, "3"), ref_number="R1"))
    one(stocked, receipt(receive(po, 0, "2") + receive(po, 1, None), ref_number="R2"))
    after = query_po(stocked, po)
    assert received(after) == ["5", "2"]
    assert value(after, "IsFullyReceived") == "true"
    assert stocked.quantity_on_hand("Widget") == 5
    assert stocked.quantity_on_hand("Gadget") == 2
    assert len(stocked.item_receipts(linked_to=value(po, "TxnID"))) == 2


def test_a_receipt_can_be_found_again_with_its_link_to_the_purchase_order(
    stocked: SimulatedQuickBooks,
) -> None:
    po = two_line_po(stocked)
    created = ret(one(stocked, receipt(receive(po, 0, "1"), ref_number="AT-PO-7-L1")))
    rs = one(
        stocked,
        "<ItemReceiptQueryRq><RefNumber>AT-PO-7-L1</RefNumber>"
        "<IncludeLineItems>true</IncludeLineItems><IncludeLinkedTxns>true</IncludeLinkedTxns>"
        "</ItemReceiptQueryRq>",
    )
    found = ret(rs)
    assert value(found, "TxnID") == value(created, "TxnID")
    assert value(found, "LinkedTxn/TxnID") == value(po, "TxnID")
    assert value(found, "LinkedTxn/TxnType") == "PurchaseOrder"
    assert value(found, "ItemLineRet/Quantity") == "1"
    by_vendor = one(
        stocked,
        "<ItemReceiptQueryRq><EntityFilter><FullName>Acme Supply</FullName></EntityFilter>"
        "</ItemReceiptQueryRq>",
    )
    assert [r.findtext("TxnID") for r in by_vendor] == [value(created, "TxnID")]
    linked = query_po(stocked, po, "<IncludeLinkedTxns>true</IncludeLinkedTxns>")
    assert value(linked, "LinkedTxn/TxnID") == value(created, "TxnID")
    assert value(linked, "LinkedTxn/TxnType") == "ItemReceipt"
    assert value(linked, "LinkedTxn/Amount") == "10.00"


def test_linking_the_whole_purchase_order_receives_every_open_line(
    stocked: SimulatedQuickBooks,
) -> None:
    po = two_line_po(stocked)
    one(stocked, receipt(receive(po, 0, "1"), ref_number="R1"))
    rs = one(
        stocked,
        receipt("", header=f"<LinkToTxnID>{value(po, 'TxnID')}</LinkToTxnID>", ref_number="R2"),
    )
    assert status(rs)[0] == 0
    assert [q.text for q in ret(rs).findall("ItemLineRet/Quantity")] == ["4", "2"]
    assert value(query_po(stocked, po), "IsFullyReceived") == "true"
    assert stocked.quantity_on_hand("Widget") == 5


@pytest.mark.parametrize("target", ["txn", "line"])
def test_a_link_to_a_missing_purchase_order_or_line_is_3120(
    stocked: SimulatedQuickBooks, target: str
) -> None:
    po = two_line_po(stocked)
    txn_id = "FFFF-1700000000" if target == "txn" else value(po, "TxnID")
    line_id = "FFFF-1700000000" if target == "line" else line_ids(po)[0]
    link = (
        "<ItemLineAdd><ItemRef><FullName>Widget</FullName></ItemRef>"
        f"<Quantity>1</Quantity><LinkToTxn><TxnID>{txn_id}</TxnID>"
        f"<TxnLineID>{line_id}</TxnLineID></LinkToTxn></ItemLineAdd>"
    )
    rs = one(stocked, receipt(link))
    assert status(rs)[:2] == (3120, "Error")
    assert '"FFFF-1700000000"' in status(rs)[2]
    assert stocked.counts()["ItemReceipt"] == 0
    assert stocked.quantity_on_hand("Widget") == 0


def test_a_link_to_another_vendors_purchase_order_is_refused(stocked: SimulatedQuickBooks) -> None:
    po = two_line_po(stocked)
    rs = one(stocked, receipt(receive(po, 0, "1"), vendor="Globex"))
    assert status(rs)[0] == 3180
    assert received(query_po(stocked, po)) == ["0", "0"]


def test_a_link_to_a_closed_line_saves_the_receipt_unlinked_with_570(
    stocked: SimulatedQuickBooks,
) -> None:
    po = two_line_po(stocked)
    one(stocked, receipt(receive(po, 1, "2"), ref_number="R1"))  # Gadget line fully received
    rs = one(stocked, receipt(receive(po, 1, "1"), ref_number="R2"))
    assert status(rs) == (
        570,
        "Warn",
        f'Unable to link to transaction "{value(po, "TxnID")}" because it has already been closed.',
    )
    assert value(ret(rs), "ItemLineRet/ItemRef/FullName") == "Gadget"
    assert received(query_po(stocked, po)) == ["0", "2"]
    assert stocked.quantity_on_hand("Gadget") == 3  # the goods still arrived
    assert stocked.item_receipts("R2")[0].linked_txn_ids == []


def test_a_linked_line_with_another_item_is_refused(stocked: SimulatedQuickBooks) -> None:
    po = two_line_po(stocked)
    link = re.sub(
        "<ItemRef>.*?</ItemRef>",
        "<ItemRef><FullName>Gadget</FullName></ItemRef>",
        receive(po, 0, "1"),
    )
    assert status(one(stocked, receipt(link)))[0] == 3210


def test_unlinked_receipts_raise_inventory_and_skip_non_inventory_parts(
    stocked: SimulatedQuickBooks,
) -> None:
    lines = (
        "<ItemLineAdd><ItemRef><FullName>Widget</FullName></ItemRef><Quantity>4</Quantity>"
        "</ItemLineAdd>"
        "<ItemLineAdd><ItemRef><FullName>Cable Kit</FullName></ItemRef><Quantity>9</Quantity>"
        "</ItemLineAdd>"
    )
    item_receipt = ret(one(stocked, receipt(lines)))
    assert value(item_receipt, "TotalAmount") == "49.00"
    assert stocked.quantity_on_hand("Widget") == 4
    assert stocked.quantity_on_hand("Cable Kit") == 0
    unknown = receipt(
        "<ItemLineAdd><ItemRef><FullName>Nope</FullName></ItemRef></ItemLineAdd>", ref_number="R2"
    )
    assert status(one(stocked, unknown))[0] == 3140


def test_a_receipt_with_no_lines_is_refused(stocked: SimulatedQuickBooks) -> None:
    assert status(one(stocked, receipt("")))[0] == 3180


def test_a_macro_links_a_receipt_to_a_purchase_order_added_in_the_same_message(
    stocked: SimulatedQuickBooks,
) -> None:
    add = po_add("Acme Supply", po_line("Widget", "2")).replace(
        "<PurchaseOrderAdd>", '<PurchaseOrderAdd defMacro="TxnID:NewPO">'
    )
    answers = send(stocked, add, receipt("", header="<LinkToTxnID>TxnID:NewPO</LinkToTxnID>"))
    assert [status(rs)[0] for rs in answers] == [0, 0]
    assert stocked.quantity_on_hand("Widget") == 2


# ----------------------------------------------------------------------------- adjustments


def adjustment(lines: str, account: str = "Inventory Adjustment", ref_number: str = "ADJ-1") -> str:
    return (
        f'<InventoryAdjustmentAddRq requestID="a"><InventoryAdjustmentAdd>'
        f"<AccountRef><FullName>{account}</FullName></AccountRef><RefNumber>{ref_number}</RefNumber>"
        f"{lines}</InventoryAdjustmentAdd></InventoryAdjustmentAddRq>"
    )


def adjust(item: str, new: str | None = None, difference: str | None = None) -> str:
    quantity = (
        f"<NewQuantity>{new}</NewQuantity>"
        if new is not None
        else f"<QuantityDifference>{difference}</QuantityDifference>"
    )
    return (
        f"<InventoryAdjustmentLineAdd><ItemRef><FullName>{item}</FullName></ItemRef>"
        f"<QuantityAdjustment>{quantity}</QuantityAdjustment></InventoryAdjustmentLineAdd>"
    )


def test_new_quantity_sets_quantity_on_hand_and_reports_the_difference(
    stocked: SimulatedQuickBooks,
) -> None:
    one(
        stocked,
        receipt(
            "<ItemLineAdd><ItemRef><FullName>Widget</FullName></ItemRef><Quantity>4</Quantity></ItemLineAdd>"
        ),
    )
    rs = one(stocked, adjustment(adjust("Widget", new="10") + adjust("Gadget", difference="-2")))
    assert status(rs)[0] == 0
    lines = ret(rs).findall("InventoryAdjustmentLineRet")
    assert [ln.findtext("QuantityDifference") for ln in lines] == ["6", "-2"]
    assert [ln.findtext("ValueDifference") for ln in lines] == ["60.00", "-5.00"]
    assert stocked.quantity_on_hand("Widget") == 10
    assert stocked.quantity_on_hand("Gadget") == -2
    again = one(stocked, adjustment(adjust("Widget", new="10"), ref_number="ADJ-2"))
    assert value(ret(again), "InventoryAdjustmentLineRet/QuantityDifference") == "0"
    assert stocked.quantity_on_hand("Widget") == 10  # absolute quantities: repeating is harmless
    queried = one(
        stocked, "<ItemInventoryQueryRq><FullName>Widget</FullName></ItemInventoryQueryRq>"
    )
    assert value(ret(queried), "QuantityOnHand") == "10"


def test_two_lines_for_one_item_apply_in_order(stocked: SimulatedQuickBooks) -> None:
    one(stocked, adjustment(adjust("Widget", new="5") + adjust("Widget", difference="1")))
    assert stocked.quantity_on_hand("Widget") == 6


def test_adjustment_refusals(stocked: SimulatedQuickBooks) -> None:
    answers = send(
        stocked,
        adjustment(adjust("Widget", new="5"), account="No Such Account"),
        adjustment(adjust("Cable Kit", new="5")),
        adjustment(adjust("Nope", new="5")),
        on_error="continueOnError",
    )
    assert [status(rs)[0] for rs in answers] == [3140, 3140, 3140]
    assert status(answers[0])[2] == (
        'There is an invalid reference to QuickBooks Account "No Such Account" in the '
        "InventoryAdjustment."
    )
    assert stocked.quantity_on_hand("Widget") == 0
    assert stocked.counts()["InventoryAdjustment"] == 0


def test_adjustments_can_be_queried(stocked: SimulatedQuickBooks) -> None:
    one(stocked, adjustment(adjust("Widget", new="5")))
    rs = one(
        stocked,
        "<InventoryAdjustmentQueryRq><ItemFilter><FullName>Widget</FullName></ItemFilter>"
        "<IncludeLineItems>true</IncludeLineItems></InventoryAdjustmentQueryRq>",
    )
    assert value(ret(rs), "InventoryAdjustmentLineRet/QuantityDifference") == "5"
    assert len(stocked.inventory_adjustments("ADJ-1")) == 1


def test_exactly_one_of_everything_after_a_full_transfer(stocked: SimulatedQuickBooks) -> None:
    po = two_line_po(stocked)
    one(stocked, receipt(receive(po, 0, None) + receive(po, 1, None)))
    one(stocked, adjustment(adjust("Widget", new="5") + adjust("Gadget", new="2")))
    counts = stocked.counts()
    assert (counts["PurchaseOrder"], counts["ItemReceipt"], counts["InventoryAdjustment"]) == (
        1,
        1,
        1,
    )
    assert (counts["Vendor"], counts["Customer"], counts["ItemInventory"]) == (2, 1, 2)
