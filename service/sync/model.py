"""The Autotask-shaped data the sync takes: what the poller reads, in the shape the sync needs.

Plain frozen dataclasses, checked when made: a bad value raises :class:`SyncInputError` naming
the record and the field, before anything is enqueued. Quantities and money are
:class:`~decimal.Decimal` (or ``int``), never ``float``. Ids are Autotask's.

A purchase order carries everything its transfer needs: the vendor, the organization it is
purchased for (QuickBooks' ship-to customer), each line's product and the organization of the
line's ticket or project (the line's QuickBooks customer), and the receiving rows (one per receipt
transaction in Autotask, ``PurchaseOrderItemReceiving``). On-hand counts come as one
:class:`StockLevel` per product and location; QuickBooks has no locations, so the sync uses the
total (reference/autotask.md 10.4).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

Number = Decimal | int

#: Autotask PO status labels that mean "never transfer" (the seeds: "any status except Canceled").
CANCELED_STATUSES = frozenset({"canceled", "cancelled"})


class SyncInputError(ValueError):
    """Data handed to the sync that it cannot use; the message names the record and field."""


def _number(value: object, what: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise SyncInputError(f"{what}: expected a Decimal or int, got {value!r}")
    number = Decimal(value)
    if not number.is_finite():
        raise SyncInputError(f"{what}: {value!r} is not a finite number")
    return number


def _id(value: object, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise SyncInputError(f"{what}: an Autotask id is a positive int, got {value!r}")


def _name(value: object, what: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise SyncInputError(f"{what}: a name is needed, got {value!r}")


@dataclass(frozen=True)
class Company:
    """An Autotask organization: a vendor, or a customer a PO or line is for."""

    id: int
    name: str

    def __post_init__(self) -> None:
        _id(self.id, "company id")
        _name(self.name, f"company {self.id} name")


@dataclass(frozen=True)
class Product:
    """An Autotask product: a QuickBooks inventory part of the same name (31 characters)."""

    id: int
    name: str
    description: str | None = None
    manufacturer_part_number: str | None = None
    unit_cost: Number | None = None
    unit_price: Number | None = None

    def __post_init__(self) -> None:
        _id(self.id, "product id")
        _name(self.name, f"product {self.id} name")
        for what in ("unit_cost", "unit_price"):
            value = getattr(self, what)
            if value is not None and _number(value, f"product {self.id} {what}") < 0:
                raise SyncInputError(f"product {self.id} {what}: {value} is negative")


@dataclass(frozen=True)
class PurchaseOrderLine:
    """A PO line (``PurchaseOrderItems``). ``customer`` is the organization of the line's
    ticket or project, if any. Lines without a product (charges) are not the sync's business:
    the poller leaves them out."""

    id: int
    product: Product
    quantity: Number
    unit_cost: Number | None = None
    memo: str | None = None
    customer: Company | None = None

    def __post_init__(self) -> None:
        _id(self.id, "PO line id")
        if not isinstance(self.product, Product):
            raise SyncInputError(f"PO line {self.id}: product must be a Product")
        if _number(self.quantity, f"PO line {self.id} quantity") < 0:
            raise SyncInputError(f"PO line {self.id} quantity: {self.quantity} is negative")
        if self.unit_cost is not None and _number(self.unit_cost, f"PO line {self.id} cost") < 0:
            raise SyncInputError(f"PO line {self.id} unit_cost: {self.unit_cost} is negative")


@dataclass(frozen=True)
class Receiving:
    """One receipt transaction on a PO line (``PurchaseOrderItemReceiving``). A negative
    quantity takes a receipt back (un-receiving): the line's QuickBooks receipts are lowered."""

    id: int
    line_id: int
    quantity: Number
    received_on: date | None = None

    def __post_init__(self) -> None:
        _id(self.id, "receiving id")
        _id(self.line_id, f"receiving {self.id} line id")
        if _number(self.quantity, f"receiving {self.id} quantity") == 0:
            raise SyncInputError(f"receiving {self.id} quantity: 0 received nothing")


@dataclass(frozen=True)
class PurchaseOrder:
    """An Autotask purchase order with its lines and receiving rows.

    ``status`` is the status *label* (the poller resolves the picklist value); a Canceled PO is
    never transferred, and one canceled after its transfer is closed in QuickBooks.
    ``ship_to`` is the organization the PO is purchased for. ``memo`` is the general memo.

    ``linked_number``: the External P.O. # someone other than atqb set (by hand, or Autotask's
    own extension): the PO is already in QuickBooks under that number. Its transfer links to the
    QuickBooks PO with that number and vendor instead of adding one; when there is none, the
    transfer fails and says so, unless ``add_if_unlinked`` (the PO was selected with
    ``atqb transfer``): then it is added as usual.
    """

    id: int
    vendor: Company
    lines: tuple[PurchaseOrderLine, ...]
    number: str | None = None
    status: str = "Submitted"
    ship_to: Company | None = None
    memo: str | None = None
    order_date: date | None = None
    receivings: tuple[Receiving, ...] = ()
    linked_number: str | None = None
    add_if_unlinked: bool = False

    def __post_init__(self) -> None:
        _id(self.id, "PO id")
        if self.linked_number is not None and not (
            isinstance(self.linked_number, str) and self.linked_number.strip()
        ):
            raise SyncInputError(f"PO {self.id}: linked_number must be a non-empty string or None")
        if not isinstance(self.vendor, Company):
            raise SyncInputError(f"PO {self.id}: vendor must be a Company")
        if self.ship_to is not None and not isinstance(self.ship_to, Company):
            raise SyncInputError(f"PO {self.id}: ship_to must be a Company or None")
        object.__setattr__(self, "lines", tuple(self.lines))
        object.__setattr__(self, "receivings", tuple(self.receivings))
        ids = [line.id for line in self.lines]
        if len(set(ids)) != len(ids):
            raise SyncInputError(f"PO {self.id}: a line id appears twice")
        for receiving in self.receivings:
            if receiving.line_id not in ids:
                raise SyncInputError(
                    f"PO {self.id}: receiving {receiving.id} is for line {receiving.line_id}, "
                    "which is not on the PO"
                )
        if len({r.id for r in self.receivings}) != len(self.receivings):
            raise SyncInputError(f"PO {self.id}: a receiving id appears twice")

    @property
    def canceled(self) -> bool:
        """Whether Autotask says the PO is canceled."""
        return self.status.strip().lower() in CANCELED_STATUSES

    @property
    def label(self) -> str:
        """How people name the PO: its Autotask number, or its id."""
        return self.number or str(self.id)

    def customers(self) -> list[Company]:
        """The ship-to organization and the lines' organizations, each once."""
        found: dict[int, Company] = {}
        for company in [self.ship_to, *(line.customer for line in self.lines)]:
            if company is not None:
                found.setdefault(company.id, company)
        return list(found.values())

    def products(self) -> list[Product]:
        """The products of the lines, each once."""
        found: dict[int, Product] = {}
        for line in self.lines:
            found.setdefault(line.product.id, line.product)
        return list(found.values())


@dataclass(frozen=True)
class StockLevel:
    """On-hand units of a product at one Autotask inventory location."""

    product_id: int
    location_id: int
    on_hand: Number

    def __post_init__(self) -> None:
        _id(self.product_id, "stock product id")
        _id(self.location_id, f"stock of product {self.product_id}: location id")
        _number(self.on_hand, f"stock of product {self.product_id} on_hand")


def on_hand_totals(stock: Iterable[StockLevel]) -> dict[int, Decimal]:
    """Units on hand per product, summed over every location (QuickBooks has none)."""
    totals: dict[int, Decimal] = {}
    for row in stock:
        totals[row.product_id] = totals.get(row.product_id, Decimal(0)) + Decimal(row.on_hand)
    return totals
