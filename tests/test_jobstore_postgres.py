"""PostgreSQL-only behaviour of the job store: SKIP LOCKED claims and racing enqueues."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from service.db import Database
from service.jobstore import JobStore, NewJob
from service.sessions import Sessions

pytestmark = pytest.mark.postgres

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _sessions(db: Database, count: int) -> list[int]:
    with db.transaction() as conn:
        sessions = Sessions(conn, T0)
        user = sessions.add_user("office", "pw", "")
        return [sessions.open(user, idle_seconds=600, work_at_start=0)[1] for _ in range(count)]


def _enqueue(db: Database, n: int) -> list[int]:
    with db.transaction() as conn:
        store = JobStore(conn, T0)
        return [
            store.enqueue(NewJob(kind="k", qbwc_user="office", payload={}))[0].id for _ in range(n)
        ]


def test_a_locked_candidate_is_skipped_not_waited_for(postgres_db: Database) -> None:
    first, second = _sessions(postgres_db, 2)
    (job_id,) = _enqueue(postgres_db, 1)
    with postgres_db.transaction() as conn_a:
        claimed_a = JobStore(conn_a, T0).claim(
            session_id=first, qbwc_user="office", limit=1, lease_seconds=60
        )
        # While A's transaction still holds the row, B's claim returns at once with nothing.
        with postgres_db.transaction() as conn_b:
            conn_b.exec_driver_sql("SET LOCAL lock_timeout = '2s'")
            claimed_b = JobStore(conn_b, T0).claim(
                session_id=second, qbwc_user="office", limit=1, lease_seconds=60
            )
    assert [j.id for j in claimed_a] == [job_id]
    assert claimed_b == []


def test_two_claimers_racing_for_one_job_exactly_one_wins(postgres_db: Database) -> None:
    rounds = 40
    sessions = _sessions(postgres_db, 2)
    for _ in range(rounds):
        (job_id,) = _enqueue(postgres_db, 1)
        barrier = threading.Barrier(2)
        results: dict[int, list[int]] = {}

        def claim(
            session_id: int,
            results: dict[int, list[int]] = results,
            barrier: threading.Barrier = barrier,
        ) -> None:
            barrier.wait()
            with postgres_db.transaction() as conn:
                claimed = JobStore(conn, T0).claim(
                    session_id=session_id, qbwc_user="office", limit=1, lease_seconds=60
                )
            results[session_id] = [j.id for j in claimed]

        threads = [threading.Thread(target=claim, args=(s,)) for s in sessions]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        winners = [ids for ids in results.values() if ids]
        assert winners == [[job_id]], results
        with postgres_db.transaction() as conn:
            assert JobStore(conn, T0).get(job_id).attempts == 1


def test_racing_enqueues_of_the_same_work_make_one_job(postgres_db: Database) -> None:
    barrier = threading.Barrier(4)
    created: list[tuple[int, bool]] = []
    lock = threading.Lock()

    def enqueue() -> None:
        barrier.wait()
        with postgres_db.transaction() as conn:
            job, new = JobStore(conn, T0).enqueue(
                NewJob(kind="vendor", qbwc_user="office", payload={}, idempotency_key="vendor:1")
            )
        with lock:
            created.append((job.id, new))

    threads = [threading.Thread(target=enqueue) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({job_id for job_id, _ in created}) == 1
    assert sum(new for _, new in created) == 1


def test_enqueue_stays_idempotent_once_the_statement_is_prepared(postgres_db: Database) -> None:
    """psycopg prepares a statement after a few executions; PostgreSQL may then use a generic
    plan, and ON CONFLICT must still find the partial unique index."""
    with postgres_db.transaction() as conn:
        store = JobStore(conn, T0)
        for round_ in range(12):
            for key in ("vendor:1", "vendor:2"):
                _job, created = store.enqueue(
                    NewJob(kind="vendor", qbwc_user="office", payload={}, idempotency_key=key)
                )
                assert created == (round_ == 0), (round_, key)
        assert len(store.find()) == 2
