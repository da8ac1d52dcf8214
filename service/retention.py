"""Retention: removing old history (``atqb db prune``, and ``ATQB_PRUNE_AFTER_DAYS``).

What goes: the transmissions (requests sent to QuickBooks and its answers) of jobs that ended
``done`` or ``cancelled`` longer ago than the limit, and Web Connector sessions that ended
longer ago than the limit. What stays: every job row (its payload, result, error and
timestamps: ``atqb jobs list`` and ``/admin`` keep their history), every transmission of a job
that is not done or cancelled (pending, waiting, in flight, and failed: an operator needs its
requests and answers), live sessions, users, mappings and poll cycles.

The job store picks and deletes the transmissions
(:meth:`~service.jobstore.JobStore.remove_finished_transmissions`). Rows go in batches of
:data:`BATCH`, each in its own short transaction, so pruning a year of history never holds
locks for long nor stops the Web Connector's calls. Per-call queries do not depend on how much
history is kept (issue 13): pruning saves disk space, not time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, select

from service.db import Database
from service.jobstore import JobStore
from service.models import wc_sessions

log = logging.getLogger("atqb.retention")

#: Rows removed per transaction.
BATCH = 5000
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

    def old_transmissions(conn: Connection) -> int:
        return JobStore(conn, now).remove_finished_transmissions(cutoff, BATCH)

    def old_sessions(conn: Connection) -> int:
        ended = select(wc_sessions.c.id).where(wc_sessions.c.ended_at < cutoff).limit(BATCH)
        batch = list(conn.execute(ended).scalars())
        if batch:
            conn.execute(delete(wc_sessions).where(wc_sessions.c.id.in_(batch)))
        return len(batch)

    return Pruned(
        transmissions=_in_batches(database, old_transmissions),
        sessions=_in_batches(database, old_sessions),
    )


def _in_batches(database: Database, remove: Callable[[Connection], int]) -> int:
    """Call ``remove`` (which deletes at most :data:`BATCH` rows and says how many) in a
    transaction of its own until a batch comes up short; return the rows removed."""
    removed = 0
    while True:
        with database.transaction() as conn:
            batch = remove(conn)
        removed += batch
        if batch < BATCH:
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
