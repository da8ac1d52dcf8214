"""Item receipts: what was received in Autotask raises QuickBooks' On Hand, linked to the PO line.

One job per receipt (kind ``item_receipt``), each one ``ItemReceiptAdd`` with one line linked to
its PO line (``LinkToTxn(TxnID, TxnLineID)``, reference/qbxml.md 4.11):

* *received* mode: one receipt per PO line at transfer (the seeds: "each line on the PO will
  create an individual Item Receipt"), for the line's quantity less what atqb already received
  on it (an update that raises a quantity later receives the difference). RefNumber ``ATL<line
  id>``.
* *unreceived* mode: one receipt per Autotask receiving row, for that row's quantity only.
  RefNumber ``ATR<receiving id>``.

The vendor is the PO's (QuickBooks refuses a receipt of another vendor against the PO), the TxnID
and TxnLineID come from the PO's mappings. Every receipt carries an ExternalGUID derived from the
Autotask row; when an answer is lost, the next attempt looks the RefNumber up and takes the
receipt with that GUID instead of receiving twice. A 570 warning (the line or PO is closed) still
means QuickBooks saved the receipt, unlinked: the job is done and its result says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from service.jobstore import Job
from service.kinds import (
    Context,
    Decision,
    Done,
    Fail,
    Lookup,
    Next,
    Step,
    StepOutcome,
    failure,
)
from service.qbxml import build
from service.qbxml.status import Outcome
from service.qbxml.types import ItemReceipt, ItemReceiptLine, ItemReceiptRecord, Ref, Response
from service.sync.common import decimal, quantity_text, same_guid
from service.sync.jsondata import Fields, MalformedJson
from service.sync.mapping import Mappings
from service.sync.payloads import ReceiptPayload

_WHAT = "the item_receipt job's state"


@dataclass(frozen=True)
class ReceiptState:
    """The step state of an item receipt: the add out (``sent`` "add", with the ``quantity`` it
    receives), or after a lost answer looking the RefNumber up (``phase`` "find", with the lost
    add's ``quantity`` and ``sent``); empty before the first step and after a lookup that found
    nothing. The exchange's own flags (keys starting with ``_``) are not part of it: the
    exchange keeps them itself."""

    phase: str | None = None
    quantity: str | None = None
    sent: str | None = None

    @classmethod
    def from_json(cls, data: object) -> ReceiptState:
        """Read a stored state; :class:`MalformedJson` names what is wrong."""
        fields = Fields(data, _WHAT)
        phase = fields.optional("phase", str)
        if phase not in (None, "find"):
            raise MalformedJson(f"{_WHAT} is malformed: 'phase' is {phase!r}, not 'find'")
        sent = fields.optional("sent", str)
        # The add's state always holds the quantity it sent: its answer records it.
        adding = phase is None and sent is not None
        quantity = fields.required("quantity", str) if adding else fields.optional("quantity", str)
        return cls(phase, quantity, sent)

    def to_json(self) -> dict[str, Any]:
        """The state as stored: the add's ``sent`` before its ``quantity``, the lookup's
        ``phase`` and ``quantity`` before the ``sent`` the exchange carries into it."""
        quantity = {} if self.quantity is None else {"quantity": self.quantity}
        sent = {} if self.sent is None else {"sent": self.sent}
        if self.phase is None:
            return {**sent, **quantity}
        return {"phase": self.phase, **quantity, **sent}


class ReceivePurchaseOrderLine:
    """Kind ``item_receipt`` (see the module docstring)."""

    name = "item_receipt"

    def step(self, job: Job, request_id: str, ctx: Context) -> StepOutcome:
        """The receipt, its lookup after a lost answer, or done when nothing is left to receive."""
        payload, state = ReceiptPayload.from_json(job.payload), ReceiptState.from_json(job.state)
        mappings = Mappings(ctx.conn, ctx.now, job.qbwc_user)
        po = mappings.get("purchase_order", payload.line.po_id)
        line = mappings.get("po_line", payload.line.line_id)
        if po is None or not po.qb_id or line is None or not line.qb_id:
            return Fail(
                f"the line {payload.line.line_id} of Autotask PO {payload.line.po_label} is not in "
                "QuickBooks (the PO's transfer or update did not finish): retry that job first"
            )
        if state.sent == "add":
            lookup = Lookup("item_receipt", "ref_numbers", (payload.ref_number,))
            # The exchange carries the lost add's "sent" into the lookup's state.
            finding = ReceiptState("find", state.quantity)
            return Step.of_lookup(lookup, request_id, finding.to_json())
        if payload.receiving_id is not None:
            done = mappings.get("receiving", payload.receiving_id)
            if done is not None and done.qb_id:
                return Done({"txn_id": done.qb_id, "how": "already received"})
            quantity = decimal(payload.quantity)
        else:
            received = decimal(line.data.get("received", "0"))
            quantity = decimal(payload.target) - received
            if quantity <= 0:
                return Done(
                    {"quantity": "0", "how": f"already received ({quantity_text(received)})"}
                )
        vendor = po.data.get("vendor")
        if not vendor:
            return Fail(f"the vendor of Autotask PO {payload.line.po_label} is not known")
        request = build.item_receipt_add(
            request_id,
            ItemReceipt(
                Ref(list_id=vendor),
                (
                    ItemReceiptLine(
                        po.qb_id,
                        line.qb_id,
                        quantity,
                        item=_item_ref(mappings, line.data, payload.line.product_id),
                        cost=decimal(line.data["rate"]) if line.data.get("rate") else None,
                    ),
                ),
                ref_number=payload.ref_number,
                txn_date=date.fromisoformat(payload.date) if payload.date else None,
                memo=f"Autotask PO {payload.line.po_label}: {payload.line.item} received",
                external_guid=payload.guid,
            ),
        )
        return Step(request, ReceiptState(quantity=quantity_text(quantity), sent="add").to_json())

    def handle(self, job: Job, response: Response, ctx: Context) -> Decision:
        """Record what was received; a lookup that finds nothing leads to the add."""
        trouble = failure(response, dated=ReceiptPayload.from_json(job.payload).date)
        if trouble is not None:
            return trouble
        state = ReceiptState.from_json(job.state)
        records = response.records_of(ItemReceiptRecord)
        if state.phase == "find":
            for record in records:
                how = self._ours(job, ctx, record, state.quantity)
                if how is not None:
                    quantity = sum((ln.quantity or Decimal(0) for ln in record.lines), Decimal(0))
                    return Done(self._record(job, ctx, record, quantity, how))
            return Next(ReceiptState().to_json())
        if not records:
            return Fail("QuickBooks added the item receipt but returned no record")
        if state.quantity is None:
            raise MalformedJson(f"{_WHAT} is malformed: 'quantity' is missing")
        result = self._record(job, ctx, records[0], decimal(state.quantity), "received")
        if response.outcome is Outcome.WARNING:
            result["warning"] = (
                f"QuickBooks {response.status_code}: {response.status_message} (the receipt was "
                "saved without its link to the PO line)"
            )
        return Done(result)

    def _ours(
        self, job: Job, ctx: Context, record: ItemReceiptRecord, sent: str | None
    ) -> str | None:
        """How a receipt found by its RefNumber is known to be the lost add's, or None.

        Its ExternalGUID proves it; without one (see :func:`service.sync.purchase_orders._ours`)
        it is ours when it is linked to this line's PO, for this line's item and the quantity
        the lost add sent (``sent``). Another GUID means someone else's receipt.
        """
        payload = ReceiptPayload.from_json(job.payload)
        if record.external_guid:
            mine = same_guid(record.external_guid, payload.guid)
            return "found after a lost answer" if mine else None
        po = Mappings(ctx.conn, ctx.now, job.qbwc_user).get("purchase_order", payload.line.po_id)
        linked = {link.txn_id for link in record.linked_txns}
        if po is None or po.qb_id not in linked or sent is None or len(record.lines) != 1:
            return None
        line = record.lines[0]
        known = Mappings(ctx.conn, ctx.now, job.qbwc_user).get("po_line", payload.line.line_id)
        item = (known.data if known else {}).get("item")
        if line.quantity != decimal(sent) or (item and line.item and line.item.list_id != item):
            return None
        return "found after a lost answer (no ExternalGUID: matched by PO link, item, quantity)"

    def _record(
        self, job: Job, ctx: Context, record: ItemReceiptRecord, quantity: Decimal, how: str
    ) -> dict[str, Any]:
        payload = ReceiptPayload.from_json(job.payload)
        line_id = payload.line.line_id
        mappings = Mappings(ctx.conn, ctx.now, job.qbwc_user)
        if payload.receiving_id is not None:
            mappings.put(
                "receiving",
                payload.receiving_id,
                qb_id=record.txn_id,
                qb_name=record.ref_number,
                data={"line": line_id, "quantity": quantity_text(quantity)},
            )
        record_receipt(mappings, line_id, record.txn_id, quantity, payload.receiving_id)
        return {
            "txn_id": record.txn_id,
            "ref_number": record.ref_number,
            "quantity": quantity_text(quantity),
            "how": how,
        }


def _item_ref(mappings: Mappings, line_data: dict[str, Any], product_id: int) -> Ref | None:
    """The receipt line's ItemRef: the PO line's item as the PO holds it, else the item atqb
    mapped for the product."""
    if line_data.get("item"):
        return Ref(list_id=line_data["item"])
    item = mappings.get("item", product_id)
    return Ref(list_id=item.qb_id) if item is not None and item.qb_id else None


def line_receipts(mappings: Mappings, line_id: int) -> list[dict[str, Any]]:
    """atqb's receipts of one PO line, oldest first: ``{"txn_id", "quantity", "receiving"}``
    (``receiving`` is the Autotask row in unreceived mode, else None)."""
    line = mappings.get("po_line", line_id)
    return list((line.data if line else {}).get("receipts") or [])


def record_receipt(
    mappings: Mappings,
    line_id: int,
    txn_id: str,
    quantity: Decimal,
    receiving_id: int | None = None,
) -> None:
    """Set what one of the line's receipts holds (``quantity`` 0: it is gone) and the line's
    received total. A receipt not yet recorded is added after the others."""
    receipts = line_receipts(mappings, line_id)
    line = mappings.get("po_line", line_id)
    received = decimal((line.data if line else {}).get("received", "0"))
    entry = next((r for r in receipts if r["txn_id"] == txn_id), None)
    if entry is None:
        entry = {"txn_id": txn_id, "quantity": "0", "receiving": receiving_id}
        receipts.append(entry)
    received += quantity - decimal(entry["quantity"])
    entry["quantity"] = quantity_text(quantity)
    receipts = [r for r in receipts if decimal(r["quantity"]) > 0]
    mappings.put(
        "po_line",
        line_id,
        data={"received": quantity_text(max(received, Decimal(0))), "receipts": receipts},
    )
