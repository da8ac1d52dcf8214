"""The simulated company file: list records, transactions, IDs, clock and name rules.

Rules modelled here (reference/qbxml.md 6 and 8):

* ListID/TxnID/TxnLineID look like ``80000001-1700000000``: a hex sequence, a dash and the
  10-digit Unix time of creation. List records count up from ``80000001``; transactions and their
  lines share one counter from ``1``.
* ``EditSequence`` is a string holding the Unix time of the change, like every real sample, and is
  bumped past the previous value when two changes fall in one second, so it changes on every edit.
* Names compare case-insensitively. Customers, vendors, employees and other names share one
  namespace; all item types share another; accounts have their own; inactive records keep their
  names. Jobs and sub-items are unique within their parent (the key is the FullName).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Literal, NamedTuple, TypedDict

from lxml import etree

from service.simulators.quickbooks import errors

EntityKind = Literal["Vendor", "Customer", "Employee", "OtherName"]
ItemType = Literal["Inventory", "NonInventory", "Service", "OtherCharge"]
ENTITY_KINDS: tuple[EntityKind, ...] = ("Vendor", "Customer", "Employee", "OtherName")
ITEM_TYPES: tuple[ItemType, ...] = ("Inventory", "NonInventory", "Service", "OtherCharge")

#: Accounts every simulated company starts with: (name, AccountType).
DEFAULT_ACCOUNTS: tuple[tuple[str, str], ...] = (
    ("Checking", "Bank"),
    ("Accounts Receivable", "AccountsReceivable"),
    ("Inventory Asset", "OtherCurrentAsset"),
    ("Accounts Payable", "AccountsPayable"),
    ("Opening Balance Equity", "Equity"),
    ("Sales", "Income"),
    ("Autotask Income from PO", "Income"),
    ("Cost of Goods Sold", "CostOfGoodsSold"),
    ("Inventory Adjustment", "CostOfGoodsSold"),
    ("Purchase Orders", "NonPosting"),
)

#: Entries of the small lists the simulator does not model beyond their names.
DEFAULT_SIMPLE_LISTS: dict[str, tuple[str, ...]] = {
    "Terms": ("Net 30", "Net 15", "Due on receipt"),
    "SalesTaxCode": ("Tax", "Non"),
    "Template": ("Custom Purchase Order",),
    "ShipMethod": ("UPS", "FedEx", "US Mail"),
}


#: qbXML versions of a QuickBooks whose newest spec is 13.0 (US 2014; reference/qbxml.md 10.2).
QBXML_VERSIONS: tuple[str, ...] = (
    "1.0", "1.1", "2.0", "2.1", "3.0", "4.0", "4.1", "5.0", "6.0", "7.0", "8.0", "9.0", "10.0",
    "11.0", "12.0", "13.0",
)  # fmt: skip


@dataclass(kw_only=True)
class HostInfo:
    """What HostQuery and CompanyQuery report."""

    product_name: str = "QuickBooks Pro 2014 (simulated)"
    major_version: str = "24"
    minor_version: str = "0"
    country: str = "US"
    qbxml_versions: tuple[str, ...] = QBXML_VERSIONS
    file_mode: str = "SingleUser"
    company_name: str = "Simulated Company"


class ListCore(TypedDict):
    """Keyword arguments every new list record gets from :meth:`Company.list_core`."""

    list_id: str
    time_created: datetime
    time_modified: datetime
    edit_sequence: str


class TxnCore(TypedDict):
    """Keyword arguments every new transaction gets from :meth:`Company.txn_core`."""

    txn_id: str
    txn_number: int
    time_created: datetime
    time_modified: datetime
    edit_sequence: str


class Ref(NamedTuple):
    """A resolved reference: what QuickBooks writes inside every ``…Ref`` of an answer."""

    list_id: str
    full_name: str


@dataclass(kw_only=True)
class ListRecord:
    """What every list element has (``ListCore`` in the schema), plus echoed request fields."""

    list_id: str
    name: str
    full_name: str
    is_active: bool = True
    time_created: datetime
    time_modified: datetime
    edit_sequence: str
    parent: Ref | None = None
    #: Request elements stored as given (references already resolved) and echoed in the ``…Ret``.
    fields: list[etree._Element] = field(default_factory=list)

    @property
    def ref(self) -> Ref:
        return Ref(self.list_id, self.full_name)

    @property
    def sublevel(self) -> int:
        return self.full_name.count(":")


@dataclass(kw_only=True)
class Entity(ListRecord):
    """A customer (or job), vendor, employee or other name."""

    kind: EntityKind
    balance: Decimal = Decimal(0)


@dataclass(kw_only=True)
class Account(ListRecord):
    account_type: str


@dataclass(kw_only=True)
class Item(ListRecord):
    """An item of any type; quantities are kept for inventory parts only."""

    item_type: ItemType
    income_account: Ref | None = None
    cogs_account: Ref | None = None
    asset_account: Ref | None = None
    #: Expense account of non-inventory, service and other-charge items.
    account: Ref | None = None
    purchase_cost: Decimal | None = None
    quantity_on_hand: Decimal = Decimal(0)
    #: Inventory value, for AverageCost and adjustment ValueDifference.
    total_value: Decimal = Decimal(0)

    @property
    def purchase_desc(self) -> str | None:
        """The purchase description QuickBooks copies onto purchase-order lines."""
        inside = {"SalesOrPurchase": "Desc", "SalesAndPurchase": "PurchaseDesc"}
        for element in self.fields:
            found = element if element.tag == "PurchaseDesc" else None
            if element.tag in inside:
                found = element.find(inside[element.tag])
            if found is not None:
                return found.text or ""
        return None

    @property
    def average_cost(self) -> Decimal:
        if self.quantity_on_hand > 0:
            return self.total_value / self.quantity_on_hand
        return self.purchase_cost or Decimal(0)


@dataclass(kw_only=True)
class Txn:
    """What every transaction has (``TxnCore``), plus echoed request fields."""

    txn_id: str
    txn_number: int
    time_created: datetime
    time_modified: datetime
    edit_sequence: str
    txn_date: date
    ref_number: str | None = None
    memo: str | None = None
    fields: list[etree._Element] = field(default_factory=list)


@dataclass(kw_only=True)
class PurchaseOrderLine:
    txn_line_id: str
    item: Ref | None = None
    desc: str | None = None
    quantity: Decimal | None = None
    rate: Decimal | None = None
    amount: Decimal | None = None
    customer: Ref | None = None
    received_quantity: Decimal = Decimal(0)
    is_manually_closed: bool = False
    fields: list[etree._Element] = field(default_factory=list)

    @property
    def is_fully_received(self) -> bool:
        return self.quantity is not None and self.received_quantity >= self.quantity

    @property
    def is_closed(self) -> bool:
        """Closed lines take no more receipts (reference/qbxml.md 4.11, status 570)."""
        return self.is_manually_closed or self.is_fully_received

    @property
    def open_quantity(self) -> Decimal:
        if self.quantity is None:
            return Decimal(0)
        return max(self.quantity - self.received_quantity, Decimal(0))


@dataclass(kw_only=True)
class PurchaseOrder(Txn):
    vendor: Ref | None = None
    ship_to: Ref | None = None
    is_manually_closed: bool = False
    lines: list[PurchaseOrderLine] = field(default_factory=list)

    @property
    def total_amount(self) -> Decimal:
        return sum((line.amount or Decimal(0) for line in self.lines), Decimal(0))

    @property
    def is_fully_received(self) -> bool:
        quantified = [line for line in self.lines if line.quantity is not None]
        return bool(quantified) and all(line.is_fully_received for line in quantified)

    def line(self, txn_line_id: str) -> PurchaseOrderLine | None:
        return next((ln for ln in self.lines if ln.txn_line_id == txn_line_id), None)


@dataclass(kw_only=True)
class ItemReceiptLine:
    txn_line_id: str
    item: Ref
    desc: str | None = None
    quantity: Decimal = Decimal(0)
    cost: Decimal | None = None
    amount: Decimal = Decimal(0)
    customer: Ref | None = None
    #: ``(purchase order TxnID, its TxnLineID)`` the line received against.
    link: tuple[str, str] | None = None
    fields: list[etree._Element] = field(default_factory=list)


@dataclass(kw_only=True)
class ExpenseLine:
    txn_line_id: str
    account: Ref | None = None
    amount: Decimal | None = None
    fields: list[etree._Element] = field(default_factory=list)


@dataclass(kw_only=True)
class ItemReceipt(Txn):
    vendor: Ref
    ap_account: Ref
    lines: list[ItemReceiptLine] = field(default_factory=list)
    expense_lines: list[ExpenseLine] = field(default_factory=list)

    @property
    def total_amount(self) -> Decimal:
        items = sum((line.amount for line in self.lines), Decimal(0))
        return items + sum((ln.amount or Decimal(0) for ln in self.expense_lines), Decimal(0))

    @property
    def linked_txn_ids(self) -> list[str]:
        """The purchase orders this receipt received against, in line order."""
        seen: dict[str, None] = {}
        for line in self.lines:
            if line.link is not None:
                seen.setdefault(line.link[0], None)
        return list(seen)


@dataclass(kw_only=True)
class InventoryAdjustmentLine:
    txn_line_id: str
    item: Ref
    quantity_difference: Decimal
    value_difference: Decimal


@dataclass(kw_only=True)
class InventoryAdjustment(Txn):
    account: Ref
    customer: Ref | None = None
    lines: list[InventoryAdjustmentLine] = field(default_factory=list)


def name_key(full_name: str) -> str:
    """Names are case-insensitive (reference/qbxml.md 8.2)."""
    return full_name.lower()


class Company:
    """The whole company file. Not thread-safe by itself: the simulator holds one lock."""

    def __init__(
        self,
        *,
        clock: Callable[[], datetime],
        utc_offset: timedelta,
        default_accounts: bool = True,
        host: HostInfo | None = None,
    ) -> None:
        self.clock = clock
        self.host = host or HostInfo()
        self.zone = timezone(utc_offset)
        self._next_list = 0x80000001
        self._next_txn = 0x1
        self._txn_number = 0
        #: Bumped by every new or modified record; caches of derived quantities compare it.
        self._generation = 0
        self._on_order: dict[str, Decimal] = {}
        self._on_order_generation = -1
        self.accounts: dict[str, Account] = {}
        self.entities: dict[str, Entity] = {}
        self.items: dict[str, Item] = {}
        #: Classes, terms, ship methods, templates, sales tax codes…: kind -> ListID -> record.
        self.simple_lists: dict[str, dict[str, ListRecord]] = {}
        self.purchase_orders: dict[str, PurchaseOrder] = {}
        self.item_receipts: dict[str, ItemReceipt] = {}
        self.inventory_adjustments: dict[str, InventoryAdjustment] = {}
        #: Accounting preferences' closing date: transactions dated on or before it are refused.
        self.closing_date: date | None = None
        if default_accounts:
            for name, account_type in DEFAULT_ACCOUNTS:
                self.add_account(name, account_type)
        for kind, names in DEFAULT_SIMPLE_LISTS.items():
            for name in names:
                self.add_simple(kind, name)

    # ---------------------------------------------------------------- clock and IDs

    def now(self) -> datetime:
        """The current time on the QuickBooks machine, to the second."""
        return self.clock().astimezone(self.zone).replace(microsecond=0)

    def _unix(self, moment: datetime) -> int:
        return int(moment.timestamp())

    def new_list_id(self, moment: datetime) -> str:
        list_id = f"{self._next_list:X}-{self._unix(moment):010d}"
        self._next_list += 1
        return list_id

    def new_txn_id(self, moment: datetime) -> str:
        """A TxnID or TxnLineID (they share one counter, as in the real samples)."""
        txn_id = f"{self._next_txn:X}-{self._unix(moment):010d}"
        self._next_txn += 1
        return txn_id

    def new_txn_number(self) -> int:
        self._txn_number += 1
        self._generation += 1
        return self._txn_number

    def edit_sequence(self, moment: datetime, previous: str | None = None) -> str:
        value = self._unix(moment)
        if previous is not None and previous.isdigit():
            value = max(value, int(previous) + 1)
        return str(value)

    def touch(self, record: ListRecord | Txn) -> None:
        """Record a modification: new TimeModified and a new EditSequence."""
        moment = self.now()
        record.time_modified = moment
        record.edit_sequence = self.edit_sequence(moment, record.edit_sequence)
        self._generation += 1  # transactions changed: derived quantities are recomputed

    def list_core(self) -> ListCore:
        """ListID, times and EditSequence for a new list record."""
        moment = self.now()
        return ListCore(
            list_id=self.new_list_id(moment),
            time_created=moment,
            time_modified=moment,
            edit_sequence=self.edit_sequence(moment),
        )

    def txn_core(self) -> TxnCore:
        """TxnID, TxnNumber, times and EditSequence for a new transaction."""
        moment = self.now()
        return TxnCore(
            txn_id=self.new_txn_id(moment),
            txn_number=self.new_txn_number(),
            time_created=moment,
            time_modified=moment,
            edit_sequence=self.edit_sequence(moment),
        )

    def today(self) -> date:
        return self.now().date()

    # ---------------------------------------------------------------- names

    def entity_by_name(self, full_name: str) -> Entity | None:
        key = name_key(full_name)
        return next((e for e in self.entities.values() if name_key(e.full_name) == key), None)

    def item_by_name(self, full_name: str) -> Item | None:
        key = name_key(full_name)
        return next((i for i in self.items.values() if name_key(i.full_name) == key), None)

    def account_by_name(self, full_name: str) -> Account | None:
        key = name_key(full_name)
        return next((a for a in self.accounts.values() if name_key(a.full_name) == key), None)

    def full_name(self, name: str, parent: Ref | None) -> str:
        return name if parent is None else f"{parent.full_name}:{name}"

    def check_entity_name_free(self, full_name: str) -> None:
        """Raise 3100 when any customer, vendor, employee or other name owns the name."""
        if self.entity_by_name(full_name) is not None:
            raise errors.name_in_use(full_name.rsplit(":", 1)[-1])

    def check_item_name_free(self, full_name: str) -> None:
        """Raise 3100 when an item of any type owns the name."""
        if self.item_by_name(full_name) is not None:
            raise errors.name_in_use(full_name.rsplit(":", 1)[-1])

    # ---------------------------------------------------------------- direct creation

    def add_account(
        self, name: str, account_type: str, *, parent: Ref | None = None, is_active: bool = True
    ) -> Account:
        full_name = self.full_name(name, parent)
        if self.account_by_name(full_name) is not None:
            raise errors.name_in_use(name)
        account = Account(
            name=name,
            full_name=full_name,
            parent=parent,
            is_active=is_active,
            account_type=account_type,
            **self.list_core(),
        )
        self.accounts[account.list_id] = account
        return account

    def add_entity(
        self,
        kind: EntityKind,
        name: str,
        *,
        parent: Ref | None = None,
        is_active: bool = True,
        fields: Iterable[etree._Element] = (),
    ) -> Entity:
        full_name = self.full_name(name, parent)
        self.check_entity_name_free(full_name)
        entity = Entity(
            kind=kind,
            name=name,
            full_name=full_name,
            parent=parent,
            is_active=is_active,
            fields=list(fields),
            **self.list_core(),
        )
        self.entities[entity.list_id] = entity
        return entity

    def add_item(self, item: Item) -> Item:
        self.check_item_name_free(item.full_name)
        self.items[item.list_id] = item
        return item

    def add_simple(self, kind: str, name: str) -> ListRecord:
        entries = self.simple_lists.setdefault(kind, {})
        if any(name_key(e.full_name) == name_key(name) for e in entries.values()):
            raise errors.name_in_use(name)
        record = ListRecord(name=name, full_name=name, **self.list_core())
        entries[record.list_id] = record
        return record

    def simple_ref(self, kind: str, name: str) -> Ref | None:
        """The entry of a small list (``Template``, ``SalesTaxCode``…) with this name."""
        entries = self.simple_lists.get(kind, {}).values()
        found = next((e for e in entries if name_key(e.full_name) == name_key(name)), None)
        return None if found is None else found.ref

    # ---------------------------------------------------------------- derived quantities

    def quantity_on_order(self, item_id: str) -> Decimal:
        """Open quantity of the item on purchase orders that are not closed."""
        if self._on_order_generation != self._generation:
            on_order: dict[str, Decimal] = {}
            for po in self.purchase_orders.values():
                if po.is_manually_closed:
                    continue
                for line in po.lines:
                    if line.item is not None and not line.is_closed:
                        key = line.item.list_id
                        on_order[key] = on_order.get(key, Decimal(0)) + line.open_quantity
            self._on_order, self._on_order_generation = on_order, self._generation
        return self._on_order.get(item_id, Decimal(0))

    def receipts_linked_to(self, po_txn_id: str) -> list[ItemReceipt]:
        return [r for r in self.item_receipts.values() if po_txn_id in r.linked_txn_ids]
