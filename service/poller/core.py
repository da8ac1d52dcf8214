"""The poll cycle: find what changed in Autotask, enqueue it, write PO numbers back.

Change detection without modified stamps
========================================

Autotask's purchasing entities carry no last-modified time (reference/autotask.md 7.10), so a
cycle cannot ask "what changed since". It combines cheap signals whose cost does not grow with the
number of POs, and re-reads whole only the POs they point at:

1. **New POs**: ``PurchaseOrders`` with ``id`` above the highest id seen (1 request when idle).
2. **New lines and receipts**: ``PurchaseOrderItems`` and ``PurchaseOrderItemReceiving`` rows with
   ``id`` above their watermarks (``id`` and parent only, 1 request each when idle); their POs are
   re-read. A receipt row names its line, so one more request maps new receipts to POs.
3. **Removed rows**: ``query/count`` of lines and of receiving rows at or below the watermarks
   (1 request each). A different count means a line was deleted or a receipt cancelled
   ("Receive/Cancel Receipt", 7.3) somewhere: every handed-over PO that is not Canceled is
   re-read (rare, and costs about three requests per 500 POs).
4. **Status moves**: ``query/count`` per status (New, Submitted, Received Partial, Received
   Full; 4 requests) compared with the statuses the poller holds. A difference (a PO canceled,
   deleted or moved without a new receipt) makes it re-read the statuses of known POs (one
   request per 500) and read whole those that moved.
5. **Rolling check**: each cycle also re-reads whole the ``sweep_size`` (500) POs that can still
   change (New, Submitted, Received Partial, and those that became Received Full or Canceled in
   the last 30 days, :data:`~.state.FINAL_SWEEP`) that were read least recently: 3 requests.
   This catches what no count shows — an edited quantity, cost, product or memo, a changed
   header, a correction made after the PO was closed — within ``ceil(swept POs / 500)`` cycles.

A PO read whole is fingerprinted (header without the External P.O. #, lines, receiving rows); only
a PO whose fingerprint differs from the one handed to the sync is built into the sync's model
(products, companies, tickets, projects and on-hand read in ``in`` batches) and enqueued. An idle
cycle therefore costs 1 + 2 + 2 + 4 + 3 = 12 requests whatever the number of POs (more only when
a page of the rolling check is full of lines). The first cycle reads every PO.

External P.O. #. atqb records each number it writes back (``poller_orders.written_back``). A PO
whose External P.O. # is anything else (and not atqb's own ``AT<id>``) was put into QuickBooks by
someone else: the sync links it to the QuickBooks PO with that number and vendor instead of adding
it (``linked_number``; :mod:`service.sync.purchase_orders`), or, when there is none, reports it
and leaves it for ``atqb transfer`` (which adds it). Its number is never written over. That number
and the selection count in the PO's fingerprint, so correcting it or selecting the PO makes new
work.

Blind spots, all documented for operators: a header edit on a PO that became Received Full more
than 30 days ago (lines cannot be edited then, 7.2) is seen only when a receipt, a line or a
count touches it; a status
move balanced by the opposite move of another PO in the same cycle is seen by the rolling check
(open POs) or not at all (Received Full); renamed products or companies reach QuickBooks with
the next change of a PO that uses them; edits of open POs wait for the rolling check.

What goes to the sync: every PO not Canceled (or, in manual selection, those selected), except
POs never handed over nor selected whose submit date (create date when never submitted), in
``ATQB_TIMEZONE``, is before the transfer cutoff: ``ATQB_TRANSFER_SINCE``, else the date the
database's first cycle recorded (mark ``transfer_since``). Moving the cutoff earlier has the
POs it left out read again once. A PO that cannot be read or built is skipped with its reason
(``poller_orders.skipped``), not fingerprinted, and read again every cycle; the others go on.
``Poller.dry_run`` runs the same cycle and rolls its writes back.

Every write of a cycle (jobs, fingerprints, watermarks) is one transaction: a cycle that fails
half-way (Autotask unavailable, budget used up) changes nothing, and the next one finds the same
changes again.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from service.autotask import (
    AuthenticationError,
    AutotaskClient,
    AutotaskError,
    BudgetExhausted,
    NotFound,
    PurchaseOrder,
    RateLimited,
    ThreadLimitExceeded,
    TryLater,
)
from service.autotask import filters as f
from service.clock import utcnow
from service.db import Database, describe_outage
from service.poller.cycles import PollCycles, log_cycle
from service.retry import RetryPolicy
from service.settings import Settings, TransferSelection
from service.sync.common import po_ref_number
from service.sync.enqueue import Enqueuer, EnqueueReport
from service.sync.model import Product as SyncProduct
from service.sync.model import PurchaseOrder as SyncPurchaseOrder
from service.sync.model import StockLevel
from service.webconnector.sessions import Sessions

from .reader import AutotaskReader, Statuses, WholeOrder
from .state import CUTOFF, FULL_SYNC, MARKS, OrderState, PollerStore

log = logging.getLogger("atqb.poll")

#: POs re-read whole by the rolling check of each cycle (one ``in`` batch).
SWEEP_SIZE = 500
_ITEMS = "PurchaseOrderItems"
_RECEIPTS = "PurchaseOrderItemReceiving"
#: Backoff of a PO whose write-back Autotask refuses: 5 min, doubling, at most a day.
WRITE_BACK_RETRY = RetryPolicy(base_seconds=300.0, cap_seconds=86400.0)
#: Autotask errors that concern the whole tenant, not one PO: the write-back stops for this
#: cycle and the next cycle goes on where it stopped.
_TENANT_WIDE = (TryLater, AuthenticationError)


class _DryRun(Exception):
    """Rolls back the writes of a dry-run cycle."""


class PollerError(Exception):
    """The poller cannot run as configured (the message says what to change)."""


def resolve_qbwc_user(database: Database, settings: Settings) -> str:
    """The Web Connector user whose company file the jobs are for: ``ATQB_QBWC_USER``, else
    the only user. Raises :class:`PollerError` when that is not clear."""
    with database.transaction() as conn:
        names = [user.name for user in Sessions(conn, utcnow()).users()]
    if settings.qbwc_user is not None:
        if settings.qbwc_user not in names:
            raise PollerError(
                f"ATQB_QBWC_USER is {settings.qbwc_user!r} but there is no such Web Connector "
                f"user (users: {', '.join(names) or 'none'}); add it with `atqb users add`"
            )
        return settings.qbwc_user
    if len(names) == 1:
        return names[0]
    if not names:
        raise PollerError(
            "there is no Web Connector user yet: add one with "
            "`atqb users add NAME --company-file PATH` (the poller's jobs are for its company file)"
        )
    raise PollerError(
        f"there are {len(names)} Web Connector users ({', '.join(names)}): set ATQB_QBWC_USER "
        "to the one whose company file the poller's jobs are for"
    )


@dataclass(frozen=True)
class Decision:
    """Whether a PO goes to the sync in this cycle (``verdict`` "in" or "out"), and why."""

    po_id: int
    number: str
    vendor_id: int | None
    verdict: str
    why: str


@dataclass
class CycleOutcome:
    """What one cycle did, for the log line, the poll-cycles table and the demo."""

    cycle_id: int = 0
    ok: bool = True
    requests: int = 0
    throttled: int = 0
    new: int = 0
    changed: int = 0
    checked: int = 0
    full_sync: bool = False
    enqueued: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    written_back: list[tuple[int, str]] = field(default_factory=list)
    error: str | None = None
    retry_after: float | None = None
    budget: str = ""
    #: The transfer cutoff this cycle applied; ``cutoff_recorded``: recorded by this cycle.
    cutoff: date | None = None
    cutoff_recorded: bool = False
    #: PO id -> why it could not be handed to the sync (read again next cycle).
    skipped: dict[int, str] = field(default_factory=dict)
    #: What the cycle decided about each PO it read and did not find unchanged.
    decisions: list[Decision] = field(default_factory=list)

    @property
    def jobs_enqueued(self) -> int:
        """Jobs made in this cycle."""
        return sum(self.enqueued.values())

    def line(self) -> str:
        """One line for people."""
        head = f"poll cycle #{self.cycle_id} {'ok' if self.ok else 'FAILED'}"
        read = (
            f"read {self.new + self.changed + self.checked} PO(s) whole "
            f"({self.new} new, {self.changed} changed, {self.checked} unchanged)"
        )
        if self.full_sync:
            read += " and every stocked product (full inventory sync)"
        if self.enqueued:
            kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(self.enqueued.items()))
            made = f"enqueued {self.jobs_enqueued} job(s): {kinds}"
        else:
            made = "enqueued nothing new"
        parts = [head, read, made]
        if self.cutoff_recorded:
            parts.append(f"transfer cutoff recorded: {self.cutoff_note()}")
        held = sum(1 for d in self.decisions if d.verdict == "out" and d.po_id not in self.skipped)
        if held:
            parts.append(f"{held} PO(s) left out (`atqb poll --dry-run` says why)")
        if self.skipped:
            first = min(self.skipped)
            parts.append(
                f"{len(self.skipped)} PO(s) skipped, tried again next cycle "
                f"(PO {first}: {self.skipped[first]})"
            )
        if self.written_back:
            parts.append(f"wrote {len(self.written_back)} QuickBooks PO number(s) to Autotask")
        if self.problems:
            parts.append(f"{len(self.problems)} problem(s): {self.problems[0]}")
        parts.append(f"{self.requests} Autotask request(s){self.budget}")
        if self.error:
            parts.append(f"error: {self.error}")
        return "; ".join(parts)

    def details(self) -> dict[str, Any]:
        """The ``details`` of the poll-cycles row."""
        return {
            "purchase_orders_new": self.new,
            "purchase_orders_changed": self.changed,
            "purchase_orders_unchanged": self.checked,
            "full_inventory_sync": self.full_sync,
            "enqueued": self.enqueued,
            "written_back": len(self.written_back),
            "problems": self.problems[:20],
            "transfer_since": self.cutoff.isoformat() if self.cutoff else None,
            "skipped": {str(k): v for k, v in sorted(self.skipped.items())[:20]},
        }

    def cutoff_note(self) -> str:
        """The cutoff in words."""
        return (
            f"POs submitted (created, when never submitted) before {self.cutoff} are left "
            "alone; set ATQB_TRANSFER_SINCE to an earlier date to transfer them, or name them "
            "with `atqb transfer`"
        )


@dataclass
class _Cycle:
    """The working set of one cycle."""

    known: dict[int, OrderState]
    marks: dict[str, Any]
    statuses: Statuses
    headers: dict[int, dict[str, Any]] = field(default_factory=dict)
    status_now: dict[int, int] = field(default_factory=dict)
    dirty: set[int] = field(default_factory=set)
    gone: set[int] = field(default_factory=set)
    read: dict[int, WholeOrder] = field(default_factory=dict)


class Poller:
    """Polls one Autotask tenant for one company file (Web Connector user).

    ``client`` is kept for the poller's lifetime (its zone and picklist caches last); the
    caller closes it. ``now`` is the clock of database timestamps.
    """

    def __init__(
        self,
        database: Database,
        settings: Settings,
        client: AutotaskClient,
        *,
        qbwc_user: str | None = None,
        sweep_size: int = SWEEP_SIZE,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.database = database
        self.settings = settings
        self.client = client
        self.reader = AutotaskReader(client, settings.calendar_date)
        self.user = qbwc_user or resolve_qbwc_user(database, settings)
        self.sweep_size = sweep_size
        self.now = now

    # -- one cycle ---------------------------------------------------------------------------

    def dry_run(self) -> CycleOutcome:
        """What the next cycle would do, with nothing written anywhere: no jobs, no poller
        state, no poll-cycles row, no write-back to Autotask. Autotask is read as a cycle
        reads it. ``decisions`` says what each PO read would become, and why."""
        outcome = CycleOutcome()
        before = self.client.requests_made
        self._cycle(outcome, dry_run=True)
        outcome.requests = self.client.requests_made - before
        return outcome

    def vendor_names(self, outcome: CycleOutcome) -> dict[int, str]:
        """Vendor id -> name, of the POs in ``outcome.decisions`` (one request)."""
        return self.reader.company_names({d.vendor_id for d in outcome.decisions if d.vendor_id})

    def run_cycle(self) -> CycleOutcome:
        """Run one cycle and record it in the poll-cycles table. Autotask errors end the cycle
        as failed (recorded, returned); other exceptions are recorded and raised."""
        with self.database.transaction() as conn:
            cycle_id = PollCycles(conn, self.now()).start()
        outcome = CycleOutcome(cycle_id=cycle_id)
        before = self.client.requests_made
        failure: BaseException | None = None
        try:
            self._cycle(outcome)
        except AutotaskError as exc:
            outcome.ok, outcome.error = False, str(exc)
            if isinstance(exc, RateLimited | ThreadLimitExceeded | BudgetExhausted):
                outcome.throttled += 1
            if isinstance(exc, TryLater):
                outcome.retry_after = exc.retry_after
        except BaseException as exc:
            outcome.ok = False
            outcome.error = (
                "interrupted"
                if isinstance(exc, KeyboardInterrupt)
                else f"{type(exc).__name__}: {exc}"
            )
            failure = exc
        outcome.requests = self.client.requests_made - before
        budget = self.client.budget
        outcome.budget = f" ({budget.used} of {budget.limit} in the last hour)"
        with self.database.transaction() as conn:
            cycle = PollCycles(conn, self.now()).finish(
                cycle_id,
                outcome="ok" if outcome.ok else "failed",
                autotask_requests=outcome.requests,
                autotask_throttled=outcome.throttled,
                jobs_enqueued=outcome.jobs_enqueued,
                error=outcome.error,
                details=outcome.details(),
            )
        log_cycle(cycle)
        if failure is not None:
            raise failure
        return outcome

    def _wanted(self, cycle: _Cycle, po_id: int, status: int) -> bool:
        """Whether the sync should see this PO (see :meth:`_left_out`)."""
        return self._left_out(cycle, po_id, status) is None

    def _left_out(self, cycle: _Cycle, po_id: int, status: int) -> str | None:
        """Why the sync should not see this PO, or None: all, or selected; Canceled only once
        handed over, so that the sync can close it in QuickBooks."""
        state = cycle.known.get(po_id)
        if self.settings.transfer_selection is TransferSelection.MANUAL and (
            state is None or state.selected_at is None
        ):
            return "not selected (ATQB_TRANSFER_SELECTION=manual: select it with `atqb transfer`)"
        if status == cycle.statuses.canceled and (state is None or state.fingerprint is None):
            return "Canceled and never transferred"
        return None

    def _before_cutoff(self, cycle: _Cycle, whole: WholeOrder, cutoff: date) -> str | None:
        """Why a PO never handed over nor selected is older than the cutoff, or None."""
        state = cycle.known.get(whole.id)
        if state is not None and (state.fingerprint is not None or state.selected_at is not None):
            return None
        placed = whole.placed_at
        if placed is None:
            return "Autotask gives it no submit or create date: name it with `atqb transfer`"
        day = self.settings.calendar_date(placed)
        if day >= cutoff:
            return None
        verb = "submitted" if whole.header.get("submitDateTime") else "created"
        return f"{verb} {day}, before the transfer cutoff {cutoff} (ATQB_TRANSFER_SINCE)"

    def _cutoff(self, store: PollerStore) -> tuple[date, bool]:
        """The transfer cutoff, and whether this cycle sets it: ``ATQB_TRANSFER_SINCE``, else
        the date the database's first cycle recorded, else today (to be recorded)."""
        if self.settings.transfer_since is not None:
            return self.settings.transfer_since, False
        mark = store.mark(CUTOFF)
        if mark is not None and isinstance(mark.get("date"), str):
            return date.fromisoformat(mark["date"]), False
        return self.settings.calendar_date(self.now()), True

    def _cycle(self, outcome: CycleOutcome, *, dry_run: bool = False) -> None:
        cycle, full_sync, cutoff = self._open_cycle(outcome)
        statuses = cycle.statuses
        marks = cycle.marks
        po_mark = int(marks.get("po", 0))
        first = "item" not in marks

        # 1. New POs.
        new_ids = self._new_orders(cycle, outcome, po_mark)
        # 2-3. New and removed lines and receipts.
        if not first:
            self._new_rows(cycle)
        # 5. The rolling check.
        self._read(cycle, self._to_read(cycle))
        # 4. Status counts.
        if not first and po_mark > 0:
            self._check_statuses(cycle, po_mark)
        if first:
            self._first_marks(cycle)

        foreign = self._foreign_numbers(cycle)
        prints = {i: self._fingerprint(cycle, whole, foreign) for i, whole in cycle.read.items()}
        changed = self._changed(cycle, outcome, prints, cutoff)
        outcome.new = sum(1 for w in changed if w.id in new_ids or w.id not in cycle.known)
        outcome.changed = len(changed) - outcome.new
        outcome.checked = len(cycle.read) - len(changed)
        built = self.reader.build(changed, statuses)
        outcome.problems += built.problems
        outcome.skipped = built.skipped
        self._explain_changed(cycle, outcome, changed, built.skipped, foreign)
        products, stock = self._full_sync_rows(outcome) if full_sync else ([], [])

        orders = [self._with_twin(po, cycle, foreign) for po in built.orders]
        report = EnqueueReport()
        try:
            with self.database.transaction() as conn:
                now = self.now()
                enqueuer = Enqueuer(conn, now, self.settings, self.user)
                if orders:
                    report = enqueuer.purchase_orders(orders, built.stock)
                if full_sync:
                    report = enqueuer.full_inventory_sync(products, stock)
                store = PollerStore(conn, now)
                fingerprints = {w.id: prints[w.id] for w in changed if w.id not in built.skipped}
                _save_states(store, cycle, fingerprints, built.skipped, foreign, history=first)
                store.set_mark(MARKS, marks)
                if full_sync:
                    store.set_mark(FULL_SYNC, None)
                if outcome.cutoff_recorded:
                    store.set_mark(CUTOFF, {"date": cutoff.isoformat()})
                if dry_run:
                    raise _DryRun
        except _DryRun:
            pass
        outcome.enqueued = report.kinds()
        outcome.problems += report.skipped
        if outcome.cutoff_recorded and not dry_run:
            log.warning("transfer cutoff recorded: %s", outcome.cutoff_note())
        if not dry_run:
            self._write_back(outcome)

    def _full_sync_rows(self, outcome: CycleOutcome) -> tuple[list[SyncProduct], list[StockLevel]]:
        """Every stocked product and its on-hand counts, for a full inventory sync."""
        stock = self.reader.stock(None)
        products = self.reader.products({row.product_id for row in stock})
        outcome.full_sync = True
        return products, stock

    def _open_cycle(self, outcome: CycleOutcome) -> tuple[_Cycle, bool, date]:
        """The cycle's working set from the database, whether a full inventory sync is asked
        for, and the transfer cutoff (recorded in ``outcome``)."""
        statuses = Statuses.of(self.client)
        with self.database.transaction() as conn:
            store = PollerStore(conn, self.now())
            cycle = _Cycle(store.orders(), store.mark(MARKS) or {}, statuses)
            full_sync = store.mark(FULL_SYNC) is not None
            cutoff, outcome.cutoff_recorded = self._cutoff(store)
        outcome.cutoff = cutoff
        marks = cycle.marks
        cycle.dirty = {i for i, s in cycle.known.items() if s.needs_read}
        if marks.get("cutoff", cutoff.isoformat()) > cutoff.isoformat():
            # ATQB_TRANSFER_SINCE moved earlier: what the old cutoff left out is read again.
            cycle.dirty |= {
                i for i, s in cycle.known.items() if s.fingerprint is None and s.status is not None
            }
        marks["cutoff"] = cutoff.isoformat()
        return cycle, full_sync, cutoff

    def _new_orders(self, cycle: _Cycle, outcome: CycleOutcome, po_mark: int) -> set[int]:
        """Read the POs created since ``po_mark``; those the sync should see become dirty.
        Returns their IDs and moves the mark past them."""
        for header in self.reader.new_orders(po_mark):
            po_id, status = int(header["id"]), header.get("status")
            if isinstance(status, int):
                cycle.headers[po_id] = header
                cycle.status_now[po_id] = status
                why = self._left_out(cycle, po_id, status)
                if why is None:
                    cycle.dirty.add(po_id)
                else:
                    outcome.decisions.append(_decision(WholeOrder(header, [], []), "out", why))
        new_ids = set(cycle.headers)
        cycle.marks["po"] = max([po_mark, *new_ids])
        return new_ids

    def _new_rows(self, cycle: _Cycle) -> None:
        """Mark dirty the POs with new lines or receipts; when rows were removed (a count below
        the mark changed), every handed-over PO not Canceled."""
        marks = cycle.marks
        lines = self.reader.new_rows(_ITEMS, int(marks["item"]), "orderID")
        receipts = self.reader.new_rows(_RECEIPTS, int(marks["recv"]), "purchaseOrderItemID")
        cycle.dirty |= {int(r["orderID"]) for r in lines if isinstance(r.get("orderID"), int)}
        receipt_lines = {
            int(r["purchaseOrderItemID"])
            for r in receipts
            if isinstance(r.get("purchaseOrderItemID"), int)
        }
        if receipt_lines:
            cycle.dirty |= self.reader.orders_of_lines(receipt_lines)
        resync = False
        for name, entity, rows in (("item", _ITEMS, lines), ("recv", _RECEIPTS, receipts)):
            count = self.client.count(entity, f.lte("id", int(marks[name])))
            if count != marks[f"{name}_count"]:
                resync = True
            marks[f"{name}_count"] = count + len(rows)
            marks[name] = max([int(marks[name]), *(int(r["id"]) for r in rows)])
        if resync:
            cycle.dirty |= {
                i
                for i, s in cycle.known.items()
                if s.fingerprint is not None and s.status != cycle.statuses.canceled
            }

    def _to_read(self, cycle: _Cycle) -> set[int]:
        """The dirty POs and this cycle's share of the rolling check, less those the sync
        should not see."""
        with self.database.transaction() as conn:
            sweep = set(PollerStore(conn, self.now()).sweep(self.sweep_size, cycle.dirty))
        return {
            i
            for i in cycle.dirty | sweep
            if i not in cycle.known
            or cycle.known[i].status is None
            or self._wanted(cycle, i, cycle.status_now.get(i, cycle.known[i].status or 0))
        }

    def _changed(
        self, cycle: _Cycle, outcome: CycleOutcome, prints: dict[int, str], cutoff: date
    ) -> list[WholeOrder]:
        """The POs read whose fingerprint moved, in ID order; those left out are recorded as
        decisions in ``outcome``."""
        changed = []
        for po_id, whole in sorted(cycle.read.items()):
            known = cycle.known.get(po_id)
            why = self._left_out(cycle, po_id, cycle.status_now[po_id]) or self._before_cutoff(
                cycle, whole, cutoff
            )
            if why is not None:
                outcome.decisions.append(_decision(whole, "out", why))
            elif prints[po_id] != (known.fingerprint if known else None):
                changed.append(whole)
        return changed

    def _explain_changed(
        self,
        cycle: _Cycle,
        outcome: CycleOutcome,
        changed: list[WholeOrder],
        skipped: dict[int, str],
        foreign: dict[int, str],
    ) -> None:
        """Record in ``outcome`` why each changed PO goes to the sync, or is skipped."""
        for whole in changed:
            known = cycle.known.get(whole.id)
            if whole.id in skipped:
                why = f"skipped, tried again next cycle: {skipped[whole.id]}"
                log.warning("PO %s %s", whole.id, why)
                outcome.decisions.append(_decision(whole, "out", why))
            else:
                why = "changed since its transfer" if known and known.fingerprint else "new"
                if whole.id in foreign:
                    selected = _selected(cycle, whole.id)
                    why += (
                        f" (External P.O. # {foreign[whole.id]!r} set outside atqb: linked to "
                        "the QuickBooks PO with that number and vendor; without one, "
                        + (
                            "added, as `atqb transfer` selected it)"
                            if selected
                            else "reported and left for `atqb transfer`)"
                        )
                    )
                outcome.decisions.append(_decision(whole, "in", why))

    def _foreign_numbers(self, cycle: _Cycle) -> dict[int, str]:
        """External P.O. #s of POs read this cycle that atqb did not write (by hand, Autotask's
        own extension): such a PO is already in QuickBooks, and its number stays."""
        found: dict[int, str] = {}
        for po_id, whole in cycle.read.items():
            number = whole.header.get("externalPONumber")
            if not isinstance(number, str) or not number.strip():
                continue
            state = cycle.known.get(po_id)
            mine = state is not None and state.written_back == number
            if not mine and number != po_ref_number(po_id):
                found[po_id] = number.strip()
        return found

    def _fingerprint(self, cycle: _Cycle, whole: WholeOrder, foreign: dict[int, str]) -> str:
        """The PO's fingerprint; with a foreign External P.O. #, that number and whether the PO
        is selected count too (a corrected number or `atqb transfer` makes new work)."""
        if whole.id not in foreign:
            return whole.fingerprint()
        extra = f"{whole.fingerprint()}|{foreign[whole.id]}|{_selected(cycle, whole.id)}"
        return hashlib.sha256(extra.encode()).hexdigest()[:32]

    def _with_twin(
        self, po: SyncPurchaseOrder, cycle: _Cycle, foreign: dict[int, str]
    ) -> SyncPurchaseOrder:
        """The PO with the External P.O. # to link to, when someone else set it."""
        if po.id not in foreign:
            return po
        return replace(po, linked_number=foreign[po.id], add_if_unlinked=_selected(cycle, po.id))

    def _read(self, cycle: _Cycle, po_ids: set[int]) -> None:
        """Read these POs whole; note those Autotask no longer has."""
        ids = po_ids - set(cycle.read)
        found = self.reader.whole(ids, cycle.headers)
        for po_id in ids:
            whole = found.get(po_id)
            if whole is None or whole.status is None:
                if po_id in cycle.known:
                    cycle.gone.add(po_id)
                continue
            cycle.read[po_id] = whole
            cycle.status_now[po_id] = whole.status

    def _check_statuses(self, cycle: _Cycle, up_to: int) -> None:
        """Compare Autotask's count of POs per status with what the poller holds; on a
        difference, re-read the statuses of the known POs and read whole those that moved."""
        local: Counter[int] = Counter()
        for po_id, state in cycle.known.items():
            status = cycle.status_now.get(po_id, state.status)
            if po_id <= up_to and status is not None and po_id not in cycle.gone:
                local[status] += 1
        counted = cycle.statuses.counted()
        autotask = {
            s: self.client.count(PurchaseOrder, f.eq("status", s), f.lte("id", up_to))
            for s in counted
        }
        if all(autotask[s] == local[s] for s in counted):
            return
        log.info("PO counts per status differ from what atqb holds: re-reading statuses")
        candidates = [
            i
            for i, s in cycle.known.items()
            if i <= up_to and s.status is not None and s.status != cycle.statuses.canceled
        ]
        current = self.reader.statuses_of(candidates)
        moved = set()
        for po_id in candidates:
            now = current.get(po_id)
            if now is None:
                cycle.gone.add(po_id)
            elif now != cycle.status_now.get(po_id, cycle.known[po_id].status):
                cycle.status_now[po_id] = now
                moved.add(po_id)
        wanted = {i for i in moved if self._wanted(cycle, i, cycle.status_now[i])}
        self._read(cycle, wanted)

    def _first_marks(self, cycle: _Cycle) -> None:
        """The line and receipt watermarks after the first full read."""
        marks = cycle.marks
        marks["item"] = max([0, *(int(r["id"]) for w in cycle.read.values() for r in w.lines)])
        marks["recv"] = max([0, *(int(r["id"]) for w in cycle.read.values() for r in w.receipts)])
        marks["item_count"] = self.client.count(_ITEMS, f.lte("id", marks["item"]))
        marks["recv_count"] = self.client.count(_RECEIPTS, f.lte("id", marks["recv"]))

    # -- write-back --------------------------------------------------------------------------

    def _write_back(self, outcome: CycleOutcome) -> None:
        """Write the QuickBooks PO number of every newly transferred PO to its External
        P.O. # in Autotask, once per PO (reference/autotask.md 10.7), each on its own.

        A refusal of one PO (Autotask answers validation errors with HTTP 500) is recorded on
        it with Autotask's message and tried again after a backoff (:data:`WRITE_BACK_RETRY`),
        at most once per cycle; the others go on. Trouble of the whole tenant (request limits,
        network, credentials, a server error that explains nothing) stops the write-back until
        the next cycle. A PO Autotask no longer has is not written.
        """
        if not self.settings.write_back_po_number:
            return
        with self.database.transaction() as conn:
            pending = PollerStore(conn, self.now()).transferred_not_written(self.user)
        for po_id, result in pending:
            number = str(result.get("ref_number") or "")
            written = number
            try:
                if number:
                    self.client.set_external_po_number(po_id, number)
            except _TENANT_WIDE as exc:
                outcome.problems.append(f"PO {po_id}: write-back postponed ({exc})")
                return
            except NotFound as exc:
                outcome.problems.append(f"PO {po_id}: External P.O. # not written: {exc}")
                written = ""
            except AutotaskError as exc:
                self._write_back_refused(outcome, po_id, exc)
                continue
            with self.database.transaction() as conn:
                PollerStore(conn, self.now()).written_back(po_id, written)
            if written:
                outcome.written_back.append((po_id, written))

    def _write_back_refused(self, outcome: CycleOutcome, po_id: int, exc: AutotaskError) -> None:
        with self.database.transaction() as conn:
            attempts, retry_at = PollerStore(conn, self.now()).write_back_refused(
                po_id, str(exc), WRITE_BACK_RETRY.delay
            )
        message = (
            f"PO {po_id}: Autotask refused the External P.O. # ({exc}); refusal {attempts}, "
            f"next try after {retry_at:%Y-%m-%d %H:%M} UTC"
        )
        log.warning("%s", message)
        outcome.problems.append(message)

    # -- the loop ----------------------------------------------------------------------------

    def run(
        self,
        stop: threading.Event,
        *,
        interval: float | None = None,
        out: Callable[[str], None] = print,
    ) -> None:
        """Run cycles every ``interval`` seconds (``ATQB_POLL_INTERVAL``) until ``stop`` is set.
        A failed cycle is reported and the next one tries again (after Autotask's
        ``Retry-After`` when that is longer); nothing is lost, as a failed cycle commits
        nothing."""
        every = float(interval if interval is not None else self.settings.poll_interval)
        while not stop.is_set():
            try:
                outcome = self.run_cycle()
            except Exception as exc:  # a database outage must not end the loop
                reason = describe_outage(exc)
                if reason is None:
                    log.exception("poll cycle failed")
                    out(f"poll cycle failed: {type(exc).__name__}: {exc}")
                else:
                    out(f"poll cycle failed: the database is unavailable ({reason}); next try in "
                        f"{every:g} s")  # fmt: skip
                stop.wait(every)
                continue
            out(outcome.line())
            stop.wait(max(every, outcome.retry_after or 0.0))


def _save_states(
    store: PollerStore,
    cycle: _Cycle,
    fingerprints: dict[int, str],
    skipped: dict[int, str],
    foreign: dict[int, str],
    *,
    history: bool,
) -> None:
    """Record what the cycle saw of each PO: read, seen in a status count, or gone."""
    statuses = cycle.statuses
    for po_id in cycle.read:
        status = cycle.status_now[po_id]
        store.verified(
            po_id,
            status,
            statuses.final(status),
            fingerprints.get(po_id),
            skipped.get(po_id),
            history=history,
        )
    for po_id, status in cycle.status_now.items():
        if po_id not in cycle.read:
            store.saw(po_id, status, statuses.final(status), history=history)
    for po_id in cycle.gone:
        store.gone(po_id)
    for po_id in foreign:
        store.written_back(po_id, "")  # never overwrite a number atqb did not write


def _selected(cycle: _Cycle, po_id: int) -> bool:
    """Whether `atqb transfer` selected the PO."""
    state = cycle.known.get(po_id)
    return state is not None and state.selected_at is not None


def _decision(whole: WholeOrder, verdict: str, why: str) -> Decision:
    vendor = whole.header.get("vendorID")
    vendor_id = vendor if isinstance(vendor, int) and not isinstance(vendor, bool) else None
    return Decision(whole.id, whole.number, vendor_id, verdict, why)


def request_full_sync(database: Database) -> bool:
    """Record that the next cycle runs a full inventory sync; False when already asked."""
    with database.transaction() as conn:
        store = PollerStore(conn, utcnow())
        if store.mark(FULL_SYNC) is not None:
            return False
        store.set_mark(FULL_SYNC, {"requested_at": utcnow().isoformat()})
        return True


def select_for_transfer(database: Database, po_ids: list[int]) -> list[int]:
    """Select POs for transfer (manual selection); returns those newly selected."""
    with database.transaction() as conn:
        return PollerStore(conn, utcnow()).select(po_ids)
