"""Reading QuickBooks' qbXML answers, streaming, with bounded memory.

:func:`parse_response` takes the decoded text the Web Connector posts (``receiveResponseXML``'s
``response``) and returns one :class:`~service.qbxml.types.Response` per ``…Rs``, in document
order (which is request order, reference/qbxml.md 2). The parser follows the policy of
:mod:`service.xmlsafe` (no DTD, no entities, no network) but reads incrementally: each ``…Ret``
is turned into a typed record as soon as it is complete and its elements are freed, so a 10 MB
answer never exists as a whole tree. Any XML declaration is ignored, including one that
announces an encoding (the text is already decoded, reference/qbwc.md 9.4).

Everything wrong with an answer raises :class:`QbXmlParseError`, never a bare lxml error:
malformed XML, a DOCTYPE or entity, a root other than ``QBXML``, no ``QBXMLMsgsRs``, an ``…Rs``
without an integer ``statusCode`` or a valid ``statusSeverity``, or a field of a known record
that is not what the schema says (a quantity that is not a number, a missing ``TxnID``...).
Unknown ``…Ret`` elements (other item types are *not* unknown: every ``Item…Ret`` is a list
record) are skipped.

When the Web Connector posts an HRESULT instead of an answer, :func:`hresult_responses` gives
every request of that message a response carrying it; :func:`pair_responses` lines answers up
with the requestIDs that were sent.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import MISSING, fields, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from lxml import etree

from service.qbxml.status import normalize_hresult
from service.qbxml.types import (
    AccountRecord,
    CompanyRecord,
    InventoryAdjustmentLineRecord,
    InventoryAdjustmentRecord,
    ItemReceiptLineRecord,
    ItemReceiptRecord,
    LinkedTxn,
    ListRecord,
    PurchaseOrderLineRecord,
    PurchaseOrderRecord,
    Record,
    Ref,
    Response,
)
from service.xmlsafe import parser_options

#: Characters fed to the parser at a time.
CHUNK = 1 << 16
T = TypeVar("T")
SEVERITIES = ("Info", "Warn", "Error")


class QbXmlParseError(ValueError):
    """The text is not a qbXML answer atqb can read; the message says what is wrong."""


# --------------------------------------------------------------------------------------------
# Field conversion

_Children = dict[str, etree._Element]


def _where(element: etree._Element) -> str:
    parts = []
    node: etree._Element | None = element
    while node is not None and node.tag not in ("QBXMLMsgsRs", "QBXML"):
        parts.append(str(node.tag))
        node = node.getparent()
    return "/".join(reversed(parts))


def _text(element: etree._Element | None) -> str | None:
    if element is None:
        return None
    return element.text or ""


def _decimal(element: etree._Element | None) -> Decimal | None:
    value = _text(element)
    if value is None or value == "":
        return None
    try:
        number = Decimal(value.strip())
    except InvalidOperation:
        raise QbXmlParseError(f"{_where(element)}: {value!r} is not a number") from None  # type: ignore[arg-type]
    if not number.is_finite():
        raise QbXmlParseError(f"{_where(element)}: {value!r} is not a number")  # type: ignore[arg-type]
    return number


def _int(element: etree._Element | None) -> int | None:
    value = _text(element)
    if value is None or value == "":
        return None
    try:
        return int(value.strip())
    except ValueError:
        raise QbXmlParseError(f"{_where(element)}: {value!r} is not an integer") from None  # type: ignore[arg-type]


def _bool(element: etree._Element | None) -> bool | None:
    value = _text(element)
    if value is None or value == "":
        return None
    lowered = value.strip().lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise QbXmlParseError(f"{_where(element)}: {value!r} is not true or false")  # type: ignore[arg-type]


def _date(element: etree._Element | None) -> date | None:
    value = _text(element)
    if value is None or value == "":
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise QbXmlParseError(f"{_where(element)}: {value!r} is not a date") from None  # type: ignore[arg-type]


def _ref(element: etree._Element | None) -> Ref | None:
    if element is None:
        return None
    list_id = _text(element.find("ListID")) or None
    full_name = _text(element.find("FullName")) or None
    if list_id is None and full_name is None:
        return None
    return Ref(list_id, full_name)


def _children(element: etree._Element) -> _Children:
    """First child of each tag (the fields read here occur at most once)."""
    result: _Children = {}
    for child in element:
        tag = child.tag
        if isinstance(tag, str) and tag not in result:
            result[tag] = child
    return result


# --------------------------------------------------------------------------------------------
# Records: each field of a record dataclass is read from the child element its name gives
# (``txn_line_id`` → ``TxnLineID``, ``vendor`` → ``VendorRef``), converted by its annotation.

_TAGS = {
    "list_id": "ListID",
    "txn_id": "TxnID",
    "txn_line_id": "TxnLineID",
    "external_guid": "ExternalGUID",
    "item": "ItemRef",
    "vendor": "VendorRef",
    "customer": "CustomerRef",
    "account": "AccountRef",
    "parent": "ParentRef",
    "ship_to": "ShipToEntityRef",
    "linked_txns": "LinkedTxn",
}
#: The element of each repeated child, by record class.
_LINE_TAGS = {
    PurchaseOrderRecord: "PurchaseOrderLineRet",
    ItemReceiptRecord: "ItemLineRet",
    InventoryAdjustmentRecord: "InventoryAdjustmentLineRet",
}
_SCALARS: dict[str, Callable[[etree._Element | None], object]] = {
    "str": _text,
    "str | None": _text,
    "Decimal | None": _decimal,
    "bool | None": _bool,
    "int | None": _int,
    "date | None": _date,
    "Ref | None": _ref,
}
_NESTED = {
    "tuple[LinkedTxn, ...]": LinkedTxn,
    "tuple[PurchaseOrderLineRecord, ...]": PurchaseOrderLineRecord,
    "tuple[ItemReceiptLineRecord, ...]": ItemReceiptLineRecord,
    "tuple[InventoryAdjustmentLineRecord, ...]": InventoryAdjustmentLineRecord,
}

# (field, tag, scalar converter or None, nested class or None, required)
_Spec = tuple[
    tuple[str, str, Callable[[etree._Element | None], object] | None, type | None, bool], ...
]
_SPECS: dict[type, _Spec] = {}


def _spec(cls: type) -> _Spec:
    if cls not in _SPECS:
        rows = []
        for f in fields(cls):
            annotation = str(f.type)
            if f.name == "type" or annotation == "bool":  # filled in by the caller
                continue
            if f.name == "lines":
                tag = _LINE_TAGS[cls]
            else:
                tag = _TAGS.get(f.name) or "".join(p.capitalize() for p in f.name.split("_"))
            required = f.default is MISSING and f.name != "full_name"
            rows.append((f.name, tag, _SCALARS.get(annotation), _NESTED.get(annotation), required))
        _SPECS[cls] = tuple(rows)
    return _SPECS[cls]


def _read(cls: type[T], element: etree._Element, **extra: object) -> T:
    children = _children(element)
    values: dict[str, object] = dict(extra)
    for name, tag, scalar, nested, required in _spec(cls):
        if nested is not None:
            values[name] = tuple(_read(nested, e) for e in element.iterchildren(tag))
            continue
        assert scalar is not None, f"{cls.__name__}.{name} has no converter"
        value = scalar(children.get(tag))
        if required and not value:
            raise QbXmlParseError(f"{_where(element)} has no {tag}")
        values[name] = value
    return cls(**values)


def _list_record(element: etree._Element) -> ListRecord:
    record = _read(ListRecord, element, type=str(element.tag))
    if record.full_name is None:  # vendors and top-level records: FullName = Name
        record = replace(record, full_name=record.name)
    return record


def _converter(tag: str) -> Callable[[etree._Element], Record] | None:
    cls = _RECORDS.get(tag)
    if cls is not None:
        return lambda e: _read(cls, e)
    if tag == "PurchaseOrderRet":
        return lambda e: _read(
            PurchaseOrderRecord,
            e,
            has_line_groups=e.find("PurchaseOrderLineGroupRet") is not None,
        )
    if tag in ("VendorRet", "CustomerRet") or (tag.startswith("Item") and tag.endswith("Ret")):
        return _list_record  # ItemInventoryRet, ItemNonInventoryRet, ItemServiceRet, ...
    return None


_RECORDS: dict[
    str, type[ItemReceiptRecord | InventoryAdjustmentRecord | CompanyRecord | AccountRecord]
] = {
    "AccountRet": AccountRecord,
    "ItemReceiptRet": ItemReceiptRecord,
    "InventoryAdjustmentRet": InventoryAdjustmentRecord,
    "CompanyRet": CompanyRecord,
}


# --------------------------------------------------------------------------------------------
# The streaming reader

_PROLOG_ITEM = re.compile(r"\s*(?:<!--.*?-->|<\?.*?\?>)", re.DOTALL)
_SPACE = re.compile(r"\s*")


def _body_start(text: str) -> int:
    """Index of the first markup after the BOM, the XML declaration, comments and PIs.

    Refuses a DOCTYPE before the parser sees it, so no entity is ever declared, let alone
    expanded (the policy of service.xmlsafe; the parser's own limits stay as a backstop).
    """
    index = 1 if text.startswith("\ufeff") else 0
    while match := _PROLOG_ITEM.match(text, index):
        index = match.end()
    space = _SPACE.match(text, index)
    if text.startswith("<!", space.end() if space else index):
        raise QbXmlParseError("the answer has a DOCTYPE (entity declarations): refused")
    return index


#: The range of the database's integer columns (and of qbXML's INTTYPE, a 32-bit integer).
_INT_RANGE = range(-(2**31), 2**31)


def _in_range(tag: str, name: str, number: int) -> int:
    """``number``, or a parse error when no 32-bit integer holds it."""
    if number not in _INT_RANGE:
        raise QbXmlParseError(f"{tag} {name} {number} is out of range (not a 32-bit integer)")
    return number


def _response_from_start(element: etree._Element) -> Response:
    tag = str(element.tag)
    if not tag.endswith("Rs"):
        raise QbXmlParseError(f"QBXMLMsgsRs holds {tag!r}, which is not a response (…Rs)")
    attrib = element.attrib
    code_text = attrib.get("statusCode")
    if code_text is None:
        raise QbXmlParseError(f"{tag} has no statusCode")
    try:
        code = int(code_text.strip())
    except ValueError:
        raise QbXmlParseError(f"{tag} statusCode {code_text!r} is not an integer") from None
    _in_range(tag, "statusCode", code)
    severity = attrib.get("statusSeverity")
    if severity is None:
        raise QbXmlParseError(f"{tag} has no statusSeverity")
    if severity not in SEVERITIES:
        raise QbXmlParseError(f"{tag} statusSeverity {severity!r} is not Info, Warn or Error")

    def number(name: str) -> int | None:
        value = attrib.get(name)
        if value is None or value == "":
            return None
        try:
            number = int(value)
        except ValueError:
            raise QbXmlParseError(f"{tag} {name} {value!r} is not an integer") from None
        return _in_range(tag, name, number)

    return Response(
        name=tag,
        request_id=attrib.get("requestID"),
        status_code=code,
        status_severity=severity,
        status_message=attrib.get("statusMessage", ""),
        ret_count=number("retCount"),
        iterator_remaining_count=number("iteratorRemainingCount"),
        iterator_id=attrib.get("iteratorID"),
    )


_ROOT_TAG = re.compile(r"\s*<([^\s/>!?]+)")


def parse_response(text: str, *, huge_tree: bool = False) -> list[Response]:
    """Parse a qbXML answer into one :class:`~service.qbxml.types.Response` per ``…Rs``.

    ``huge_tree`` lifts libxml2's limit of 10,000,000 characters for one text node; no real
    QuickBooks answer comes near it (the longest field is 4,095 characters), so it stays off.
    Raises :class:`QbXmlParseError`.
    """
    if not isinstance(text, str):
        raise TypeError("parse_response takes the decoded answer text (str)")
    if not text.strip():
        raise QbXmlParseError("the answer is empty (was an HRESULT reported instead?)")
    start = _body_start(text)
    root_tag = _ROOT_TAG.match(text, start)
    if root_tag and root_tag.group(1) != "QBXML":
        raise QbXmlParseError(f"the answer's root is {root_tag.group(1)!r}, not QBXML")
    # Only the root's start is reported: the reader then walks the tree itself after each
    # chunk, which costs far less than one Python event per element.
    parser = etree.XMLPullParser(
        events=("start",), tag="QBXML", remove_pis=True, **parser_options(huge_tree=huge_tree)
    )
    reader = _Reader()
    try:
        for offset in range(start, len(text), CHUNK):
            parser.feed(text[offset : offset + CHUNK])
            reader.advance(parser.read_events(), final=False)
        parser.close()
        reader.advance(parser.read_events(), final=True)
    except (etree.XMLSyntaxError, UnicodeEncodeError) as exc:
        # UnicodeEncodeError: a lone surrogate, which no XML text can hold (lxml encodes each
        # chunk to UTF-8 before parsing it).
        raise QbXmlParseError(f"the answer is not well-formed XML: {exc}") from None
    return reader.responses


class _Reader:
    """Turns the growing tree into responses, freeing every element once it is read.

    While parsing, an element is complete once a later sibling has started; after the parser
    is closed, everything is. Only complete ``…Ret`` elements are converted and removed, so the
    tree never holds more than one chunk's worth of records.
    """

    __slots__ = ("current", "messages", "records", "responses", "root")

    def __init__(self) -> None:
        self.root: etree._Element | None = None
        self.messages: etree._Element | None = None
        self.current: tuple[etree._Element, Response] | None = None
        self.records: list[Record] = []
        self.responses: list[Response] = []

    def advance(self, events: Iterable[tuple[str, Any]], *, final: bool) -> None:
        """Read what the parser has completed so far (everything when ``final``)."""
        for _, element in events:
            docinfo = element.getroottree().docinfo
            if getattr(docinfo, "doctype", "") or docinfo.internalDTD is not None:
                raise QbXmlParseError("the answer has a DOCTYPE (entity declarations): refused")
            self.root = element
        if self.root is None:
            return
        found = [child for child in self.root if child.tag == "QBXMLMsgsRs"]
        if len(found) > 1:
            raise QbXmlParseError("the answer has more than one QBXMLMsgsRs")
        if found:
            self.messages = found[0]
        if self.messages is None:
            if final:
                raise QbXmlParseError("the answer has no QBXMLMsgsRs")
            return
        done = final or self.messages.getnext() is not None
        answers = list(self.messages)
        for index, rs in enumerate(answers):
            self._read_rs(rs, complete=done or index < len(answers) - 1)

    def _read_rs(self, rs: etree._Element, *, complete: bool) -> None:
        if self.current is None or self.current[0] is not rs:
            self.current = (rs, _response_from_start(rs))
            self.records = []
        rets = list(rs)
        ready = rets if complete else rets[:-1]
        for ret in ready:
            convert = _converter(str(ret.tag))
            if convert is not None:
                self.records.append(convert(ret))
            rs.remove(ret)
        if complete:
            response = self.current[1]
            if self.records:
                response = _with_records(response, tuple(self.records))
            self.responses.append(response)
            self.current = None
            self.records = []
            assert self.messages is not None
            self.messages.remove(rs)


def _with_records(response: Response, records: tuple[Record, ...]) -> Response:
    return Response(
        name=response.name,
        request_id=response.request_id,
        status_code=response.status_code,
        status_severity=response.status_severity,
        status_message=response.status_message,
        records=records,
        ret_count=response.ret_count,
        iterator_remaining_count=response.iterator_remaining_count,
        iterator_id=response.iterator_id,
    )


# --------------------------------------------------------------------------------------------
# Answers without qbXML


def hresult_responses(request_ids: Sequence[str], hresult: str, message: str) -> list[Response]:
    """One response per request of a message the request processor failed as a whole.

    The Web Connector then posts an empty ``response`` with ``hresult`` and ``message``
    (reference/qbwc.md 6.3); no requestID comes back, so every request in flight gets the same
    HRESULT. The HRESULT is normalised (``0x80040400``); one that cannot be read is kept as given.
    """
    try:
        code = normalize_hresult(hresult)
    except ValueError:
        code = hresult.strip() or "unknown"
    return [
        Response(
            name="",
            request_id=request_id,
            status_code=None,
            status_severity="Error",
            status_message=message,
            hresult=code,
        )
        for request_id in request_ids
    ]


def pair_responses(request_ids: Sequence[str], responses: Sequence[Response]) -> list[Response]:
    """The answer to each request sent, in the order sent.

    Answers are matched by requestID; an answer without one (QuickBooks omits it when the
    request had none) takes the request at its position. A request nothing answered gets a
    response with neither status nor HRESULT (``outcome`` retry, ``uncertain`` True). Raises
    :class:`QbXmlParseError` for an answer to a requestID that was not sent.
    """
    by_id: dict[str, Response] = {}
    for position, response in enumerate(responses):
        request_id = response.request_id
        if request_id is None:
            if position >= len(request_ids):
                raise QbXmlParseError(f"answer #{position + 1} has no requestID and no request")
            request_id = request_ids[position]
        elif request_id not in request_ids:
            raise QbXmlParseError(f"answer for requestID {request_id!r}, which was not sent")
        if request_id in by_id:
            raise QbXmlParseError(f"two answers for requestID {request_id!r}")
        by_id[request_id] = response
    return [
        by_id.get(request_id)
        or Response(
            name="",
            request_id=request_id,
            status_code=None,
            status_severity="Error",
            status_message="QuickBooks returned no answer for this request.",
        )
        for request_id in request_ids
    ]


# An ``…Rs`` element as text: the start tag (quoted attribute values may hold ``>``), then either
# ``/>`` or everything up to its own end tag. ``…Rs`` elements never nest.
_RS_TEXT = re.compile(
    r"<(?!QBXMLMsgsRs\b)(?P<tag>[A-Za-z][\w.]*Rs)\b"  # the start tag's name
    r"(?:[^>\"']|\"[^\"]*\"|'[^']*')*?"  # its attributes
    r"(?:/>|>.*?</(?P=tag)\s*>)",  # self-closed, or up to its end tag
    re.DOTALL,
)


def raw_responses(text: str, *, limit: int = 200_000) -> list[str]:
    """Each ``…Rs`` of a well-formed qbXML answer as text, in document order.

    For the transmission log: an operator reads what QuickBooks said to each request. Call it
    only on text :func:`parse_response` accepted. A part longer than ``limit`` characters (a
    large query answer) is cut, with a note saying how much was left out.
    """
    parts = []
    for match in _RS_TEXT.finditer(text, _body_start(text)):
        part = match.group(0)
        if len(part) > limit:
            part = f"{part[:limit]}\n<!-- {len(part) - limit} more characters not kept -->"
        parts.append(part)
    return parts
