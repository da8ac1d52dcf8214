"""qbXML 13.0 requests, built with lxml in the element order of the XSD.

Each builder returns a :class:`Request`: its ``requestID``, the ``…Rq`` element serialised as
US-ASCII text (every non-ASCII character as ``&#NNN;``, reference/qbxml.md 9) and the
:class:`~service.qbxml.text.Replacement` list of every change the text rules made to what the
caller passed (so the operator can be told). :func:`message` puts requests into one document.

What the builders do with text (see :mod:`service.qbxml.text`):

* descriptive fields (Memo, Desc, sales/purchase descriptions, Other1/2, VendorMsg,
  manufacturer part number, company name, address lines) are cleaned and cut to their limit;
* identifying fields (list ``Name``, ``RefNumber``, a reference's ``FullName``) are cleaned the
  same way, but a value still over its limit raises ``ValueError``: cutting it here would
  silently make it another name. Convert names first with :func:`service.qbxml.text.item_name`
  (and friends), which cut and report, and check them with
  :func:`service.qbxml.text.find_collisions`. A list ``Name`` also gets its colons replaced;
  a ``FullName`` keeps them (they separate ``Parent:Child``);
* IDs (``ListID``, ``TxnID``, ``TxnLineID``, ``EditSequence``, ``requestID``) are never changed:
  a bad one raises ``ValueError``.

Lookups by name: a ``FullName`` (or ``ListID``) list is an exact lookup; a missing name gives
status 500 with the found ones still returned. The XSD allows ``ActiveStatus`` only in the filter
branch, so such a lookup cannot ask for inactive records. Intuit documents ``ActiveStatus`` as a
*filter* setting (default ``ActiveOnly``) and exact lookups return what they name, but no captured
answer in the references shows an inactive record coming back that way. So: use FullName lists to
resolve many names in one request, and before *creating* a record whose name was not found,
confirm with ``name_filter=NameFilter("StartsWith", name), active_status="All"`` (then
:meth:`~service.qbxml.types.Response.find_names`), which is documented to include inactive
records that still own the name (reference/qbxml.md 8.2). A ``3100`` answer to the Add is the
last safety net.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import partial

from lxml import etree

from service.qbxml import text as qtext
from service.qbxml.text import Replacement
from service.qbxml.types import (
    ActiveStatus,
    Address,
    InventoryAdjustment,
    InventoryItem,
    ItemReceipt,
    ItemReceiptChange,
    IteratorMode,
    NameFilter,
    Number,
    PurchaseOrder,
    PurchaseOrderChange,
    PurchaseOrderLine,
    PurchaseOrderLineMod,
    Ref,
)

#: qbXML version atqb speaks: every US QuickBooks Desktop 2014+ accepts it (reference/qbxml.md 10).
QBXML_VERSION = "13.0"
#: The transactions atqb deletes (``TxnDelType`` allows more; XSD qbxml130.xsd).
TXN_DEL_TYPES = ("ItemReceipt",)
#: ``requestID`` is limited to 50 characters at run time (status 1060, reference/qbxml.md 2).
REQUEST_ID_MAX = 50
ON_ERROR_VALUES = ("continueOnError", "stopOnError")

# Limits (XSD maxLength, reference/qbxml.md 4 and 8.1).
_ID_MAX = 36
_EDIT_SEQUENCE_MAX = 16
_TEXT_MAX = 4095
_ACCOUNT_MAX = 159
_CUSTOMER_REF_MAX = 209
_VENDOR_REF_MAX = 41
_ITEM_REF_MAX = 159  # 5 levels x 31 + 4 colons; the XSD itself sets no limit on ItemRef
_PART_NUMBER_MAX = 31
_COMPANY_NAME_MAX = 41
_PO_OTHER1_MAX = 25
_OTHER_MAX = 29
_VENDOR_MSG_MAX = 99
_ADDRESS_LIMITS = (
    ("Addr1", "addr1", 41),
    ("Addr2", "addr2", 41),
    ("Addr3", "addr3", 41),
    ("Addr4", "addr4", 41),
    ("Addr5", "addr5", 41),
    ("City", "city", 31),
    ("State", "state", 21),
    ("PostalCode", "postal_code", 13),
    ("Country", "country", 31),
    ("Note", "note", 41),
)

_PRINTABLE_ASCII = re.compile(r"^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$")
_GUID = re.compile(r"^(0|\{[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}\})$")
_VERSION = re.compile(r"^\d{1,2}\.\d$")
_AMOUNT_STEP = Decimal("0.01")
_QUANTITY_STEP = Decimal("0.00001")


@dataclass(frozen=True, slots=True)
class Request:
    """One built request.

    ``xml`` is the ``…Rq`` element as text (pure ASCII); ``name`` its element name
    (``"PurchaseOrderAddRq"``); ``replacements`` what the text rules changed in the caller's
    values, each with the element path in ``field``.
    """

    request_id: str
    name: str
    xml: str
    replacements: tuple[Replacement, ...] = ()


# --------------------------------------------------------------------------------------------
# Value formatting


def _decimal(value: Number, what: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise TypeError(f"{what}: expected Decimal or int, got {type(value).__name__}")
    number = Decimal(value)
    if not number.is_finite():
        raise ValueError(f"{what}: {value!r} is not a finite number")
    return number


def _fixed(number: Decimal) -> str:
    text = f"{number:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def format_amount(value: Number, what: str = "amount") -> str:
    """AMTTYPE: two decimals, rounded half up; at most 13 integer digits."""
    try:
        number = _decimal(value, what).quantize(_AMOUNT_STEP, rounding=ROUND_HALF_UP)
    except InvalidOperation:
        raise ValueError(f"{what}: {value!r} is too large for QuickBooks") from None
    text = f"{number:f}"
    if text == "-0.00":
        text = "0.00"
    if len(text.lstrip("-").split(".")[0]) > 13:
        raise ValueError(f"{what}: {value!r} is too large for QuickBooks")
    return text


def format_quantity(value: Number, what: str = "quantity") -> str:
    """QUANTYPE/PRICETYPE: up to five decimals (rounded half up, trailing zeros dropped);
    at most 10 integer digits."""
    try:
        number = _decimal(value, what).quantize(_QUANTITY_STEP, rounding=ROUND_HALF_UP)
    except InvalidOperation:
        raise ValueError(f"{what}: {value!r} is too large for QuickBooks") from None
    text = _fixed(number)
    if len(text.lstrip("-").split(".")[0]) > 10:
        raise ValueError(f"{what}: {value!r} is too large for QuickBooks")
    return text


def format_price(value: Number, what: str = "price") -> str:
    """PRICETYPE (Rate, Cost, SalesPrice, PurchaseCost): like :func:`format_quantity` but with
    at least two decimals, as QuickBooks writes prices (``85.00``, ``3.125``)."""
    text = format_quantity(value, what)
    whole, _, fraction = text.partition(".")
    return f"{whole}.{fraction.ljust(2, '0')}"


def format_datetime(value: datetime) -> str:
    """DATETIMETYPE: ``YYYY-MM-DDThh:mm:ss``, plus ``±hh:mm`` when ``value`` has a time zone.

    A naive value means the QuickBooks machine's local time, which is what QuickBooks compares
    against (reference/qbxml.md 6). Offsets with seconds do not fit the XSD: ``ValueError``.
    """
    offset = value.utcoffset()
    if offset is not None and offset.total_seconds() % 60:
        raise ValueError(f"time-zone offset {offset} has seconds; QuickBooks cannot take it")
    return value.replace(microsecond=0).isoformat()


# --------------------------------------------------------------------------------------------
# Element writing


def _path(parent: etree._Element, tag: str) -> str:
    """``PurchaseOrderAdd/PurchaseOrderLineAdd[2]/Desc`` for a field about to be written."""
    parts = [tag]
    node: etree._Element | None = parent
    while node is not None and not str(node.tag).endswith("Rq"):
        same = sum(1 for _ in node.itersiblings(str(node.tag), preceding=True))
        siblings = same + sum(1 for _ in node.itersiblings(str(node.tag)))
        parts.append(f"{node.tag}[{same + 1}]" if siblings else str(node.tag))
        node = node.getparent()
    return "/".join(reversed(parts))


class _Writer:
    """Appends elements to a request, collecting what the text rules changed."""

    __slots__ = ("changes",)

    def __init__(self) -> None:
        self.changes: list[Replacement] = []

    def _record(self, parent: etree._Element, tag: str, cleaned: qtext.CleanText) -> str:
        if cleaned.replacements:
            field = _path(parent, tag)
            self.changes.extend(replace(r, field=field) for r in cleaned.replacements)
        return cleaned.text

    @staticmethod
    def put(parent: etree._Element, tag: str, value: str) -> etree._Element:
        element = etree.SubElement(parent, tag)
        element.text = value
        return element

    def text(self, parent: etree._Element, tag: str, value: str | None, limit: int) -> None:
        """A descriptive text: cleaned and cut to ``limit`` (changes reported)."""
        if value is None:
            return
        if len(value) <= limit and not qtext.needs_cleaning(value):
            self.put(parent, tag, value)
            return
        self.put(parent, tag, self._record(parent, tag, qtext.fit_text(value, limit)))

    def name(
        self, parent: etree._Element, tag: str, value: str | None, limit: int, *, colons: bool
    ) -> None:
        """An identifying text: cleaned, but too long is an error, never a silent cut."""
        if value is None:
            return
        try:
            cleaned = qtext.normalize_name(value, colons=colons)
        except ValueError:
            raise ValueError(f"{_path(parent, tag)}: {value!r} is empty once cleaned") from None
        if len(cleaned.text) > limit:
            raise ValueError(
                f"{_path(parent, tag)}: {cleaned.text!r} is longer than {limit} characters; "
                "convert it with service.qbxml.text first"
            )
        self.put(parent, tag, self._record(parent, tag, cleaned))

    def ident(self, parent: etree._Element, tag: str, value: str, limit: int = _ID_MAX) -> None:
        """An ID QuickBooks gave out: printable ASCII, never changed."""
        _check_id(value, limit, _path(parent, tag))
        self.put(parent, tag, value)

    def ref(self, parent: etree._Element, tag: str, ref: Ref | None, limit: int) -> None:
        """``<Tag><ListID/></Tag>`` when the ListID is known, else ``<Tag><FullName/></Tag>``."""
        if ref is None:
            return
        element = etree.SubElement(parent, tag)
        if ref.list_id:
            self.ident(element, "ListID", ref.list_id)
        else:
            assert ref.full_name is not None
            self.name(element, "FullName", ref.full_name, limit, colons=False)

    def number(
        self,
        parent: etree._Element,
        tag: str,
        value: Number | None,
        form: Callable[[Number], str] = format_quantity,
    ) -> None:
        """A QUANTYPE (default) or, with ``form=format_price``, a PRICETYPE value."""
        if value is None:
            return
        try:
            text = form(value)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"{_path(parent, tag)}: {exc}") from None
        self.put(parent, tag, text)

    def boolean(self, parent: etree._Element, tag: str, value: bool | None) -> None:
        if value is not None:
            self.put(parent, tag, "true" if value else "false")

    def day(self, parent: etree._Element, tag: str, value: date | None) -> None:
        if value is not None:
            if isinstance(value, datetime):
                raise TypeError(f"{_path(parent, tag)}: expected a date, got a datetime")
            self.put(parent, tag, value.isoformat())

    def guid(self, parent: etree._Element, tag: str, value: str | None) -> None:
        if value is not None:
            if not _GUID.match(value):
                raise ValueError(f"{_path(parent, tag)}: {value!r} is not a {{GUID}}")
            self.put(parent, tag, value)

    def address(self, parent: etree._Element, tag: str, value: Address | None) -> None:
        if value is None:
            return
        element = etree.SubElement(parent, tag)
        for child, attribute, limit in _ADDRESS_LIMITS:
            self.text(element, child, getattr(value, attribute), limit)


def _check_id(value: str, limit: int, what: str) -> None:
    if not isinstance(value, str) or not _PRINTABLE_ASCII.match(value) or len(value) > limit:
        raise ValueError(
            f"{what}: {value!r} is not a valid QuickBooks ID "
            f"(printable ASCII, 1 to {limit} characters)"
        )


def _check_request_id(request_id: str) -> None:
    if not isinstance(request_id, str) or not _PRINTABLE_ASCII.match(request_id):
        raise ValueError(f"requestID {request_id!r} must be non-empty printable ASCII")
    if len(request_id) > REQUEST_ID_MAX:
        raise ValueError(
            f"requestID {request_id!r} is {len(request_id)} characters; "
            f"QuickBooks allows {REQUEST_ID_MAX} (status 1060)"
        )


def _start(name: str, request_id: str, **attributes: str | None) -> etree._Element:
    _check_request_id(request_id)
    element = etree.Element(name, requestID=request_id)
    for key, value in attributes.items():
        if value is not None:
            element.set(key, value)
    return element


def _finish(root: etree._Element, request_id: str, writer: _Writer) -> Request:
    xml = etree.tostring(root, encoding="us-ascii", xml_declaration=False).decode("ascii")
    return Request(request_id, str(root.tag), xml, tuple(writer.changes))


# --------------------------------------------------------------------------------------------
# Queries


def _iterator_attributes(
    iterator: IteratorMode | None, iterator_id: str | None, max_returned: int | None
) -> dict[str, str | None]:
    if iterator is None:
        if iterator_id is not None:
            raise ValueError("iterator_id needs iterator='Continue' or 'Stop'")
        return {}
    if iterator == "Start":
        if iterator_id is not None:
            raise ValueError("iterator='Start' takes no iterator_id")
        if max_returned is None:
            raise ValueError("iterator='Start' needs max_returned (the page size)")
        return {"iterator": "Start"}
    if iterator_id is None:
        raise ValueError(f"iterator={iterator!r} needs the iterator_id QuickBooks returned")
    _check_id(iterator_id, 64, "iteratorID")
    return {"iterator": iterator, "iteratorID": iterator_id}


def _query_start(
    rq_name: str,
    request_id: str,
    lists: tuple[tuple[str, Sequence[str], int], tuple[str, Sequence[str], int]],
    filters: bool,
    iterator: IteratorMode | None,
    iterator_id: str | None,
    max_returned: int | None,
) -> tuple[etree._Element, _Writer]:
    """The ``…QueryRq`` element with its ID list or name list (the XSD's first choice), after
    checking that only one of the ID list, the name list and the filters is used."""
    (id_tag, ids, id_limit), (name_tag, names, name_limit) = lists
    if isinstance(ids, str) or isinstance(names, str):
        raise TypeError(f"{id_tag} and {name_tag} values are a sequence of strings, not a string")
    if sum(1 for given in (bool(ids), bool(names), filters) if given) > 1:
        raise ValueError(
            f"give one of: a {id_tag} list, a {name_tag} list, or filters (the XSD makes them a "
            "choice; ActiveStatus and the other filters cannot go with a list)"
        )
    if iterator is not None and (ids or names):
        raise ValueError("iterators are for filter queries, not for ID or name lists")
    root = _start(rq_name, request_id, **_iterator_attributes(iterator, iterator_id, max_returned))
    w = _Writer()
    for value in ids:
        w.ident(root, id_tag, value, id_limit)
    for value in names:
        w.name(root, name_tag, value, name_limit, colons=False)
    return root, w


def _max_returned(writer: _Writer, parent: etree._Element, value: int | None) -> None:
    if value is not None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"max_returned must be a positive int, got {value!r}")
        writer.put(parent, "MaxReturned", str(value))


def _list_query(
    rq_name: str,
    full_name_limit: int,
    request_id: str,
    *,
    list_ids: Sequence[str] = (),
    full_names: Sequence[str] = (),
    name_filter: NameFilter | None = None,
    name_range: tuple[str | None, str | None] | None = None,
    active_status: ActiveStatus | None = None,
    from_modified: datetime | None = None,
    max_returned: int | None = None,
    iterator: IteratorMode | None = None,
    iterator_id: str | None = None,
    include_ret_elements: Sequence[str] = (),
) -> Request:
    """A list query (``VendorQueryRq``, ``CustomerQueryRq``, ``ItemQueryRq``,
    ``ItemInventoryQueryRq``): by ``list_ids``, by ``full_names``, or by filters
    (``name_filter`` or ``name_range``, ``active_status``, ``from_modified``,
    ``max_returned``, ``iterator``). See the module docstring on inactive records."""
    filters = any(
        v is not None for v in (name_filter, name_range, active_status, from_modified, max_returned)
    )
    if name_filter is not None and name_range is not None:
        raise ValueError("give name_filter or name_range, not both")
    root, w = _query_start(
        rq_name,
        request_id,
        (("ListID", list_ids, _ID_MAX), ("FullName", full_names, full_name_limit)),
        filters,
        iterator,
        iterator_id,
        max_returned,
    )
    _max_returned(w, root, max_returned)
    if active_status is not None:
        if active_status not in ("ActiveOnly", "InactiveOnly", "All"):
            raise ValueError(f"active_status {active_status!r} is not ActiveOnly/InactiveOnly/All")
        w.put(root, "ActiveStatus", active_status)
    if from_modified is not None:
        w.put(root, "FromModifiedDate", format_datetime(from_modified))
    if name_filter is not None:
        if name_filter.match not in ("StartsWith", "Contains", "EndsWith"):
            raise ValueError(f"NameFilter match {name_filter.match!r} is not valid")
        element = etree.SubElement(root, "NameFilter")
        w.put(element, "MatchCriterion", name_filter.match)
        w.name(element, "Name", name_filter.name, full_name_limit, colons=False)
    if name_range is not None:
        element = etree.SubElement(root, "NameRangeFilter")
        for tag, value in zip(("FromName", "ToName"), name_range, strict=True):
            if value is not None:
                w.name(element, tag, value, full_name_limit, colons=False)
    _include(w, root, include_ret_elements)
    return _finish(root, request_id, w)


def _include(writer: _Writer, parent: etree._Element, elements: Sequence[str]) -> None:
    if isinstance(elements, str):
        raise TypeError("include_ret_elements is a sequence of element names")
    for element in elements:
        _check_id(element, 50, "IncludeRetElement")
        writer.put(parent, "IncludeRetElement", element)


vendor_query = partial(_list_query, "VendorQueryRq", _VENDOR_REF_MAX)
"""``VendorQueryRq`` (arguments: see :func:`_list_query`)."""
customer_query = partial(_list_query, "CustomerQueryRq", _CUSTOMER_REF_MAX)
"""``CustomerQueryRq``; a job's FullName is ``Customer:Job``."""
item_query = partial(_list_query, "ItemQueryRq", _ITEM_REF_MAX)
"""``ItemQueryRq``: items of every type; each record's ``type`` tells which."""
account_query = partial(_list_query, "AccountQueryRq", _ACCOUNT_MAX)
"""``AccountQueryRq``: accounts by ``full_names`` (``Parent:Child``) or ListIDs."""
item_inventory_query = partial(_list_query, "ItemInventoryQueryRq", _ITEM_REF_MAX)
"""``ItemInventoryQueryRq``: inventory parts only; records carry ``quantity_on_hand``."""


def _txn_query(
    rq_name: str,
    ref_number_limit: int,
    request_id: str,
    *,
    txn_ids: Sequence[str] = (),
    ref_numbers: Sequence[str] = (),
    modified_from: datetime | None = None,
    modified_to: datetime | None = None,
    vendor: Ref | None = None,
    max_returned: int | None = None,
    include_line_items: bool = True,
    include_linked_txns: bool = False,
    iterator: IteratorMode | None = None,
    iterator_id: str | None = None,
    include_ret_elements: Sequence[str] = (),
    external_guid: bool = False,
) -> Request:
    """A transaction query (``PurchaseOrderQueryRq``, ``ItemReceiptQueryRq``): by ``txn_ids``,
    by ``ref_numbers`` (exact; status 500 names a missing one; RefNumbers are not unique, so
    several records may come back for one), or by filters (``modified_from``/``modified_to``,
    ``vendor`` as EntityFilter, ``max_returned``, ``iterator``). ``external_guid`` sends
    ``OwnerID`` 0: QuickBooks returns ExternalGUID (and custom fields) in a query answer only
    then."""
    entity = vendor
    filters = any(v is not None for v in (modified_from, modified_to, entity, max_returned))
    root, w = _query_start(
        rq_name,
        request_id,
        (("TxnID", txn_ids, _ID_MAX), ("RefNumber", ref_numbers, ref_number_limit)),
        filters,
        iterator,
        iterator_id,
        max_returned,
    )
    _max_returned(w, root, max_returned)
    if modified_from is not None or modified_to is not None:
        element = etree.SubElement(root, "ModifiedDateRangeFilter")
        if modified_from is not None:
            w.put(element, "FromModifiedDate", format_datetime(modified_from))
        if modified_to is not None:
            w.put(element, "ToModifiedDate", format_datetime(modified_to))
    if entity is not None:
        element = etree.SubElement(root, "EntityFilter")
        if entity.list_id:
            w.ident(element, "ListID", entity.list_id)
        else:
            assert entity.full_name is not None
            w.name(element, "FullName", entity.full_name, _CUSTOMER_REF_MAX, colons=False)
    w.boolean(root, "IncludeLineItems", include_line_items or None)
    w.boolean(root, "IncludeLinkedTxns", include_linked_txns or None)
    _include(w, root, include_ret_elements)
    if external_guid:
        w.put(root, "OwnerID", "0")
    return _finish(root, request_id, w)


purchase_order_query = partial(_txn_query, "PurchaseOrderQueryRq", qtext.PO_REF_NUMBER_MAX)
"""``PurchaseOrderQueryRq`` (arguments: see :func:`_txn_query`); lines included by default."""
item_receipt_query = partial(
    _txn_query, "ItemReceiptQueryRq", qtext.RECEIPT_REF_NUMBER_MAX, include_linked_txns=True
)
"""``ItemReceiptQueryRq``; lines and linked transactions (the PO links) included by default."""


def company_query(request_id: str) -> Request:
    """``CompanyQueryRq``: the open company file's name (a cheap connectivity check)."""
    return _finish(_start("CompanyQueryRq", request_id), request_id, _Writer())


# --------------------------------------------------------------------------------------------
# Adds and Mods


def vendor_add(request_id: str, name: str, *, company_name: str | None = None) -> Request:
    """``VendorAddRq`` (name only, as Autotask matches vendors by name alone)."""
    root = _start("VendorAddRq", request_id)
    w = _Writer()
    add = etree.SubElement(root, "VendorAdd")
    w.name(add, "Name", name, qtext.VENDOR_NAME_MAX, colons=True)
    w.text(add, "CompanyName", company_name, _COMPANY_NAME_MAX)
    return _finish(root, request_id, w)


def customer_add(
    request_id: str, name: str, *, parent: Ref | None = None, company_name: str | None = None
) -> Request:
    """``CustomerAddRq``; with ``parent`` it is a job of that customer."""
    root = _start("CustomerAddRq", request_id)
    w = _Writer()
    add = etree.SubElement(root, "CustomerAdd")
    w.name(add, "Name", name, qtext.CUSTOMER_NAME_MAX, colons=True)
    w.ref(add, "ParentRef", parent, _CUSTOMER_REF_MAX)
    w.text(add, "CompanyName", company_name, _COMPANY_NAME_MAX)
    return _finish(root, request_id, w)


def item_inventory_add(request_id: str, item: InventoryItem) -> Request:
    """``ItemInventoryAddRq`` with the income, COGS and asset accounts."""
    root = _start("ItemInventoryAddRq", request_id)
    w = _Writer()
    add = etree.SubElement(root, "ItemInventoryAdd")
    w.name(add, "Name", item.name, qtext.ITEM_NAME_MAX, colons=True)
    w.ref(add, "ParentRef", item.parent, _ITEM_REF_MAX)
    w.text(add, "ManufacturerPartNumber", item.manufacturer_part_number, _PART_NUMBER_MAX)
    w.text(add, "SalesDesc", item.sales_desc, _TEXT_MAX)
    w.number(add, "SalesPrice", item.sales_price, format_price)
    w.ref(add, "IncomeAccountRef", item.income_account, _ACCOUNT_MAX)
    w.text(add, "PurchaseDesc", item.purchase_desc, _TEXT_MAX)
    w.number(add, "PurchaseCost", item.purchase_cost, format_price)
    w.ref(add, "COGSAccountRef", item.cogs_account, _ACCOUNT_MAX)
    w.ref(add, "PrefVendorRef", item.preferred_vendor, _VENDOR_REF_MAX)
    w.ref(add, "AssetAccountRef", item.asset_account, _ACCOUNT_MAX)
    return _finish(root, request_id, w)


#: The Mod request of each list atqb can reactivate a record in.
_MOD_OF_LIST = {"vendor": "VendorMod", "customer": "CustomerMod", "item": "ItemInventoryMod"}


def list_reactivate(request_id: str, kind: str, list_id: str, edit_sequence: str) -> Request:
    """``VendorModRq``, ``CustomerModRq`` or ``ItemInventoryModRq`` (``kind``: ``vendor``,
    ``customer``, ``item``) setting ``IsActive`` true on that record, with its EditSequence."""
    if kind not in _MOD_OF_LIST:
        raise ValueError(f"kind must be one of {sorted(_MOD_OF_LIST)}, got {kind!r}")
    name = _MOD_OF_LIST[kind]
    root = _start(f"{name}Rq", request_id)
    w = _Writer()
    mod = etree.SubElement(root, name)
    w.ident(mod, "ListID", list_id)
    w.ident(mod, "EditSequence", edit_sequence, _EDIT_SEQUENCE_MAX)
    w.boolean(mod, "IsActive", True)
    return _finish(root, request_id, w)


def _po_line_fields(
    w: _Writer, line: etree._Element, src: PurchaseOrderLine | PurchaseOrderLineMod
) -> None:
    """PurchaseOrderLineAdd/Mod fields after ItemRef, in XSD order (Mod adds
    IsManuallyClosed between SalesTaxCodeRef and OverrideItemAccountRef)."""
    w.text(line, "ManufacturerPartNumber", src.manufacturer_part_number, _PART_NUMBER_MAX)
    w.text(line, "Desc", src.desc, _TEXT_MAX)
    w.number(line, "Quantity", src.quantity)
    w.number(line, "Rate", src.rate, format_price)
    w.ref(line, "CustomerRef", src.customer, _CUSTOMER_REF_MAX)
    if isinstance(src, PurchaseOrderLineMod):
        w.boolean(line, "IsManuallyClosed", src.is_manually_closed)
    w.text(line, "Other1", src.other1, _OTHER_MAX)
    w.text(line, "Other2", src.other2, _OTHER_MAX)


def _po_header(
    w: _Writer, parent: etree._Element, src: PurchaseOrder | PurchaseOrderChange
) -> None:
    """PurchaseOrderAdd/Mod header fields from VendorRef to Other2, in XSD order (Mod adds
    IsManuallyClosed between ExpectedDate and Memo)."""
    w.ref(parent, "VendorRef", src.vendor, _VENDOR_REF_MAX)
    w.ref(parent, "ShipToEntityRef", src.ship_to, _CUSTOMER_REF_MAX)
    w.day(parent, "TxnDate", src.txn_date)
    w.name(parent, "RefNumber", src.ref_number, qtext.PO_REF_NUMBER_MAX, colons=False)
    w.address(parent, "ShipAddress", src.ship_address)
    w.day(parent, "ExpectedDate", src.expected_date)
    if isinstance(src, PurchaseOrderChange):
        w.boolean(parent, "IsManuallyClosed", src.is_manually_closed)
    w.text(parent, "Memo", src.memo, _TEXT_MAX)
    w.text(parent, "VendorMsg", src.vendor_msg, _VENDOR_MSG_MAX)
    w.text(parent, "Other1", src.other1, _PO_OTHER1_MAX)
    w.text(parent, "Other2", src.other2, _OTHER_MAX)


def purchase_order_add(request_id: str, po: PurchaseOrder) -> Request:
    """``PurchaseOrderAddRq``."""
    root = _start("PurchaseOrderAddRq", request_id)
    w = _Writer()
    add = etree.SubElement(root, "PurchaseOrderAdd")
    _po_header(w, add, po)
    w.guid(add, "ExternalGUID", po.external_guid)
    for src in po.lines:
        line = etree.SubElement(add, "PurchaseOrderLineAdd")
        w.ref(line, "ItemRef", src.item, _ITEM_REF_MAX)
        _po_line_fields(w, line, src)
    return _finish(root, request_id, w)


def purchase_order_mod(request_id: str, change: PurchaseOrderChange) -> Request:
    """``PurchaseOrderModRq`` (see :class:`~service.qbxml.types.PurchaseOrderChange` for the
    line rules: lines not listed are deleted once any line is listed)."""
    root = _start("PurchaseOrderModRq", request_id)
    w = _Writer()
    mod = etree.SubElement(root, "PurchaseOrderMod")
    w.ident(mod, "TxnID", change.txn_id)
    w.ident(mod, "EditSequence", change.edit_sequence, _EDIT_SEQUENCE_MAX)
    _po_header(w, mod, change)
    if change.lines is not None:
        if not change.lines:
            raise ValueError(
                "lines=() would delete every line of the purchase order; pass None to leave "
                "lines alone"
            )
        seen: set[str] = set()
        for src in change.lines:
            if src.txn_line_id != "-1":
                if src.txn_line_id in seen:
                    raise ValueError(f"TxnLineID {src.txn_line_id!r} is listed twice")
                seen.add(src.txn_line_id)
            elif src.item is None:
                raise ValueError("a new purchase-order line (TxnLineID -1) needs an item")
            line = etree.SubElement(mod, "PurchaseOrderLineMod")
            w.ident(line, "TxnLineID", src.txn_line_id)
            w.ref(line, "ItemRef", src.item, _ITEM_REF_MAX)
            _po_line_fields(w, line, src)
    return _finish(root, request_id, w)


def item_receipt_add(request_id: str, receipt: ItemReceipt) -> Request:
    """``ItemReceiptAddRq``; each line is linked to its PO line with
    ``ItemLineAdd/LinkToTxn(TxnID, TxnLineID)`` (reference/qbxml.md 4.11)."""
    root = _start("ItemReceiptAddRq", request_id)
    w = _Writer()
    add = etree.SubElement(root, "ItemReceiptAdd")
    w.ref(add, "VendorRef", receipt.vendor, _VENDOR_REF_MAX)
    w.day(add, "TxnDate", receipt.txn_date)
    w.name(add, "RefNumber", receipt.ref_number, qtext.RECEIPT_REF_NUMBER_MAX, colons=False)
    w.text(add, "Memo", receipt.memo, _TEXT_MAX)
    w.guid(add, "ExternalGUID", receipt.external_guid)
    for txn_id in receipt.link_to_txn_ids:
        w.ident(add, "LinkToTxnID", txn_id)
    for src in receipt.lines:
        line = etree.SubElement(add, "ItemLineAdd")
        w.ref(line, "ItemRef", src.item, _ITEM_REF_MAX)
        w.text(line, "Desc", src.desc, _TEXT_MAX)
        w.number(line, "Quantity", src.quantity)
        w.number(line, "Cost", src.cost, format_price)
        link = etree.SubElement(line, "LinkToTxn")
        w.ident(link, "TxnID", src.po_txn_id)
        w.ident(link, "TxnLineID", src.po_txn_line_id)
    return _finish(root, request_id, w)


def item_receipt_mod(request_id: str, change: ItemReceiptChange) -> Request:
    """``ItemReceiptModRq`` changing line quantities (lines not listed are deleted)."""
    root = _start("ItemReceiptModRq", request_id)
    w = _Writer()
    mod = etree.SubElement(root, "ItemReceiptMod")
    w.ident(mod, "TxnID", change.txn_id)
    w.ident(mod, "EditSequence", change.edit_sequence, _EDIT_SEQUENCE_MAX)
    seen: set[str] = set()
    for src in change.lines:
        if src.txn_line_id in seen:
            raise ValueError(f"TxnLineID {src.txn_line_id!r} is listed twice")
        seen.add(src.txn_line_id)
        line = etree.SubElement(mod, "ItemLineMod")
        w.ident(line, "TxnLineID", src.txn_line_id)
        w.ref(line, "ItemRef", src.item, _ITEM_REF_MAX)
        w.number(line, "Quantity", src.quantity)
    return _finish(root, request_id, w)


def txn_del(request_id: str, txn_type: str, txn_id: str) -> Request:
    """``TxnDelRq``: delete a transaction (``txn_type`` is a ``TxnDelType``, e.g.
    ``ItemReceipt``) with all its lines."""
    if txn_type not in TXN_DEL_TYPES:
        raise ValueError(f"cannot delete a {txn_type!r}: TxnDelType is one of {TXN_DEL_TYPES}")
    root = _start("TxnDelRq", request_id)
    w = _Writer()
    w.put(root, "TxnDelType", txn_type)
    w.ident(root, "TxnID", txn_id)
    return _finish(root, request_id, w)


def inventory_adjustment_add(request_id: str, adjustment: InventoryAdjustment) -> Request:
    """``InventoryAdjustmentAddRq``: one ``QuantityAdjustment`` per line. ``NewQuantity`` is
    absolute, so repeating such an adjustment is harmless (DESIGN.md, "Nothing twice")."""
    root = _start("InventoryAdjustmentAddRq", request_id)
    w = _Writer()
    add = etree.SubElement(root, "InventoryAdjustmentAdd")
    w.ref(add, "AccountRef", adjustment.account, _ACCOUNT_MAX)
    w.day(add, "TxnDate", adjustment.txn_date)
    w.name(add, "RefNumber", adjustment.ref_number, qtext.ADJUSTMENT_REF_NUMBER_MAX, colons=False)
    w.ref(add, "CustomerRef", adjustment.customer, _CUSTOMER_REF_MAX)
    w.text(add, "Memo", adjustment.memo, _TEXT_MAX)
    w.guid(add, "ExternalGUID", adjustment.external_guid)
    for src in adjustment.lines:
        line = etree.SubElement(add, "InventoryAdjustmentLineAdd")
        w.ref(line, "ItemRef", src.item, _ITEM_REF_MAX)
        quantity = etree.SubElement(line, "QuantityAdjustment")
        w.number(quantity, "NewQuantity", src.new_quantity)
        w.number(quantity, "QuantityDifference", src.quantity_difference)
    return _finish(root, request_id, w)


# --------------------------------------------------------------------------------------------
# Messages


def message(
    requests: Iterable[Request],
    *,
    on_error: str = "continueOnError",
    version: str = QBXML_VERSION,
) -> str:
    """The complete qbXML document for ``requests``, in the order given.

    ``<?xml version="1.0" encoding="utf-8"?>``, ``<?qbxml version="13.0"?>``, then
    ``QBXML/QBXMLMsgsRq[@onError]``. ``on_error`` is ``continueOnError`` (every request gets
    its own status) or ``stopOnError`` (later requests answer 3231); QuickBooks Desktop
    rejects ``rollbackOnError``. Raises ``ValueError`` for no requests or a repeated requestID
    (answers could not be told apart).
    """
    items = list(requests)
    if not items:
        raise ValueError("a qbXML message needs at least one request")
    if on_error not in ON_ERROR_VALUES:
        raise ValueError(f"on_error must be one of {ON_ERROR_VALUES}, got {on_error!r}")
    if not _VERSION.match(version):
        raise ValueError(f"qbXML version {version!r} is not like '13.0'")
    seen: set[str] = set()
    for request in items:
        if request.request_id in seen:
            raise ValueError(f"requestID {request.request_id!r} appears twice in one message")
        seen.add(request.request_id)
    body = "\n".join(request.xml for request in items)
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<?qbxml version="{version}"?>\n'
        f'<QBXML>\n<QBXMLMsgsRq onError="{on_error}">\n{body}\n</QBXMLMsgsRq>\n</QBXML>\n'
    )


def batches(requests: Iterable[Request], size: int) -> list[list[Request]]:
    """Split ``requests`` into consecutive groups of at most ``size`` (order kept)."""
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"batch size must be a positive int, got {size!r}")
    items = list(requests)
    return [items[i : i + size] for i in range(0, len(items), size)]
