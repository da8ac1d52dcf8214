"""Fuzzing the qbXML parser and the safe XML parser: any text in, a result or their error out.

``parse_response`` reads what the Web Connector posts as QuickBooks' answer: whatever arrives,
it returns responses or raises :class:`QbXmlParseError`, nothing else (the exchange retries the
jobs on that error; any other exception would be an unhandled error in receiveResponseXML).
Inputs: arbitrary text, the SDK's answer samples mangled character by character, and real
answers whose elements, attributes and values are changed in place (numbers that are not
numbers, dates that do not exist, records that lose required fields or appear twice).
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from service.qbxml.parse import QbXmlParseError, parse_response
from service.xmlsafe import UnsafeXMLError, parse_bytes, parse_text
from tests.conftest import REFERENCE
from tests.qbxml.helpers import inventory_answer

SAMPLES = REFERENCE / "qbxml" / "samples"
FUZZ = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


#: Every answer sample of the SDK and the specification (placeholders like INTTYPE included).
ANSWER_SAMPLES = sorted(
    {_read(p) for p in SAMPLES.rglob("*.xml") if "Rs" in p.name or "_rs" in p.name}
)
#: Real answers, well-formed, with values QuickBooks sends.
REAL_ANSWERS = [
    _read(SAMPLES / "qbwc-qbxml-spec" / "purchase_order_query_rs.xml"),
    _read(SAMPLES / "qbwc-qbxml-spec" / "customer_query_rs.xml"),
    _read(SAMPLES / "qbwc-qbxml-spec" / "item_inventory_add_rs.xml"),
    _read(SAMPLES / "qbwc-qbwc-responses" / "customer_query_rs_3120_error.xml"),
    inventory_answer(3),
]
FRAGMENTS = [
    "<",
    ">",
    "&",
    '"',
    "'",
    "<!DOCTYPE x>",
    '<!DOCTYPE x [<!ENTITY e "eeee">]>',
    "&e;",
    "]]>",
    "<![CDATA[",
    "&#0;",
    "&amp;",
    "\x00",
    "\ud800",
    "\ufeff",
    'statusCode="x"',
    "<QBXMLMsgsRs>",
    "</QBXML>",
    "<?xml version='1.0' encoding='utf-16'?>",
    'requestID=""',
    "<QBXMLMsgsRs/>",
]
#: Values put into fields and attributes: numbers, dates and flags that are not.
VALUES = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "",
            " ",
            "1e999999999",
            "NaN",
            "-0",
            "Infinity",
            "9" * 5000,
            "2024-02-30",
            "TRUE",
            "0x10",
            "\uff11\uff12",
            "x" * 100_000,
            "-1",
            "2147483648",
        ]
    ),
)
TAGS = [
    "ItemInventoryRet",
    "PurchaseOrderRet",
    "PurchaseOrderLineRet",
    "ItemReceiptRet",
    "ItemReceiptLineRet",
    "InventoryAdjustmentRet",
    "CompanyRet",
    "VendorRet",
    "CustomerRet",
    "LinkedTxn",
    "QBXMLMsgsRs",
    "QBXML",
    "Unknown",
]
FIELDS = [
    "ListID",
    "FullName",
    "Name",
    "TxnID",
    "TxnLineID",
    "TxnDate",
    "RefNumber",
    "EditSequence",
    "IsActive",
    "Quantity",
    "QuantityOnHand",
    "ReceivedQuantity",
    "Rate",
    "Amount",
    "ItemRef",
    "VendorRef",
    "IsFullyReceived",
]
ATTRIBUTES = [
    "statusCode",
    "statusSeverity",
    "statusMessage",
    "requestID",
    "retCount",
    "iteratorRemainingCount",
    "iteratorID",
]


@st.composite
def mangled(draw: st.DrawFn) -> str:
    """An answer sample with characters deleted, inserted, replaced, repeated or cut off."""
    text = draw(st.sampled_from(ANSWER_SAMPLES))
    for _ in range(draw(st.integers(0, 6))):
        at = draw(st.integers(0, len(text)))
        end = draw(st.integers(at, min(len(text), at + 40)))
        choice = draw(st.integers(0, 4))
        if choice == 0:
            text = text[:at] + text[end:]
        elif choice == 1:
            insert = draw(st.sampled_from(FRAGMENTS) | st.text(max_size=20))
            text = text[:at] + insert + text[at:]
        elif choice == 2:
            text = text[:at] + draw(st.text(max_size=10)) + text[end:]
        elif choice == 3:
            text = text[:at]
        else:
            text = text[:at] + text[at:end] * draw(st.integers(2, 5)) + text[end:]
    return text


@st.composite
def edited(draw: st.DrawFn) -> str:
    """A real answer with elements, attributes and values changed in place."""
    root = etree.fromstring(draw(st.sampled_from(REAL_ANSWERS)).encode())
    elements = list(root.iter())
    for _ in range(draw(st.integers(1, 8))):
        element = draw(st.sampled_from(elements))
        parent = element.getparent()
        choice = draw(st.integers(0, 5))
        try:
            if choice == 0:
                element.text = draw(VALUES)
            elif choice == 1 and parent is not None:
                parent.remove(element)
            elif choice == 2:
                element.set(draw(st.sampled_from(ATTRIBUTES)), draw(VALUES))
            elif choice == 3 and parent is not None:
                parent.append(etree.fromstring(etree.tostring(element)))
            elif choice == 4:
                element.tag = draw(st.sampled_from(TAGS + FIELDS))
            else:
                etree.SubElement(element, draw(st.sampled_from(FIELDS))).text = draw(VALUES)
        except ValueError:
            pass  # lxml refuses text no XML can hold (control characters): not an input
    return etree.tostring(root, encoding="unicode")


@pytest.mark.timeout(600)
@FUZZ
@given(st.one_of(st.text(), mangled(), edited()))
def test_parse_response_returns_responses_or_raises_its_own_error(text: str) -> None:
    message = None
    try:
        responses = parse_response(text)
    except QbXmlParseError as exc:
        message, responses = str(exc), []
    assert message != ""  # a refusal says why
    for response in responses:
        assert response.status_code is not None
        assert response.status_severity in ("Info", "Warn", "Error")


@pytest.mark.timeout(600)
@FUZZ
@given(st.one_of(st.text(), mangled(), edited()))
def test_parse_text_returns_an_element_or_a_syntax_error(text: str) -> None:
    with contextlib.suppress(etree.XMLSyntaxError, UnsafeXMLError):
        parse_text(text)


@pytest.mark.timeout(600)
@FUZZ
@given(st.one_of(st.binary(), mangled().map(lambda t: t.encode("utf-8", "surrogatepass"))))
def test_parse_bytes_returns_an_element_or_a_syntax_error(raw: bytes) -> None:
    with contextlib.suppress(etree.XMLSyntaxError, UnsafeXMLError):
        parse_bytes(raw)


@pytest.mark.parametrize(
    "text",
    [
        "<QBXML>\ud800</QBXML>",
        '<?xml version="1.0"?><QBXML><QBXMLMsgsRs><CompanyQueryRs requestID="1" statusCode="0" '
        'statusSeverity="Info">\udfff</CompanyQueryRs></QBXMLMsgsRs></QBXML>',
    ],
)
def test_a_lone_surrogate_is_malformed_xml_not_a_crash(text: str) -> None:
    # Found by the fuzzer: lxml raised UnicodeEncodeError while encoding the text to parse it.
    with pytest.raises(QbXmlParseError, match="not well-formed"):
        parse_response(text)
    with pytest.raises(etree.XMLSyntaxError):
        parse_text(text)
