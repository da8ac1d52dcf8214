"""The enqueue API: Autotask-shaped data in, jobs and their dependencies out.

The poller (or a test) hands over purchase orders and on-hand rows; :class:`Enqueuer` decides
what QuickBooks must learn and enqueues it, in the caller's transaction::

    vendor ─┐
    customer├─► purchase_order ─► item_receipt ─► inventory_adjustment
    item ───┘   (or _update)       (per line or receiving row)
                      ▲
    item_receipt_correction (per line; before the update that lowers the line)

* Vendors, customers and items are ensured once per name: a record the mappings already know
  under the same name needs no job; an unfinished job for the same record and name is shared by
  every PO that needs it.
* A PO not yet in QuickBooks gets a transfer job; a transferred one whose Autotask data changed
  (its fingerprint differs from the one last sent) gets an update job, after any unfinished one.
  A Canceled PO is never transferred; one canceled after its transfer gets an update that closes
  it (see :mod:`service.sync.purchase_orders`).
* Receipts: in *received* mode one per line up to its quantity, in *unreceived* mode one per
  Autotask receiving row not yet received in QuickBooks. When QuickBooks holds more received on a
  line than that (a quantity lowered after its receipt, a receipt cancelled in Autotask by
  deleting its row or by a negative row), a correction (:mod:`service.sync.corrections`); the PO
  update that lowers the line waits for it.
* A PO with a ``linked_number`` (an External P.O. # set outside atqb) gets a transfer job that
  links to the QuickBooks PO with that number, then an update that brings it in line.
* After a transfer, update or receipt, an inventory sync of the PO's products that Autotask
  stocks; the Autotask total of each product (all locations) is recorded when enqueued and read
  when the sync runs.

Enqueueing the same data again makes no new work (idempotency keys, mappings). A failed job keeps
its key, so the same data does not try again by itself; changed data supersedes it (the failed
job and the jobs it failed are cancelled, and new ones made).

A call reads what it needs up front, decides PO by PO against that snapshot and writes the jobs
and mappings decided at the end, in a constant number of statements (:mod:`service.sync.plan`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from service.clock import utcnow
from service.db import Database
from service.jobstatus import ACTIVE_STATUSES, JobStatus
from service.jobstore import Job, NewJob, Ref
from service.kinds import MAX_LOOKUP_VALUES
from service.qbxml import build
from service.qbxml import text as qtext
from service.settings import Settings, TransferMode
from service.sync.accounts import configured_names
from service.sync.common import (
    external_guid,
    po_ref_number,
    quantity_text,
    receipt_ref_number,
)
from service.sync.mapping import Mapping, MappingKind
from service.sync.model import (
    Company,
    Product,
    PurchaseOrder,
    StockLevel,
    SyncInputError,
    on_hand_totals,
)
from service.sync.payloads import (
    CompanyOf,
    CorrectionPayload,
    EnsurePayload,
    InventoryPayload,
    ItemFacts,
    PoLine,
    PoLineOf,
    PoLink,
    PurchaseOrderData,
    PurchaseOrderPayload,
    ReceiptPayload,
)
from service.sync.plan import Handle, Plan, order

PO_KINDS = ("purchase_order", "purchase_order_update")
LINE_KINDS = ("item_receipt", "item_receipt_correction")
_NAME_LIMITS = {
    "vendor": qtext.VENDOR_NAME_MAX,
    "customer": qtext.CUSTOMER_NAME_MAX,
    "item": qtext.ITEM_NAME_MAX,
}
_ENTITIES = {"vendor": "Companies", "customer": "Companies", "item": "Products"}
#: Autotask name → QuickBooks (full) name; products may name a sub-item with ``~``.
_CONVERT: dict[str, Callable[[str, int], qtext.CleanText]] = {
    "vendor": qtext.list_name,
    "customer": qtext.list_name,
    "item": qtext.item_full_name,
}


def fingerprint(data: Any) -> str:
    """A short digest of JSON-able data: equal data, equal fingerprint."""
    encoded = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(encoded.encode()).hexdigest()[:16]


@dataclass
class EnqueueReport:
    """What an enqueue call did."""

    #: Jobs made by this call.
    created: list[Job] = field(default_factory=list)
    #: Jobs that already carried the same work (unfinished, or failed and waiting for people).
    reused: list[Job] = field(default_factory=list)
    #: What was left out, and why, one sentence each.
    skipped: list[str] = field(default_factory=list)
    #: Failed or pending jobs cancelled because newer Autotask data replaces them.
    cancelled: list[int] = field(default_factory=list)

    def kinds(self) -> dict[str, int]:
        """How many jobs of each kind were made."""
        counts: dict[str, int] = {}
        for job in self.created:
            counts[job.kind] = counts.get(job.kind, 0) + 1
        return counts


class Enqueuer:
    """Makes the jobs for Autotask data, in one transaction, for one company file (user)."""

    def __init__(self, conn: Connection, now: datetime, settings: Settings, qbwc_user: str) -> None:
        self.settings = settings
        self.user = qbwc_user
        self.plan = Plan(conn, now, qbwc_user)
        self.report = EnqueueReport()
        self._collisions: dict[tuple[str, int], list[tuple[int, str]]] = {}
        #: The jobs this call made or reused so far, in order: the report once flushed.
        self._touched: list[Handle] = []
        self._planned = 0

    # -- public ------------------------------------------------------------------------------

    def purchase_orders(
        self, orders: Iterable[PurchaseOrder], stock: Iterable[StockLevel] = ()
    ) -> EnqueueReport:
        """Enqueue what these POs need in QuickBooks; ``stock`` gives the on-hand counts."""
        orders = list(orders)
        totals = on_hand_totals(stock)
        self._load(orders, totals)
        self._record_on_hand(totals)
        self._find_collisions(
            vendors=[po.vendor for po in orders],
            customers=[c for po in orders for c in po.customers()],
            products=[p for po in orders for p in po.products()],
        )
        for po in orders:
            try:
                self._purchase_order(po, totals)
            except SyncInputError as exc:
                self.report.skipped.append(f"PO {po.label}: {exc}")
        self._flush()
        return self.report

    def full_inventory_sync(
        self, products: Iterable[Product], stock: Iterable[StockLevel]
    ) -> EnqueueReport:
        """Set QuickBooks' On Hand of every stocked product to Autotask's total (missing items
        are created), in adjustments of up to MAX_LOOKUP_VALUES items."""
        totals = on_hand_totals(stock)
        stocked = {p.id: p for p in products if p.id in totals}
        unknown = sorted(set(totals) - set(stocked))
        if unknown:
            self.report.skipped.append(
                f"{len(unknown)} stocked product(s) not described (ids {unknown[:10]}): not synced"
            )
        self._find_collisions(vendors=[], customers=[], products=list(stocked.values()))
        ordered = sorted(stocked.values(), key=lambda p: p.id)
        parts = [
            ordered[i : i + MAX_LOOKUP_VALUES] for i in range(0, len(ordered), MAX_LOOKUP_VALUES)
        ]
        self.plan.load(
            records={"Products": stocked},
            keys=[self._account_check_key(), *(self._full_sync_key(part) for part in parts)],
            done=("account_check", [self._account_check_key()]),
            mappings={"item": set(stocked) | set(totals)},
        )
        self._record_on_hand(totals)
        for number, part in enumerate(parts, 1):
            depends: list[int | Ref] = []
            for product in part:
                try:
                    item_job = self._ensure_item(product)
                except SyncInputError as exc:
                    self.report.skipped.append(str(exc))
                    continue
                if item_job is not None:
                    depends.append(item_job.id)
            ids = [p.id for p in part]
            self._add(
                NewJob(
                    kind="inventory_adjustment",
                    qbwc_user=self.user,
                    payload=InventoryPayload(tuple(ids), "full inventory sync").to_json(),
                    subject=f"Full inventory sync · {len(ids)} item(s) (part {number} of "
                    f"{len(parts)})",
                    idempotency_key=self._full_sync_key(part),
                    depends_on=tuple(depends),
                )
            )
        self._flush()
        return self.report

    def _load(self, orders: Sequence[PurchaseOrder], totals: dict[int, Decimal]) -> None:
        """Read up front what deciding these POs asks about (:mod:`service.sync.plan`)."""
        lines = [line for po in orders for line in po.lines]
        companies = [po.vendor for po in orders] + [c for po in orders for c in po.customers()]
        products = {p.id for po in orders for p in po.products()}
        self.plan.load(
            records={
                "PurchaseOrders": [po.id for po in orders],
                "PurchaseOrderItems": [line.id for line in lines],
                "Companies": [c.id for c in companies],
                "Products": products,
            },
            keys=[self._account_check_key()],
            done=("account_check", [self._account_check_key()]),
            mappings={
                "purchase_order": [po.id for po in orders],
                "po_line": [line.id for line in lines],
                "receiving": [r.id for po in orders for r in po.receivings],
                "vendor": [po.vendor.id for po in orders],
                "customer": [c.id for po in orders for c in po.customers()],
                "item": products | set(totals),
            },
        )

    def _full_sync_key(self, part: Sequence[Product]) -> str:
        return f"{self.user}:inventory_adjustment:full:{fingerprint([p.id for p in part])}"

    # -- on hand and names -------------------------------------------------------------------

    def _record_on_hand(self, totals: dict[int, Decimal]) -> None:
        for product_id, total in totals.items():
            self.plan.put_data("item", product_id, {"on_hand": build.format_quantity(total)})

    def _find_collisions(
        self, *, vendors: Sequence[Company], customers: Sequence[Company], products: Sequence[Any]
    ) -> None:
        """Different Autotask names that would become one QuickBooks name (cut, case)."""
        for kind, records in (("vendor", vendors), ("customer", customers), ("item", products)):
            names = {r.id: r.name for r in records}
            found = qtext.find_collisions(names, _NAME_LIMITS[kind], convert=_CONVERT[kind])
            for collision in found.collisions:
                for source, _ in collision.sources:
                    self._collisions[(kind, source)] = [
                        (other, name) for other, name in collision.sources if other != source
                    ]

    def _qb_name(self, kind: str, name: str, what: str) -> str:
        try:
            return _CONVERT[kind](name, _NAME_LIMITS[kind]).text
        except ValueError:
            raise SyncInputError(
                f"{what} {name!r} has no character QuickBooks can store in a name"
            ) from None

    # -- vendors, customers, items -----------------------------------------------------------

    def _ensure(
        self, kind: MappingKind, autotask_id: int, name: str, item: ItemFacts | None = None
    ) -> Handle | None:
        """The unfinished job that ensures this record, or None when the mapping knows it."""
        qb_name = self._qb_name(kind, name, _source(kind, autotask_id))
        clash = self._collisions.get((kind, autotask_id))
        known = self.plan.mapping(kind, autotask_id)
        if (
            known is not None
            and known.qb_id
            and qtext.name_key(known.qb_name or "") == qtext.name_key(qb_name)
            and not clash
        ):
            return None
        payload = EnsurePayload(autotask_id, name, qb_name, item, tuple(clash or ()))
        check = self._account_check() if kind == "item" else None
        return self._add(
            NewJob(
                kind=kind,
                qbwc_user=self.user,
                payload=payload.to_json(),
                subject=f"{kind.capitalize()} {qb_name} (Autotask {autotask_id})",
                idempotency_key=f"{self.user}:{kind}:{autotask_id}:{fingerprint(qb_name)}",
                autotask_entity=_ENTITIES[kind],
                autotask_id=autotask_id,
                depends_on=(check.id,)
                if check is not None and check.status != JobStatus.DONE
                else (),
            )
        )

    def _account_check(self) -> Handle | None:
        """The job that checks the configured accounts (service.sync.accounts), which item jobs
        wait for: one per set of account settings, none once such a check is done."""
        names = configured_names(self.settings)
        key = self._account_check_key()
        if self.plan.done("account_check", key):
            return None
        return self._add(
            NewJob(
                kind="account_check",
                qbwc_user=self.user,
                payload={"accounts": names},
                subject=f"Accounts {', '.join(names)}",
                idempotency_key=key,
            )
        )

    def _account_check_key(self) -> str:
        return f"{self.user}:account_check:{fingerprint(configured_names(self.settings))}"

    def _ensure_item(self, product: Product) -> Handle | None:
        return self._ensure(
            "item",
            product.id,
            product.name,
            ItemFacts(
                description=product.description,
                manufacturer_part_number=product.manufacturer_part_number,
                unit_cost=_price(product.unit_cost),
                unit_price=_price(product.unit_price),
            ),
        )

    # -- purchase orders ---------------------------------------------------------------------

    def _purchase_order(self, po: PurchaseOrder, totals: dict[int, Decimal]) -> None:
        if not po.lines:
            self.report.skipped.append(f"PO {po.label}: no line with a product, nothing to send")
            return
        mapping = self.plan.mapping("purchase_order", po.id)
        transferred = mapping is not None and bool(mapping.qb_id)
        active = self._jobs_about("PurchaseOrders", po.id, PO_KINDS, ACTIVE_STATUSES)
        if po.canceled and not transferred:
            self._cancel_before_transfer(po, active)
            return
        payload = self._payload(po)
        if po.canceled:
            assert mapping is not None
            latest = _fingerprint(active[-1]) if active else mapping.data.get("fingerprint")
            if mapping.data.get("canceled") and latest == payload.fingerprint:
                return  # already closed in QuickBooks, as it is now
            self._add_update(po, payload, active, [])
            return
        prerequisites = self._prerequisites(po)
        po_job: Handle | None
        planned_before = self._planned
        corrections = self._corrections(po, pending_rows=False) if transferred else []
        prerequisites += [j.id for j in corrections]
        if not transferred:
            transfer = next((j for j in active if j.kind == "purchase_order"), None)
            if transfer is None:
                self._supersede(po.id, payload.fingerprint)
                po_job = self._po_job("purchase_order", "PO", po, payload, prerequisites)
                if po.linked_number:  # the twin found is then brought in line with Autotask
                    po_job = self._add_update(po, payload, [po_job], prerequisites)
            elif _fingerprint(transfer) != payload.fingerprint:
                po_job = self._add_update(po, payload, active, prerequisites)
            else:
                po_job = self._reuse(active[-1])
        else:
            assert mapping is not None
            latest = _fingerprint(active[-1]) if active else mapping.data.get("fingerprint")
            if latest != payload.fingerprint:
                po_job = self._add_update(po, payload, active, prerequisites)
            else:
                po_job = self._reuse(active[-1]) if active else None
        changed = self._planned > planned_before
        receipts = self._receipts(po, po_job)
        if transferred:
            corrections += self._corrections(po, pending_rows=True)
        arrived = self._arrivals_changed(po, mapping, transferred)
        stocked = sorted(p.id for p in po.products() if p.id in totals)
        if stocked and (changed or receipts or corrections or arrived):
            depends = [j.id for j in [po_job, *receipts, *corrections] if j is not None]
            self._add(
                NewJob(
                    kind="inventory_adjustment",
                    qbwc_user=self.user,
                    payload=InventoryPayload(tuple(stocked), f"after PO {po.label}").to_json(),
                    subject=f"Inventory after PO {po.label} · {len(stocked)} item(s)",
                    # New whenever the jobs it follows are: made from their ids at the flush.
                    idempotency_key=lambda ids: (
                        f"{self.user}:inventory_adjustment:po:{po.id}:{fingerprint(list(ids))}"
                    ),
                    autotask_entity="PurchaseOrders",
                    autotask_id=po.id,
                    depends_on=tuple(depends),
                )
            )

    def _arrivals_changed(
        self, po: PurchaseOrder, mapping: Mapping | None, transferred: bool
    ) -> bool:
        """Whether Autotask received items on this transferred PO since it was last handed over.

        In received mode the PO entered QuickBooks received, so a later Autotask receipt makes
        no item receipt; but On Hand must follow Autotask's total after every receipt (seeds),
        so it calls for the inventory sync of the PO's items. The receipts seen are recorded on
        the PO's mapping (before its transfer too, so the transfer's own sync covers them).
        """
        if self.settings.transfer_mode is not TransferMode.RECEIVED:
            return False  # unreceived mode: each receipt makes an item receipt, and its sync
        seen = fingerprint(sorted((r.id, str(r.quantity)) for r in po.receivings))
        if mapping is not None and mapping.data.get("autotask_receivings") == seen:
            return False
        self.plan.put_data("purchase_order", po.id, {"autotask_receivings": seen})
        return transferred

    def _prerequisites(self, po: PurchaseOrder) -> list[int | Ref]:
        """The unfinished ensure jobs the PO waits for."""
        found = [self._ensure("vendor", po.vendor.id, po.vendor.name)]
        found += [self._ensure("customer", c.id, c.name) for c in po.customers()]
        found += [self._ensure_item(p) for p in po.products()]
        return sorted({job.id for job in found if job is not None}, key=order)

    def _payload(self, po: PurchaseOrder) -> PurchaseOrderPayload:
        def company(c: Company | None, kind: str) -> CompanyOf | None:
            if c is None:
                return None
            return CompanyOf(c.id, self._qb_name(kind, c.name, _source(kind, c.id)))

        vendor = company(po.vendor, "vendor")
        assert vendor is not None
        data = PurchaseOrderData(
            id=po.id,
            label=po.label,
            ref_number=po_ref_number(po.id),
            guid=external_guid("purchase_order", po.id),
            txn_date=po.order_date.isoformat() if po.order_date else None,
            memo=po.memo,
            canceled=po.canceled,
            vendor=vendor,
            ship_to=company(po.ship_to, "customer"),
            lines=tuple(
                PoLine(
                    id=line.id,
                    product_id=line.product.id,
                    item=self._qb_name("item", line.product.name, _source("item", line.product.id)),
                    quantity=build.format_quantity(line.quantity),
                    rate=_price(line.unit_cost),
                    desc=line.memo,
                    mpn=line.product.manufacturer_part_number,
                    customer=company(line.customer, "customer"),
                )
                for line in po.lines
            ),
            link=PoLink(po.linked_number, po.add_if_unlinked) if po.linked_number else None,
        )
        return PurchaseOrderPayload(data, fingerprint(data.to_json()))

    def _add_update(
        self,
        po: PurchaseOrder,
        payload: PurchaseOrderPayload,
        active: list[Handle],
        prerequisites: list[int | Ref],
    ) -> Handle:
        """An update after every unfinished job of the PO (and the records it needs)."""
        if not active:
            self._supersede(po.id, payload.fingerprint)
        what = "Close (canceled) PO" if po.canceled else "Update PO"
        after = [*prerequisites, *(j.id for j in active)]
        return self._po_job("purchase_order_update", what, po, payload, after)

    def _po_job(
        self,
        kind: str,
        what: str,
        po: PurchaseOrder,
        payload: PurchaseOrderPayload,
        after: list[int | Ref],
    ) -> Handle:
        return self._add(
            NewJob(
                kind=kind,
                qbwc_user=self.user,
                payload=payload.to_json(),
                subject=f"{what} {po.label} · {po.vendor.name}",
                idempotency_key=f"{self.user}:{kind}:{po.id}:{payload.fingerprint}",
                autotask_entity="PurchaseOrders",
                autotask_id=po.id,
                depends_on=tuple(sorted(set(after), key=order)),
            )
        )

    def _cancel_before_transfer(self, po: PurchaseOrder, active: list[Handle]) -> None:
        """A PO canceled before QuickBooks has it: its waiting jobs are cancelled."""
        if not active:
            self._supersede(po.id)
            self.report.skipped.append(f"PO {po.label} is Canceled in Autotask: not transferred")
            return
        if any(job.status == JobStatus.IN_FLIGHT for job in active):
            # It may be in QuickBooks by now: close it once the transfer is done.
            self._add_update(po, self._payload(po), active, [])
            return
        for job in active:
            self._cancel_with_dependents(job.id)
        self.report.skipped.append(
            f"PO {po.label} was canceled in Autotask before its transfer: its jobs are cancelled"
        )

    # -- receipts ----------------------------------------------------------------------------

    def _receipts(self, po: PurchaseOrder, po_job: Handle | None) -> list[Handle]:
        made: list[Handle] = []
        lines = {line.id: line for line in po.lines}
        mapped = self.plan.mappings_of("po_line", lines)
        after = [po_job.id] if po_job is not None and po_job.status != JobStatus.DONE else []
        if self.settings.transfer_mode is TransferMode.RECEIVED:
            for line in po.lines:
                target = Decimal(build.format_quantity(line.quantity))
                received = self._received_after_pending(line.id, mapped.get(line.id))
                if target <= received:
                    continue
                # The same target can come back after a correction: what was received counts.
                mark = f"line:{line.id}:{quantity_text(target)}" + (
                    f":{quantity_text(received)}" if received else ""
                )
                payload = ReceiptPayload(
                    _line_of(po, line.id),
                    ref_number=receipt_ref_number(line_id=line.id),
                    guid=external_guid("receipt", mark),
                    date=po.order_date.isoformat() if po.order_date else None,
                    target=quantity_text(target),
                )
                job = self._receipt(payload, key=mark, after=after)
                made.append(job)
        else:
            done = self.plan.mappings_of("receiving", [r.id for r in po.receivings])
            for receiving in po.receivings:
                if receiving.quantity < 0 or (receiving.id in done and done[receiving.id].qb_id):
                    continue  # a negative row lowers receipts: see _corrections
                quantity = quantity_text(Decimal(build.format_quantity(receiving.quantity)))
                payload = ReceiptPayload(
                    _line_of(po, receiving.line_id),
                    ref_number=receipt_ref_number(receiving_id=receiving.id),
                    guid=external_guid("receiving", receiving.id),
                    date=receiving.received_on.isoformat() if receiving.received_on else None,
                    receiving_id=receiving.id,
                    quantity=quantity,
                )
                job = self._receipt(payload, key=f"receiving:{receiving.id}", after=after)
                made.append(job)
        return [job for job in made if job.status != JobStatus.DONE]

    def _corrections(self, po: PurchaseOrder, *, pending_rows: bool) -> list[Handle]:
        """Corrections of lines whose QuickBooks receipts hold more than Autotask says
        (:mod:`service.sync.corrections`), unfinished.

        In received mode the target is the line's quantity; the PO update that lowers the line
        waits for them. In unreceived mode it is the net of the line's receiving rows; a line
        with rows not yet received in QuickBooks is corrected after those receipts
        (``pending_rows`` True), the others before the update (False).
        """
        received_mode = self.settings.transfer_mode is TransferMode.RECEIVED
        mapped = self.plan.mappings_of("po_line", [line.id for line in po.lines])
        done = self.plan.mappings_of("receiving", [r.id for r in po.receivings])
        made: list[Handle] = []
        for line in po.lines:
            known = mapped.get(line.id)
            if known is None or not known.qb_id:
                continue
            how: CorrectionPayload
            if received_mode:  # Autotask's rows make no receipts here
                target = Decimal(build.format_quantity(line.quantity))
                how = CorrectionPayload(_line_of(po, line.id), quantity_text(target))
                if pending_rows or self._received_after_pending(line.id, known) <= target:
                    continue
            else:
                received = Decimal(str(known.data.get("received", "0")))
                rows = [r for r in po.receivings if r.line_id == line.id]
                present = sorted(r.id for r in rows if r.quantity > 0)
                pending = sum(
                    (
                        Decimal(build.format_quantity(r.quantity))
                        for r in rows
                        if r.quantity > 0 and not (r.id in done and done[r.id].qb_id)
                    ),
                    Decimal(0),
                )
                target = sum((Decimal(build.format_quantity(r.quantity)) for r in rows), Decimal(0))
                how = CorrectionPayload(
                    _line_of(po, line.id), quantity_text(max(target, Decimal(0))), tuple(present)
                )
                gone = any(
                    entry.get("receiving") not in present
                    for entry in known.data.get("receipts") or []
                )
                if (pending > 0) != pending_rows or (not gone and received + pending <= target):
                    continue
            job = self._line_job(
                "item_receipt_correction",
                how.line,
                how.to_json(),
                subject=f"Correct receipts PO {po.label} · {line.product.name} to "
                f"{how.target} received",
                key=f"{line.id}:{fingerprint(how.how())}",
            )
            if job.status != JobStatus.DONE:
                made.append(job)
        return made

    def _received_after_pending(self, line_id: int, known: Mapping | None) -> Decimal:
        """Received mode: what QuickBooks will hold as received on the line once its unfinished
        receipts (up to their target) and corrections (down to theirs) have run, in order."""
        received = Decimal(str((known.data if known else {}).get("received", "0")))
        for job in self._jobs_about("PurchaseOrderItems", line_id, LINE_KINDS, ACTIVE_STATUSES):
            target = job.payload.get("target")  # (read loosely: see _fingerprint)
            if target is None:
                continue
            if job.kind == "item_receipt":
                received = max(received, Decimal(str(target)))
            else:
                received = min(received, Decimal(str(target)))
        return received

    def _receipt(self, payload: ReceiptPayload, *, key: str, after: list[int | Ref]) -> Handle:
        line = payload.line
        return self._line_job(
            "item_receipt",
            line,
            payload.to_json(),
            subject=f"Receipt PO {line.po_label} · {line.item} x "
            f"{payload.target or payload.quantity}",
            key=key,
            after=after,
        )

    def _line_job(
        self,
        kind: str,
        line: PoLineOf,
        payload: dict[str, Any],
        *,
        subject: str,
        key: str,
        after: Sequence[int | Ref] = (),
    ) -> Handle:
        """A job about one PO line (a receipt or a correction), after ``after`` and the line's
        unfinished receipts and corrections."""
        earlier = self._jobs_about("PurchaseOrderItems", line.line_id, LINE_KINDS, ACTIVE_STATUSES)
        return self._add(
            NewJob(
                kind=kind,
                qbwc_user=self.user,
                payload=payload,
                subject=subject,
                idempotency_key=f"{self.user}:{kind}:{key}",
                autotask_entity="PurchaseOrderItems",
                autotask_id=line.line_id,
                depends_on=tuple(sorted({*after, *(j.id for j in earlier)}, key=order)),
            )
        )

    # -- the job table -----------------------------------------------------------------------

    def _add(self, new: NewJob) -> Handle:
        job, created = self.plan.add(new)
        self._planned += created
        self._touched.append(job)
        return job

    def _reuse(self, job: Handle) -> Handle:
        self._touched.append(job)
        return job

    def _flush(self) -> None:
        """Write what was decided; the report names the jobs as stored."""
        self.plan.flush()
        seen = {job.id for job in self.report.created + self.report.reused}
        for handle in self._touched:
            job, created = self.plan.resolve(handle)
            if job.id not in seen:
                seen.add(job.id)
                (self.report.created if created else self.report.reused).append(job)
        self._touched.clear()

    def _jobs_about(
        self, entity: str, autotask_id: int, kinds: Sequence[str], statuses: Sequence[str]
    ) -> list[Handle]:
        """This user's jobs about one Autotask record, oldest first (planned ones last)."""
        return self.plan.jobs_about(entity, autotask_id, kinds, statuses)

    def _supersede(self, po_id: int, fingerprint: str | None = None) -> None:
        """Newer Autotask data replaces the PO's failed jobs (those made for other data, or all
        of them without ``fingerprint``): cancel them and the jobs they failed."""
        for job in self._jobs_about("PurchaseOrders", po_id, PO_KINDS, (JobStatus.FAILED,)):
            if fingerprint is None or _fingerprint(job) != fingerprint:
                self._cancel_with_dependents(job.id)

    def _cancel_with_dependents(self, job_id: int | Ref) -> None:
        self.report.cancelled += self.plan.cancel_with_dependents(job_id)


def _fingerprint(job: Handle) -> object:
    """The fingerprint of the data a stored PO job was made for.

    Read loosely, not with :class:`~service.sync.payloads.PurchaseOrderPayload`: a poll reads
    every active job of the POs it sees, and one stored job of an unexpected shape must not stop
    the poll. Without a fingerprint it matches no data, so the PO is planned again, and the job
    itself fails when it runs, naming what is wrong with it.
    """
    return job.payload.get("fingerprint")


def _source(kind: str, autotask_id: int) -> str:
    """``Autotask product 12`` / ``Autotask company 7``, for messages."""
    return f"Autotask {'product' if kind == 'item' else 'company'} {autotask_id}"


def _line_of(po: PurchaseOrder, line_id: int) -> PoLineOf:
    """What a receipt or correction payload says of the line it is about."""
    line = next(line for line in po.lines if line.id == line_id)
    return PoLineOf(po.id, po.label, line.id, line.product.id, line.product.name)


def _price(value: Decimal | int | None) -> str | None:
    return build.format_price(value) if value is not None else None


def enqueue_purchase_orders(
    database: Database,
    settings: Settings,
    qbwc_user: str,
    orders: Iterable[PurchaseOrder],
    stock: Iterable[StockLevel] = (),
    *,
    now: datetime | None = None,
) -> EnqueueReport:
    """Enqueue what ``orders`` need in the company file of ``qbwc_user``, in one transaction."""
    with database.transaction() as conn:
        enqueuer = Enqueuer(conn, now or utcnow(), settings, qbwc_user)
        return enqueuer.purchase_orders(orders, stock)


def enqueue_full_inventory_sync(
    database: Database,
    settings: Settings,
    qbwc_user: str,
    products: Iterable[Product],
    stock: Iterable[StockLevel],
    *,
    now: datetime | None = None,
) -> EnqueueReport:
    """Enqueue a full inventory sync of every stocked product, in one transaction."""
    with database.transaction() as conn:
        enqueuer = Enqueuer(conn, now or utcnow(), settings, qbwc_user)
        return enqueuer.full_inventory_sync(products, stock)
