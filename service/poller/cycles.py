"""Poll cycles: the record the Autotask poller keeps of each cycle, for ``/admin`` and ``/metrics``.

The poller (``atqb poll``) runs in its own process; ``atqb serve`` shows its work. So each cycle
is a row of ``poll_cycles``, written in two short transactions::

    with database.transaction() as conn:
        cycle_id = PollCycles(conn, utcnow()).start()
    before = client.requests_made
    ...  # read Autotask, enqueue jobs; count throttling (RateLimited, ThreadLimitExceeded,
    ...  # BudgetExhausted) and jobs enqueued
    with database.transaction() as conn:
        cycle = PollCycles(conn, utcnow()).finish(
            cycle_id, outcome="ok", autotask_requests=client.requests_made - before,
            autotask_throttled=throttled, jobs_enqueued=enqueued,
        )
    log_cycle(cycle)

``error`` is shown to operators as it is: give it the text of an
:class:`~service.autotask.AutotaskError` (which never holds the secret or the integration code),
never a request's headers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, RowMapping, func, insert, select, update

from service.models import poll_cycles

log = logging.getLogger("atqb.poll")

#: Longest error text kept on a cycle.
MAX_ERROR = 4000


@dataclass(frozen=True)
class PollCycle:
    """One cycle as stored."""

    id: int
    started_at: datetime
    finished_at: datetime | None
    outcome: str
    autotask_requests: int
    autotask_throttled: int
    jobs_enqueued: int
    error: str | None
    details: dict[str, Any] | None

    @classmethod
    def from_row(cls, row: RowMapping) -> PollCycle:
        """Build from a row of ``poll_cycles``."""
        return cls(**{name: row[name] for name in cls.__dataclass_fields__})

    @property
    def seconds(self) -> float | None:
        """How long the cycle took; None while it runs."""
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


@dataclass(frozen=True)
class PollTotals:
    """Sums over every recorded cycle (for ``/metrics``)."""

    cycles_by_outcome: dict[str, int]
    autotask_requests: int
    autotask_throttled: int
    jobs_enqueued: int
    #: When the newest successful cycle ended, or None.
    last_ok_at: datetime | None


class PollCycles:
    """Poll-cycle records, inside the transaction of ``connection`` at the instant ``now``."""

    def __init__(self, connection: Connection, now: datetime) -> None:
        self.conn = connection
        self.now = now

    def start(self) -> int:
        """Record that a cycle begins; return its id."""
        statement = (
            insert(poll_cycles)
            .values(
                started_at=self.now,
                outcome="running",
                autotask_requests=0,
                autotask_throttled=0,
                jobs_enqueued=0,
            )
            .returning(poll_cycles.c.id)
        )
        return int(self.conn.execute(statement).scalar_one())

    def finish(
        self,
        cycle_id: int,
        *,
        outcome: Literal["ok", "failed"],
        autotask_requests: int = 0,
        autotask_throttled: int = 0,
        jobs_enqueued: int = 0,
        error: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> PollCycle:
        """Record how a cycle ended and return it."""
        if outcome not in ("ok", "failed"):
            raise ValueError(f"a cycle ends ok or failed, not {outcome!r}")
        if min(autotask_requests, autotask_throttled, jobs_enqueued) < 0:
            raise ValueError("counts cannot be negative")
        self.conn.execute(
            update(poll_cycles)
            .where(poll_cycles.c.id == cycle_id)
            .values(
                finished_at=self.now,
                outcome=outcome,
                autotask_requests=autotask_requests,
                autotask_throttled=autotask_throttled,
                jobs_enqueued=jobs_enqueued,
                error=error[:MAX_ERROR] if error is not None else None,
                details=details,
            )
        )
        return self.get(cycle_id)

    def get(self, cycle_id: int) -> PollCycle:
        """The cycle with this id (``LookupError`` when there is none)."""
        row = self.conn.execute(select(poll_cycles).where(poll_cycles.c.id == cycle_id))
        found = row.mappings().first()
        if found is None:
            raise LookupError(f"no poll cycle #{cycle_id}")
        return PollCycle.from_row(found)

    def recent(self, limit: int = 20) -> list[PollCycle]:
        """The newest cycles first."""
        query = select(poll_cycles).order_by(poll_cycles.c.id.desc()).limit(limit)
        return [PollCycle.from_row(row) for row in self.conn.execute(query).mappings()]

    def totals(self) -> PollTotals:
        """Sums over every cycle."""
        by_outcome = {
            outcome: int(number)
            for outcome, number in self.conn.execute(
                select(poll_cycles.c.outcome, func.count()).group_by(poll_cycles.c.outcome)
            )
        }
        sums = self.conn.execute(
            select(
                func.coalesce(func.sum(poll_cycles.c.autotask_requests), 0),
                func.coalesce(func.sum(poll_cycles.c.autotask_throttled), 0),
                func.coalesce(func.sum(poll_cycles.c.jobs_enqueued), 0),
            )
        ).one()
        last_ok = self.conn.execute(
            select(poll_cycles.c.finished_at)
            .where(poll_cycles.c.outcome == "ok")
            .order_by(poll_cycles.c.id.desc())
            .limit(1)
        ).scalar()
        return PollTotals(
            cycles_by_outcome=by_outcome,
            autotask_requests=int(sums[0]),
            autotask_throttled=int(sums[1]),
            jobs_enqueued=int(sums[2]),
            last_ok_at=last_ok,
        )


def log_cycle(cycle: PollCycle) -> None:
    """The one structured log line of a finished cycle (call it after the transaction)."""
    seconds = cycle.seconds
    log.log(
        logging.INFO if cycle.outcome == "ok" else logging.WARNING,
        "poll cycle=%d outcome=%s autotask_requests=%d throttled=%d enqueued=%d ms=%s%s",
        cycle.id,
        cycle.outcome,
        cycle.autotask_requests,
        cycle.autotask_throttled,
        cycle.jobs_enqueued,
        "-" if seconds is None else str(round(seconds * 1000)),
        f" error={cycle.error!r}" if cycle.error else "",
    )
