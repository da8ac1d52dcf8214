"""Retention: removing old history (``atqb db prune``, and ``ATQB_PRUNE_AFTER_DAYS``).

What goes: the transmissions (requests sent to QuickBooks and its answers) of jobs that ended
``done`` or ``cancelled`` longer ago than the limit, and Web Connector sessions that ended
longer ago than the limit. What stays: every job row (its payload, result, error and
timestamps: ``atqb jobs list`` and ``/admin`` keep their history), every transmission of a job
that is not done or cancelled (pending, waiting, in flight, and failed: an operator needs its
requests and answers), live sessions, users, mappings and poll cycles.

Rows go in batches of :data:`BATCH`, each in its own short transaction, so pruning a year of
history never holds locks for long nor stops the Web Connector's calls. Per-call queries do not
depend on how much history is kept (issue 13): pruning saves disk space, not time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Column, Select, delete, select

from service.db import Database
from service.jobstatus import JobStatus
from service.jobstore import status_is
from service.models import jobs, transmissions, wc_sessions

log = logging.getLogger("atqb.retention")

#: Rows removed per transaction.
BATCH = 5000
#: Job statuses whose transmissions may go once old (``failed`` waits for an operator).
PRUNABLE_STATUSES = (JobStatus.DONE, JobStatus.CANCELLED)
#: How often ``atqb serve`` prunes when ``ATQB_PRUNE_AFTER_DAYS`` is set (seconds).
AUTOMATIC_INTERVAL = 3600.0


@dataclass(frozen=True)
class Pruned:
    """How many rows a prune removed."""

    transmissions: int
    sessions: int


def prune(database: Database, older_than: timedelta, now: datetime) -> Pruned:
    """Remove finished jobs' transmissions and ended sessions older than ``older_than``."""
    cutoff = now - older_than
    old_transmissions = (
        select(transmissions.c.id)
        .join(jobs, jobs.c.id == transmissions.c.job_id)
        .where(
            status_is(*PRUNABLE_STATUSES),
            jobs.c.updated_at < cutoff,
            transmissions.c.sent_at < cutoff,
        )
        .limit(BATCH)
    )
    old_sessions = select(wc_sessions.c.id).where(wc_sessions.c.ended_at < cutoff).limit(BATCH)
    return Pruned(
        transmissions=_in_batches(database, old_transmissions, transmissions.c.id),
        sessions=_in_batches(database, old_sessions, wc_sessions.c.id),
    )


def _in_batches(database: Database, ids: Select[Any], key: Column[Any]) -> int:
    """Delete the rows of ``key``'s table whose key ``ids`` selects, a batch per transaction."""
    removed = 0
    while True:
        with database.transaction() as conn:
            batch = list(conn.execute(ids).scalars())
            if batch:
                conn.execute(delete(key.table).where(key.in_(batch)))
        removed += len(batch)
        if len(batch) < BATCH:
            return removed


def start_automatic(
    database: Database, days: int | None, clock: Callable[[], datetime]
) -> threading.Thread | None:
    """With ``days`` set, prune every :data:`AUTOMATIC_INTERVAL` seconds in a background thread
    of this process (never inside a Web Connector call); None when ``days`` is None."""
    if days is None:
        return None

    def loop() -> None:
        while True:
            try:
                pruned = prune(database, timedelta(days=days), clock())
                log.info(
                    "pruned history older than %d days: %d transmissions, %d sessions",
                    days,
                    pruned.transmissions,
                    pruned.sessions,
                )
            except Exception:
                log.exception("automatic prune failed; it runs again in an hour")
            threading.Event().wait(AUTOMATIC_INTERVAL)

    thread = threading.Thread(target=loop, name="atqb-prune", daemon=True)
    thread.start()
    return thread
