"""Response parsing: real QuickBooks answers, typed records, every kind of bad input, 10 MB."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from service.qbxml.parse import (
    QbXmlParseError,
    hresult_responses,
    pair_responses,
    parse_response,
)
from service.qbxml.status import Outcome
from service.qbxml.types import (
    CompanyRecord,
    InventoryAdjustmentRecord,
    ItemReceiptRecord,
    ListRecord,
    PurchaseOrderRecord,
    Ref,
)

from .helpers import inventory_answer, sample


def answer(*responses: str, declaration: str = '<?xml version="1.0" ?>') -> str:
    return f"{declaration}<QBXML><QBXMLMsgsRs>{''.join(responses)}</QBXMLMsgsRs></QBXML>"


OK = 'statusCode="0" statusSeverity="Info" statusMessage="Status OK"'


# ---------------------------------------------------------------------------------------------
# Real answers


def test_real_purchase_order_query_with_lines() -> None:
    (response,) = parse_response(sample("qbwc-qbxml-spec/purchase_order_query_rs.xml"))
    assert response.name == "PurchaseOrderQueryRs"
    assert response.request_id == "UHVyY2hhc2VPcmRlckltcG9ydHwx"
    assert (response.status_code, response.status_severity) == (0, "Info")
    assert response.outcome is Outcome.OK
    assert (response.iterator_remaining_count, response.iterator_id) == (
        0,
        "{ee76b904-7ef8-4b83-9841-63d4715a273b}",
    )
    (po,) = response.records_of(PurchaseOrderRecord)
    assert (po.txn_id, po.edit_sequence, po.ref_number, po.txn_number) == (
        "30-1285640333",
        "1285640392",
        "1",
        10,
    )
    assert po.vendor == Ref("80000006-1282647976", "Test Vendor 1")
    assert po.txn_date == date(2010, 9, 27)
    assert (po.is_manually_closed, po.is_fully_received) == (False, False)
    assert po.total_amount == D("125.00")
    assert po.memo is None
    assert not po.has_line_groups
    (line,) = po.lines
    assert line.txn_line_id == "32-1285640333"
    assert line.item == Ref("8000000A-1283374286", "test inventory part")
    assert (line.desc, line.quantity, line.rate, line.amount) == (
        "test",
        D("5"),
        D("25.00"),
        D("125.00"),
    )
    assert (line.received_quantity, line.is_manually_closed) == (D("0"), False)


def test_real_500_warning_is_not_found_not_a_failure() -> None:
    (response,) = parse_response(sample("qbwc-qbwc-responses/customer_query_rs_500_warn.xml"))
    assert (response.status_code, response.status_severity) == (500, "Warn")
    assert response.outcome is Outcome.NOT_FOUND
    assert '("bleech")' in response.status_message
    assert response.records == ()
    assert response.request_id is None


def test_real_3120_error() -> None:
    (response,) = parse_response(sample("qbwc-qbwc-responses/customer_query_rs_3120_error.xml"))
    assert (response.status_code, response.status_severity) == (3120, "Error")
    assert response.outcome is Outcome.NOT_FOUND
    assert response.status_message.startswith('Object "8000001B-1405768916" specified')
    assert "QuickBooks status 3120" in response.explain()


@pytest.mark.parametrize(
    ("path", "list_id", "name", "full_name"),
    [
        (
            "qbwc-qbxml-spec/customer_add_rs.xml",
            "F540000-1197683154",
            "20706 - Eastern XYZ University",
            "20706 - Eastern XYZ University",
        ),
        (
            "qbwc-qbwc-responses/customer_add_rs_ok.xml",
            "8000001B-1405768916",
            "mrjoecustomer",
            "Joseph Customer",
        ),
    ],
)
def test_real_customer_add(path: str, list_id: str, name: str, full_name: str) -> None:
    (response,) = parse_response(sample(path))
    assert response.name == "CustomerAddRs"
    (customer,) = response.records_of(ListRecord)
    assert (customer.type, customer.list_id, customer.name, customer.full_name) == (
        "CustomerRet",
        list_id,
        name,
        full_name,
    )
    assert customer.is_active is True
    assert customer.sublevel == 0
    assert customer.quantity_on_hand is None


def test_real_item_inventory_add_carries_quantity_on_hand() -> None:
    (response,) = parse_response(sample("qbwc-qbxml-spec/item_inventory_add_rs.xml"))
    (item,) = response.records_of(ListRecord)
    assert item.type == "ItemInventoryRet"
    assert item.is_inventory_part
    assert (item.list_id, item.edit_sequence, item.quantity_on_hand) == (
        "8000085A-1231522945",
        "1231522945",
        D("0"),
    )


def test_real_iterator_answer() -> None:
    (response,) = parse_response(sample("qbwc-qbxml-spec/customer_query_terator_rs.xml"))
    assert response.iterator_remaining_count == 18
    assert response.iterator_id == "{eb05f701-e727-472f-8ade-6753c4f67a46}"
    assert [r.name for r in response.records_of(ListRecord)] == ["10th Customer"]


# ---------------------------------------------------------------------------------------------
# Records of every kind, several answers in one message


def test_several_answers_in_order_with_every_record_type() -> None:
    text = answer(
        f'<ItemQueryRs requestID="a" {OK}>'
        "<ItemNonInventoryRet><ListID>1-1</ListID><Name>Cable</Name><FullName>Cable</FullName>"
        "<IsActive>false</IsActive></ItemNonInventoryRet>"
        "<ItemInventoryRet><ListID>2-1</ListID><Name>Sub</Name><FullName>Parts:Sub</FullName>"
        "<ParentRef><ListID>3-1</ListID><FullName>Parts</FullName></ParentRef>"
        "<Sublevel>1</Sublevel><QuantityOnHand>12.5</QuantityOnHand></ItemInventoryRet>"
        "<ItemServiceRet><ListID>4-1</ListID><Name>Labour</Name></ItemServiceRet>"
        "</ItemQueryRs>",
        '<VendorAddRs requestID="b" statusCode="3100" statusSeverity="Error" '
        'statusMessage="The name &quot;Acme&quot; of the list element is already in use."/>',
        f'<ItemReceiptAddRs requestID="c" {OK}><ItemReceiptRet><TxnID>10-1</TxnID>'
        "<EditSequence>99</EditSequence><VendorRef><FullName>Acme</FullName></VendorRef>"
        "<TxnDate>2024-05-02</TxnDate><TotalAmount>15.63</TotalAmount>"
        "<RefNumber>4711-1</RefNumber><Memo>atqb receipt</Memo>"
        "<LinkedTxn><TxnID>30-1</TxnID><TxnType>PurchaseOrder</TxnType>"
        "<TxnDate>2024-05-01</TxnDate><RefNumber>4711</RefNumber><LinkType>QUANTYPE</LinkType>"
        "<Amount>15.63</Amount></LinkedTxn>"
        "<ItemLineRet><TxnLineID>11-1</TxnLineID><ItemRef><FullName>Cable</FullName></ItemRef>"
        "<Quantity>5</Quantity><Cost>3.125</Cost><Amount>15.63</Amount></ItemLineRet>"
        "</ItemReceiptRet></ItemReceiptAddRs>",
        f'<InventoryAdjustmentAddRs requestID="d" {OK}><InventoryAdjustmentRet>'
        "<TxnID>20-1</TxnID><EditSequence>7</EditSequence>"
        "<AccountRef><FullName>Inventory Adjustment</FullName></AccountRef>"
        "<TxnDate>2024-05-03</TxnDate><Memo>sync</Memo>"
        "<InventoryAdjustmentLineRet><TxnLineID>21-1</TxnLineID>"
        "<ItemRef><ListID>2-1</ListID></ItemRef><QuantityDifference>-2</QuantityDifference>"
        "</InventoryAdjustmentLineRet></InventoryAdjustmentRet><ErrorRecovery><TxnID>x</TxnID>"
        "</ErrorRecovery></InventoryAdjustmentAddRs>",
        f'<CompanyQueryRs requestID="e" {OK}><CompanyRet><IsSampleCompany>false</IsSampleCompany>'
        "<CompanyName>Rock Castle Construction</CompanyName></CompanyRet></CompanyQueryRs>",
        '<PurchaseOrderQueryRs requestID="f" statusCode="1" statusSeverity="Info" '
        'statusMessage="A query request did not find a matching object in QuickBooks"/>',
    )
    responses = parse_response(text)
    assert [r.request_id for r in responses] == ["a", "b", "c", "d", "e", "f"]
    assert [r.outcome for r in responses] == [
        Outcome.OK,
        Outcome.NAME_IN_USE,
        Outcome.OK,
        Outcome.OK,
        Outcome.OK,
        Outcome.NOTHING_MATCHED,
    ]
    items = responses[0].records_of(ListRecord)
    assert [(i.type, i.full_name, i.is_active) for i in items] == [
        ("ItemNonInventoryRet", "Cable", False),
        ("ItemInventoryRet", "Parts:Sub", None),
        ("ItemServiceRet", "Labour", None),
    ]
    assert items[1].parent == Ref("3-1", "Parts")
    assert items[1].quantity_on_hand == D("12.5")
    assert responses[1].status_message == 'The name "Acme" of the list element is already in use.'
    (receipt,) = responses[2].records_of(ItemReceiptRecord)
    assert (receipt.txn_id, receipt.ref_number, receipt.memo) == ("10-1", "4711-1", "atqb receipt")
    (link,) = receipt.linked_txns
    assert (link.txn_id, link.txn_type, link.txn_date, link.amount) == (
        "30-1",
        "PurchaseOrder",
        date(2024, 5, 1),
        D("15.63"),
    )
    (rline,) = receipt.lines
    assert (rline.txn_line_id, rline.quantity, rline.cost) == ("11-1", D("5"), D("3.125"))
    (adjustment,) = responses[3].records_of(InventoryAdjustmentRecord)
    assert adjustment.account == Ref(None, "Inventory Adjustment")
    assert [(a.item, a.quantity_difference) for a in adjustment.lines] == [
        (Ref("2-1", None), D("-2"))
    ]
    assert responses[4].records == (CompanyRecord("Rock Castle Construction", None),)


def test_find_names_matches_ignoring_case_and_reports_the_missing() -> None:
    (response,) = parse_response(
        answer(
            '<ItemQueryRs requestID="1" statusCode="500" statusSeverity="Warn" '
            'statusMessage="There was a required element (&quot;Gone&quot;) that could not be '
            'found in QuickBooks."><ItemNonInventoryRet><ListID>1-1</ListID><Name>Cable</Name>'
            "<FullName>Cable</FullName></ItemNonInventoryRet></ItemQueryRs>"
        )
    )
    assert response.outcome is Outcome.NOT_FOUND
    found = response.find_names(["CABLE", "Gone"])
    assert found["Gone"] is None
    cable = found["CABLE"]
    assert cable is not None
    assert cable.type == "ItemNonInventoryRet"


def test_a_purchase_order_with_item_groups_is_flagged() -> None:
    (response,) = parse_response(
        answer(
            f'<PurchaseOrderQueryRs requestID="1" {OK}><PurchaseOrderRet><TxnID>1-1</TxnID>'
            "<EditSequence>5</EditSequence><PurchaseOrderLineGroupRet><TxnLineID>2-1</TxnLineID>"
            "</PurchaseOrderLineGroupRet></PurchaseOrderRet></PurchaseOrderQueryRs>"
        )
    )
    (po,) = response.records_of(PurchaseOrderRecord)
    assert po.has_line_groups
    assert po.lines == ()


# ---------------------------------------------------------------------------------------------
# Declarations, encodings, characters


@pytest.mark.parametrize(
    "declaration",
    [
        '<?xml version="1.0" ?>',
        '<?xml version="1.0" encoding="utf-8"?>',
        '<?xml version="1.0" encoding="windows-1252"?>',
        "\ufeff<?xml version='1.0' encoding='ISO-8859-1' standalone='yes'?>\r\n",
        "",
        "<!-- a comment first -->\n",
    ],
)
def test_any_declaration_on_decoded_text_is_accepted(declaration: str) -> None:
    text = answer(
        f'<VendorQueryRs requestID="1" {OK}><VendorRet><ListID>1-1</ListID>'
        "<Name>Steel D\u00e9cor &amp; D&#233;cor</Name></VendorRet></VendorQueryRs>",
        declaration=declaration,
    )
    (response,) = parse_response(text)
    (vendor,) = response.records_of(ListRecord)
    assert vendor.name == vendor.full_name == "Steel D\u00e9cor & D\u00e9cor"


# ---------------------------------------------------------------------------------------------
# Bad input


BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE QBXML [<!ENTITY a "aaaaaaaaaa">'
    + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(8))
    + f']><QBXML><QBXMLMsgsRs><VendorQueryRs {OK} statusMessage2="&i;"/></QBXMLMsgsRs></QBXML>'
)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "empty"),
        ("   \n", "empty"),
        ("<QBXML><QBXMLMsgsRs>", "not well-formed"),
        ("not xml at all", "not well-formed"),
        (answer(f"<VendorQueryRs {OK}><VendorRet></VendorQueryRs>"), "not well-formed"),
        (BILLION_LAUGHS, "DOCTYPE"),
        ('<!-- c --><!DOCTYPE QBXML SYSTEM "http://example.com/x.dtd"><QBXML/>', "DOCTYPE"),
        (
            '<?xml version="1.0"?>\n<!DOCTYPE QBXML [<!ENTITY e "x">]>'
            f"<QBXML><QBXMLMsgsRs><VendorQueryRs {OK}>&e;</VendorQueryRs></QBXMLMsgsRs></QBXML>",
            "DOCTYPE",
        ),
        ('<?xml version="1.0" ?><QBXMLResponse><QBXMLMsgsRs/></QBXMLResponse>', "root"),
        ('<?xml version="1.0" ?><QBXML/>', "no QBXMLMsgsRs"),
        (
            "<QBXML><QBXMLMsgsRs/><QBXMLMsgsRs/></QBXML>",
            "more than one QBXMLMsgsRs",
        ),
        (answer('<VendorQueryRs statusSeverity="Info"/>'), "no statusCode"),
        (answer('<VendorQueryRs statusCode="0"/>'), "no statusSeverity"),
        (answer('<VendorQueryRs statusCode="zero" statusSeverity="Info"/>'), "not an integer"),
        (answer('<VendorQueryRs statusCode="" statusSeverity="Info"/>'), "not an integer"),
        (answer('<VendorQueryRs statusCode="0" statusSeverity="Fine"/>'), "statusSeverity"),
        (answer(f"<VendorQuery {OK}/>"), "not a response"),
        (
            answer(f'<VendorQueryRs {OK} iteratorRemainingCount="many"/>'),
            "iteratorRemainingCount",
        ),
        (
            answer(f"<VendorQueryRs {OK}><VendorRet><Name>x</Name></VendorRet></VendorQueryRs>"),
            "VendorRet has no ListID",
        ),
        (
            answer(
                f"<PurchaseOrderQueryRs {OK}><PurchaseOrderRet><TxnID>1-1</TxnID>"
                "<EditSequence>1</EditSequence><PurchaseOrderLineRet><TxnLineID>2-1</TxnLineID>"
                "<Quantity>five</Quantity></PurchaseOrderLineRet></PurchaseOrderRet>"
                "</PurchaseOrderQueryRs>"
            ),
            r"PurchaseOrderQueryRs/PurchaseOrderRet/PurchaseOrderLineRet/Quantity: 'five'",
        ),
        (
            answer(
                f"<PurchaseOrderQueryRs {OK}><PurchaseOrderRet><TxnID>1-1</TxnID>"
                "</PurchaseOrderRet></PurchaseOrderQueryRs>"
            ),
            "no EditSequence",
        ),
        (
            answer(
                f"<VendorQueryRs {OK}><VendorRet><ListID>1</ListID><Name>x</Name>"
                "<IsActive>yes</IsActive></VendorRet></VendorQueryRs>"
            ),
            "true or false",
        ),
        (
            answer(
                f"<ItemReceiptAddRs {OK}><ItemReceiptRet><TxnID>1</TxnID><EditSequence>1"
                "</EditSequence><TxnDate>05/02/2024</TxnDate></ItemReceiptRet></ItemReceiptAddRs>"
            ),
            "not a date",
        ),
        (
            answer(
                f"<ItemInventoryQueryRs {OK}><ItemInventoryRet><ListID>1</ListID><Name>x</Name>"
                "<QuantityOnHand>NaN</QuantityOnHand></ItemInventoryRet></ItemInventoryQueryRs>"
            ),
            "not a number",
        ),
    ],
)
def test_bad_answers_raise_a_clear_parse_error(text: str, match: str) -> None:
    with pytest.raises(QbXmlParseError, match=match):
        parse_response(text)


def test_bytes_are_refused_with_a_type_error() -> None:
    with pytest.raises(TypeError, match="str"):
        parse_response(b"<QBXML/>")  # type: ignore[arg-type]


def test_the_parse_error_is_a_value_error() -> None:
    assert issubclass(QbXmlParseError, ValueError)


# ---------------------------------------------------------------------------------------------
# Size


def test_a_10_mb_answer_is_read_completely() -> None:
    count = 11_000
    text = inventory_answer(count)
    assert len(text) > 10_000_000
    (response,) = parse_response(text)
    items = response.records_of(ListRecord)
    assert len(items) == count
    assert (items[0].name, items[0].quantity_on_hand) == ("Part 0", D("0"))
    assert (items[-1].name, items[-1].quantity_on_hand) == (f"Part {count - 1}", D(count - 1))


def test_a_text_node_over_libxml2s_limit_needs_huge_tree() -> None:
    memo = "m" * 10_000_001
    text = answer(
        f"<PurchaseOrderQueryRs {OK}><PurchaseOrderRet><TxnID>1-1</TxnID>"
        f"<EditSequence>1</EditSequence><Memo>{memo}</Memo></PurchaseOrderRet>"
        "</PurchaseOrderQueryRs>"
    )
    with pytest.raises(QbXmlParseError, match="not well-formed"):
        parse_response(text)
    (response,) = parse_response(text, huge_tree=True)
    (po,) = response.records_of(PurchaseOrderRecord)
    assert po.memo == memo


# ---------------------------------------------------------------------------------------------
# Answers without qbXML


def test_an_hresult_answer_maps_onto_every_request_in_flight() -> None:
    responses = hresult_responses(
        ["7:vendor", "8:item"],
        "0x80040400",
        "QuickBooks found an error when parsing the provided XML text stream.",
    )
    assert [r.request_id for r in responses] == ["7:vendor", "8:item"]
    for response in responses:
        assert (response.status_code, response.hresult) == (None, "0x80040400")
        assert response.outcome is Outcome.PERMANENT_ERROR
        assert response.uncertain is False  # the whole message was refused
        assert response.explain().startswith("Web Connector error 0x80040400: QuickBooks could")
        assert "parsing the provided XML" in response.explain()
    (lost,) = hresult_responses(["1"], "-2147220478", "Unexpected error")
    assert (lost.hresult, lost.outcome, lost.uncertain) == (
        "0x80040402",
        Outcome.RETRY_LATER,
        True,
    )
    (odd,) = hresult_responses(["1"], "garbage", "")
    assert (odd.hresult, odd.outcome, odd.uncertain) == ("garbage", Outcome.RETRY_LATER, True)


def test_pair_responses_matches_by_request_id_and_fills_gaps() -> None:
    responses = parse_response(
        answer(
            f'<CompanyQueryRs requestID="b" {OK}/>',
            '<VendorAddRs requestID="a" statusCode="3231" statusSeverity="Error" '
            'statusMessage="The request has not been processed."/>',
        )
    )
    paired = pair_responses(["a", "b", "c"], responses)
    assert [(p.request_id, p.name) for p in paired] == [
        ("a", "VendorAddRs"),
        ("b", "CompanyQueryRs"),
        ("c", ""),
    ]
    assert paired[0].outcome is Outcome.RETRY_LATER
    assert paired[0].uncertain is False
    assert paired[2].outcome is Outcome.RETRY_LATER
    assert paired[2].uncertain is True
    assert "No answer from QuickBooks" in paired[2].explain()


def test_pair_responses_uses_position_when_quickbooks_omits_the_request_id() -> None:
    responses = parse_response(sample("qbwc-qbwc-responses/customer_query_rs_500_warn.xml"))
    (paired,) = pair_responses(["only"], responses)
    assert paired.status_code == 500


def test_pair_responses_refuses_answers_to_requests_not_sent() -> None:
    responses = parse_response(answer(f'<CompanyQueryRs requestID="zzz" {OK}/>'))
    with pytest.raises(QbXmlParseError, match="not sent"):
        pair_responses(["a"], responses)
    twice = parse_response(
        answer(f'<CompanyQueryRs requestID="a" {OK}/>', f'<CompanyQueryRs requestID="a" {OK}/>')
    )
    with pytest.raises(QbXmlParseError, match="two answers"):
        pair_responses(["a"], twice)
