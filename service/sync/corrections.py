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
from dataclasses import dataclass, replace
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
from service.sync.common import decimal, quantity_text
from service.sync.jsondata import Fields, MalformedJson
from service.sync.mapping import Mappings
from service.sync.payloads import CorrectionPayload
from service.sync.receipts import line_receipts, record_receipt

#: 3200 answers in a row before the correction waits for a later run.
STALE_RETRIES = 5


@dataclass(frozen=True)
class CorrectionState:
    """The step state of a receipt correction: its ``phase`` (None while planning) and the keys
    the phase needs (the texts of a phase other than its own stay empty): ``txn_id`` (read, mod,
    del: the receipt), ``txn_date`` (mod, del: its date, named on a 3171; None when QuickBooks
    gave none), ``edit_sequence``, ``line`` and ``item`` (mod: its EditSequence, its line's
    TxnLineID and ItemRef ListID, None without one), ``quantity`` (mod, del: what it is to hold),
    ``sent`` once a write went out. What the job carries from step to step: ``changes`` (what it
    did, for its result) and ``stale`` (3200 answers in a row), None before it was first stored.
    The exchange's own flags (keys starting with ``_``) are not part of it: the exchange keeps
    them itself."""

    phase: str | None = None
    txn_id: str = ""
    txn_date: str | None = None
    edit_sequence: str = ""
    line: str = ""
    item: str | None = None
    quantity: str = ""
    changes: tuple[str, ...] | None = None
    stale: int | None = None
    sent: str | None = None

    @classmethod
    def from_json(cls, data: object) -> CorrectionState:
        """Read a stored state; :class:`MalformedJson` names what is wrong."""
        what = "the item_receipt_correction job's state"
        fields = Fields(data, what)
        phase = fields.optional("phase", str)
        if phase is not None and phase not in _PHASE_KEYS:
            raise MalformedJson(
                f"{what} is malformed: 'phase' is {phase!r}, not one of {tuple(_PHASE_KEYS)}"
            )
        values: dict[str, Any] = {
            key: fields.optional(key, str) if key in _NULLABLE else fields.required(key, str)
            for key in _PHASE_KEYS.get(phase or "", ())
        }
        return cls(
            phase,
            **values,
            changes=None if fields.optional("changes", list) is None else fields.texts("changes"),
            stale=fields.optional("stale", int),
            sent=fields.optional("sent", str),
        )

    def to_json(self) -> dict[str, Any]:
        """The state as stored: the phase, the keys it needs, what is carried, and ``sent``."""
        data: dict[str, Any] = {} if self.phase is None else {"phase": self.phase}
        data.update({key: getattr(self, key) for key in _PHASE_KEYS.get(self.phase or "", ())})
        changes = None if self.changes is None else list(self.changes)
        rest = {"changes": changes, "stale": self.stale, "sent": self.sent}
        return data | {key: value for key, value in rest.items() if value is not None}

    def carried(self) -> tuple[list[str], int]:
        """What the job carries from step to step: its changes so far and the 3200s in a row."""
        return list(self.changes or ()), self.stale or 0

    def carrying(self, changes: Sequence[str], stale: int) -> CorrectionState:
        """This state with what the job carries to its next step."""
        return replace(self, changes=tuple(changes), stale=stale)


#: The keys of each phase's state, in their stored order.
_PHASE_KEYS: dict[str, tuple[str, ...]] = {
    "read": ("txn_id",),
    "mod": ("txn_id", "txn_date", "edit_sequence", "line", "item", "quantity"),
    "del": ("txn_id", "quantity", "txn_date"),
}
#: The keys of a phase that may be null.
_NULLABLE = ("txn_date", "item")


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
        payload = CorrectionPayload.from_json(job.payload)
        state = CorrectionState.from_json(job.state)
        mappings = Mappings(ctx.conn, ctx.now, job.qbwc_user)
        changes, stale = state.carried()
        if state.phase == "mod" and state.sent is None:
            change = ItemReceiptChange(
                state.txn_id,
                state.edit_sequence,
                (
                    ItemReceiptLineMod(
                        state.line,
                        Ref(list_id=state.item) if state.item else None,
                        decimal(state.quantity),
                    ),
                ),
            )
            request = build.item_receipt_mod(request_id, change)
            return Step(request, replace(state, sent="mod").to_json())
        if state.phase == "del" and state.sent is None:
            request = build.txn_del(request_id, "ItemReceipt", state.txn_id)
            return Step(request, replace(state, sent="del").to_json())
        receipts = line_receipts(mappings, payload.line.line_id)
        if state.sent is not None:
            txn_id = state.txn_id  # the answer was lost: see what QuickBooks holds now
        else:
            planned = planned_change(receipts, decimal(payload.target), payload.present)
            if planned is None:
                return self._finish(payload, mappings, changes)
            txn_id = planned[0]
        lookup = Lookup("item_receipt", "txn_ids", (txn_id,))
        reading = CorrectionState("read", txn_id).carrying(changes, stale)
        return Step.of_lookup(lookup, request_id, reading.to_json())

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
        state = CorrectionState.from_json(job.state)
        mappings = Mappings(ctx.conn, ctx.now, job.qbwc_user)
        line_id = CorrectionPayload.from_json(job.payload).line.line_id
        changes, stale = state.carried()
        txn_id = state.txn_id
        if state.phase == "read":
            return self._read(job, response, mappings, state)
        if state.phase == "del" and response.outcome is Outcome.NOT_FOUND:
            record_receipt(mappings, line_id, txn_id, Decimal(0))  # deleted meanwhile
            return Next(CorrectionState().carrying(changes, stale).to_json())
        if response.outcome in (Outcome.STALE_EDIT_SEQUENCE, Outcome.NOT_FOUND):
            # Changed meanwhile (3200), or the line is gone (3120): read the receipt again.
            stale += 1
            if stale > STALE_RETRIES:
                return RetryLater(
                    f"{error_text(response)} (the item receipt {txn_id} keeps changing in "
                    "QuickBooks; atqb tries again later)",
                    state=CorrectionState(changes=tuple(changes)).to_json(),
                )
            return Next(CorrectionState("read", txn_id).carrying(changes, stale).to_json())
        trouble = failure(response, dated=state.txn_date)
        if trouble is not None:
            return trouble
        quantity = decimal(state.quantity)
        record_receipt(mappings, line_id, txn_id, quantity)
        changes.append(
            f"item receipt {txn_id} deleted"
            if state.phase == "del"
            else f"item receipt {txn_id} lowered to {quantity_text(quantity)}"
        )
        return Next(CorrectionState().carrying(changes, 0).to_json())

    def _read(
        self, job: Job, response: Response, mappings: Mappings, state: CorrectionState
    ) -> Decision:
        """The receipt read (``state``: the read's): its change planned, or none to make."""
        payload = CorrectionPayload.from_json(job.payload)
        txn_id = state.txn_id
        changes, stale = state.carried()
        trouble = failure(response)
        if trouble is not None:
            return trouble
        record = next(
            (r for r in response.records_of(ItemReceiptRecord) if r.txn_id == txn_id), None
        )
        if record is None:  # deleted in QuickBooks (or by a Del whose answer was lost)
            record_receipt(mappings, payload.line.line_id, txn_id, Decimal(0))
            changes.append(f"item receipt {txn_id} is no longer in QuickBooks")
            return Next(CorrectionState().carrying(changes, stale).to_json())
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
            # Already right (a lost change did happen): plan again.
            return Next(CorrectionState().carrying(changes, stale).to_json())
        quantity = planned[1]
        dated = record.txn_date.isoformat() if record.txn_date else None  # named on a 3171
        if quantity == 0:
            deleting = CorrectionState("del", txn_id, dated, quantity="0")
            return Next(deleting.carrying(changes, stale).to_json())
        modifying = CorrectionState(
            "mod",
            txn_id,
            dated,
            record.edit_sequence,
            line.txn_line_id,
            line.item.list_id if line.item else None,
            quantity_text(quantity),
        )
        return Next(modifying.carrying(changes, stale).to_json())
