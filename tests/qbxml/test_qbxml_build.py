"""Request building: XSD order and validity, exact shapes, text rules applied once, bad input."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal as D

import pytest
from lxml import etree

from service.qbxml import build as b
from service.qbxml.types import (
    Address,
    InventoryAdjustment,
    InventoryAdjustmentLine,
    InventoryItem,
    ItemReceipt,
    ItemReceiptLine,
    NameFilter,
    PurchaseOrder,
    PurchaseOrderChange,
    PurchaseOrderLine,
    PurchaseOrderLineMod,
    Ref,
)

from .helpers import assert_valid, c14n, sample, schema_problems

PO_TXN = "30-1285640333"
PO_LINE = "32-1285640333"


def acct(name: str) -> Ref:
    return Ref(full_name=name)


CABLE = InventoryItem(
    "Cable Cat6 3m",
    income_account=acct("Autotask Income from PO"),
    cogs_account=acct("Cost of Goods Sold"),
    asset_account=acct("Inventory Asset"),
    manufacturer_part_number="C6-3M",
    sales_desc="Patch cable",
    sales_price=D("12.5"),
    purchase_desc="Patch cable, grey",
    purchase_cost=D("3.125"),
)

PO = PurchaseOrder(
    vendor=Ref(list_id="80000006-1282647976"),
    ship_to=Ref(full_name="Contoso:Project 42"),
    txn_date=date(2024, 5, 1),
    ref_number="4711",
    ship_address=Address(addr1="Contoso Ltd", addr2="1 Main Street", city="Springfield"),
    expected_date=date(2024, 5, 9),
    memo="atqb PO 4711",
    vendor_msg="Deliver to the back door",
    other1="AT-4711",
    lines=(
        PurchaseOrderLine(
            item=Ref(full_name="Cable Cat6 3m"),
            quantity=D("5"),
            rate=D("3.125"),
            desc="Patch cable",
            customer=Ref(full_name="Contoso"),
            manufacturer_part_number="C6-3M",
            other1="line 1",
        ),
        PurchaseOrderLine(item=Ref(list_id="8000000A-1283374286"), quantity=2),
    ),
)


def every_request() -> list[b.Request]:
    """One request of every kind and form the workflow uses."""
    return [
        b.vendor_query("v1", full_names=["Acme Supply", "Steel D\u00e9cor"]),
        b.vendor_query(
            "v2",
            name_filter=NameFilter("StartsWith", "Acme"),
            active_status="All",
            max_returned=50,
        ),
        b.vendor_query("v3", list_ids=["80000006-1282647976"]),
        b.vendor_add("v4", "Acme Supply", company_name="Acme Supply Inc."),
        b.customer_query("c1", full_names=["Contoso", "Contoso:Project 42"]),
        b.customer_query("c2", name_range=("Contoso", "Contoso"), active_status="All"),
        b.customer_add("c3", "Contoso"),
        b.customer_add("c4", "Project 42", parent=Ref(full_name="Contoso")),
        b.item_query("i1", full_names=["Cable Cat6 3m"]),
        b.item_query("i2", name_filter=NameFilter("StartsWith", "Cable"), active_status="All"),
        b.item_inventory_add("i3", CABLE),
        b.item_inventory_query("i4", full_names=["Cable Cat6 3m", "Switch 8p"]),
        b.item_inventory_query("i5", list_ids=["8000085A-1231522945"]),
        b.item_inventory_query(
            "i6",
            # naive: QuickBooks' local time, written without an offset (asserted below)
            from_modified=datetime(2024, 1, 2, 3, 4, 5),  # noqa: DTZ001
            active_status="All",
            max_returned=500,
            iterator="Start",
        ),
        b.item_inventory_query(
            "i7", iterator="Continue", iterator_id="{eb05f701-e727-472f-8ade-6753c4f67a46}"
        ),
        b.purchase_order_query("p1", ref_numbers=["4711"], include_linked_txns=True),
        b.purchase_order_query("p2", txn_ids=[PO_TXN]),
        b.purchase_order_query(
            "p3",
            modified_from=datetime(2024, 1, 1, tzinfo=UTC),
            modified_to=datetime(2024, 2, 1, tzinfo=timezone(timedelta(hours=-5))),
            vendor=Ref(full_name="Acme Supply"),
        ),
        b.purchase_order_add("p4", PO),
        b.purchase_order_mod(
            "p5",
            PurchaseOrderChange(
                PO_TXN,
                "1285640392",
                memo="changed",
                lines=(
                    PurchaseOrderLineMod.keep(PO_LINE),
                    PurchaseOrderLineMod("33-1285640333", quantity=D("7"), rate=D("2.5")),
                    PurchaseOrderLineMod.new(PurchaseOrderLine(Ref(full_name="Switch 8p"), 1)),
                ),
            ),
        ),
        b.purchase_order_mod(
            "p6", PurchaseOrderChange(PO_TXN, "1285640392", is_manually_closed=True)
        ),
        b.item_receipt_add(
            "r1",
            ItemReceipt(
                vendor=Ref(full_name="Acme Supply"),
                ref_number="4711-1",
                txn_date=date(2024, 5, 2),
                memo="atqb receipt 4711/1",
                lines=(
                    ItemReceiptLine(PO_TXN, PO_LINE, D("5"), item=Ref(full_name="Cable Cat6 3m")),
                ),
            ),
        ),
        b.item_receipt_add(
            "r2", ItemReceipt(vendor=Ref(full_name="Acme Supply"), link_to_txn_ids=(PO_TXN,))
        ),
        b.item_receipt_query("r3", ref_numbers=["4711-1"]),
        # naive: the QuickBooks-local form without an offset must also fit the XSD
        b.item_receipt_query("r4", modified_from=datetime(2024, 5, 1)),  # noqa: DTZ001
        b.item_receipt_query("r5", vendor=Ref(list_id="80000006-1282647976"), max_returned=10),
        b.inventory_adjustment_add(
            "a1",
            InventoryAdjustment(
                account=acct("Inventory Adjustment"),
                memo="atqb inventory sync",
                ref_number="SYNC1",
                txn_date=date(2024, 5, 3),
                lines=(
                    InventoryAdjustmentLine(Ref(full_name="Cable Cat6 3m"), new_quantity=D("12")),
                    InventoryAdjustmentLine(Ref(full_name="Switch 8p"), new_quantity=0),
                    InventoryAdjustmentLine(
                        Ref(list_id="8000085A-1231522945"), quantity_difference=-3
                    ),
                ),
            ),
        ),
        b.company_query("q1"),
        b.account_query("acc1", full_names=["Inventory Asset", "Expenses:Inventory Adjustment"]),
        b.purchase_order_query("p9", ref_numbers=["AT1"], external_guid=True),
        b.item_receipt_query("r9", ref_numbers=["ATL11"], external_guid=True),
        b.list_reactivate("m1", "vendor", "80000006-1282647976", "1282647976"),
        b.list_reactivate("m2", "customer", "80000007-1282647976", "1282647977"),
        b.list_reactivate("m3", "item", "80000008-1282647976", "1282647978"),
    ]


@pytest.mark.parametrize("request_", every_request(), ids=lambda r: f"{r.name}-{r.request_id}")
def test_every_builder_output_is_valid_against_the_reference_and_packaged_xsd(
    request_: b.Request,
) -> None:
    assert_valid(request_)


def test_a_batched_message_of_every_request_is_valid_and_keeps_their_order() -> None:
    requests = every_request()
    document = assert_valid(*requests)
    root = etree.fromstring(document.encode("ascii"))
    sent = root.find("QBXMLMsgsRq")
    assert sent is not None
    assert sent.get("onError") == "continueOnError"
    assert [e.get("requestID") for e in sent] == [r.request_id for r in requests]


def test_the_message_starts_with_the_xml_and_qbxml_declarations() -> None:
    document = b.message([b.company_query("1")], on_error="stopOnError")
    lines = document.splitlines()
    assert lines[0] == '<?xml version="1.0" encoding="utf-8"?>'
    assert lines[1] == '<?qbxml version="13.0"?>'
    assert c14n(document) == c14n(
        '<QBXML><QBXMLMsgsRq onError="stopOnError">'
        '<CompanyQueryRq requestID="1"/></QBXMLMsgsRq></QBXML>'
    )


def test_the_schema_check_in_these_tests_catches_elements_out_of_order() -> None:
    document = b.message([b.purchase_order_add("1", PO)])
    swapped = document.replace(
        "<Quantity>5</Quantity><Rate>3.125</Rate>", "<Rate>3.125</Rate><Quantity>5</Quantity>"
    )
    assert swapped != document
    assert any(p.startswith("reference:") for p in schema_problems(swapped))


def test_item_inventory_add_has_the_shape_of_the_real_sample() -> None:
    item = InventoryItem(
        "product name here",
        income_account=acct("Sales"),
        cogs_account=acct("Cost of Goods Sold"),
        asset_account=acct("Inventory Asset"),
        sales_desc="your sales description here",
        sales_price=D("85"),
    )
    built = b.item_inventory_add("SXRlbUludmVudG9yeUFkZHwxNTA=", item)
    real = etree.fromstring(sample("qbwc-qbxml-spec/item_inventory_add_rq.xml").encode("utf-8"))
    expected = real.find("QBXMLMsgsRq/ItemInventoryAddRq")
    assert expected is not None
    assert c14n(built.xml) == c14n(etree.tostring(expected))


def test_purchase_order_add_exact_shape() -> None:
    assert c14n(b.purchase_order_add("p4", PO).xml) == c14n(
        """<PurchaseOrderAddRq requestID="p4"><PurchaseOrderAdd>
        <VendorRef><ListID>80000006-1282647976</ListID></VendorRef>
        <ShipToEntityRef><FullName>Contoso:Project 42</FullName></ShipToEntityRef>
        <TxnDate>2024-05-01</TxnDate><RefNumber>4711</RefNumber>
        <ShipAddress><Addr1>Contoso Ltd</Addr1><Addr2>1 Main Street</Addr2>
          <City>Springfield</City></ShipAddress>
        <ExpectedDate>2024-05-09</ExpectedDate><Memo>atqb PO 4711</Memo>
        <VendorMsg>Deliver to the back door</VendorMsg><Other1>AT-4711</Other1>
        <PurchaseOrderLineAdd><ItemRef><FullName>Cable Cat6 3m</FullName></ItemRef>
          <ManufacturerPartNumber>C6-3M</ManufacturerPartNumber><Desc>Patch cable</Desc>
          <Quantity>5</Quantity><Rate>3.125</Rate>
          <CustomerRef><FullName>Contoso</FullName></CustomerRef><Other1>line 1</Other1>
        </PurchaseOrderLineAdd>
        <PurchaseOrderLineAdd><ItemRef><ListID>8000000A-1283374286</ListID></ItemRef>
          <Quantity>2</Quantity></PurchaseOrderLineAdd>
        </PurchaseOrderAdd></PurchaseOrderAddRq>"""
    )


def test_purchase_order_mod_lists_kept_changed_and_new_lines() -> None:
    request = every_request()[19]
    assert c14n(request.xml) == c14n(
        """<PurchaseOrderModRq requestID="p5"><PurchaseOrderMod>
        <TxnID>30-1285640333</TxnID><EditSequence>1285640392</EditSequence><Memo>changed</Memo>
        <PurchaseOrderLineMod><TxnLineID>32-1285640333</TxnLineID></PurchaseOrderLineMod>
        <PurchaseOrderLineMod><TxnLineID>33-1285640333</TxnLineID><Quantity>7</Quantity>
          <Rate>2.50</Rate></PurchaseOrderLineMod>
        <PurchaseOrderLineMod><TxnLineID>-1</TxnLineID>
          <ItemRef><FullName>Switch 8p</FullName></ItemRef><Quantity>1</Quantity>
        </PurchaseOrderLineMod>
        </PurchaseOrderMod></PurchaseOrderModRq>"""
    )


def test_closing_a_purchase_order_is_a_header_only_mod() -> None:
    request = every_request()[20]
    assert c14n(request.xml) == c14n(
        """<PurchaseOrderModRq requestID="p6"><PurchaseOrderMod>
        <TxnID>30-1285640333</TxnID><EditSequence>1285640392</EditSequence>
        <IsManuallyClosed>true</IsManuallyClosed></PurchaseOrderMod></PurchaseOrderModRq>"""
    )


def test_item_receipt_lines_link_to_the_purchase_order_line() -> None:
    request = every_request()[21]
    assert c14n(request.xml) == c14n(
        """<ItemReceiptAddRq requestID="r1"><ItemReceiptAdd>
        <VendorRef><FullName>Acme Supply</FullName></VendorRef><TxnDate>2024-05-02</TxnDate>
        <RefNumber>4711-1</RefNumber><Memo>atqb receipt 4711/1</Memo>
        <ItemLineAdd><ItemRef><FullName>Cable Cat6 3m</FullName></ItemRef>
          <Quantity>5</Quantity>
          <LinkToTxn><TxnID>30-1285640333</TxnID><TxnLineID>32-1285640333</TxnLineID></LinkToTxn>
        </ItemLineAdd></ItemReceiptAdd></ItemReceiptAddRq>"""
    )


def test_inventory_adjustment_sets_absolute_quantities() -> None:
    request = every_request()[26]
    assert c14n(request.xml) == c14n(
        """<InventoryAdjustmentAddRq requestID="a1"><InventoryAdjustmentAdd>
        <AccountRef><FullName>Inventory Adjustment</FullName></AccountRef>
        <TxnDate>2024-05-03</TxnDate><RefNumber>SYNC1</RefNumber>
        <Memo>atqb inventory sync</Memo>
        <InventoryAdjustmentLineAdd><ItemRef><FullName>Cable Cat6 3m</FullName></ItemRef>
          <QuantityAdjustment><NewQuantity>12</NewQuantity></QuantityAdjustment>
        </InventoryAdjustmentLineAdd>
        <InventoryAdjustmentLineAdd><ItemRef><FullName>Switch 8p</FullName></ItemRef>
          <QuantityAdjustment><NewQuantity>0</NewQuantity></QuantityAdjustment>
        </InventoryAdjustmentLineAdd>
        <InventoryAdjustmentLineAdd><ItemRef><ListID>8000085A-1231522945</ListID></ItemRef>
          <QuantityAdjustment><QuantityDifference>-3</QuantityDifference></QuantityAdjustment>
        </InventoryAdjustmentLineAdd>
        </InventoryAdjustmentAdd></InventoryAdjustmentAddRq>"""
    )


def test_name_filter_query_asks_for_inactive_records_too() -> None:
    assert c14n(every_request()[9].xml) == c14n(
        """<ItemQueryRq requestID="i2"><ActiveStatus>All</ActiveStatus>
        <NameFilter><MatchCriterion>StartsWith</MatchCriterion><Name>Cable</Name></NameFilter>
        </ItemQueryRq>"""
    )


def test_query_forms_and_iterator_attributes() -> None:
    requests = every_request()
    assert c14n(requests[15].xml) == c14n(
        '<PurchaseOrderQueryRq requestID="p1"><RefNumber>4711</RefNumber>'
        "<IncludeLineItems>true</IncludeLineItems><IncludeLinkedTxns>true</IncludeLinkedTxns>"
        "</PurchaseOrderQueryRq>"
    )
    assert c14n(requests[17].xml) == c14n(
        '<PurchaseOrderQueryRq requestID="p3"><ModifiedDateRangeFilter>'
        "<FromModifiedDate>2024-01-01T00:00:00+00:00</FromModifiedDate>"
        "<ToModifiedDate>2024-02-01T00:00:00-05:00</ToModifiedDate></ModifiedDateRangeFilter>"
        "<EntityFilter><FullName>Acme Supply</FullName></EntityFilter>"
        "<IncludeLineItems>true</IncludeLineItems></PurchaseOrderQueryRq>"
    )
    start = etree.fromstring(requests[13].xml)
    assert start.get("iterator") == "Start"
    assert start.findtext("FromModifiedDate") == "2024-01-02T03:04:05"
    follow = etree.fromstring(requests[14].xml)
    assert follow.get("iterator") == "Continue"
    assert follow.get("iteratorID") == "{eb05f701-e727-472f-8ade-6753c4f67a46}"


def test_a_ref_with_both_ids_sends_only_the_list_id() -> None:
    request = b.customer_add("1", "Job", parent=Ref(list_id="80000001-1", full_name="Ignored"))
    assert "<ParentRef><ListID>80000001-1</ListID></ParentRef>" in request.xml
    assert "Ignored" not in request.xml


# ---------------------------------------------------------------------------------------------
# Text: escaped exactly once, non-ASCII as character references, changes reported


def test_markup_characters_are_escaped_exactly_once() -> None:
    name = "A&B <C> \"D\" 'E'"
    document = assert_valid(b.vendor_add("1", name))
    assert "<Name>A&amp;B &lt;C&gt; \"D\" 'E'</Name>" in document
    assert "&amp;amp;" not in document
    assert etree.fromstring(document.encode()).findtext(".//Name") == name


def test_an_already_escaped_looking_text_is_sent_literally() -> None:
    document = b.message([b.vendor_add("1", "Tom &amp; Jerry")])
    assert "<Name>Tom &amp;amp; Jerry</Name>" in document


def test_non_ascii_goes_as_numeric_character_references_and_the_message_is_ascii() -> None:
    document = assert_valid(b.vendor_add("1", "Steel D\u00e9cor M\u00fcller \u00a9"))
    assert document.isascii()
    assert "<Name>Steel D&#233;cor M&#252;ller &#169;</Name>" in document


def test_characters_quickbooks_cannot_store_are_replaced_and_reported_with_the_field() -> None:
    request = b.purchase_order_add(
        "1",
        PurchaseOrder(
            vendor=Ref(full_name="Acme"),
            memo="Order \u201curgent\u201d \U0001f600",
            lines=(PurchaseOrderLine(Ref(full_name="X"), 1, desc="10\u201312 \u6771\x07"),),
        ),
    )
    assert '<Memo>Order "urgent" ?</Memo>' in request.xml
    assert "<Desc>10-12 ?</Desc>" in request.xml
    changes = {(r.field, r.original, r.replacement, r.reason) for r in request.replacements}
    assert changes == {
        ("PurchaseOrderAdd/Memo", "\u201c", '"', "transliterated"),
        ("PurchaseOrderAdd/Memo", "\u201d", '"', "transliterated"),
        ("PurchaseOrderAdd/Memo", "\U0001f600", "?", "unsupported"),
        ("PurchaseOrderAdd/PurchaseOrderLineAdd/Desc", "\u2013", "-", "transliterated"),
        ("PurchaseOrderAdd/PurchaseOrderLineAdd/Desc", "\u6771", "?", "unsupported"),
        ("PurchaseOrderAdd/PurchaseOrderLineAdd/Desc", "\x07", "", "control"),
    }
    assert_valid(request)


def test_repeated_lines_are_numbered_in_the_reported_field() -> None:
    line = PurchaseOrderLine(Ref(full_name="X"), 1)
    po = PurchaseOrder(
        Ref(full_name="V"), (line, PurchaseOrderLine(Ref(full_name="Y"), 1, desc="\u2014"))
    )
    (change,) = b.purchase_order_add("1", po).replacements
    assert change.field == "PurchaseOrderAdd/PurchaseOrderLineAdd[2]/Desc"


def test_a_list_name_has_its_colons_replaced_and_reported() -> None:
    request = b.item_inventory_add(
        "1",
        InventoryItem("Cable: Cat6", acct("I"), acct("C"), acct("A")),
    )
    assert "<Name>Cable- Cat6</Name>" in request.xml
    assert [(r.original, r.replacement, r.reason) for r in request.replacements] == [
        (":", "-", "colon")
    ]


def test_a_full_name_keeps_its_colons() -> None:
    request = b.customer_query("1", full_names=["Contoso:Project 42"])
    assert "<FullName>Contoso:Project 42</FullName>" in request.xml
    assert request.replacements == ()


def test_long_descriptive_text_is_cut_to_its_limit_and_reported() -> None:
    request = b.purchase_order_add(
        "1",
        PurchaseOrder(
            Ref(full_name="V"), (PurchaseOrderLine(Ref(full_name="X"), 1),), memo="m" * 5000
        ),
    )
    memo = etree.fromstring(request.xml).findtext(".//Memo")
    assert memo == "m" * 4095
    assert [(r.reason, len(r.original)) for r in request.replacements] == [("truncated", 905)]
    assert_valid(request)


@pytest.mark.parametrize(
    "make",
    [
        lambda: b.vendor_add("1", "V" * 42),
        lambda: b.customer_add("1", "C" * 42),
        lambda: b.item_inventory_add("1", InventoryItem("I" * 32, acct("I"), acct("C"), acct("A"))),
        lambda: b.purchase_order_add(
            "1",
            PurchaseOrder(
                Ref(full_name="V"),
                (PurchaseOrderLine(Ref(full_name="X"), 1),),
                ref_number="123456789012",
            ),
        ),
        lambda: b.vendor_query("1", full_names=["V" * 42]),
        lambda: b.purchase_order_add(
            "1", PurchaseOrder(Ref(full_name="V" * 42), (PurchaseOrderLine(Ref(full_name="X"), 1),))
        ),
        lambda: b.item_receipt_add(
            "1", ItemReceipt(Ref(full_name="V"), link_to_txn_ids=("1-1",), ref_number="R" * 21)
        ),
    ],
)
def test_identifying_text_over_its_limit_is_refused_not_cut(make: object) -> None:
    with pytest.raises(ValueError, match="longer than"):
        make()  # type: ignore[operator]


def test_a_name_that_is_empty_once_cleaned_is_refused() -> None:
    with pytest.raises(ValueError, match="empty once cleaned"):
        b.vendor_add("1", "\x00\x01  ")


# ---------------------------------------------------------------------------------------------
# requestID, IDs, numbers


def test_request_id_of_50_characters_is_accepted_and_51_refused() -> None:
    assert_valid(b.company_query("x" * 50))
    with pytest.raises(ValueError, match="50"):
        b.company_query("x" * 51)


@pytest.mark.parametrize("bad", ["", " lead", "tab\tin", "caf\u00e9"])
def test_request_id_must_be_printable_ascii(bad: str) -> None:
    with pytest.raises(ValueError, match="requestID"):
        b.vendor_add(bad, "Acme")


@pytest.mark.parametrize("bad", ["", "x" * 37, "id with \u00e9", "<x>"])
def test_bad_list_and_txn_ids_are_refused(bad: str) -> None:
    if bad == "<x>":
        # markup characters are printable ASCII: they are allowed and escaped
        assert "&lt;x&gt;" in b.vendor_query("1", list_ids=[bad]).xml
        return
    with pytest.raises(ValueError, match="valid QuickBooks ID"):
        b.vendor_query("1", list_ids=[bad])


def test_edit_sequence_longer_than_16_is_refused() -> None:
    with pytest.raises(ValueError, match="EditSequence"):
        b.purchase_order_mod("1", PurchaseOrderChange(PO_TXN, "1" * 17, memo="x"))


@pytest.mark.parametrize(
    ("value", "quantity", "price", "amount"),
    [
        (D("5"), "5", "5.00", "5.00"),
        (7, "7", "7.00", "7.00"),
        (D("1.50000"), "1.5", "1.50", "1.50"),
        (D("3.125"), "3.125", "3.125", "3.13"),
        (D("1.234567"), "1.23457", "1.23457", "1.23"),
        (D("-2.5"), "-2.5", "-2.50", "-2.50"),
        (D("1E+3"), "1000", "1000.00", "1000.00"),
        (D("-0.000001"), "0", "0.00", "0.00"),
        (D("9999999999.99999"), "9999999999.99999", "9999999999.99999", "10000000000.00"),
    ],
)
def test_numbers_follow_the_xsd_patterns(value: D, quantity: str, price: str, amount: str) -> None:
    assert b.format_quantity(value) == quantity
    assert b.format_price(value) == price
    assert b.format_amount(value) == amount


@pytest.mark.parametrize("bad", [1.5, "5", True, None])
def test_quantities_must_be_decimal_or_int(bad: object) -> None:
    with pytest.raises(TypeError):
        b.format_quantity(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [D("NaN"), D("Infinity"), D("12345678901"), D("1E+20")])
def test_quantities_that_do_not_fit_are_refused(bad: D) -> None:
    with pytest.raises(ValueError, match=r"not a finite number|too large for QuickBooks"):
        b.format_quantity(bad)


def test_amounts_over_13_digits_are_refused() -> None:
    assert b.format_amount(D("9999999999999.99")) == "9999999999999.99"
    with pytest.raises(ValueError, match="too large for QuickBooks"):
        b.format_amount(D("99999999999999"))


def test_a_bad_number_in_a_line_names_the_field() -> None:
    with pytest.raises(TypeError, match=r"PurchaseOrderLineAdd/Quantity"):
        b.purchase_order_add(
            "1",
            PurchaseOrder(Ref(full_name="V"), (PurchaseOrderLine(Ref(full_name="X"), 1.5),)),  # type: ignore[arg-type]
        )


def test_date_fields_refuse_datetimes_and_offsets_with_seconds() -> None:
    with pytest.raises(TypeError, match="date"):
        b.purchase_order_add(
            "1",
            PurchaseOrder(
                Ref(full_name="V"),
                (PurchaseOrderLine(Ref(full_name="X"), 1),),
                txn_date=datetime(2024, 1, 1, tzinfo=UTC),
            ),
        )
    odd = timezone(timedelta(hours=1, seconds=30))
    with pytest.raises(ValueError, match="seconds"):
        b.item_receipt_query("1", modified_from=datetime(2024, 1, 1, tzinfo=odd))


def test_external_guid_must_be_a_guid() -> None:
    po = PurchaseOrder(
        Ref(full_name="V"),
        (PurchaseOrderLine(Ref(full_name="X"), 1),),
        external_guid="{6B29FC40-CA47-1067-B31D-00DD010662DA}",
    )
    assert_valid(b.purchase_order_add("1", po))
    with pytest.raises(ValueError, match="GUID"):
        b.purchase_order_add(
            "1",
            PurchaseOrder(
                Ref(full_name="V"), (PurchaseOrderLine(Ref(full_name="X"), 1),), external_guid="x"
            ),
        )


# ---------------------------------------------------------------------------------------------
# Query and input rules


@pytest.mark.parametrize(
    "make",
    [
        lambda: b.item_query("1", full_names=["A"], active_status="All"),
        lambda: b.item_query("1", full_names=["A"], list_ids=["1-1"]),
        lambda: b.vendor_query("1", list_ids=["1-1"], max_returned=5),
        lambda: b.purchase_order_query("1", ref_numbers=["1"], vendor=Ref(full_name="V")),
        lambda: b.purchase_order_query("1", txn_ids=["1-1"], ref_numbers=["1"]),
    ],
)
def test_lists_and_filters_cannot_be_mixed(make: object) -> None:
    with pytest.raises(ValueError, match="give one of"):
        make()  # type: ignore[operator]


def test_active_status_is_checked() -> None:
    with pytest.raises(ValueError, match="ActiveOnly"):
        b.item_query("1", active_status="Everything")  # type: ignore[arg-type]


def test_a_single_string_instead_of_a_list_is_refused() -> None:
    with pytest.raises(TypeError, match="sequence"):
        b.item_query("1", full_names="Cable")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"iterator": "Start"}, "max_returned"),
        ({"iterator": "Continue"}, "iterator_id"),
        ({"iterator_id": "{x}"}, "iterator="),
        ({"iterator": "Start", "max_returned": 5, "iterator_id": "{x}"}, "no iterator_id"),
        ({"iterator": "Start", "max_returned": 0}, "positive"),
    ],
)
def test_iterator_rules(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        b.customer_query("1", **kwargs)  # type: ignore[arg-type]


def test_purchase_order_mod_line_rules() -> None:
    with pytest.raises(ValueError, match="delete every line"):
        b.purchase_order_mod("1", PurchaseOrderChange(PO_TXN, "1", lines=()))
    with pytest.raises(ValueError, match="twice"):
        b.purchase_order_mod(
            "1",
            PurchaseOrderChange(
                PO_TXN,
                "1",
                lines=(PurchaseOrderLineMod.keep(PO_LINE), PurchaseOrderLineMod.keep(PO_LINE)),
            ),
        )
    with pytest.raises(ValueError, match="needs an item"):
        b.purchase_order_mod(
            "1", PurchaseOrderChange(PO_TXN, "1", lines=(PurchaseOrderLineMod("-1", quantity=1),))
        )


def test_input_dataclasses_refuse_what_quickbooks_would() -> None:
    with pytest.raises(ValueError, match="list_id or a full_name"):
        Ref()
    with pytest.raises(ValueError, match="at least one line"):
        PurchaseOrder(Ref(full_name="V"), ())
    with pytest.raises(ValueError, match="exactly one"):
        InventoryAdjustmentLine(Ref(full_name="X"))
    with pytest.raises(ValueError, match="exactly one"):
        InventoryAdjustmentLine(Ref(full_name="X"), new_quantity=1, quantity_difference=1)
    with pytest.raises(ValueError, match="at least one line"):
        InventoryAdjustment(acct("A"), ())
    with pytest.raises(ValueError, match="lines or a transaction"):
        ItemReceipt(Ref(full_name="V"))
    with pytest.raises(ValueError, match="both whole and by line"):
        ItemReceipt(
            Ref(full_name="V"),
            lines=(ItemReceiptLine(PO_TXN, PO_LINE, 1),),
            link_to_txn_ids=(PO_TXN,),
        )


# ---------------------------------------------------------------------------------------------
# message() and batches()


def test_message_refuses_what_quickbooks_could_not_answer() -> None:
    with pytest.raises(ValueError, match="at least one"):
        b.message([])
    with pytest.raises(ValueError, match="twice"):
        b.message([b.company_query("1"), b.company_query("1")])
    with pytest.raises(ValueError, match="on_error"):
        b.message([b.company_query("1")], on_error="rollbackOnError")
    with pytest.raises(ValueError, match="version"):
        b.message([b.company_query("1")], version="13")
    assert '<?qbxml version="16.0"?>' in b.message([b.company_query("1")], version="16.0")


def test_batches_keep_order_and_size() -> None:
    requests = [b.company_query(str(i)) for i in range(7)]
    groups = b.batches(requests, 3)
    assert [[r.request_id for r in g] for g in groups] == [["0", "1", "2"], ["3", "4", "5"], ["6"]]
    assert b.batches([], 3) == []
    with pytest.raises(ValueError, match="batch size must be a positive int"):
        b.batches(requests, 0)


def test_a_request_can_go_into_several_messages() -> None:
    request = b.company_query("1")
    first = b.message([request])
    assert b.message([request]) == first


def test_lookups_that_need_the_external_guid_ask_for_owner_id_0_last() -> None:
    request = b.purchase_order_query("p", ref_numbers=["AT1"], external_guid=True)
    root = etree.fromstring(request.xml)
    assert [c.tag for c in root][-1] == "OwnerID"
    assert root.findtext("OwnerID") == "0"
    assert "OwnerID" not in b.purchase_order_query("p", ref_numbers=["AT1"]).xml


def test_reactivating_sends_only_the_id_edit_sequence_and_is_active() -> None:
    request = b.list_reactivate("m", "item", "80000008-1282647976", "1282647978")
    mod = etree.fromstring(request.xml)[0]
    assert mod.tag == "ItemInventoryMod"
    assert [(c.tag, c.text) for c in mod] == [
        ("ListID", "80000008-1282647976"),
        ("EditSequence", "1282647978"),
        ("IsActive", "true"),
    ]
    with pytest.raises(ValueError, match="kind must be one of"):
        b.list_reactivate("m", "account", "1", "1")
