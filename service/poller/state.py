"""The poller's memory in the database: one row per purchase order, and named marks.

Tables ``poller_orders`` and ``poller_state`` (migration 0005). Everything here runs inside the
caller's transaction, so a cycle's new state is committed together with the jobs it enqueued
(or not at all: the next cycle then repeats the same reads and finds the same changes).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, case, delete, func, insert, or_, select, update

from service.jobstore import JobStore
from service.models import poller_orders, poller_state

#: Name of the mark that holds the watermarks and counts of the change detection.
MARKS = "marks"
#: Name of the mark that records a full inventory sync asked for with `atqb inventory-sync`.
FULL_SYNC = "full_inventory_sync"
#: Name of the mark that holds the transfer cutoff recorded by the first cycle
#: (``{"date": "YYYY-MM-DD"}``) when ``ATQB_TRANSFER_SINCE`` is unset.
CUTOFF = "transfer_since"


#: How long the rolling check keeps reading a PO after it became Received Full or Canceled:
#: corrections made after the fact (a memo, a cancelled receipt seen by no count) still arrive.
FINAL_SWEEP = timedelta(days=30)


@dataclass(frozen=True)
class OrderState:
    """What the poller knows of one Autotask purchase order."""

    po_id: int
    status: int | None
    final: bool
    final_at: datetime | None
    fingerprint: str | None
    verified_at: datetime | None
    selected_at: datetime | None
    needs_read: bool
    written_back: str | None
    skipped: str | None = None
    write_back_error: str | None = None
    write_back_attempts: int = 0


@dataclass(frozen=True)
class HeldBack:
    """What the poller holds back, for ``/admin`` and ``/metrics``: the transfer cutoff the
    first cycle recorded (None: not yet, or never needed), POs skipped with their reason and
    since when, and POs whose write-back Autotask refuses (message, refusals, next try)."""

    recorded_cutoff: str | None
    skipped: list[tuple[int, str, datetime | None]]
    refused: list[tuple[int, str, int, datetime | None]]


class PollerStore:
    """Reads and writes the poller's state inside ``conn``'s transaction."""

    def __init__(self, conn: Connection, now: datetime) -> None:
        self.conn = conn
        self.now = now

    # -- marks -------------------------------------------------------------------------------

    def mark(self, name: str) -> dict[str, Any] | None:
        """The value of a named mark, or None."""
        value = self.conn.execute(
            select(poller_state.c.value).where(poller_state.c.name == name)
        ).scalar()
        return dict(value) if value is not None else None

    def set_mark(self, name: str, value: dict[str, Any] | None) -> None:
        """Set (or, with None, remove) a named mark."""
        self.conn.execute(delete(poller_state).where(poller_state.c.name == name))
        if value is not None:
            self.conn.execute(
                insert(poller_state).values(name=name, value=value, updated_at=self.now)
            )

    # -- orders ------------------------------------------------------------------------------

    def orders(self) -> dict[int, OrderState]:
        """Every purchase order the poller knows, by id."""
        rows = self.conn.execute(select(poller_orders)).mappings()
        return {
            row["po_id"]: OrderState(**{k: row[k] for k in OrderState.__dataclass_fields__})
            for row in rows
        }

    def status_counts(self, up_to_id: int) -> dict[int, int]:
        """How many known POs with an id up to ``up_to_id`` have each status."""
        rows = self.conn.execute(
            select(poller_orders.c.status, func.count())
            .where(poller_orders.c.po_id <= up_to_id, poller_orders.c.status.is_not(None))
            .group_by(poller_orders.c.status)
        )
        return {int(status): int(count) for status, count in rows}

    def sweep(self, limit: int, exclude: Iterable[int]) -> list[int]:
        """Up to ``limit`` POs that can still change (or became final within
        :data:`FINAL_SWEEP`), least recently read first."""
        query = (
            select(poller_orders.c.po_id)
            .where(
                or_(
                    poller_orders.c.final.is_(False),
                    poller_orders.c.final_at >= self.now - FINAL_SWEEP,
                ),
                poller_orders.c.status.is_not(None),
                poller_orders.c.fingerprint.is_not(None),
            )
            .order_by(poller_orders.c.verified_at.asc().nulls_first(), poller_orders.c.po_id)
            .limit(limit + len(set(exclude)))
        )
        skip = set(exclude)
        found = [int(i) for i in self.conn.execute(query).scalars() if int(i) not in skip]
        return found[:limit]

    def _upsert(self, po_id: int, values: dict[str, Any]) -> None:
        values = {**values, "updated_at": self.now}
        done = self.conn.execute(
            update(poller_orders).where(poller_orders.c.po_id == po_id).values(**values)
        )
        if done.rowcount == 0:
            row: dict[str, Any] = {
                "po_id": po_id,
                "final": False,
                "needs_read": False,
                **values,
            }
            self.conn.execute(insert(poller_orders).values(**row))

    def _status(self, po_id: int, values: dict[str, Any], *, history: bool) -> None:
        """Upsert a PO's status (``values`` has ``status`` and ``final``), noting when it became
        final: now, when it was known and not final (or is new since the first cycle, which
        reads the tenant's history); unchanged while it stays final; cleared when it is not."""
        if not values["final"]:
            self._upsert(po_id, {**values, "final_at": None})
            return
        became = and_(poller_orders.c.final.is_(False), poller_orders.c.status.is_not(None))
        changed = {**values, "final_at": case((became, self.now), else_=poller_orders.c.final_at)}
        done = self.conn.execute(
            update(poller_orders)
            .where(poller_orders.c.po_id == po_id)
            .values(**changed, updated_at=self.now)
        )
        if done.rowcount == 0:
            self._upsert(po_id, {**values, "final_at": None if history else self.now})

    def saw(self, po_id: int, status: int, final: bool, *, history: bool = False) -> None:
        """Record a PO's status as just read (its header only); ``history``: in the first
        cycle."""
        self._status(po_id, {"status": status, "final": final}, history=history)

    def verified(
        self,
        po_id: int,
        status: int,
        final: bool,
        fingerprint: str | None,
        skipped: str | None = None,
        *,
        history: bool = False,
    ) -> None:
        """Record a PO read whole; ``fingerprint`` is what the sync now has (None: unchanged).
        ``skipped``: why it could not be handed to the sync; it is read again in the next
        cycle, and the time of the first such cycle is kept while it stays skipped.
        ``history``: in the first cycle."""
        values: dict[str, Any] = {
            "status": status,
            "final": final,
            "verified_at": self.now,
            "needs_read": skipped is not None,
            "skipped": skipped[:2000] if skipped is not None else None,
        }
        if fingerprint is not None:
            values["fingerprint"] = fingerprint
        if skipped is None:
            values["skipped_at"] = None
        else:
            known = self.order(po_id)
            if known is None or known.skipped is None:
                values["skipped_at"] = self.now
        self._status(po_id, values, history=history)

    def order(self, po_id: int) -> OrderState | None:
        """One PO's state, or None."""
        row = (
            self.conn.execute(select(poller_orders).where(poller_orders.c.po_id == po_id))
            .mappings()
            .first()
        )
        if row is None:
            return None
        return OrderState(**{k: row[k] for k in OrderState.__dataclass_fields__})

    def skipped_orders(self) -> list[tuple[int, str, datetime | None]]:
        """(PO id, reason, since) of every PO whose last read could not be used."""
        rows = self.conn.execute(
            select(poller_orders.c.po_id, poller_orders.c.skipped, poller_orders.c.skipped_at)
            .where(poller_orders.c.skipped.is_not(None))
            .order_by(poller_orders.c.po_id)
        )
        return [(int(i), str(reason), since) for i, reason, since in rows]

    def refused_write_backs(self) -> list[tuple[int, str, int, datetime | None]]:
        """(PO id, Autotask's message, attempts, next attempt) of every PO whose write-back
        Autotask refuses."""
        c = poller_orders.c
        rows = self.conn.execute(
            select(c.po_id, c.write_back_error, c.write_back_attempts, c.write_back_after)
            .where(c.write_back_error.is_not(None))
            .order_by(c.po_id)
        )
        return [(int(i), str(e), int(n), after) for i, e, n, after in rows]

    def held_back(self) -> HeldBack:
        """See :class:`HeldBack`."""
        mark = self.mark(CUTOFF)
        recorded = mark.get("date") if mark else None
        return HeldBack(
            recorded if isinstance(recorded, str) else None,
            self.skipped_orders(),
            self.refused_write_backs(),
        )

    def gone(self, po_id: int) -> None:
        """A PO Autotask no longer has (deleted): not counted, never read again unless
        selected again."""
        values = {"status": None, "final": True, "needs_read": False, "verified_at": self.now}
        self._upsert(po_id, values)

    def needs_read(self, po_ids: Iterable[int]) -> None:
        """Read these POs whole in the next cycle."""
        for po_id in po_ids:
            self._upsert(po_id, {"needs_read": True})

    def select(self, po_ids: Iterable[int]) -> list[int]:
        """Select POs for transfer (``atqb transfer``); returns those not selected before."""
        known = self.orders()
        fresh = []
        for po_id in po_ids:
            if known.get(po_id) is None or known[po_id].selected_at is None:
                fresh.append(po_id)
            self._upsert(po_id, {"selected_at": self.now, "needs_read": True})
        return fresh

    # -- write-back --------------------------------------------------------------------------

    def transferred_not_written(self, qbwc_user: str) -> list[tuple[int, dict[str, Any]]]:
        """(PO id, transfer result) of every PO whose transfer is done and whose QuickBooks
        number is not yet in Autotask (:meth:`JobStore.transfers_to_write_back`)."""
        return JobStore(self.conn, self.now).transfers_to_write_back(qbwc_user)

    def written_back(self, po_id: int, number: str) -> None:
        """Record the number written to the PO's External P.O. # ("" when it cannot be)."""
        self._upsert(
            po_id,
            {
                "written_back": number[:32],
                "write_back_error": None,
                "write_back_attempts": 0,
                "write_back_after": None,
            },
        )

    def write_back_refused(
        self, po_id: int, message: str, delay: Callable[[int], timedelta]
    ) -> tuple[int, datetime]:
        """Record Autotask's refusal of a PO's write-back; no new attempt before
        ``delay(refusals so far)`` has passed. Returns (refusals, next attempt)."""
        known = self.order(po_id)
        attempts = (known.write_back_attempts if known else 0) + 1
        retry_at = self.now + delay(attempts)
        self._upsert(
            po_id,
            {
                "write_back_error": message[:2000],
                "write_back_attempts": attempts,
                "write_back_after": retry_at,
            },
        )
        return attempts, retry_at
