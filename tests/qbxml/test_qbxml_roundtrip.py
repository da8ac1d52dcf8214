"""Property test: any name or memo goes through build → QuickBooks echo → parse intact.

"Intact" means: what comes back is exactly the name atqb said QuickBooks would store
(:func:`service.qbxml.text.list_name` / :func:`~service.qbxml.text.fit_text`), that is the name
itself when it was already storable, else its documented replacement. The echo plays
QuickBooks: it reads the request with a real XML parser, stores the text and answers with a
``…Ret`` holding it, written either with raw characters or with character references.
"""

from __future__ import annotations

import string
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from service.qbxml import build as b
from service.qbxml import text as t
from service.qbxml.parse import parse_response
from service.qbxml.types import (
    ListRecord,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderRecord,
    Ref,
)
from service.simulators.quickbooks import SimulatedQuickBooks

from .helpers import schema_problems

SPECIALS = (
    list(string.punctuation)
    + list(" \t\r\n")
    + [chr(c) for c in range(0x20)]
    + ["\x7f", "\x80", "\x81", "\x92", "\x9d", "\xa0", "\xad"]
    + list("éÉüßøÆñçÿ©®°½")
    + list("\u201c\u201d\u2018\u2019\u2013\u2014\u2026\u20ac\u2122\u0152\u0141\u0151\ufb01\uff21")
    + list("\u200b\u200d\ufeff\ufe0f\u2028")
    + ["\U0001f600", "\U0001f468\u200d\U0001f469", "\u6771", "\u4eac", "\uac00", "\u0627"]
    + ["\ud800", "\udfff", "\ufffe", "\uffff", "\ue000", "e\u0301", "\U0010ffff"]
)

pieces = st.one_of(st.sampled_from(SPECIALS), st.characters(codec="utf-8"))
names = st.lists(pieces, max_size=80).map("".join) | st.sampled_from(
    ["A" * 31 + "B", "x" * 200, "Cable: Cat6", "  spaced  ", "&amp;", "<a/>"]
)

QUICKBOOKS_STORES = (
    set("\t\n\r") | {chr(c) for c in range(0x20, 0x7F)} | {chr(c) for c in range(0xA0, 0x100)}
)


def echo(request_xml: str, store: str, ret: str, *, raw: bool) -> str:
    """A QuickBooks-like answer to one request: the ``store`` element's text, kept."""
    request = etree.fromstring(request_xml.encode("ascii"))
    stored = request.findtext(f".//{store}")
    assert stored is not None
    root = etree.Element("QBXML")
    messages = etree.SubElement(root, "QBXMLMsgsRs")
    rs = etree.SubElement(
        messages,
        str(request.tag)[:-2] + "Rs",
        requestID=request.get("requestID") or "",
        statusCode="0",
        statusSeverity="Info",
        statusMessage="Status OK",
    )
    record = etree.SubElement(rs, ret)
    if ret == "VendorRet":
        etree.SubElement(record, "ListID").text = "80000001-1700000000"
        etree.SubElement(record, "Name").text = stored
        etree.SubElement(record, "FullName").text = stored
    else:
        etree.SubElement(record, "TxnID").text = "30-1700000000"
        etree.SubElement(record, "EditSequence").text = "1700000000"
        etree.SubElement(record, "Memo").text = stored
    body = etree.tostring(root, encoding="unicode" if raw else "us-ascii")
    if isinstance(body, bytes):
        body = body.decode("ascii")
    return '<?xml version="1.0" ?>\n' + body


def storable(text: str) -> bool:
    return all(c in QUICKBOOKS_STORES for c in text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=names, raw=st.booleans())
def test_vendor_names_round_trip_as_stored_or_documented(name: str, raw: bool) -> None:
    try:
        expected = t.vendor_name(name)
    except ValueError:
        assert t.clean_text(name).text.strip(" \t\r\n") == ""
        return
    # The documented result: storable, one line, no colon, within the limit, and unchanged
    # (no replacements) exactly when the name needed nothing.
    assert storable(expected.text)
    assert ":" not in expected.text
    assert "\n" not in expected.text
    assert "\t" not in expected.text
    assert 0 < len(expected.text) <= t.VENDOR_NAME_MAX
    assert expected.text == expected.text.strip(" ")
    plain = storable(name) and not any(c in name for c in ":\t\r\n")
    if plain and name == name.strip(" ") and len(name) <= t.VENDOR_NAME_MAX:
        assert (expected.text, expected.replacements) == (name, ())

    request = b.vendor_add("rt-1", expected.text)
    assert request.replacements == ()  # converting again changes nothing
    document = b.message([request])
    assert document.isascii()
    assert schema_problems(document) == []

    (response,) = parse_response(echo(request.xml, "Name", "VendorRet", raw=raw))
    (vendor,) = response.records_of(ListRecord)
    assert vendor.name == vendor.full_name == expected.text
    assert response.request_id == "rt-1"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(memo=names, raw=st.booleans())
def test_memos_round_trip_with_line_breaks_kept(memo: str, raw: bool) -> None:
    expected = t.fit_text(memo, 4095)
    assert storable(expected.text)
    if storable(memo):
        assert (expected.text, expected.replacements) == (memo, ())
    po = PurchaseOrder(
        Ref(full_name="Acme"), (PurchaseOrderLine(Ref(full_name="X"), Decimal(1)),), memo=memo
    )
    request = b.purchase_order_add("rt-2", po)
    assert [r.original for r in request.replacements] == [r.original for r in expected.replacements]
    assert schema_problems(b.message([request])) == []
    (response,) = parse_response(echo(request.xml, "Memo", "PurchaseOrderRet", raw=raw))
    (order,) = response.records_of(PurchaseOrderRecord)
    assert order.memo == expected.text


# ---------------------------------------------------------------------------------------------
# The same properties against the simulated QuickBooks (service.simulators.quickbooks), an
# independent model that rejects what QuickBooks rejects (raw non-ASCII, XSD violations) and
# stores what QuickBooks stores.


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=names, memo=names)
def test_names_and_memos_round_trip_through_the_simulated_quickbooks(name: str, memo: str) -> None:
    try:
        vendor = t.vendor_name(name)
        item = t.item_name(name)
    except ValueError:
        return  # nothing storable left: refused before anything is sent (tested above)
    quickbooks = SimulatedQuickBooks()
    quickbooks.add_item(item.text)
    po = PurchaseOrder(
        Ref(full_name=vendor.text),
        (PurchaseOrderLine(Ref(full_name=item.text), Decimal(2), Decimal("1.5")),),
        memo=memo,
    )
    answer = quickbooks.process(
        b.message([b.vendor_add("v", vendor.text), b.purchase_order_add("p", po)])
    )
    added, ordered = parse_response(answer)
    assert (added.status_code, ordered.status_code) == (0, 0), answer
    (record,) = added.records_of(ListRecord)
    assert record.name == record.full_name == vendor.text
    (order,) = ordered.records_of(PurchaseOrderRecord)
    assert order.vendor is not None
    assert order.vendor.full_name == vendor.text
    assert order.memo == t.fit_text(memo, 4095).text
    assert order.lines[0].item is not None
    assert order.lines[0].item.full_name == item.text
