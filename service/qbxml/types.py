"""Plain data for the qbXML layer: what the builders take and what the parser returns.

Inputs are small frozen dataclasses; quantities and money are :class:`~decimal.Decimal` (or
``int``), never ``float``. Outputs (``…Record``) carry the fields the workflow needs from
QuickBooks' ``…Ret`` elements, typed: ``Decimal`` for numbers, ``bool`` for flags, ``date``
for dates; timestamps stay the strings QuickBooks sent (their offsets are unreliable around
daylight saving time, reference/qbxml.md 6).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal, TypeVar

from service.qbxml.status import (
    Outcome,
    classify,
    classify_hresult,
    describe,
    describe_hresult,
)
from service.qbxml.text import name_key

Number = Decimal | int
MatchCriterion = Literal["StartsWith", "Contains", "EndsWith"]
ActiveStatus = Literal["ActiveOnly", "InactiveOnly", "All"]
IteratorMode = Literal["Start", "Continue", "Stop"]

#: The TxnLineID that makes a PurchaseOrderLineMod add a new line (reference/qbxml.md 4.9).
NEW_LINE_ID = "-1"


# --------------------------------------------------------------------------------------------
# Inputs


@dataclass(frozen=True, slots=True)
class Ref:
    """A reference to a QuickBooks list record. ``ListID`` is sent when known, else ``FullName``."""

    list_id: str | None = None
    full_name: str | None = None

    def __post_init__(self) -> None:
        if not self.list_id and not self.full_name:
            raise ValueError("a Ref needs a list_id or a full_name")


@dataclass(frozen=True, slots=True)
class NameFilter:
    """``NameFilter``: names that start with, contain or end with ``name`` (case-insensitive)."""

    match: MatchCriterion
    name: str


@dataclass(frozen=True, slots=True)
class Address:
    """A postal address (``ShipAddress``); lines over the QuickBooks limits are cut."""

    addr1: str | None = None
    addr2: str | None = None
    addr3: str | None = None
    addr4: str | None = None
    addr5: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class InventoryItem:
    """An inventory part to create (``ItemInventoryAdd``).

    The three accounts are required in practice (reference/qbxml.md 4.7) although the XSD makes
    them optional. ``parent`` makes it a sub-item (``Parent:Name``).
    """

    name: str
    income_account: Ref
    cogs_account: Ref
    asset_account: Ref
    parent: Ref | None = None
    manufacturer_part_number: str | None = None
    sales_desc: str | None = None
    sales_price: Number | None = None
    purchase_desc: str | None = None
    purchase_cost: Number | None = None
    preferred_vendor: Ref | None = None


@dataclass(frozen=True, slots=True)
class PurchaseOrderLine:
    """One line of a new purchase order."""

    item: Ref
    quantity: Number
    rate: Number | None = None
    desc: str | None = None
    customer: Ref | None = None
    manufacturer_part_number: str | None = None
    other1: str | None = None
    other2: str | None = None


@dataclass(frozen=True, slots=True)
class PurchaseOrder:
    """A purchase order to add (``PurchaseOrderAdd``). ``ship_to`` is a customer (or job)."""

    vendor: Ref
    lines: tuple[PurchaseOrderLine, ...]
    ref_number: str | None = None
    txn_date: date | None = None
    ship_to: Ref | None = None
    ship_address: Address | None = None
    expected_date: date | None = None
    memo: str | None = None
    vendor_msg: str | None = None
    other1: str | None = None
    other2: str | None = None
    external_guid: str | None = None

    def __post_init__(self) -> None:
        if not self.lines:
            raise ValueError("a purchase order needs at least one line")


@dataclass(frozen=True, slots=True)
class PurchaseOrderLineMod:
    """A line in a ``PurchaseOrderMod``: an existing line by ``txn_line_id`` (fields left
    ``None`` are unchanged) or, with :data:`NEW_LINE_ID`, a new line."""

    txn_line_id: str
    item: Ref | None = None
    quantity: Number | None = None
    rate: Number | None = None
    desc: str | None = None
    customer: Ref | None = None
    manufacturer_part_number: str | None = None
    is_manually_closed: bool | None = None
    other1: str | None = None
    other2: str | None = None

    @classmethod
    def keep(cls, txn_line_id: str) -> PurchaseOrderLineMod:
        """An existing line, left as it is (it must be listed or QuickBooks deletes it)."""
        return cls(txn_line_id)

    @classmethod
    def new(cls, line: PurchaseOrderLine) -> PurchaseOrderLineMod:
        """A line to add to an existing purchase order."""
        return cls(
            NEW_LINE_ID,
            item=line.item,
            quantity=line.quantity,
            rate=line.rate,
            desc=line.desc,
            customer=line.customer,
            manufacturer_part_number=line.manufacturer_part_number,
            other1=line.other1,
            other2=line.other2,
        )


@dataclass(frozen=True, slots=True)
class PurchaseOrderChange:
    """A change to an existing purchase order (``PurchaseOrderMod``).

    Header fields left ``None`` are unchanged; an empty string sends an empty element, which
    clears that text in QuickBooks. ``lines=None`` leaves every line alone. When
    ``lines`` is given, QuickBooks **deletes every existing line not listed** (reference/qbxml.md
    4.9): list each line to keep (``PurchaseOrderLineMod.keep(id)`` is enough), the changed ones,
    and new ones (``PurchaseOrderLineMod.new(line)``). ``is_manually_closed=True`` closes the PO.
    """

    txn_id: str
    edit_sequence: str
    vendor: Ref | None = None
    ship_to: Ref | None = None
    txn_date: date | None = None
    ref_number: str | None = None
    ship_address: Address | None = None
    expected_date: date | None = None
    is_manually_closed: bool | None = None
    memo: str | None = None
    vendor_msg: str | None = None
    other1: str | None = None
    other2: str | None = None
    lines: tuple[PurchaseOrderLineMod, ...] | None = None


@dataclass(frozen=True, slots=True)
class ItemReceiptLine:
    """A receipt line linked to one purchase-order line (``ItemLineAdd`` + ``LinkToTxn``).

    ``item`` may be left out: the PO line names it. ``cost`` overrides the PO line's rate.
    """

    po_txn_id: str
    po_txn_line_id: str
    quantity: Number
    item: Ref | None = None
    desc: str | None = None
    cost: Number | None = None


@dataclass(frozen=True, slots=True)
class ItemReceipt:
    """An item receipt (``ItemReceiptAdd``). Linking happens only here, never in a Mod.

    ``link_to_txn_ids`` receives *all* open lines of those purchase orders (header
    ``LinkToTxnID``); a transaction may not be linked both ways in one receipt.
    """

    vendor: Ref
    lines: tuple[ItemReceiptLine, ...] = ()
    ref_number: str | None = None
    txn_date: date | None = None
    memo: str | None = None
    external_guid: str | None = None
    link_to_txn_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.lines and not self.link_to_txn_ids:
            raise ValueError("an item receipt needs lines or a transaction to link to")
        both = {line.po_txn_id for line in self.lines} & set(self.link_to_txn_ids)
        if both:
            raise ValueError(
                f"transaction {sorted(both)[0]!r} is linked both whole and by line; "
                "QuickBooks refuses that (reference/qbxml.md 4.11)"
            )


@dataclass(frozen=True, slots=True)
class ItemReceiptLineMod:
    """A line in an ``ItemReceiptMod``: an existing line by ``txn_line_id``; ``quantity`` None
    leaves it unchanged. A Mod cannot link a line (reference/qbxml.md 4.11)."""

    txn_line_id: str
    item: Ref | None = None
    quantity: Number | None = None


@dataclass(frozen=True, slots=True)
class ItemReceiptChange:
    """A change to the lines of an existing item receipt (``ItemReceiptMod``).

    As in every transaction Mod, QuickBooks **deletes every existing line not listed**
    (reference/qbxml.md 4.9): list each line to keep.
    """

    txn_id: str
    edit_sequence: str
    lines: tuple[ItemReceiptLineMod, ...]

    def __post_init__(self) -> None:
        if not self.lines:
            raise ValueError(
                "an item receipt Mod without lines changes nothing; delete the receipt instead"
            )


@dataclass(frozen=True, slots=True)
class InventoryAdjustmentLine:
    """Set an item's quantity on hand (``new_quantity``) or move it (``quantity_difference``)."""

    item: Ref
    new_quantity: Number | None = None
    quantity_difference: Number | None = None

    def __post_init__(self) -> None:
        if (self.new_quantity is None) == (self.quantity_difference is None):
            raise ValueError("give exactly one of new_quantity and quantity_difference")


@dataclass(frozen=True, slots=True)
class InventoryAdjustment:
    """An inventory adjustment (``InventoryAdjustmentAdd``) against ``account``."""

    account: Ref
    lines: tuple[InventoryAdjustmentLine, ...]
    ref_number: str | None = None
    txn_date: date | None = None
    memo: str | None = None
    customer: Ref | None = None
    external_guid: str | None = None

    def __post_init__(self) -> None:
        if not self.lines:
            raise ValueError("an inventory adjustment needs at least one line")


# --------------------------------------------------------------------------------------------
# Records read from answers


@dataclass(frozen=True, slots=True)
class ListRecord:
    """A vendor, customer or item (``VendorRet``, ``CustomerRet``, ``Item…Ret``).

    ``type`` is the element name, e.g. ``"ItemNonInventoryRet"``: it tells an inventory part
    from another item type that owns the same name.
    """

    type: str
    list_id: str
    name: str
    full_name: str
    edit_sequence: str | None = None
    is_active: bool | None = None
    parent: Ref | None = None
    sublevel: int | None = None
    quantity_on_hand: Decimal | None = None
    time_modified: str | None = None

    @property
    def is_inventory_part(self) -> bool:
        """True for ``ItemInventoryRet``."""
        return self.type == "ItemInventoryRet"


@dataclass(frozen=True, slots=True)
class LinkedTxn:
    """A transaction linked to this one (e.g. the receipts of a purchase order)."""

    txn_id: str
    txn_type: str | None = None
    txn_date: date | None = None
    ref_number: str | None = None
    link_type: str | None = None
    amount: Decimal | None = None


@dataclass(frozen=True, slots=True)
class PurchaseOrderLineRecord:
    """A ``PurchaseOrderLineRet``."""

    txn_line_id: str
    item: Ref | None = None
    manufacturer_part_number: str | None = None
    desc: str | None = None
    quantity: Decimal | None = None
    rate: Decimal | None = None
    amount: Decimal | None = None
    customer: Ref | None = None
    received_quantity: Decimal | None = None
    is_manually_closed: bool | None = None
    other1: str | None = None
    other2: str | None = None


@dataclass(frozen=True, slots=True)
class PurchaseOrderRecord:
    """A ``PurchaseOrderRet``.

    ``has_line_groups`` is True when the PO holds item-group lines (made in QuickBooks); a line
    Mod that does not list them would delete them, so do not modify such a PO's lines.
    """

    txn_id: str
    edit_sequence: str
    txn_number: int | None = None
    ref_number: str | None = None
    txn_date: date | None = None
    vendor: Ref | None = None
    ship_to: Ref | None = None
    expected_date: date | None = None
    total_amount: Decimal | None = None
    is_manually_closed: bool | None = None
    is_fully_received: bool | None = None
    memo: str | None = None
    vendor_msg: str | None = None
    other1: str | None = None
    other2: str | None = None
    external_guid: str | None = None
    time_modified: str | None = None
    linked_txns: tuple[LinkedTxn, ...] = ()
    lines: tuple[PurchaseOrderLineRecord, ...] = ()
    has_line_groups: bool = False


@dataclass(frozen=True, slots=True)
class ItemReceiptLineRecord:
    """An ``ItemLineRet`` of an item receipt."""

    txn_line_id: str
    item: Ref | None = None
    desc: str | None = None
    quantity: Decimal | None = None
    cost: Decimal | None = None
    amount: Decimal | None = None
    customer: Ref | None = None


@dataclass(frozen=True, slots=True)
class ItemReceiptRecord:
    """An ``ItemReceiptRet``. Its links to PO lines show in ``linked_txns`` (query with
    ``include_linked_txns``; the Add answer does not show them, reference/qbxml.md 4.11)."""

    txn_id: str
    edit_sequence: str
    txn_number: int | None = None
    vendor: Ref | None = None
    txn_date: date | None = None
    total_amount: Decimal | None = None
    ref_number: str | None = None
    memo: str | None = None
    external_guid: str | None = None
    time_modified: str | None = None
    linked_txns: tuple[LinkedTxn, ...] = ()
    lines: tuple[ItemReceiptLineRecord, ...] = ()


@dataclass(frozen=True, slots=True)
class InventoryAdjustmentLineRecord:
    """An ``InventoryAdjustmentLineRet``: QuickBooks reports the change it made."""

    txn_line_id: str
    item: Ref | None = None
    quantity_difference: Decimal | None = None
    value_difference: Decimal | None = None


@dataclass(frozen=True, slots=True)
class InventoryAdjustmentRecord:
    """An ``InventoryAdjustmentRet``."""

    txn_id: str
    edit_sequence: str | None = None
    txn_number: int | None = None
    account: Ref | None = None
    txn_date: date | None = None
    ref_number: str | None = None
    memo: str | None = None
    external_guid: str | None = None
    time_modified: str | None = None
    lines: tuple[InventoryAdjustmentLineRecord, ...] = ()


@dataclass(frozen=True, slots=True)
class CompanyRecord:
    """A ``CompanyRet``."""

    company_name: str | None = None
    legal_company_name: str | None = None


@dataclass(frozen=True, slots=True)
class AccountRecord:
    """An ``AccountRet``: enough to check a configured account exists and suits its use."""

    list_id: str
    name: str
    full_name: str | None = None
    is_active: bool | None = None
    account_type: str | None = None


Record = (
    ListRecord
    | PurchaseOrderRecord
    | ItemReceiptRecord
    | InventoryAdjustmentRecord
    | CompanyRecord
    | AccountRecord
)
R = TypeVar(
    "R",
    ListRecord,
    PurchaseOrderRecord,
    ItemReceiptRecord,
    InventoryAdjustmentRecord,
    CompanyRecord,
    AccountRecord,
)


@dataclass(frozen=True, slots=True)
class Response:
    """QuickBooks' answer to one request.

    ``name`` is the ``…Rs`` element name (empty when no qbXML answer came). ``status_code`` is
    ``None`` only when there was no qbXML answer at all: then ``hresult`` carries the request
    processor's error (:func:`service.qbxml.parse.hresult_responses`), or both are ``None`` when
    QuickBooks simply did not answer this request (:func:`service.qbxml.parse.pair_responses`).
    """

    name: str
    request_id: str | None
    status_code: int | None
    status_severity: str
    status_message: str
    records: tuple[Record, ...] = ()
    ret_count: int | None = None
    iterator_remaining_count: int | None = None
    iterator_id: str | None = None
    hresult: str | None = None

    @property
    def outcome(self) -> Outcome:
        """What the workflow should do (see :mod:`service.qbxml.status`)."""
        if self.status_code is not None:
            return classify(self.status_code, self.status_message, self.status_severity)
        if self.hresult is not None:
            return classify_hresult(self.hresult)
        return Outcome.RETRY_LATER

    @property
    def uncertain(self) -> bool:
        """True when nobody knows whether QuickBooks carried the request out.

        That is the case without a qbXML status for it, unless the failure rules processing out
        (e.g. ``0x80040400``: the whole message was refused). A write with an uncertain outcome
        must be looked up before it is sent again (DESIGN.md, "Nothing twice"). With a status
        there is no doubt: errors change nothing, Info and Warn mean it was done.
        """
        if self.status_code is not None:
            return False
        if self.hresult is not None:
            return describe_hresult(self.hresult).maybe_processed
        return True

    def explain(self) -> str:
        """Plain words for an operator: code, meaning and what to do."""
        if self.status_code is not None:
            d = describe(self.status_code, self.status_message)
            return f"QuickBooks status {self.status_code}: {d.text()}"
        if self.hresult is not None:
            h = describe_hresult(self.hresult, self.status_message)
            return f"Web Connector error {h.hresult}: {h.meaning} {h.action}"
        return f"No answer from QuickBooks for this request. {self.status_message}".strip()

    def records_of(self, cls: type[R]) -> list[R]:
        """The records of one type, in answer order."""
        return [r for r in self.records if isinstance(r, cls)]

    def list_records_by_name(self) -> dict[str, ListRecord]:
        """List records keyed by :func:`~service.qbxml.text.name_key` of their FullName."""
        return {name_key(r.full_name): r for r in self.records if isinstance(r, ListRecord)}

    def find_names(self, names: Iterable[str]) -> dict[str, ListRecord | None]:
        """For each name asked about, the record QuickBooks returned for it, or ``None``.

        Use after a FullName-list lookup (a ``500`` answer still carries the found ones) or a
        ``NameFilter`` query (which may return other names too). Compared ignoring case.
        """
        found = self.list_records_by_name()
        return {name: found.get(name_key(name)) for name in names}
