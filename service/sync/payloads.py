"""The payloads of the sync's job kinds, as frozen dataclasses read from and written to JSON.

A job's payload is what the enqueue API decided the job must do; it never changes after the
enqueue. Each class reads a stored payload with ``from_json`` (a malformed one raises
:class:`~service.sync.jsondata.MalformedJson` naming the field, which fails the job with that
message) and writes it with ``to_json``, giving exactly the JSON (keys and values) that earlier
versions stored, so jobs already in a database still load.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from service.sync.jsondata import Fields

#: The payload fields of an item job only, in the order they are stored.
_ITEM_KEYS = ("description", "manufacturer_part_number", "unit_cost", "unit_price")


@dataclass(frozen=True)
class ItemFacts:
    """What an item job adds to the name: the product's description, manufacturer part number,
    unit cost and unit price (prices as text, as the payload keeps them)."""

    description: str | None = None
    manufacturer_part_number: str | None = None
    unit_cost: str | None = None
    unit_price: str | None = None


@dataclass(frozen=True)
class EnsurePayload:
    """The payload of an ensure job: the Autotask record, its name in Autotask and in QuickBooks,
    an item's facts, and the other Autotask records whose names become the same QuickBooks name
    (``collides_with``: id and name of each)."""

    autotask_id: int
    name: str
    qb_name: str
    item: ItemFacts | None = None
    collides_with: tuple[tuple[int, str], ...] = ()

    @classmethod
    def from_json(cls, data: object, kind: str = "ensure") -> EnsurePayload:
        """Read a stored payload; :class:`MalformedJson` names what is wrong."""
        fields = Fields(data, f"the {kind} job's payload")
        item = None
        if any(key in fields.data for key in _ITEM_KEYS):
            item = ItemFacts(*(fields.optional(key, str) for key in _ITEM_KEYS))
        clashes = []
        for each in fields.optional("collides_with", list) or []:
            other = Fields(each, f"the {kind} job's payload (collides_with)")
            clashes.append((other.required("id", int), other.required("name", str)))
        return cls(
            fields.required("autotask_id", int),
            fields.required("name", str),
            fields.required("qb_name", str),
            item,
            tuple(clashes),
        )

    def to_json(self) -> dict[str, Any]:
        """The payload as stored (an item's facts and collisions only when there are some)."""
        data: dict[str, Any] = {
            "autotask_id": self.autotask_id,
            "name": self.name,
            "qb_name": self.qb_name,
        }
        if self.item is not None:
            data.update(asdict(self.item))
        if self.collides_with:
            data["collides_with"] = [{"id": i, "name": n} for i, n in self.collides_with]
        return data


@dataclass(frozen=True)
class InventoryPayload:
    """The payload of an inventory sync: the Autotask products whose On Hand it sets, and why
    (the words of its adjustment's memo)."""

    product_ids: tuple[int, ...]
    reason: str

    @classmethod
    def from_json(cls, data: object) -> InventoryPayload:
        """Read a stored payload; :class:`MalformedJson` names what is wrong."""
        fields = Fields(data, "the inventory_adjustment job's payload")
        return cls(fields.ints("product_ids"), fields.required("reason", str))

    def to_json(self) -> dict[str, Any]:
        """The payload as stored."""
        return {"product_ids": list(self.product_ids), "reason": self.reason}


@dataclass(frozen=True)
class PoLineOf:
    """The Autotask PO line a receipt or correction job is about: the PO (id, label), the line,
    its product and the product's name."""

    po_id: int
    po_label: str
    line_id: int
    product_id: int
    item: str

    @classmethod
    def read(cls, fields: Fields) -> PoLineOf:
        """The line's fields of a payload."""
        return cls(
            fields.required("po_id", int),
            fields.required("po_label", str),
            fields.required("line_id", int),
            fields.required("product_id", int),
            fields.required("item", str),
        )


@dataclass(frozen=True)
class ReceiptPayload:
    """The payload of an item receipt: the line, the receipt's RefNumber, ExternalGUID and date
    (ISO, None: today), and what to receive: up to ``target`` on the line (received mode) or
    the ``quantity`` of one Autotask receiving row (unreceived mode, ``receiving_id``)."""

    line: PoLineOf
    ref_number: str
    guid: str
    date: str | None
    target: str | None = None
    receiving_id: int | None = None
    quantity: str | None = None

    @classmethod
    def from_json(cls, data: object) -> ReceiptPayload:
        """Read a stored payload; :class:`MalformedJson` names what is wrong."""
        fields = Fields(data, "the item_receipt job's payload")
        row = "target" not in fields.data
        return cls(
            PoLineOf.read(fields),
            fields.required("ref_number", str),
            fields.required("guid", str),
            fields.optional("date", str),
            target=None if row else fields.required("target", str),
            receiving_id=fields.required("receiving_id", int) if row else None,
            quantity=fields.required("quantity", str) if row else None,
        )

    def to_json(self) -> dict[str, Any]:
        """The payload as stored (``target``, or ``receiving_id`` and ``quantity``)."""
        how = (
            {"target": self.target}
            if self.target is not None
            else {"receiving_id": self.receiving_id, "quantity": self.quantity}
        )
        return {
            **asdict(self.line),
            "ref_number": self.ref_number,
            "guid": self.guid,
            "date": self.date,
            **how,
        }


@dataclass(frozen=True)
class CorrectionPayload:
    """The payload of a receipt correction: the line, the quantity its receipts must hold
    (``target``), and in unreceived mode the Autotask receiving rows still there (``present``;
    None in received mode)."""

    line: PoLineOf
    target: str
    present: tuple[int, ...] | None = None

    @classmethod
    def from_json(cls, data: object) -> CorrectionPayload:
        """Read a stored payload; :class:`MalformedJson` names what is wrong."""
        fields = Fields(data, "the item_receipt_correction job's payload")
        present = fields.ints("present") if "present" in fields.data else None
        return cls(PoLineOf.read(fields), fields.required("target", str), present)

    def how(self) -> dict[str, Any]:
        """What the correction does, without the line (the enqueue API fingerprints it)."""
        if self.present is None:
            return {"target": self.target}
        return {"target": self.target, "present": list(self.present)}

    def to_json(self) -> dict[str, Any]:
        """The payload as stored."""
        return {**asdict(self.line), **self.how()}


@dataclass(frozen=True)
class CompanyOf:
    """A vendor or customer a PO names: its Autotask id and its QuickBooks name."""

    id: int
    qb_name: str

    @classmethod
    def read(cls, data: object, what: str) -> CompanyOf:
        """A company of a payload (``what`` names it in errors)."""
        fields = Fields(data, what)
        return cls(fields.required("id", int), fields.required("qb_name", str))

    @classmethod
    def read_optional(cls, fields: Fields, key: str) -> CompanyOf | None:
        """The company at ``key``, or None."""
        if fields.data.get(key) is None:
            return None
        return cls.read(fields.data[key], f"{fields.what} ({key})")


@dataclass(frozen=True)
class PoLine:
    """A line of an Autotask PO: its product and QuickBooks item name, quantity, rate (unit
    cost) and memo as text, the product's manufacturer part number, the line's customer."""

    id: int
    product_id: int
    item: str
    quantity: str
    rate: str | None
    desc: str | None
    mpn: str | None
    customer: CompanyOf | None

    @classmethod
    def from_json(cls, data: object, what: str) -> PoLine:
        """Read one line of a payload."""
        fields = Fields(data, what)
        return cls(
            fields.required("id", int),
            fields.required("product_id", int),
            fields.required("item", str),
            fields.required("quantity", str),
            fields.optional("rate", str),
            fields.optional("desc", str),
            fields.optional("mpn", str),
            CompanyOf.read_optional(fields, "customer"),
        )

    def to_json(self) -> dict[str, Any]:
        """The line as stored."""
        return asdict(self)


@dataclass(frozen=True)
class PoLink:
    """An External P.O. # set outside atqb: the QuickBooks PO to adopt, and whether to add the
    PO when there is none (``atqb transfer``)."""

    ref_number: str
    or_add: bool


@dataclass(frozen=True)
class PurchaseOrderData:
    """An Autotask PO as the enqueue API prepared it for QuickBooks (``payload["po"]``)."""

    id: int
    label: str
    ref_number: str
    guid: str
    txn_date: str | None
    memo: str | None
    canceled: bool
    vendor: CompanyOf
    ship_to: CompanyOf | None
    lines: tuple[PoLine, ...]
    link: PoLink | None = None

    @property
    def line_ids(self) -> list[int]:
        """The Autotask ids of the lines, in order."""
        return [line.id for line in self.lines]

    @classmethod
    def from_json(cls, data: object, what: str) -> PurchaseOrderData:
        """Read the PO of a payload."""
        fields = Fields(data, what)
        link = None
        if fields.data.get("link") is not None:
            linked = Fields(fields.data["link"], f"{what} (link)")
            link = PoLink(linked.required("ref_number", str), bool(linked.optional("or_add", bool)))
        return cls(
            fields.required("id", int),
            fields.required("label", str),
            fields.required("ref_number", str),
            fields.required("guid", str),
            fields.optional("txn_date", str),
            fields.optional("memo", str),
            fields.required("canceled", bool),
            CompanyOf.read(fields.required("vendor", dict), f"{what} (vendor)"),
            CompanyOf.read_optional(fields, "ship_to"),
            tuple(
                PoLine.from_json(line, f"{what} (line {n})")
                for n, line in enumerate(fields.required("lines", list), 1)
            ),
            link,
        )

    def to_json(self) -> dict[str, Any]:
        """The PO as stored (and fingerprinted: the same data gives the same fingerprint)."""
        data: dict[str, Any] = {
            "id": self.id,
            "label": self.label,
            "ref_number": self.ref_number,
            "guid": self.guid,
            "txn_date": self.txn_date,
            "memo": self.memo,
            "canceled": self.canceled,
            "vendor": _company_json(self.vendor),
            "ship_to": _company_json(self.ship_to),
            "lines": [line.to_json() for line in self.lines],
        }
        if self.link is not None:
            data["link"] = asdict(self.link)
        return data


@dataclass(frozen=True)
class PurchaseOrderPayload:
    """The payload of a PO transfer or update: the PO and the fingerprint of its data."""

    po: PurchaseOrderData
    fingerprint: str

    @classmethod
    def from_json(cls, data: object, kind: str = "purchase_order") -> PurchaseOrderPayload:
        """Read a stored payload; :class:`MalformedJson` names what is wrong."""
        what = f"the {kind} job's payload"
        fields = Fields(data, what)
        po = PurchaseOrderData.from_json(fields.required("po", dict), f"{what} (po)")
        return cls(po, fields.required("fingerprint", str))

    def to_json(self) -> dict[str, Any]:
        """The payload as stored."""
        return {"po": self.po.to_json(), "fingerprint": self.fingerprint}


def _company_json(company: CompanyOf | None) -> dict[str, Any] | None:
    return asdict(company) if company is not None else None
