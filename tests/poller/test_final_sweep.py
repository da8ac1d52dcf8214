"""The rolling check keeps reading a PO for a while after it became Received Full or Canceled
(PollerStore on PostgreSQL and SQLite)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from service.db import Database
from service.poller.state import FINAL_SWEEP, PollerStore

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
OPEN, FULL = 2, 4


def _swept(db: Database, at: datetime) -> list[int]:
    with db.transaction() as conn:
        return PollerStore(conn, at).sweep(100, ())


def test_recently_final_pos_are_swept_history_is_not(db: Database) -> None:
    with db.transaction() as conn:
        store = PollerStore(conn, T0)
        # The first cycle reads the tenant's history: long-closed POs are not swept.
        store.verified(1, FULL, True, "f1", history=True)
        store.verified(2, OPEN, False, "f2", history=True)
        store.verified(3, OPEN, False, "f3", history=True)
    assert _swept(db, T0) == [2, 3]
    later = T0 + timedelta(hours=1)
    with db.transaction() as conn:
        store = PollerStore(conn, later)
        store.verified(2, FULL, True, None)  # read whole as it became Received Full
        store.saw(3, FULL, True)  # seen moving by the status counts
        store.verified(4, FULL, True, "f4")  # new since, already received in full
    assert _swept(db, later) == [3, 2, 4]
    # Reading it again while it stays final does not restart the period.
    with db.transaction() as conn:
        PollerStore(conn, later + timedelta(days=1)).verified(2, FULL, True, None)
    assert _swept(db, later + FULL_SWEEP_END) == []
    # Reopened (a receipt cancelled), then final again: a new period.
    again = later + FULL_SWEEP_END
    with db.transaction() as conn:
        PollerStore(conn, again).verified(2, OPEN, False, None)
        PollerStore(conn, again + timedelta(minutes=5)).verified(2, FULL, True, None)
    assert _swept(db, again + timedelta(minutes=5)) == [2]


FULL_SWEEP_END = FINAL_SWEEP + timedelta(seconds=1)
