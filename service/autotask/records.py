"""Typed, validated records of the Autotask entities the sync reads.

Each record is a frozen dataclass holding only the fields the sync uses, under Python names;
the Autotask wire name (camelCase, from the Swagger ``*Model`` definitions,
reference/autotask.md 7) is each field's ``Wire`` marker. ``Record.from_api(item)`` checks every
field's presence and type and raises :class:`~service.autotask.errors.RecordError` listing all
problems of the item with its entity and id; it never raises ``KeyError``/``TypeError``.

Types on the wire: integers must be JSON integers (not booleans, not strings), money and other
doubles become :class:`~decimal.Decimal` (the client parses JSON numbers with a fraction as
Decimal, so ``12.10`` stays exactly 12.10), date-times are ISO-8601 strings read as UTC
(Autotask's REST API stores and returns UTC, reference/autotask.md 6). Strings are cleaned
here, once, by :func:`clean_text`. A field typed
``X | None`` may be absent or null; any other field is required.

The record's ``ENTITY`` is the REST resource name used in URLs; ``PARENT`` names the parent
resource and child path for entities that have a child collection URL
(``PurchaseOrders/{id}/Items``, ``PurchaseOrderItems/{id}/Receiving``).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Self

from .errors import RecordError

__all__ = [
    "Company",
    "InventoryItem",
    "InventoryLocation",
    "InventoryProduct",
    "Product",
    "Project",
    "PurchaseOrder",
    "PurchaseOrderItem",
    "PurchaseOrderItemReceiving",
    "Record",
    "Ticket",
    "Wire",
    "clean_text",
    "on_hand_totals",
    "parse_date_time",
]

#: Characters no text from Autotask keeps: C0 controls but tab, line feed and carriage return
#: (NUL is refused by PostgreSQL text and JSONB; XML 1.0, hence qbXML, allows none of them),
#: DEL and the C1 controls, the bidirectional embeddings, overrides and isolates (U+202A-U+202E,
#: U+2066-U+2069; they make a name read differently from what it is), lone surrogates (not
#: encodable as UTF-8) and the noncharacters U+FFFE/U+FFFF.
_UNWANTED = dict.fromkeys(
    [
        *(c for c in range(0x20) if c not in (0x09, 0x0A, 0x0D)),
        *range(0x7F, 0xA0),
        *range(0x202A, 0x202F),
        *range(0x2066, 0x206A),
        *range(0xD800, 0xE000),
        0xFFFE,
        0xFFFF,
    ]
)


def clean_text(text: str) -> str:
    """``text`` without the characters PostgreSQL, XML or a reader cannot take (see
    ``_UNWANTED``); everything else, line breaks included, is kept as it is."""
    return text.translate(_UNWANTED)


@dataclass(frozen=True)
class Wire:
    """Marks a record field with the Autotask field it is read from:
    ``vendor_id: Annotated[int, Wire("vendorID")]``."""

    name: str


@dataclass(frozen=True)
class _FieldSpec:
    attr: str
    wire: str
    kind: type
    optional: bool


def _describe(value: object) -> str:
    text = str(value) if isinstance(value, Decimal) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


_KIND_NAMES = {
    int: "an integer",
    str: "a string",
    bool: "a boolean",
    Decimal: "a number",
    datetime: "an ISO-8601 date-time",
}


def parse_date_time(value: object) -> datetime | None:
    """An Autotask date-time (ISO-8601 text, UTC when it names no offset), or None when
    ``value`` is not one."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def _convert(kind: type, value: object) -> object:
    """The value as ``kind``; raises ValueError when it is not one."""
    if kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif kind is Decimal:
        if isinstance(value, Decimal) and value.is_finite():
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return Decimal(str(value))
    elif kind is datetime:
        parsed = parse_date_time(value)
        if parsed is not None:
            return parsed
    elif kind is str:
        if isinstance(value, str):
            return clean_text(value)
    elif isinstance(value, kind):
        return value
    raise ValueError(f"should be {_KIND_NAMES[kind]}, got {_describe(value)}")


@dataclass(frozen=True)
class Record:
    """Base of the typed records: every Autotask entity has an integer ``id``."""

    ENTITY: ClassVar[str] = ""
    PARENT: ClassVar[tuple[str, str] | None] = None

    id: Annotated[int, Wire("id")]

    @classmethod
    def _spec(cls) -> tuple[_FieldSpec, ...]:
        return _spec_of(cls)

    @classmethod
    def wire_fields(cls) -> tuple[str, ...]:
        """The Autotask field names this record reads (used as the query's ``IncludeFields``)."""
        return tuple(spec.wire for spec in cls._spec())

    @classmethod
    def from_api(cls, item: object) -> Self:
        """Validate one item from an Autotask answer; raises :class:`RecordError`."""
        if not isinstance(item, Mapping):
            raise RecordError(
                entity=cls.ENTITY,
                record_id=None,
                problems=(f"expected an object, got {_describe(item)}",),
            )
        raw_id = item.get("id")
        record_id = raw_id if isinstance(raw_id, int) and not isinstance(raw_id, bool) else None
        values: dict[str, Any] = {}
        problems: list[str] = []
        for spec in cls._spec():
            value = item.get(spec.wire)
            if value is None:
                if spec.optional:
                    values[spec.attr] = None
                else:
                    state = "null" if spec.wire in item else "missing"
                    problems.append(f"{spec.wire} is {state}")
                continue
            try:
                values[spec.attr] = _convert(spec.kind, value)
            except ValueError as exc:
                problems.append(f"{spec.wire} {exc}")
        if problems:
            raise RecordError(entity=cls.ENTITY, record_id=record_id, problems=tuple(problems))
        return cls(**values)


_SPECS: dict[type[Record], tuple[_FieldSpec, ...]] = {}


def _spec_of(cls: type[Record]) -> tuple[_FieldSpec, ...]:
    if cls in _SPECS:
        return _SPECS[cls]
    hints = typing.get_type_hints(cls, include_extras=True)
    specs = []
    for fld in dataclasses.fields(cls):
        annotated = hints[fld.name]
        assert typing.get_origin(annotated) is Annotated, f"{cls.__name__}.{fld.name}"
        hint, marker = typing.get_args(annotated)[:2]
        assert isinstance(marker, Wire)
        union = typing.get_origin(hint) in (typing.Union, types.UnionType)
        args = typing.get_args(hint) if union else (hint,)
        kinds = [arg for arg in args if arg is not type(None)]
        assert len(kinds) == 1, f"{cls.__name__}.{fld.name}"
        assert kinds[0] in _KIND_NAMES, f"{cls.__name__}.{fld.name}"
        specs.append(_FieldSpec(fld.name, marker.name, kinds[0], len(kinds) < len(args)))
    _SPECS[cls] = tuple(specs)
    return _SPECS[cls]


@dataclass(frozen=True)
class PurchaseOrder(Record):
    """A purchase order header (``PurchaseOrders``). ``status`` is a picklist value: compare it
    with values resolved by label (``client.picklist_value("PurchaseOrders", "status",
    "Canceled")``), never with a constant."""

    ENTITY: ClassVar[str] = "PurchaseOrders"

    vendor_id: Annotated[int, Wire("vendorID")]
    status: Annotated[int, Wire("status")]
    purchase_for_company_id: Annotated[int | None, Wire("purchaseForCompanyID")]
    purchase_order_number: Annotated[str | None, Wire("purchaseOrderNumber")]
    external_po_number: Annotated[str | None, Wire("externalPONumber")]
    vendor_invoice_number: Annotated[str | None, Wire("vendorInvoiceNumber")]
    general_memo: Annotated[str | None, Wire("generalMemo")]
    ship_to_name: Annotated[str | None, Wire("shipToName")]
    ship_to_address1: Annotated[str | None, Wire("shipToAddress1")]
    ship_to_address2: Annotated[str | None, Wire("shipToAddress2")]
    ship_to_city: Annotated[str | None, Wire("shipToCity")]
    ship_to_state: Annotated[str | None, Wire("shipToState")]
    ship_to_postal_code: Annotated[str | None, Wire("shipToPostalCode")]
    shipping_type: Annotated[int | None, Wire("shippingType")]
    shipping_date: Annotated[datetime | None, Wire("shippingDate")]
    freight: Annotated[Decimal | None, Wire("freight")]
    create_date_time: Annotated[datetime | None, Wire("createDateTime")]
    submit_date_time: Annotated[datetime | None, Wire("submitDateTime")]
    cancel_date_time: Annotated[datetime | None, Wire("cancelDateTime")]


@dataclass(frozen=True)
class PurchaseOrderItem(Record):
    """A PO line (``PurchaseOrderItems``; child URL ``PurchaseOrders/{id}/Items``).

    ``product_id`` is None for a line that carries a charge (``charge_id``) instead of a
    product. There is no received quantity here: it is the sum of the receiving rows.
    """

    ENTITY: ClassVar[str] = "PurchaseOrderItems"
    PARENT: ClassVar[tuple[str, str] | None] = ("PurchaseOrders", "Items")

    order_id: Annotated[int, Wire("orderID")]
    quantity: Annotated[int, Wire("quantity")]
    product_id: Annotated[int | None, Wire("productID")]
    inventory_location_id: Annotated[int | None, Wire("inventoryLocationID")]
    unit_cost: Annotated[Decimal | None, Wire("unitCost")]
    memo: Annotated[str | None, Wire("memo")]
    estimated_arrival_date: Annotated[datetime | None, Wire("estimatedArrivalDate")]
    ticket_id: Annotated[int | None, Wire("ticketID")]
    project_id: Annotated[int | None, Wire("projectID")]
    contract_id: Annotated[int | None, Wire("contractID")]
    sales_order_id: Annotated[int | None, Wire("salesOrderID")]
    charge_id: Annotated[int | None, Wire("chargeID")]


@dataclass(frozen=True)
class PurchaseOrderItemReceiving(Record):
    """One receipt transaction on a PO line (``PurchaseOrderItemReceiving``; child URL
    ``PurchaseOrderItems/{id}/Receiving``)."""

    ENTITY: ClassVar[str] = "PurchaseOrderItemReceiving"
    PARENT: ClassVar[tuple[str, str] | None] = ("PurchaseOrderItems", "Receiving")

    purchase_order_item_id: Annotated[int, Wire("purchaseOrderItemID")]
    quantity_now_receiving: Annotated[int, Wire("quantityNowReceiving")]
    quantity_previously_received: Annotated[int | None, Wire("quantityPreviouslyReceived")]
    quantity_back_ordered: Annotated[int | None, Wire("quantityBackOrdered")]
    receive_date: Annotated[datetime | None, Wire("receiveDate")]
    serial_number: Annotated[str | None, Wire("serialNumber")]
    vendor_invoice_number: Annotated[str | None, Wire("vendorInvoiceNumber")]


@dataclass(frozen=True)
class Product(Record):
    """A product (``Products``). ``unit_cost`` is None when the API user may not see costs."""

    ENTITY: ClassVar[str] = "Products"

    name: Annotated[str, Wire("name")]
    description: Annotated[str | None, Wire("description")]
    sku: Annotated[str | None, Wire("sku")]
    manufacturer_name: Annotated[str | None, Wire("manufacturerName")]
    manufacturer_product_name: Annotated[str | None, Wire("manufacturerProductName")]
    vendor_product_number: Annotated[str | None, Wire("vendorProductNumber")]
    default_vendor_id: Annotated[int | None, Wire("defaultVendorID")]
    unit_cost: Annotated[Decimal | None, Wire("unitCost")]
    unit_price: Annotated[Decimal | None, Wire("unitPrice")]
    is_active: Annotated[bool | None, Wire("isActive")]
    is_serialized: Annotated[bool | None, Wire("isSerialized")]
    product_billing_code_id: Annotated[int | None, Wire("productBillingCodeID")]


@dataclass(frozen=True)
class InventoryItem(Record):
    """On-hand of one product at one location, legacy entity (``InventoryItems``)."""

    ENTITY: ClassVar[str] = "InventoryItems"

    product_id: Annotated[int, Wire("productID")]
    inventory_location_id: Annotated[int, Wire("inventoryLocationID")]
    quantity_on_hand: Annotated[int, Wire("quantityOnHand")]
    quantity_reserved: Annotated[int | None, Wire("quantityReserved")]
    quantity_picked: Annotated[int | None, Wire("quantityPicked")]
    quantity_on_order: Annotated[int | None, Wire("quantityOnOrder")]


@dataclass(frozen=True)
class InventoryProduct(Record):
    """On-hand of one product at one location, inventory model since Autotask 2022.1
    (``InventoryProducts``; reference/autotask.md 7.6)."""

    ENTITY: ClassVar[str] = "InventoryProducts"

    product_id: Annotated[int, Wire("productID")]
    inventory_location_id: Annotated[int, Wire("inventoryLocationID")]
    on_hand_units: Annotated[int, Wire("onHandUnits")]
    available_units: Annotated[int | None, Wire("availableUnits")]
    reserved_units: Annotated[int | None, Wire("reservedUnits")]
    picked_units: Annotated[int | None, Wire("pickedUnits")]


@dataclass(frozen=True)
class InventoryLocation(Record):
    """A stock location (``InventoryLocations``)."""

    ENTITY: ClassVar[str] = "InventoryLocations"

    location_name: Annotated[str, Wire("locationName")]
    is_active: Annotated[bool | None, Wire("isActive")]
    is_default: Annotated[bool | None, Wire("isDefault")]


@dataclass(frozen=True)
class Company(Record):
    """An organization (``Companies``): vendor, customer, ... ``company_type`` is a picklist
    value: resolve "Vendor"/"Customer" by label with ``client.picklist_value``."""

    ENTITY: ClassVar[str] = "Companies"

    company_name: Annotated[str, Wire("companyName")]
    company_type: Annotated[int | None, Wire("companyType")]
    company_number: Annotated[str | None, Wire("companyNumber")]
    is_active: Annotated[bool | None, Wire("isActive")]
    parent_company_id: Annotated[int | None, Wire("parentCompanyID")]
    address1: Annotated[str | None, Wire("address1")]
    address2: Annotated[str | None, Wire("address2")]
    city: Annotated[str | None, Wire("city")]
    state: Annotated[str | None, Wire("state")]
    postal_code: Annotated[str | None, Wire("postalCode")]
    phone: Annotated[str | None, Wire("phone")]
    last_tracked_modified_date_time: Annotated[datetime | None, Wire("lastTrackedModifiedDateTime")]


@dataclass(frozen=True)
class Ticket(Record):
    """A ticket, for the company a PO line's ticket belongs to (``Tickets``)."""

    ENTITY: ClassVar[str] = "Tickets"

    company_id: Annotated[int, Wire("companyID")]
    ticket_number: Annotated[str | None, Wire("ticketNumber")]
    title: Annotated[str | None, Wire("title")]


@dataclass(frozen=True)
class Project(Record):
    """A project, for the company a PO line's project belongs to (``Projects``)."""

    ENTITY: ClassVar[str] = "Projects"

    company_id: Annotated[int, Wire("companyID")]
    project_name: Annotated[str | None, Wire("projectName")]
    project_number: Annotated[str | None, Wire("projectNumber")]


def on_hand_totals(stock: Iterable[InventoryItem | InventoryProduct]) -> dict[int, int]:
    """Total on-hand per product id across all locations (QuickBooks has no locations;
    the official extension sends this total, reference/autotask.md 10.4)."""
    totals: dict[int, int] = {}
    for row in stock:
        units = row.quantity_on_hand if isinstance(row, InventoryItem) else row.on_hand_units
        totals[row.product_id] = totals.get(row.product_id, 0) + units
    return totals
