"""Receipt corrections: QuickBooks never keeps more received on a PO line than Autotask says.

Kind ``item_receipt_correction``, one job per PO line. Payload: ``target`` (what QuickBooks
should hold as received on the line) and, in *unreceived* mode, ``present`` (the Autotask
receiving rows of the line that still exist).

* *received* mode: the line's quantity was lowered in Autotask after atqb received it in
  QuickBooks. ``target`` is the new quantity.
* *unreceived* mode: a receipt was cancelled in Autotask, by deleting its receiving row (the
  receipt made for that row goes) or by a negative receiving row (``target`` is the net of the
  line's rows).

Only atqb's own receipts of the line are changed (mapping ``po_line``, ``data.receipts``), in this
order: the receipts of deleted rows are deleted, then the newest receipts are lowered (deleted
when nothing is left) until the line's total is ``target``. Each receipt is read first
(``ItemReceiptQuery`` by TxnID: its EditSequence and what it really holds), then lowered with
``ItemReceiptMod`` (the quantity is absolute, so repeating a lost Mod is harmless) or deleted with
``TxnDelRq``. A receipt QuickBooks no longer has counts as deleted. 3200 (the receipt changed
meanwhile) or 3120 on a Mod (its line is gone) reads it again, up to :data:`STALE_RETRIES` times
in a row. A receipt dated in a closed period (3171) fails the job naming its date. The job runs
before the PO update that lowers the line: QuickBooks refuses a PO line quantity below what was
received against it.
"""

from __future__ import annotations

from collections.abc import Sequence
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
    RetryLater,
    Step,
    StepOutcome,
    error_text,
    failure,
)
from service.qbxml import build
from service.qbxml.status import Outcome
from service.qbxml.types import (
    ItemReceiptChange,
    ItemReceiptLineMod,
    ItemReceiptRecord,
    Ref,
    Response,
)
from service.sync.common import decimal, quantity_text, was_sent
from service.sync.mapping import Mappings
from service.sync.payloads import CorrectionPayload
from service.sync.receipts import line_receipts, record_receipt

#: 3200 answers in a row before the correction waits for a later run.
STALE_RETRIES = 5


def planned_change(
    receipts: list[dict[str, Any]], target: Decimal, present: Sequence[int] | None
) -> tuple[str, Decimal] | None:
    """The next receipt to change and the quantity it should hold, or None when the receipts
    already match (deleted rows' receipts first, then the newest)."""
    total = sum((decimal(r["quantity"]) for r in receipts), Decimal(0))
    gone = [r for r in receipts if present is not None and r.get("receiving") not in present]
    for entry in gone:
        return entry["txn_id"], Decimal(0)
    excess = total - target
    for entry in reversed(receipts):
        if excess <= 0:
            return None
        quantity = decimal(entry["quantity"])
        return entry["txn_id"], max(Decimal(0), quantity - excess)
    return None


class CorrectReceipts:
    """Kind ``item_receipt_correction`` (see the module docstring)."""

    name = "item_receipt_correction"

    def step(self, job: Job, request_id: str, ctx: Context) -> StepOutcome:
        """Read the next receipt to change, change it, or finish."""
        payload, state = CorrectionPayload.from_json(job.payload), job.state
        mappings = Mappings(ctx.conn, ctx.now, job.qbwc_user)
        kept = {"changes": state.get("changes", []), "stale": state.get("stale", 0)}
        if state.get("phase") == "mod" and was_sent(job) is None:
            change = ItemReceiptChange(
                state["txn_id"],
                state["edit_sequence"],
                (
                    ItemReceiptLineMod(
                        state["line"],
                        Ref(list_id=state["item"]) if state.get("item") else None,
                        decimal(state["quantity"]),
                    ),
                ),
            )
            return Step(build.item_receipt_mod(request_id, change), {**state, "sent": "mod"})
        if state.get("phase") == "del" and was_sent(job) is None:
            request = build.txn_del(request_id, "ItemReceipt", state["txn_id"])
            return Step(request, {**state, "sent": "del"})
        receipts = line_receipts(mappings, payload.line.line_id)
        if was_sent(job) is not None:
            txn_id = state["txn_id"]  # the answer was lost: see what QuickBooks holds now
        else:
            planned = planned_change(receipts, decimal(payload.target), payload.present)
            if planned is None:
                return self._finish(payload, mappings, kept["changes"])
            txn_id = planned[0]
        lookup = Lookup("item_receipt", "txn_ids", (txn_id,))
        return Step.of_lookup(lookup, request_id, {"phase": "read", "txn_id": txn_id, **kept})

    @staticmethod
    def _finish(payload: CorrectionPayload, mappings: Mappings, changes: list[str]) -> Done | Fail:
        line = mappings.get("po_line", payload.line.line_id)
        received = decimal((line.data if line else {}).get("received", "0"))
        if received > decimal(payload.target):
            return Fail(
                f"the line {payload.line.line_id} of Autotask PO {payload.line.po_label} "
                f"({payload.line.item}) has {quantity_text(received)} received in QuickBooks, "
                f"Autotask says {payload.target}, and the rest is on receipts atqb did not "
                "make: lower those receipts in QuickBooks by hand, then retry this job"
            )
        return Done(
            {
                "received": quantity_text(received),
                "changes": changes or ["nothing to change: QuickBooks already matches Autotask"],
            }
        )

    def handle(self, job: Job, response: Response, ctx: Context) -> Decision:
        """Plan the change from the receipt read, or record what the change did."""
        state = job.state
        mappings = Mappings(ctx.conn, ctx.now, job.qbwc_user)
        line_id = CorrectionPayload.from_json(job.payload).line.line_id
        kept = {"changes": list(state.get("changes", [])), "stale": state.get("stale", 0)}
        txn_id = state["txn_id"]
        if state.get("phase") == "read":
            return self._read(job, response, mappings, kept)
        if state["phase"] == "del" and response.outcome is Outcome.NOT_FOUND:
            record_receipt(mappings, line_id, txn_id, Decimal(0))  # deleted meanwhile
            return Next(kept)
        if response.outcome in (Outcome.STALE_EDIT_SEQUENCE, Outcome.NOT_FOUND):
            # Changed meanwhile (3200), or the line is gone (3120): read the receipt again.
            kept["stale"] += 1
            if kept["stale"] > STALE_RETRIES:
                return RetryLater(
                    f"{error_text(response)} (the item receipt {txn_id} keeps changing in "
                    "QuickBooks; atqb tries again later)",
                    state={"changes": kept["changes"]},
                )
            return Next({"phase": "read", "txn_id": txn_id, **kept})
        trouble = failure(response, dated=state.get("txn_date"))
        if trouble is not None:
            return trouble
        quantity = decimal(state["quantity"])
        record_receipt(mappings, line_id, txn_id, quantity)
        kept["stale"] = 0
        kept["changes"].append(
            f"item receipt {txn_id} deleted"
            if state["phase"] == "del"
            else f"item receipt {txn_id} lowered to {quantity_text(quantity)}"
        )
        return Next(kept)

    def _read(
        self, job: Job, response: Response, mappings: Mappings, kept: dict[str, Any]
    ) -> Decision:
        payload, state = CorrectionPayload.from_json(job.payload), job.state
        txn_id = state["txn_id"]
        trouble = failure(response)
        if trouble is not None:
            return trouble
        record = next(
            (r for r in response.records_of(ItemReceiptRecord) if r.txn_id == txn_id), None
        )
        if record is None:  # deleted in QuickBooks (or by a Del whose answer was lost)
            record_receipt(mappings, payload.line.line_id, txn_id, Decimal(0))
            kept["changes"].append(f"item receipt {txn_id} is no longer in QuickBooks")
            return Next(kept)
        if len(record.lines) != 1:
            return Fail(
                f"the item receipt {record.ref_number} (TxnID {txn_id}) of Autotask PO "
                f"{payload.line.po_label} has {len(record.lines)} item lines: it was changed in "
                "QuickBooks, so atqb leaves it alone; correct it by hand, then retry this job"
            )
        line = record.lines[0]
        holds = line.quantity or Decimal(0)
        record_receipt(mappings, payload.line.line_id, txn_id, holds)
        receipts = line_receipts(mappings, payload.line.line_id)
        planned = planned_change(receipts, decimal(payload.target), payload.present)
        if planned is None or planned[0] != txn_id:
            return Next(kept)  # already right (a lost change did happen): plan again
        quantity = planned[1]
        dated = record.txn_date.isoformat() if record.txn_date else None  # named on a 3171
        if quantity == 0:
            return Next(
                {"phase": "del", "txn_id": txn_id, "quantity": "0", "txn_date": dated, **kept}
            )
        return Next(
            {
                "phase": "mod",
                "txn_id": txn_id,
                "txn_date": dated,
                "edit_sequence": record.edit_sequence,
                "line": line.txn_line_id,
                "item": line.item.list_id if line.item else None,
                "quantity": quantity_text(quantity),
                **kept,
            }
        )
