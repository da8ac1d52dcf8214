"""Reading purchase orders from Autotask in batches, and turning them into the sync's model.

:class:`AutotaskReader` wraps one :class:`~service.autotask.AutotaskClient`. Whole POs (header,
lines, receiving rows) are read with ``in`` filters of at most 500 ids per request; what the sync
also needs (products, vendors and customers, the companies of lines' tickets and projects,
on-hand per product and location) is read only for POs whose data changed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from hashlib import sha256
from typing import Any

from service.autotask import (
    AutotaskClient,
    InventoryItem,
    NotFound,
    PermissionDenied,
    Picklist,
    PurchaseOrder,
    PurchaseOrderItem,
    PurchaseOrderItemReceiving,
    RecordError,
    records,
)
from service.autotask import Company as AtCompany
from service.autotask import Product as AtProduct
from service.autotask import filters as f
from service.sync import model

log = logging.getLogger("atqb.poll")

#: Fields that never make a PO different for QuickBooks: atqb writes the External P.O. # itself.
_IGNORED = {"externalPONumber"}


def raw_fingerprint(header: dict[str, Any], lines: Sequence[dict[str, Any]], receipts: Any) -> str:
    """A digest of a PO as Autotask holds it (header, lines, receiving rows): any change of a
    field the sync reads changes it."""
    data = {
        "header": {k: v for k, v in header.items() if k not in _IGNORED},
        "lines": sorted(lines, key=lambda r: int(r.get("id") or 0)),
        "receipts": sorted(receipts, key=lambda r: int(r.get("id") or 0)),
    }
    encoded = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return sha256(encoded.encode()).hexdigest()[:32]


def sync_product(p: AtProduct) -> model.Product:
    """An Autotask product in the sync's model."""
    return model.Product(
        p.id,
        p.name,
        description=p.description,
        manufacturer_part_number=p.manufacturer_product_name,
        unit_cost=p.unit_cost,
        unit_price=p.unit_price,
    )


@dataclass
class WholeOrder:
    """One PO as read: the raw records and their fingerprint."""

    header: dict[str, Any]
    lines: list[dict[str, Any]]
    receipts: list[dict[str, Any]]

    @property
    def id(self) -> int:
        """The PO id."""
        return int(self.header["id"])

    @property
    def status(self) -> int | None:
        """The status picklist value."""
        value = self.header.get("status")
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    @property
    def placed_at(self) -> datetime | None:
        """When the PO was submitted, else created (None: Autotask gave neither)."""
        for name in ("submitDateTime", "createDateTime"):
            moment = records.parse_date_time(self.header.get(name))
            if moment is not None:
                return moment
        return None

    @property
    def number(self) -> str:
        """The PO number for people (the id when it has none)."""
        value = self.header.get("purchaseOrderNumber")
        return records.clean_text(value) if isinstance(value, str) and value else str(self.id)

    def fingerprint(self) -> str:
        """See :func:`raw_fingerprint`."""
        return raw_fingerprint(self.header, self.lines, self.receipts)


@dataclass
class Statuses:
    """The tenant's PO status values, resolved by label (reference/autotask.md 7.9)."""

    picklist: Picklist
    new: int
    submitted: int
    partial: int
    full: int
    canceled: int

    @classmethod
    def of(cls, client: AutotaskClient) -> Statuses:
        """Read the picklist (cached by the client) and resolve the labels."""
        picklist = client.picklist(PurchaseOrder.ENTITY, "status")
        return cls(
            picklist=picklist,
            new=picklist.value_of("New"),
            submitted=picklist.value_of("Submitted"),
            partial=picklist.value_of("Received Partial", "Partially Received"),
            full=picklist.value_of("Received Full", "Received In Full", "Fully Received"),
            canceled=picklist.value_of("Canceled", "Cancelled"),
        )

    def label(self, value: int) -> str:
        """The label of a status value (the value itself when the tenant has no such label)."""
        return self.picklist.label_of(value) or str(value)

    def final(self, value: int) -> bool:
        """Received Full or Canceled: items can no longer be added or edited (7.2)."""
        return value in (self.full, self.canceled)

    def counted(self) -> tuple[int, ...]:
        """The statuses whose counts the idle check compares."""
        return (self.new, self.submitted, self.partial, self.full)


@dataclass
class Built:
    """POs in the sync's model, with what could not be used."""

    orders: list[model.PurchaseOrder] = field(default_factory=list)
    stock: list[model.StockLevel] = field(default_factory=list)
    #: Notes for the cycle's output (records left out, entities the API user may not read).
    problems: list[str] = field(default_factory=list)
    #: PO id -> why it could not be built.
    skipped: dict[int, str] = field(default_factory=dict)
    #: Entity -> why it could not be read at all.
    unreadable: dict[str, str] = field(default_factory=dict)


class AutotaskReader:
    """Batch reads of one client."""

    def __init__(
        self, client: AutotaskClient, calendar: Callable[[datetime], date] | None = None
    ) -> None:
        self.client = client
        #: The company's calendar date of a moment (``ATQB_TIMEZONE``); default UTC's.
        self.calendar = calendar or (lambda moment: moment.astimezone(UTC).date())
        self._stock_entity: type[InventoryItem] | type[records.InventoryProduct] | None = None

    def new_orders(self, after_id: int) -> list[dict[str, Any]]:
        """Headers of POs with an id above ``after_id``."""
        return list(
            self.client.query_raw(
                PurchaseOrder.ENTITY,
                f.gt("id", after_id),
                include_fields=PurchaseOrder.wire_fields(),
            )
        )

    def new_rows(self, entity: str, after_id: int, parent_field: str) -> list[dict[str, Any]]:
        """``id`` and ``parent_field`` of rows of ``entity`` with an id above ``after_id``."""
        return list(
            self.client.query_raw(entity, f.gt("id", after_id), include_fields=("id", parent_field))
        )

    def orders_of_lines(self, line_ids: Iterable[int]) -> set[int]:
        """The POs that PO lines belong to."""
        rows = self.client.query_in_raw(
            PurchaseOrderItem.ENTITY, "id", list(line_ids), include_fields=("id", "orderID")
        )
        return {int(r["orderID"]) for r in rows if isinstance(r.get("orderID"), int)}

    def statuses_of(self, po_ids: Sequence[int]) -> dict[int, int]:
        """The current status of each PO that still exists."""
        rows = self.client.query_in_raw(
            PurchaseOrder.ENTITY, "id", list(po_ids), include_fields=("id", "status")
        )
        return {int(r["id"]): int(r["status"]) for r in rows if isinstance(r.get("status"), int)}

    def whole(
        self, po_ids: Iterable[int], headers: dict[int, dict[str, Any]]
    ) -> dict[int, WholeOrder]:
        """POs read whole; ``headers`` already read are not read again. A PO Autotask does
        not have is missing from the answer."""
        ids = sorted(set(po_ids))
        if not ids:
            return {}
        missing = [i for i in ids if i not in headers]
        found = {i: headers[i] for i in ids if i in headers}
        for row in self.client.query_in_raw(
            PurchaseOrder.ENTITY, "id", missing, include_fields=PurchaseOrder.wire_fields()
        ):
            found[int(row["id"])] = row
        orders = {i: WholeOrder(h, [], []) for i, h in found.items()}
        line_owner: dict[int, int] = {}
        for owner, row in self._rows_of(PurchaseOrderItem, "orderID", set(orders)):
            orders[owner].lines.append(row)
            line_owner[int(row["id"])] = owner
        for line, row in self._rows_of(
            PurchaseOrderItemReceiving, "purchaseOrderItemID", set(line_owner)
        ):
            orders[line_owner[line]].receipts.append(row)
        return orders

    def _rows_of(
        self, record_type: Any, parent_field: str, parents: set[int]
    ) -> Iterator[tuple[int, dict[str, Any]]]:
        """(parent id, row) of the child rows of ``parents``, in batches of 500 parents."""
        for row in self.client.query_in_raw(
            record_type.ENTITY,
            parent_field,
            sorted(parents),
            include_fields=record_type.wire_fields(),
        ):
            parent = row.get(parent_field)
            if isinstance(parent, int) and parent in parents:
                yield parent, row

    # -- the sync's model --------------------------------------------------------------------

    def build(self, orders: Sequence[WholeOrder], statuses: Statuses) -> Built:
        """The sync's model of ``orders`` and the on-hand of their products. A PO that cannot
        be built (an ill-typed record, a product or vendor that cannot be read) is left out
        with its reason in ``skipped``; the others are built. Tickets and projects only name a
        line's customer: when the API user may not read them, lines go without one."""
        built = Built()
        typed: list[tuple[PurchaseOrder, list[PurchaseOrderItem], list[Any]]] = []
        for whole in orders:
            try:
                header = PurchaseOrder.from_api(whole.header)
                lines = [PurchaseOrderItem.from_api(r) for r in whole.lines]
                receipts = [PurchaseOrderItemReceiving.from_api(r) for r in whole.receipts]
            except RecordError as exc:
                built.skipped[whole.id] = str(exc)
                continue
            typed.append((header, lines, receipts))
        product_ids = {ln.product_id for _, lines, _ in typed for ln in lines if ln.product_id}
        products = self._by_id(AtProduct, product_ids, built)
        tickets = self._by_id(
            records.Ticket, {ln.ticket_id for _, ls, _ in typed for ln in ls if ln.ticket_id}, built
        )
        projects = self._by_id(
            records.Project,
            {ln.project_id for _, ls, _ in typed for ln in ls if ln.project_id},
            built,
        )
        company_ids: set[int] = set()
        for header, _, _ in typed:
            company_ids.add(header.vendor_id)
            if header.purchase_for_company_id:
                company_ids.add(header.purchase_for_company_id)
        company_ids |= {t.company_id for t in tickets.values()}
        company_ids |= {p.company_id for p in projects.values()}
        companies = self._by_id(AtCompany, company_ids, built)

        def company(company_id: int | None) -> model.Company | None:
            found = companies.get(company_id) if company_id else None
            return model.Company(found.id, found.company_name) if found else None

        def product(line: PurchaseOrderItem) -> model.Product:
            assert line.product_id is not None
            found = products.get(line.product_id)
            if found is None:
                why = built.unreadable.get(AtProduct.ENTITY, "Autotask did not return it")
                raise model.SyncInputError(
                    f"the product {line.product_id} of line {line.id} cannot be read ({why})"
                )
            return sync_product(found)

        for header, lines, receipts in typed:
            try:
                built.orders.append(
                    self._order(
                        header, lines, receipts, statuses, company, product, tickets, projects
                    )
                )
            except model.SyncInputError as exc:
                built.skipped[header.id] = str(exc)
        wanted = {ln.product.id for po in built.orders for ln in po.lines}
        built.stock = self.stock(wanted)
        return built

    def _order(
        self,
        header: PurchaseOrder,
        lines: list[PurchaseOrderItem],
        receipts: list[PurchaseOrderItemReceiving],
        statuses: Statuses,
        company: Callable[[int | None], model.Company | None],
        product: Callable[[PurchaseOrderItem], model.Product],
        tickets: dict[int, records.Ticket],
        projects: dict[int, records.Project],
    ) -> model.PurchaseOrder:
        vendor = company(header.vendor_id)
        if vendor is None:
            raise model.SyncInputError(f"its vendor (company {header.vendor_id}) is not readable")
        sync_lines = []
        for line in sorted(lines, key=lambda ln: ln.id):
            if line.product_id is None:
                continue  # a charge, not a product: not QuickBooks' business here
            owner: int | None = None
            if line.ticket_id and line.ticket_id in tickets:
                owner = tickets[line.ticket_id].company_id
            elif line.project_id and line.project_id in projects:
                owner = projects[line.project_id].company_id
            sync_lines.append(
                model.PurchaseOrderLine(
                    line.id,
                    product(line),
                    line.quantity,
                    unit_cost=line.unit_cost,
                    memo=line.memo,
                    customer=company(owner),
                )
            )
        line_ids = {ln.id for ln in sync_lines}
        when = header.submit_date_time or header.create_date_time
        return model.PurchaseOrder(
            header.id,
            vendor=vendor,
            lines=tuple(sync_lines),
            number=header.purchase_order_number,
            status=statuses.label(header.status),
            ship_to=company(header.purchase_for_company_id),
            memo=header.general_memo,
            order_date=self.calendar(when) if when else None,
            receivings=tuple(
                model.Receiving(
                    r.id,
                    r.purchase_order_item_id,
                    r.quantity_now_receiving,
                    self.calendar(r.receive_date) if r.receive_date else None,
                )
                for r in sorted(receipts, key=lambda r: r.id)
                if r.purchase_order_item_id in line_ids and r.quantity_now_receiving != 0
            ),
        )

    def _by_id(self, record_type: Any, ids: set[int], built: Built) -> dict[int, Any]:
        """Records by id; ill-typed ones are noted in ``built.problems``. When the API user may
        not read the entity (or Autotask says it has none), the reason goes to
        ``built.unreadable`` and the answer is empty: what needs those records is skipped."""
        invalid: list[RecordError] = []
        try:
            found = {
                r.id: r
                for r in self.client.query_in(record_type, "id", sorted(ids), invalid=invalid)
            }
        except (PermissionDenied, NotFound) as exc:
            built.unreadable[record_type.ENTITY] = str(exc)
            built.problems.append(str(exc))
            return {}
        built.problems += [str(e) for e in invalid]
        return found

    def company_names(self, company_ids: Iterable[int]) -> dict[int, str]:
        """Names of companies by id (those the API user may read)."""
        return {
            c.id: c.company_name for c in self._by_id(AtCompany, set(company_ids), Built()).values()
        }

    def stock(self, product_ids: Iterable[int] | None) -> list[model.StockLevel]:
        """On-hand per product and location (every stocked product with None). Uses
        ``InventoryProducts`` (Autotask 2022.1 and later), else the legacy ``InventoryItems``."""
        ids = None if product_ids is None else sorted(set(product_ids))
        if ids == []:
            return []
        for entity in self._stock_entities():
            try:
                rows = (
                    list(self.client.query(entity))
                    if ids is None
                    else list(self.client.query_in(entity, "productID", ids))
                )
            except NotFound:
                if self._stock_entity is None and entity is records.InventoryProduct:
                    continue
                raise
            self._stock_entity = entity
            totals: list[model.StockLevel] = []
            for row in rows:
                units = (
                    row.quantity_on_hand if isinstance(row, InventoryItem) else row.on_hand_units
                )
                if row.product_id > 0 and row.inventory_location_id > 0:
                    totals.append(
                        model.StockLevel(row.product_id, row.inventory_location_id, units)
                    )
            return totals
        return []

    def _stock_entities(self) -> list[Any]:
        if self._stock_entity is not None:
            return [self._stock_entity]
        return [records.InventoryProduct, InventoryItem]

    def products(self, product_ids: Iterable[int]) -> list[model.Product]:
        """Products in the sync's model (for a full inventory sync)."""
        out = []
        built = Built()
        for p in self._by_id(AtProduct, set(product_ids), built).values():
            try:
                out.append(sync_product(p))
            except model.SyncInputError as exc:
                log.warning("product %s left out of the inventory sync: %s", p.id, exc)
        return out
