"""Inventory sync: QuickBooks' On Hand set to Autotask's total, through inventory adjustments.

Kind ``inventory_adjustment``; payload ``product_ids`` (at most
:data:`~service.kinds.MAX_LOOKUP_VALUES`) and ``reason``. The target of each product is the
newest Autotask total the enqueue API recorded (mapping ``item``, ``data.on_hand``), read when the
job runs, so a sync that waited behind receipts still uses the latest count.

Syncs of several POs share items. An item that another PO's receipt will still raise is left to
the sync that follows that receipt (Autotask's count already includes it), and of several syncs
that find the same difference in one round trip only the first adjusts: QuickBooks gets one
adjustment per item and change, not one per PO.

1. Count: ``ItemInventoryQuery`` of the items' ListIDs (counts of many jobs share one request).
2. Adjust: one ``InventoryAdjustmentAdd`` with a ``NewQuantity`` line for every item whose
   QuickBooks quantity differs from Autotask's (the seeds: "The total On Hand number in Autotask
   PSA will always overwrite the On Hand number in QuickBooks"). Nothing differs: no adjustment.

``NewQuantity`` is absolute, and a lost answer leads back to step 1, where the quantities already
match: an adjustment is never made twice.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from service.jobstatus import ACTIVE_STATUSES
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
from service.qbxml.types import (
    InventoryAdjustment,
    InventoryAdjustmentLine,
    InventoryAdjustmentRecord,
    ListRecord,
    Ref,
    Response,
)
from service.sync.common import decimal, quantity_text
from service.sync.enqueue import LINE_KINDS
from service.sync.jsondata import Fields
from service.sync.mapping import Mappings
from service.sync.payloads import InventoryPayload


@dataclass(frozen=True)
class AdjustedLine:
    """One item to adjust: its ListID and name, its QuickBooks count (None: none) and the
    Autotask total it is set to, as text."""

    list_id: str
    item: str | None
    was: str | None
    to: str

    def to_json(self) -> dict[str, Any]:
        """The line as stored (and shown in the job's result)."""
        return {"list_id": self.list_id, "item": self.item, "from": self.was, "to": self.to}


@dataclass(frozen=True)
class InventoryState:
    """The step state of an inventory sync: counting (``phase`` "count"; None before the first
    step), or adjusting ``lines`` (``missing``: the items QuickBooks no longer has), with
    ``sent`` once the adjustment went out. The exchange's own flags (keys starting with ``_``)
    are not part of it: the exchange keeps them itself."""

    phase: str | None = None
    lines: tuple[AdjustedLine, ...] = ()
    missing: tuple[str, ...] = ()
    sent: str | None = None

    @classmethod
    def from_json(cls, data: object) -> InventoryState:
        """Read a stored state; :class:`MalformedJson` names what is wrong."""
        what = "the inventory_adjustment job's state"
        fields = Fields(data, what)
        phase = fields.optional("phase", str)
        if phase != "adjust":
            return cls(phase, sent=fields.optional("sent", str))
        lines = []
        for n, each in enumerate(fields.required("lines", list), 1):
            line = Fields(each, f"{what} (line {n})")
            lines.append(
                AdjustedLine(
                    line.required("list_id", str),
                    line.optional("item", str),
                    line.optional("from", str),
                    line.required("to", str),
                )
            )
        # (states stored before "missing" existed have none)
        missing = fields.texts("missing") if fields.data.get("missing") is not None else ()
        return cls(phase, tuple(lines), missing, fields.optional("sent", str))

    def to_json(self) -> dict[str, Any]:
        """The state as stored."""
        data: dict[str, Any] = {}
        if self.phase is not None:
            data["phase"] = self.phase
        if self.phase == "adjust":
            data["lines"] = self.adjusted()
            data["missing"] = list(self.missing)
        if self.sent is not None:
            data["sent"] = self.sent
        return data

    def adjusted(self) -> list[dict[str, Any]]:
        """The lines as stored."""
        return [line.to_json() for line in self.lines]


def _targets(job: Job, ctx: Context) -> dict[str, tuple[int, str, str]]:
    """ListID → (product id, item name, Autotask on-hand) for the job's mapped items."""
    mappings = Mappings(ctx.conn, ctx.now, job.qbwc_user).get_many(
        "item", InventoryPayload.from_json(job.payload).product_ids
    )
    return {
        m.qb_id: (product_id, m.qb_name or "", str(m.data["on_hand"]))
        for product_id, m in mappings.items()
        if m.qb_id and m.data.get("on_hand") is not None
    }


def _receiving(ctx: Context, user: str, product_ids: list[int]) -> set[int]:
    """The products another PO's receipt will still raise or lower (an unfinished receipt or
    correction job).

    Autotask's count already includes what they will receive: adjusting now would be undone by
    the receipt. The sync that follows that receipt adjusts the item instead.
    """
    return ctx.store.products_in_active_jobs(user, LINE_KINDS, product_ids)


class SyncInventory:
    """Kind ``inventory_adjustment`` (see the module docstring)."""

    name = "inventory_adjustment"

    def step(self, job: Job, request_id: str, ctx: Context) -> StepOutcome:
        """Count the items, or adjust the ones that differ."""
        state = InventoryState.from_json(job.state)
        if state.phase == "adjust" and state.sent is None:
            reason = InventoryPayload.from_json(job.payload).reason
            adjustment = InventoryAdjustment(
                Ref(full_name=ctx.settings.adjustment_account),
                tuple(
                    InventoryAdjustmentLine(Ref(list_id=line.list_id), decimal(line.to))
                    for line in state.lines
                ),
                # The company's date (ATQB_TIMEZONE), not QuickBooks' clock nor UTC's.
                txn_date=ctx.settings.calendar_date(ctx.now),
                memo=f"atqb: On Hand from Autotask ({reason})",
            )
            request = build.inventory_adjustment_add(request_id, adjustment)
            return Step(request, replace(state, sent="adjust").to_json())
        targets = _targets(job, ctx)
        if not targets:
            return Done({"adjusted": [], "note": "no item of this sync has an Autotask count"})
        lookup = Lookup("item_inventory", "list_ids", tuple(sorted(targets)))
        return Step.of_lookup(lookup, request_id, InventoryState("count").to_json())

    @staticmethod
    def _claimed_elsewhere(
        job: Job, ctx: Context, mappings: Mappings, product_id: int, on_hand: str
    ) -> bool:
        """Whether another sync is about to set this item to the same count.

        Syncs of POs sharing an item count it in the same round trip; only the first to find a
        difference adjusts it, the others leave it (one adjustment, not one per PO).
        """
        item = mappings.get("item", product_id)
        claim = (item.data if item else {}).get("adjusting")
        if not claim or claim.get("job") == job.id or claim.get("to") != on_hand:
            return False
        other = ctx.store.get_many([claim["job"]]).get(claim["job"])
        return other is not None and other.status in ACTIVE_STATUSES

    def handle(self, job: Job, response: Response, ctx: Context) -> Decision:
        """From the counts, the lines to adjust; after the adjustment, done."""
        trouble = failure(response)
        if trouble is not None:
            return trouble
        state = InventoryState.from_json(job.state)
        if state.phase == "adjust":
            records = response.records_of(InventoryAdjustmentRecord)
            return Done(
                {
                    "txn_id": records[0].txn_id if records else None,
                    "adjusted": state.adjusted(),
                }
            )
        targets = _targets(job, ctx)
        counted = {r.list_id: r for r in response.records_of(ListRecord) if r.list_id in targets}
        mappings = Mappings(ctx.conn, ctx.now, job.qbwc_user)
        receiving = _receiving(ctx, job.qbwc_user, [t[0] for t in targets.values()])
        lines: list[AdjustedLine] = []
        missing: list[str] = []
        elsewhere: list[str] = []
        for list_id, (product_id, name, on_hand) in sorted(targets.items(), key=lambda t: t[1][1]):
            record = counted.get(list_id)
            if record is None:
                missing.append(name)
                continue
            current = record.quantity_on_hand
            if current is not None and current == decimal(on_hand):
                continue
            if product_id in receiving or self._claimed_elsewhere(
                job, ctx, mappings, product_id, on_hand
            ):
                elsewhere.append(name)
                continue
            mappings.put("item", product_id, data={"adjusting": {"job": job.id, "to": on_hand}})
            was = quantity_text(current) if current is not None else None
            lines.append(AdjustedLine(list_id, record.full_name, was, on_hand))
        if missing and not lines and len(missing) == len(targets):
            return Fail(
                "QuickBooks has none of these inventory parts any more: " + ", ".join(missing)
            )
        if not lines:
            return Done(
                {
                    "adjusted": [],
                    "checked": len(counted),
                    "missing": missing,
                    "left_to_another_sync": elsewhere,
                }
            )
        return Next(InventoryState("adjust", tuple(lines), tuple(missing)).to_json())
