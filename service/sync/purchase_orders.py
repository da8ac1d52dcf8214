"""Purchase orders: the transfer (PurchaseOrderAdd) and every later change (PurchaseOrderMod).

The payload of both kinds is the PO as the enqueue API prepared it (``payload["po"]``: vendor,
ship-to customer, lines with their items, quantities, rates and customers, memo), with the
``fingerprint`` of that data.

Transfer (kind ``purchase_order``):

* The PO goes in with the RefNumber ``AT<Autotask PO id>`` (:func:`~service.sync.common.
  po_ref_number`) and an ExternalGUID derived from the Autotask id. References use the ListIDs
  the ensure jobs recorded (names when none is known).
* Answer lost: the next attempt looks the RefNumber up and takes the PO whose ExternalGUID is
  ours; only when there is none is it added again.
* 3140 (a reference QuickBooks does not know: the vendor, a customer or an item was deleted or
  merged in QuickBooks after atqb mapped it): the ListIDs of that kind are checked in one lookup,
  the ones QuickBooks no longer has are forgotten, and the PO is sent again once, naming those
  records by name. A second 3140 fails the job with QuickBooks' message. A record that is there
  but was made inactive after atqb mapped it fails the job naming it, or with
  ``ATQB_REACTIVATE_INACTIVE=true`` is made active (its Mod) before the PO is sent again.
* Done: the TxnID, RefNumber and EditSequence of the PO and the TxnLineID of each line are
  remembered (mappings ``purchase_order`` and ``po_line``).
* ``link`` (the PO's External P.O. # was set outside atqb: it is in QuickBooks already): the PO
  with that RefNumber and the PO's vendor is looked up and adopted instead of adding one; its
  lines are matched to Autotask's by item, with what was received on them. None: the job fails
  and says to run ``atqb transfer`` (``or_add``: then it is added); two, or one already linked
  to another Autotask PO: the job fails naming them. The update that follows makes it match
  Autotask (lines QuickBooks lacks are added).

Update (kind ``purchase_order_update``): Autotask is the master (the seeds: "all updates will
need to come from Autotask").

1. Read the PO (``PurchaseOrderQuery`` by TxnID, with lines): its current EditSequence, lines and
   received quantities. Reads of many POs share one request.
2. Compare with Autotask and send one ``PurchaseOrderMod`` with the current EditSequence:
   changed header fields; when any line changes, **every line to keep is listed** (QuickBooks
   deletes the lines a line Mod does not name, reference/qbxml.md 4.9): changed lines with their
   new values, unchanged ones bare, new Autotask lines as ``TxnLineID -1``. A line removed in
   Autotask is deleted, unless something was received against it (QuickBooks refuses to delete
   such a line): it is closed instead. Lines people added in QuickBooks are kept. QuickBooks
   also refuses a quantity below the received quantity (the line keeps the received quantity,
   and the summary says so), and a new item on a received line or a new vendor on a received
   PO: such an update fails naming the line and what to do, and sends nothing.
3. 3200 (EditSequence out of date: someone or a receipt changed the PO meanwhile): back to 1,
   up to :data:`STALE_RETRIES` times in a row.
4. Answer lost: back to 1; lines the lost Mod may have added are recognised by their item and
   adopted instead of being added twice.

A PO canceled in Autotask after its transfer is **closed** in QuickBooks (``IsManuallyClosed``)
and flagged: its memo starts with "CANCELED in Autotask". It is not deleted: it may have item
receipts and bills linked to it, and a bookkeeper expects to find it, closed, with its history.
Nothing more is received against it. If Autotask reopens it, the update reopens it.
"""

from __future__ import annotations

import re
from dataclasses import replace
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
    LookupQuery,
    Next,
    RetryLater,
    Step,
    StepOutcome,
    error_text,
    failure,
)
from service.qbxml import build
from service.qbxml import text as qtext
from service.qbxml.status import Outcome
from service.qbxml.types import (
    ListRecord,
    PurchaseOrder,
    PurchaseOrderChange,
    PurchaseOrderLine,
    PurchaseOrderLineMod,
    PurchaseOrderLineRecord,
    PurchaseOrderRecord,
    Ref,
    Response,
)
from service.sync.common import decimal, describe_record, quantity_text, same_guid
from service.sync.mapping import MappingKind, Mappings
from service.sync.payloads import CompanyOf, PoLine, PurchaseOrderData, PurchaseOrderPayload
from service.sync.po_state import (
    AddedLine,
    Adding,
    Begin,
    Checking,
    Finding,
    Idle,
    Linking,
    Modifying,
    PlannedMod,
    Reading,
    transfer_sent,
    transfer_state,
    update_sent,
    update_state,
)

#: 3200 answers in a row before the update waits for a later run.
STALE_RETRIES = 5
_MEMO_MAX = 4095
_VENDOR_MSG_MAX = 99
CANCELED_FLAG = "CANCELED in Autotask. "
_REFERENCE = re.compile(r"invalid reference to QuickBooks (\w+)", re.IGNORECASE)
_REF_KINDS: dict[str, tuple[MappingKind, LookupQuery]] = {
    "vendor": ("vendor", "vendor"),
    "customer": ("customer", "customer"),
    "item": ("item", "item"),
}


def _payload(job: Job) -> PurchaseOrderPayload:
    """The job's payload, read (:class:`~service.sync.jsondata.MalformedJson` when it is not
    one)."""
    return PurchaseOrderPayload.from_json(job.payload, job.kind)


def memo_text(po: PurchaseOrderData, *, canceled: bool) -> str:
    """The PO's QuickBooks memo: where it comes from, the Autotask memo, the cancel flag."""
    memo = f"Autotask PO {po.label}"
    if po.memo:
        memo += f" - {po.memo}"
    return (CANCELED_FLAG if canceled else "") + memo


class Refs:
    """QuickBooks references for a PO's vendor, customers and items, from the mappings.

    A record with a known ListID is referred to by it; one without (forgotten as stale) by the
    name it has or will have in QuickBooks. ``used`` remembers which ListIDs were sent.
    """

    def __init__(self, mappings: Mappings, po: PurchaseOrderData) -> None:
        self.mappings = mappings
        self.used: dict[MappingKind, dict[int, str]] = {"vendor": {}, "customer": {}, "item": {}}
        lines = po.lines
        self._known = {
            "vendor": mappings.get_many("vendor", [po.vendor.id]),
            "customer": mappings.get_many(
                "customer",
                [c.id for c in [po.ship_to, *(ln.customer for ln in lines)] if c],
            ),
            "item": mappings.get_many("item", [line.product_id for line in lines]),
        }

    def ref(self, kind: MappingKind, autotask_id: int, qb_name: str) -> Ref:
        """The reference to send for one record."""
        known = self._known[kind].get(autotask_id)
        if known is not None and known.qb_id:
            self.used[kind][autotask_id] = known.qb_id
            return Ref(list_id=known.qb_id)
        return Ref(full_name=qb_name)

    def vendor(self, po: PurchaseOrderData) -> Ref:
        """The PO's vendor."""
        return self.ref("vendor", po.vendor.id, po.vendor.qb_name)

    def customer(self, company: CompanyOf | None) -> Ref | None:
        """A ship-to or line customer, if any."""
        if not company:
            return None
        return self.ref("customer", company.id, company.qb_name)

    def item(self, line: PoLine) -> Ref:
        """A line's item."""
        return self.ref("item", line.product_id, line.item)


def _same_ref(a: Ref | None, b: Ref | None) -> bool:
    if a is None or b is None:
        return a is b
    if a.list_id and b.list_id:
        return a.list_id == b.list_id
    return qtext.name_key(a.full_name or "") == qtext.name_key(b.full_name or "")


def _line(line: PoLine, refs: Refs) -> PurchaseOrderLine:
    rate = line.rate
    return PurchaseOrderLine(
        refs.item(line),
        decimal(line.quantity),
        decimal(rate) if rate is not None else None,
        desc=line.desc,
        customer=refs.customer(line.customer),
        manufacturer_part_number=line.mpn,
    )


def line_facts(qb_line: Any) -> dict[str, str | None]:
    """What a receipt against this PO line sends beside its link: the line's item and cost as
    QuickBooks holds them (``ItemRef`` and ``Cost`` of ``ItemLineAdd``)."""
    return {
        "item": qb_line.item.list_id if qb_line.item else None,
        "rate": str(qb_line.rate) if qb_line.rate is not None else None,
    }


def remember_po(
    ctx: Context, job: Job, record: PurchaseOrderRecord, line_ids: list[int]
) -> dict[str, Any]:
    """Record the PO and its lines (Autotask line ids in the order of ``record.lines``)."""
    payload = _payload(job)
    po = payload.po
    mappings = Mappings(ctx.conn, ctx.now, job.qbwc_user)
    previous = mappings.get("purchase_order", po.id)
    known_lines = list((previous.data.get("lines") if previous else None) or [])
    for line_id, qb_line in zip(line_ids, record.lines, strict=False):
        mappings.put(
            "po_line",
            line_id,
            qb_id=qb_line.txn_line_id,
            data={"po": po.id, **line_facts(qb_line)},
        )
        if line_id not in known_lines:
            known_lines.append(line_id)
    mappings.put(
        "purchase_order",
        po.id,
        qb_id=record.txn_id,
        qb_name=record.ref_number,
        edit_sequence=record.edit_sequence,
        data={
            "fingerprint": payload.fingerprint,
            "vendor": record.vendor.list_id if record.vendor else None,
            "label": po.label,
            "canceled": po.canceled,
            "lines": known_lines,
        },
    )
    return {
        "txn_id": record.txn_id,
        "ref_number": record.ref_number,
        "edit_sequence": record.edit_sequence,
    }


def _twin_number(external: str) -> str | None:
    """The External P.O. # as QuickBooks would store it as a PO number (Latin-1, one line), or
    None when no QuickBooks PO can have it (empty once cleaned, longer than 11 characters)."""
    try:
        cleaned = qtext.normalize_name(external, colons=False).text
    except ValueError:
        return None
    return cleaned if len(cleaned) <= qtext.PO_REF_NUMBER_MAX else None


def _answered_po(response: Response, did: str, dated: str | None) -> PurchaseOrderRecord | Decision:
    """The PO an Add or Mod answered with, or the decision for an answer without one."""
    trouble = failure(response, dated=dated)
    if trouble is not None:
        return trouble
    records = response.records_of(PurchaseOrderRecord)
    if not records:
        return Fail(f"QuickBooks {did} the purchase order but returned no record")
    return records[0]


def _ours(record: PurchaseOrderRecord, po: PurchaseOrderData, refs: Refs) -> str | None:
    """How a PO found by its RefNumber is known to be the one a lost add created, or None.

    Its ExternalGUID proves it. A record without one (QuickBooks leaves it out of query answers
    unless the query names OwnerID 0, and an older QuickBooks may not keep it) is ours when what
    QuickBooks does return matches what atqb sent: vendor, date, and the lines' items and
    quantities in order. Another GUID means another program's PO.
    """
    if record.external_guid:
        return "found after a lost answer" if same_guid(record.external_guid, po.guid) else None
    if not _same_ref(refs.vendor(po), record.vendor):
        return None
    sent_date = date.fromisoformat(po.txn_date) if po.txn_date else None
    if sent_date is not None and record.txn_date not in (None, sent_date):
        return None
    sent = [(refs.item(line), decimal(line.quantity)) for line in po.lines]
    found = [(line.item, line.quantity) for line in record.lines]
    if len(sent) != len(found):
        return None
    for (item, quantity), (qb_item, qb_quantity) in zip(sent, found, strict=True):
        if not _same_ref(item, qb_item) or qb_quantity != quantity:
            return None
    return "found after a lost answer (no ExternalGUID: matched by vendor, date and lines)"


class TransferPurchaseOrder:
    """Kind ``purchase_order``: add the PO to QuickBooks once (see the module docstring)."""

    name = "purchase_order"

    def step(self, job: Job, request_id: str, ctx: Context) -> StepOutcome:
        """Add the PO; look it up first when an earlier add may have been carried out, or
        find its QuickBooks twin when it has one (``link``)."""
        po = _payload(job).po
        state = transfer_state(job.state, job.kind)
        link = po.link
        sent = transfer_sent(state)
        unlinked = isinstance(state, Begin) and state.unlinked
        if link and not unlinked and sent is None:
            number = _twin_number(link.ref_number)
            if number is None:
                missing = self._no_twin(job, "QuickBooks cannot hold such a PO number")
                if missing is not None:
                    return missing
            else:
                lookup = Lookup("purchase_order", "ref_numbers", (number,))
                return Step.of_lookup(lookup, request_id, Linking().to_json())
        if sent == "add":
            lookup = Lookup("purchase_order", "ref_numbers", (po.ref_number,))
            return Step.of_lookup(lookup, request_id, Finding().to_json())
        if isinstance(state, Checking):
            return self._check(state, request_id, lost=sent == "reactivate")
        refs = Refs(Mappings(ctx.conn, ctx.now, job.qbwc_user), po)
        request = build.purchase_order_add(
            request_id,
            PurchaseOrder(
                refs.vendor(po),
                tuple(_line(line, refs) for line in po.lines),
                ref_number=po.ref_number,
                txn_date=date.fromisoformat(po.txn_date) if po.txn_date else None,
                ship_to=refs.customer(po.ship_to),
                memo=memo_text(po, canceled=False),
                vendor_msg=po.memo,
                external_guid=po.guid,
            ),
        )
        used = tuple(
            (kind, tuple((str(at_id), list_id) for at_id, list_id in ids.items()))
            for kind, ids in refs.used.items()
        )
        verified = isinstance(state, Begin) and state.verified
        return Step(request, Adding(used, verified).to_json())

    @staticmethod
    def _check(state: Checking, request_id: str, *, lost: bool) -> Step:
        """Read the records of the stale reference's kind, or make the next inactive one
        active; after a lost reactivation, read them again before anything else."""
        if state.phase == "verify" or lost:
            lookup = Lookup(state.query, "list_ids", state.list_ids)
            return Step.of_lookup(lookup, request_id, replace(state, phase="verify").to_json())
        list_id, edit_sequence = state.inactive[0]
        request = build.list_reactivate(request_id, state.kind, list_id, edit_sequence)
        return Step(request, replace(state, sent="reactivate").to_json())

    def handle(self, job: Job, response: Response, ctx: Context) -> Decision:
        """Remember the PO, or find out which reference went stale."""
        po = _payload(job).po
        state = transfer_state(job.state, job.kind)
        if isinstance(state, Finding):
            return self._found(job, response, ctx)
        if isinstance(state, Checking) and state.phase == "verify":
            return self._verified(job, state, response, ctx)
        if isinstance(state, Checking):
            return self._reactivated(state, response)
        if isinstance(state, Linking):
            return self._linked(job, response, ctx)
        stale_ref = response.outcome is Outcome.INVALID_REFERENCE
        if stale_ref and isinstance(state, Adding) and not state.verified:
            return self._verify(state, response)  # (a second 3140, after it, fails the job)
        added = _answered_po(response, "added", po.txn_date)
        if not isinstance(added, PurchaseOrderRecord):
            return added
        line_ids = [line.id for line in po.lines]
        return Done({**remember_po(ctx, job, added, line_ids), "how": "added"})

    @staticmethod
    def _found(job: Job, response: Response, ctx: Context) -> Decision:
        """After a lost answer: the PO with our RefNumber and ExternalGUID, or add it again."""
        po = _payload(job).po
        trouble = failure(response)
        if trouble is not None:
            return trouble
        refs = Refs(Mappings(ctx.conn, ctx.now, job.qbwc_user), po)
        for record in response.records_of(PurchaseOrderRecord):
            how = _ours(record, po, refs)
            if how is not None:
                result = remember_po(ctx, job, record, [line.id for line in po.lines])
                return Done({**result, "how": how})
        return Next(Begin().to_json())

    @staticmethod
    def _reactivated(state: Checking, response: Response) -> Decision:
        """One inactive record made active: the next one, or the PO sent again."""
        if response.outcome is Outcome.STALE_EDIT_SEQUENCE:  # changed meanwhile: read again
            return Next(replace(state, phase="verify", sent=None).to_json())
        trouble = failure(response)
        if trouble is not None:
            return trouble
        left = state.inactive[1:]
        if left:
            return Next(replace(state, inactive=left, sent=None).to_json())
        return Next(Begin(verified=True, reactivated=state.named).to_json())

    def _no_twin(self, job: Job, why: str) -> Fail | None:
        """No QuickBooks PO to link to: fail and say what to do, or (selected with
        ``atqb transfer``) None, and the PO is added."""
        po = _payload(job).po
        assert po.link is not None, "only a linked PO looks for its twin"
        if po.link.or_add:
            return None
        return Fail(
            f"Autotask PO {po.label} has the External P.O. # {po.link.ref_number!r}, "
            f"set outside atqb, but QuickBooks has no purchase order with that number for the "
            f"vendor {po.vendor.qb_name} ({why}). atqb does not add it, to avoid a "
            f"duplicate: if it is not in QuickBooks, run `atqb transfer {po.id}` to add it "
            "(its External P.O. # is left as it is); if it is there under another number, "
            "correct the External P.O. # in Autotask"
        )

    def _linked(self, job: Job, response: Response, ctx: Context) -> Decision:
        """Adopt the QuickBooks PO with the External P.O. # and the PO's vendor."""
        po = _payload(job).po
        assert po.link is not None, "only a linked PO looks for its twin"
        trouble = failure(response)
        if trouble is not None:
            return trouble
        mappings = Mappings(ctx.conn, ctx.now, job.qbwc_user)
        vendor = Refs(mappings, po).vendor(po)
        number = qtext.name_key(_twin_number(po.link.ref_number) or "")
        twins = [
            r
            for r in response.records_of(PurchaseOrderRecord)
            if qtext.name_key(r.ref_number or "") == number and _same_ref(vendor, r.vendor)
        ]
        if not twins:
            missing = self._no_twin(job, "QuickBooks has none")
            return missing if missing is not None else Next(Begin(unlinked=True).to_json())
        if len(twins) > 1:
            return Fail(
                f"QuickBooks has {len(twins)} purchase orders numbered "
                f"{po.link.ref_number!r} for the vendor {po.vendor.qb_name} (TxnIDs "
                f"{', '.join(t.txn_id for t in twins)}): atqb cannot tell which one is Autotask "
                f"PO {po.label}; renumber the others in QuickBooks, then retry this job"
            )
        twin = twins[0]
        taken = [
            m.autotask_id
            for m in mappings.holders("purchase_order", twin.ref_number or "")
            if m.qb_id == twin.txn_id and m.autotask_id != po.id
        ]
        if taken:
            return Fail(
                f"the QuickBooks purchase order {twin.ref_number} (External P.O. # of Autotask "
                f"PO {po.label}) is already linked to Autotask PO {taken[0]}: correct the "
                "External P.O. # of one of them in Autotask"
            )
        refs = Refs(mappings, po)
        free = list(twin.lines)
        line_ids: list[int] = []
        matched = []
        for line in po.lines:
            wanted = refs.item(line)
            qb_line = next((q for q in free if _same_ref(wanted, q.item)), None)
            if qb_line is None:
                continue
            free.remove(qb_line)
            line_ids.append(line.id)
            matched.append(qb_line)
        linked = replace(twin, lines=tuple(matched))  # the lines in Autotask's order
        result = remember_po(ctx, job, linked, line_ids)
        for line_id, qb_line in zip(line_ids, matched, strict=True):
            received = qb_line.received_quantity or Decimal(0)
            mappings.put("po_line", line_id, data={"received": quantity_text(received)})
        unmatched = [line.id for line in po.lines if line.id not in line_ids]
        return Done(
            {
                **result,
                "how": "linked to the QuickBooks PO with its External P.O. #",
                "linked": True,
                "lines_not_in_quickbooks": unmatched,
            }
        )

    @staticmethod
    def _verify(state: Adding, response: Response) -> Decision:
        """After a 3140: read the records of the kind QuickBooks named, or fail when the add
        referred to none of that kind by ListID (nothing atqb can check)."""
        match = _REFERENCE.search(response.status_message or "")
        kind = _REF_KINDS.get(match.group(1).lower()) if match else None
        used = state.used_of(kind[0]) if kind else ()
        if kind is None or not used:
            return Fail(error_text(response))
        list_ids = tuple(sorted({list_id for _, list_id in used}))
        return Next(
            Checking("verify", kind[0], kind[1], list_ids, used, error_text(response)).to_json()
        )

    @staticmethod
    def _verified(job: Job, state: Checking, response: Response, ctx: Context) -> Decision:
        """Make the inactive records active (or fail naming them), forget the ones QuickBooks
        no longer has, and send the PO again."""
        trouble = failure(response)
        if trouble is not None:
            return trouble
        records = {r.list_id: r for r in response.records_of(ListRecord)}
        inactive = [r for r in records.values() if r.is_active is False]
        if inactive:
            named = ", ".join(describe_record(r) for r in inactive)
            if ctx.settings.reactivate_inactive:  # made inactive after atqb mapped it
                pending = tuple((r.list_id, r.edit_sequence or "") for r in inactive)
                reactivate = replace(state, phase="reactivate", inactive=pending, named=named)
                return Next(replace(reactivate, sent=None).to_json())
            return Fail(
                f"{state.error} ({named} is inactive in QuickBooks, which refuses inactive "
                "records in a new transaction: make it active in QuickBooks, then retry this job)"
            )
        gone = tuple(int(at_id) for at_id, list_id in state.used if list_id not in records)
        if not gone:
            if state.named is not None:
                # A reactivation whose answer was lost did happen: every record is active now.
                return Next(Begin(verified=True, reactivated=state.named).to_json())
            return Fail(state.error)
        mappings = Mappings(ctx.conn, ctx.now, job.qbwc_user)
        for autotask_id in gone:
            mappings.forget(state.kind, autotask_id)
        return Next(Begin(verified=True, forgotten=((state.kind, gone),)).to_json())


# --------------------------------------------------------------------------------------------
# Update


def _clean(value: str | None, limit: int) -> str | None:
    return qtext.fit_text(value, limit).text if value is not None else None


class UpdatePurchaseOrder:
    """Kind ``purchase_order_update``: bring a transferred PO in line with Autotask."""

    name = "purchase_order_update"

    def step(self, job: Job, request_id: str, ctx: Context) -> StepOutcome:
        """Read the PO, or send the Mod planned from the last read."""
        po = _payload(job).po
        state = update_state(job.state, job.kind)
        mapping = Mappings(ctx.conn, ctx.now, job.qbwc_user).get("purchase_order", po.id)
        if mapping is None or not mapping.qb_id:
            return Fail(
                f"Autotask PO {po.label} is not in QuickBooks (its transfer did not finish); "
                "retry the transfer job first"
            )
        lost = update_sent(state) == "mod"
        if isinstance(state, Modifying) and not lost:
            request = build.purchase_order_mod(request_id, state.plan.change)
            return Step(request, replace(state, sent="mod").to_json())
        adding: tuple[AddedLine, ...] = ()  # the lines a lost Mod may have added
        if isinstance(state, Modifying):
            adding = state.plan.adding
        elif isinstance(state, Reading):
            adding = state.adding or ()
        lookup = Lookup("purchase_order", "txn_ids", (mapping.qb_id,))
        reading = Reading(state.stale or 0, adding if lost else None)
        return Step.of_lookup(lookup, request_id, reading.to_json())

    def handle(self, job: Job, response: Response, ctx: Context) -> Decision:
        """Plan the Mod from what QuickBooks holds, or remember what the Mod did."""
        state = update_state(job.state, job.kind)
        if isinstance(state, Idle):  # never stored with a request: taken as a read's answer
            state = Reading(state.stale or 0)
        if isinstance(state, Reading):
            return self._read(job, state, response, ctx)
        if response.outcome is Outcome.STALE_EDIT_SEQUENCE:
            stale = state.stale + 1
            if stale > STALE_RETRIES:
                return RetryLater(
                    f"{error_text(response)} ({stale} times in a row: the PO keeps changing in "
                    "QuickBooks; atqb tries again later)",
                    state=Idle(0).to_json(),
                )
            return Next(Reading(stale).to_json())
        record = _answered_po(response, "changed", state.txn_date)
        if not isinstance(record, PurchaseOrderRecord):
            return record
        known = set(state.known_lines)
        added = [line for line in record.lines if line.txn_line_id not in known]
        mappings = Mappings(ctx.conn, ctx.now, job.qbwc_user)
        for entry, qb_line in zip(state.plan.adding, added, strict=False):
            mappings.put("po_line", entry.at_line, qb_id=qb_line.txn_line_id)
        return Done(self._finish(job, ctx, record, state.plan.summary))

    @staticmethod
    def _refresh_lines(
        mappings: Mappings, line_ids: list[int], record: PurchaseOrderRecord
    ) -> None:
        """Keep each mapped line's item and cost as QuickBooks now holds them."""
        by_txn_line = {line.txn_line_id: line for line in record.lines}
        for at_id, mapping in mappings.get_many("po_line", line_ids).items():
            qb_line = by_txn_line.get(mapping.qb_id or "")
            if qb_line is not None:
                mappings.put("po_line", at_id, data=line_facts(qb_line))

    def _finish(
        self, job: Job, ctx: Context, record: PurchaseOrderRecord, summary: tuple[str, ...]
    ) -> dict[str, Any]:
        payload = _payload(job)
        po = payload.po
        mappings = Mappings(ctx.conn, ctx.now, job.qbwc_user)
        previous = mappings.get("purchase_order", po.id)
        lines = list((previous.data.get("lines") if previous else None) or [])
        lines += [line.id for line in po.lines if line.id not in lines]
        self._refresh_lines(mappings, lines, record)
        mappings.put(
            "purchase_order",
            po.id,
            edit_sequence=record.edit_sequence,
            data={
                "fingerprint": payload.fingerprint,
                "canceled": po.canceled,
                "vendor": record.vendor.list_id if record.vendor else None,
                "lines": lines,
            },
        )
        return {
            "txn_id": record.txn_id,
            "edit_sequence": record.edit_sequence,
            "changes": list(summary) or ["nothing to change: QuickBooks already matches Autotask"],
        }

    def _read(self, job: Job, state: Reading, response: Response, ctx: Context) -> Decision:
        po = _payload(job).po
        trouble = failure(response)
        if trouble is not None:
            return trouble
        mappings = Mappings(ctx.conn, ctx.now, job.qbwc_user)
        mapping = mappings.get("purchase_order", po.id)
        assert mapping is not None
        record = next(
            (r for r in response.records_of(PurchaseOrderRecord) if r.txn_id == mapping.qb_id),
            None,
        )
        if record is None:
            return Fail(
                f"QuickBooks no longer has the purchase order {mapping.qb_name} (TxnID "
                f"{mapping.qb_id}) of Autotask PO {po.label}: it was deleted in QuickBooks. "
                "atqb does not add it again by itself; cancel this job, or ask for help"
            )
        if state.adding:
            _adopt(mappings, mapping.data.get("lines") or [], record, state.adding)
        try:
            plan = plan_change(po, record, mappings, mapping.data)
        except Unplannable as exc:
            return Fail(str(exc))
        if plan is None:
            return Done(self._finish(job, ctx, record, ()))
        known_lines = tuple(line.txn_line_id for line in record.lines)
        txn_date = record.txn_date.isoformat() if record.txn_date else None
        return Next(Modifying(plan, known_lines, txn_date, state.stale).to_json())


def _adopt(
    mappings: Mappings,
    line_ids: list[int],
    record: PurchaseOrderRecord,
    adding: tuple[AddedLine, ...],
) -> None:
    """Map QuickBooks lines a lost Mod added to the Autotask lines it was adding (by item)."""
    ours = {m.qb_id for m in mappings.get_many("po_line", line_ids).values() if m.qb_id}
    unknown = [line for line in record.lines if line.txn_line_id not in ours]
    for entry in adding:
        for line in unknown:
            if _same_ref(line.item, entry.item):
                mappings.put("po_line", entry.at_line, qb_id=line.txn_line_id)
                unknown.remove(line)
                break


class Unplannable(Exception):
    """A change QuickBooks would refuse (it would undo what was received, or delete lines made
    in QuickBooks): the update fails with this message instead of sending a Mod that cannot
    succeed."""


def plan_change(
    po: PurchaseOrderData,
    record: PurchaseOrderRecord,
    mappings: Mappings,
    po_data: dict[str, Any],
) -> PlannedMod | None:
    """The Mod that makes ``record`` match the Autotask PO; None when nothing differs.

    Raises :class:`Unplannable`, saying why and what to do, for a change QuickBooks would refuse.
    """
    refs = Refs(mappings, po)
    canceled = po.canceled
    summary: list[str] = []
    vendor = refs.vendor(po)
    vendor_change = None
    if not _same_ref(vendor, record.vendor):
        if any(line.received_quantity for line in record.lines):
            raise Unplannable(
                f"the vendor of Autotask PO {po.label} changed to "
                f"{po.vendor.qb_name!r}, but items were already received against the "
                f"QuickBooks purchase order {record.ref_number}, and QuickBooks refuses to change "
                "the vendor of a received purchase order: cancel this PO in Autotask and make a "
                "new one for the new vendor"
            )
        vendor_change = vendor
        summary.append(f"vendor → {po.vendor.qb_name}")
    ship_to = refs.customer(po.ship_to)
    ship_to_change = None
    if po.ship_to is not None and not _same_ref(ship_to, record.ship_to):
        ship_to_change = ship_to
        summary.append(f"ship to → {po.ship_to.qb_name}")
    memo = _clean(memo_text(po, canceled=canceled), _MEMO_MAX)
    if memo != (record.memo or ""):
        summary.append("memo")
    else:
        memo = None
    vendor_msg = _clean(po.memo, _VENDOR_MSG_MAX)
    if vendor_msg == (record.vendor_msg or ""):
        vendor_msg = None
    closed = None
    if canceled and not record.is_manually_closed:
        closed = True
        summary.append("closed: canceled in Autotask")
    elif not canceled and po_data.get("canceled") and record.is_manually_closed:
        closed = False
        summary.append("reopened: no longer canceled in Autotask")
    try:
        lines, adding = (None, ()) if canceled else _plan_lines(po, record, mappings, refs, summary)
    except Unplannable as exc:
        raise Unplannable(f"Autotask PO {po.label}: {exc}") from None
    if lines is not None and record.has_line_groups:
        raise Unplannable(
            f"the QuickBooks purchase order {record.ref_number} holds item-group lines "
            "added in QuickBooks; changing its lines would delete them, so atqb leaves it alone: "
            "change it in QuickBooks by hand"
        )
    change = PurchaseOrderChange(
        record.txn_id,
        record.edit_sequence,
        vendor=vendor_change,
        ship_to=ship_to_change,
        is_manually_closed=closed,
        memo=memo,
        vendor_msg=vendor_msg,
        lines=lines,
    )
    if change == PurchaseOrderChange(record.txn_id, record.edit_sequence):
        return None
    return PlannedMod(change, adding, tuple(summary))


def _plan_lines(
    po: PurchaseOrderData,
    record: PurchaseOrderRecord,
    mappings: Mappings,
    refs: Refs,
    summary: list[str],
) -> tuple[tuple[PurchaseOrderLineMod, ...] | None, tuple[AddedLine, ...]]:
    """The line Mods (None when no line changes) and the Autotask lines being added."""
    current = {line.id: line for line in po.lines}
    previous_ids = set(mappings.get("purchase_order", po.id).data.get("lines") or [])  # type: ignore[union-attr]
    mapped = mappings.get_many("po_line", set(current) | previous_ids)
    by_txn_line = {m.qb_id: at_id for at_id, m in mapped.items() if m.qb_id}
    touched = False
    planned: list[PurchaseOrderLineMod] = []
    seen: set[int] = set()
    for qb_line in record.lines:
        at_id = by_txn_line.get(qb_line.txn_line_id)
        if at_id is None:
            planned.append(PurchaseOrderLineMod.keep(qb_line.txn_line_id))  # not atqb's
            continue
        if at_id not in current:
            if qb_line.received_quantity:
                planned.append(PurchaseOrderLineMod(qb_line.txn_line_id, is_manually_closed=True))
                touched = touched or not qb_line.is_manually_closed
                summary.append(f"line {at_id} closed (removed in Autotask, already received)")
            else:
                touched = True
                summary.append(f"line {at_id} deleted (removed in Autotask)")
            continue
        seen.add(at_id)
        entry, changes = _line_changes(current[at_id], qb_line, refs)
        planned.append(entry)
        if changes:
            touched = True
            summary.append(f"line {at_id}: {', '.join(changes)}")
    adding: list[AddedLine] = []
    for at_id, line in current.items():
        if at_id in seen:
            continue
        new = _line(line, refs)
        planned.append(PurchaseOrderLineMod.new(new))
        adding.append(AddedLine(at_id, new.item))
        touched = True
        summary.append(f"line {at_id} added ({line.item} x {line.quantity})")
    return (tuple(planned) if touched else None), tuple(adding)


def _line_changes(
    line: PoLine, qb_line: PurchaseOrderLineRecord, refs: Refs
) -> tuple[PurchaseOrderLineMod, list[str]]:
    """The Mod of one kept line (only what changes), and the changes in words."""
    changes: list[str] = []
    item = refs.item(line)
    received = qb_line.received_quantity or Decimal(0)
    item_change = None
    if not _same_ref(item, qb_line.item):
        if received:
            raise Unplannable(
                f"the item of line {line.id} changed in Autotask to {line.item!r}, but "
                f"QuickBooks has already received {quantity_text(received)} of the old item "
                "against that line and refuses to change the item of a received line: remove "
                "the line in Autotask and add a new one for the new item, then retry this job"
            )
        item_change = item
        changes.append(f"item → {line.item}")
    quantity = decimal(line.quantity)
    if quantity < received:
        # QuickBooks refuses a quantity below what was received: the line keeps the received
        # quantity until the receipts are corrected.
        changes.append(
            f"quantity kept at {quantity_text(received)}, not {quantity_text(quantity)}: "
            "already received in QuickBooks"
        )
        quantity = received
    quantity_change = None
    if qb_line.quantity is None or quantity != qb_line.quantity:
        quantity_change = quantity
        changes.append(f"quantity {qb_line.quantity} → {quantity_text(quantity)}")
    rate_change = None
    if line.rate is not None and (qb_line.rate is None or decimal(line.rate) != qb_line.rate):
        rate_change = decimal(line.rate)
        changes.append(f"rate {qb_line.rate} → {line.rate}")
    customer = refs.customer(line.customer)
    customer_change = None
    if line.customer is not None and not _same_ref(customer, qb_line.customer):
        customer_change = customer
        changes.append(f"customer → {line.customer.qb_name}")
    desc = _clean(line.desc, _MEMO_MAX)
    if desc is not None and desc != (qb_line.desc or ""):
        changes.append("description")
    else:
        desc = None
    entry = PurchaseOrderLineMod(
        qb_line.txn_line_id,
        item=item_change,
        quantity=quantity_change,
        rate=rate_change,
        desc=desc,
        customer=customer_change,
    )
    return entry, changes
