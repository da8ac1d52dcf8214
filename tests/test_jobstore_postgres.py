"""PostgreSQL-only behaviour of the job store: SKIP LOCKED claims, racing enqueues, and the
plans of per-call queries on a large database."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event

from service.db import Database
from service.jobstatus import JobStatus
from service.jobstore import Job, JobStore, NewJob, Ref
from service.settings import load_settings
from service.webconnector.exchange import Exchange
from service.webconnector.sessions import Sessions
from tests.support import (
    CompanyFile,
    add_user,
    enqueue_company_queries,
    fill_history,
    generic_plans,
    until_a_lock_is_awaited,
)

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


def test_jobs_locked_for_cancelling_are_not_claimed_meanwhile(postgres_db: Database) -> None:
    """The enqueuer cancels superseded jobs it has locked (``lock_if_status``): a session's
    claim in between skips them, and a job claimed before the lock is left to its answer."""
    (session,) = _sessions(postgres_db, 1)
    claimed_first, kept = _enqueue(postgres_db, 2)
    with postgres_db.transaction() as conn:
        JobStore(conn, T0).claim(session_id=session, qbwc_user="office", limit=1, lease_seconds=60)
    wanted = (JobStatus.PENDING, JobStatus.WAITING, JobStatus.FAILED)
    with postgres_db.transaction() as conn_a:
        locked = JobStore(conn_a, T0).lock_if_status([claimed_first, kept], wanted)
        with postgres_db.transaction() as conn_b:
            conn_b.exec_driver_sql("SET LOCAL lock_timeout = '2s'")
            claimed_b = JobStore(conn_b, T0).claim(
                session_id=session, qbwc_user="office", limit=5, lease_seconds=60
            )
    assert locked == {kept}
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


def test_per_call_queries_use_indexes_under_generic_plans(postgres_db: Database) -> None:
    """Every statement of a round trip, planned as psycopg's prepared statements are once they
    run often (a generic plan), reads an index, never a whole table, on a database with a long
    history and a long queue of other users' jobs."""
    fill_history(postgres_db, transmissions=60_000, pending_jobs=20_000)
    add_user(postgres_db, "office", "pw")
    enqueue_company_queries(postgres_db, "office", 3)
    exchange = Exchange(postgres_db, load_settings(database_url=str(postgres_db.engine.url)))
    ticket, _ = exchange.authenticate("office", "pw")
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append((statement, parameters))

    event.listen(postgres_db.engine, "before_cursor_execute", record)
    try:
        request = exchange.send_request_xml(ticket, "", "", "US", 13, 0)
        exchange.receive_response_xml(ticket, CompanyFile().process(request), "", "")
    finally:
        event.remove(postgres_db.engine, "before_cursor_execute", record)
    assert len(seen) >= 6
    plans = generic_plans(postgres_db, seen)
    for statement, plan in plans.items():
        for table in ("jobs", "transmissions", "wc_sessions"):
            assert f"Seq Scan on {table}" not in plan, f"{statement}\n{plan}"
    (claim,) = [p for s, p in plans.items() if s.startswith("WITH candidates")]
    assert "ix_jobs_claim" in claim, claim


def _work(n: int) -> list[NewJob]:
    """A vendor, and per PO the PO after it, an inventory sync keyed by the PO's id, and a note
    without a key after the PO."""
    entries = [NewJob(kind="vendor", qbwc_user="office", payload={}, idempotency_key="vendor:1")]
    for po in range(n):
        at = len(entries)
        entries += [
            NewJob(
                kind="purchase_order",
                qbwc_user="office",
                payload={"po": po},
                idempotency_key=f"po:{po}",
                depends_on=(Ref(0),),
            ),
            NewJob(
                kind="inventory_adjustment",
                qbwc_user="office",
                payload={},
                idempotency_key=lambda ids: f"inventory:{ids}",
                depends_on=(Ref(at),),
            ),
            NewJob(kind="note", qbwc_user="office", payload={}, depends_on=(Ref(at),)),
        ]
    return entries


def test_enqueue_many_racing_the_same_work_makes_one_set_of_jobs(postgres_db: Database) -> None:
    """B's INSERT meets A's uncommitted keys and waits; once A commits, every keyed entry of B
    resolves to A's job, and B's new jobs depend on A's."""
    entries = _work(5)
    results: dict[str, list[tuple[Job, bool]]] = {}
    waiting = threading.Event()

    def enqueue_b() -> None:
        with postgres_db.transaction() as conn:
            waiting.set()
            results["b"] = JobStore(conn, T0).enqueue_many(entries)

    with postgres_db.transaction() as conn_a:
        results["a"] = JobStore(conn_a, T0).enqueue_many(entries)
        b = threading.Thread(target=enqueue_b)
        b.start()
        waiting.wait()
        until_a_lock_is_awaited(postgres_db)
    b.join()
    a_jobs, b_jobs = results["a"], results["b"]
    assert all(created for _, created in a_jobs)
    for (a_job, _), (b_job, b_created), entry in zip(a_jobs, b_jobs, entries, strict=True):
        if entry.idempotency_key is not None:
            assert (b_job.id, b_created) == (a_job.id, False)
        else:
            assert b_created
    with postgres_db.transaction() as conn:
        store = JobStore(conn, T0)
        assert len(store.find()) == 1 + 5 * 4  # one vendor, per PO one PO and sync, two notes
        b_note = b_jobs[3][0]
        assert store.prerequisites(b_note.id) == [a_jobs[1][0].id]
