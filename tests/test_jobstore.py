"""The job store's contract, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from service.db import Database
from service.jobstore import Answer, JobNotFound, JobStore, JobStoreError, NewJob
from service.models import jobs
from service.webconnector.sessions import Sessions

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
USER = "office"


@contextmanager
def store(db: Database, now: datetime = T0) -> Iterator[JobStore]:
    """A job store in its own transaction, committed when the block ends."""
    with db.transaction() as conn:
        yield JobStore(conn, now)


def new(key: str | None = None, **kw: object) -> NewJob:
    fields: dict[str, object] = {
        "kind": "company_query",
        "qbwc_user": USER,
        "payload": {"n": 1},
        "subject": "test job",
        "idempotency_key": key,
    }
    fields.update(kw)
    return NewJob(**fields)  # type: ignore[arg-type]


def open_session(db: Database, name: str = USER, now: datetime = T0) -> int:
    with db.transaction() as conn:
        sessions = Sessions(conn, now)
        user = sessions.find_user(name) or sessions.add_user(name, "pw", "")
        _ticket, session_id = sessions.open(user, idle_seconds=600, work_at_start=0)
    return session_id


# -- enqueue and idempotency -----------------------------------------------------------------


def test_enqueue_makes_a_pending_job(db: Database) -> None:
    with store(db) as s:
        job, created = s.enqueue(new(autotask_entity="PurchaseOrders", autotask_id=7))
    assert created
    assert job.status == "pending"
    assert job.attempts == 0
    assert job.payload == {"n": 1}
    assert job.summary()["autotask"] == {"entity": "PurchaseOrders", "id": 7}
    assert job.created_at == T0


def test_same_idempotency_key_twice_yields_one_job(db: Database) -> None:
    with store(db) as s:
        first, created1 = s.enqueue(new("po:1:abc"))
        second, created2 = s.enqueue(new("po:1:abc", payload={"different": True}))
    assert (created1, created2) == (True, False)
    assert second.id == first.id
    assert second.payload == {"n": 1}
    with store(db) as s:
        assert len(s.find()) == 1


def test_database_itself_refuses_a_duplicate_unfinished_key(db: Database) -> None:
    with store(db) as s:
        s.enqueue(new("vendor:Acme"))
    row = {
        "kind": "x",
        "qbwc_user": USER,
        "status": "pending",
        "priority": 0,
        "payload": {},
        "state": {},
        "subject": "",
        "idempotency_key": "vendor:Acme",
        "attempts": 0,
        "max_attempts": 3,
        "run_after": T0,
        "created_at": T0,
        "updated_at": T0,
    }
    with pytest.raises(IntegrityError), db.transaction() as conn:
        conn.execute(jobs.insert().values(row))


def test_a_done_job_frees_its_key_but_a_failed_one_holds_it(db: Database) -> None:
    session_id = open_session(db)
    with store(db) as s:
        done, _ = s.enqueue(new("k-done"))
        failed, _ = s.enqueue(new("k-failed"))
        s.claim(session_id=session_id, qbwc_user=USER, limit=10, lease_seconds=60)
        s.complete(done.id, {"ok": True})
        s.fail(failed.id, "3100: name in use")
    with store(db) as s:
        again_done, created_done = s.enqueue(new("k-done"))
        again_failed, created_failed = s.enqueue(new("k-failed"))
    assert created_done and again_done.id != done.id
    # A failed job waits for an operator: the same work is not silently tried again.
    assert not created_failed and again_failed.id == failed.id


# -- dependencies ----------------------------------------------------------------------------


def test_dependent_waits_until_every_prerequisite_is_done(db: Database) -> None:
    session_id = open_session(db)
    with store(db) as s:
        vendor, _ = s.enqueue(new("vendor"))
        item, _ = s.enqueue(new("item"))
        po, _ = s.enqueue(new("po", depends_on=(vendor.id, item.id)))
    assert po.status == "waiting"
    with store(db) as s:
        claimed = s.claim(session_id=session_id, qbwc_user=USER, limit=10, lease_seconds=60)
        assert [j.id for j in claimed] == [vendor.id, item.id]  # the waiting PO is not handed out
        assert s.complete(vendor.id, {}) == []
        assert s.get(po.id).status == "waiting"
        assert s.complete(item.id, {}) == [po.id]
        assert s.get(po.id).status == "pending"
        assert s.prerequisites(po.id) == [vendor.id, item.id]
        assert s.dependents(vendor.id) == [po.id]


def test_failed_prerequisite_fails_dependents_transitively_naming_it(db: Database) -> None:
    with store(db) as s:
        item, _ = s.enqueue(new("item", subject="Item Widget"))
        po, _ = s.enqueue(new("po", depends_on=(item.id,), subject="PO 1234"))
        receipt, _ = s.enqueue(new("receipt", depends_on=(po.id,)))
        unrelated, _ = s.enqueue(new("other"))
        failed = s.fail(item.id, "QuickBooks 3100: name in use by a non-inventory part")
        assert failed == [po.id, receipt.id]
        po_now, receipt_now = s.get(po.id), s.get(receipt.id)
    assert po_now.status == "failed"
    assert po_now.failed_by == item.id
    assert f"job #{item.id}" in (po_now.error or "")
    assert "Item Widget" in (po_now.error or "")
    assert "non-inventory part" in (po_now.error or "")
    assert receipt_now.status == "failed"
    assert f"job #{po.id}" in (receipt_now.error or "")
    with store(db) as s:
        assert s.get(unrelated.id).status == "pending"


def test_enqueue_after_prerequisite_failed_is_failed_at_once(db: Database) -> None:
    with store(db) as s:
        item, _ = s.enqueue(new("item"))
        s.fail(item.id, "boom")
        po, _ = s.enqueue(new("po", depends_on=(item.id,)))
    assert po.status == "failed"
    assert po.failed_by == item.id


def test_unknown_prerequisite_is_refused(db: Database) -> None:
    with pytest.raises(JobNotFound), store(db) as s:
        s.enqueue(new("po", depends_on=(999,)))


def test_cancel_fails_dependents_and_retry_of_root_revives_them(db: Database) -> None:
    with store(db) as s:
        item, _ = s.enqueue(new("item"))
        po, _ = s.enqueue(new("po", depends_on=(item.id,)))
        s.cancel(item.id)
        assert "was cancelled" in (s.get(po.id).error or "")
        # Retrying the dependent retries the job that actually failed, and says so.
        retried = s.retry(po.id)
        assert (retried.job.id, [j.id for j in retried.requeued]) == (po.id, [item.id])
        assert s.get(item.id).status == "pending"
        assert s.get(po.id).status == "waiting"
        assert s.get(po.id).error is None


def test_operator_actions_refuse_wrong_states(db: Database) -> None:
    session_id = open_session(db)
    with store(db) as s:
        job, _ = s.enqueue(new("a"))
        with pytest.raises(JobStoreError, match="only failed or cancelled"):
            s.retry(job.id)
        s.claim(session_id=session_id, qbwc_user=USER, limit=1, lease_seconds=60)
        s.complete(job.id, {})
        with pytest.raises(JobStoreError, match="already done"):
            s.cancel(job.id)
        with pytest.raises(JobNotFound):
            s.get(12345)


def test_retry_of_cancelled_job_refused_when_newer_job_has_same_work(db: Database) -> None:
    with store(db) as s:
        old, _ = s.enqueue(new("same"))
        s.cancel(old.id)
        newer, created = s.enqueue(new("same"))
        assert created
        with pytest.raises(JobStoreError, match=f"job #{newer.id} already carries"):
            s.retry(old.id)


# -- claims and leases -----------------------------------------------------------------------


def test_claim_order_limit_user_and_run_after(db: Database) -> None:
    session_id = open_session(db)
    with store(db) as s:
        low, _ = s.enqueue(new("low", priority=5))
        high, _ = s.enqueue(new("high", priority=-1))
        other_user, _ = s.enqueue(new("other", qbwc_user="someone-else"))
        later, _ = s.enqueue(new("later"))
        s.set_run_after(later.id, T0 + timedelta(minutes=5))
        claimed = s.claim(session_id=session_id, qbwc_user=USER, limit=1, lease_seconds=60)
        assert [j.id for j in claimed] == [high.id]
        rest = s.claim(session_id=session_id, qbwc_user=USER, limit=10, lease_seconds=60)
        assert [j.id for j in rest] == [low.id]
        assert s.get(other_user.id).status == "pending"
        assert s.get(later.id).status == "pending"
    job = rest[0]
    assert job.status == "in_flight"
    assert job.attempts == 1
    assert job.lease_session_id == session_id
    assert job.leased_at == T0
    assert job.lease_expires_at == T0 + timedelta(seconds=60)


def test_ended_session_releases_its_jobs_and_marks_the_lost_answer(db: Database) -> None:
    session_id = open_session(db)
    with store(db) as s:
        job, _ = s.enqueue(new("a"))
        s.claim(session_id=session_id, qbwc_user=USER, limit=1, lease_seconds=60)
        s.record_request(
            job,
            session_id=session_id,
            request_id=str(job.id),
            request_xml="<x/>",
            state={"awaiting": "add"},
        )
        assert s.release_session(session_id, "closeConnection") == [job.id]
        released = s.get(job.id)
        (transmission,) = s.transmissions(job.id)
    assert released.status == "pending"
    assert released.lease_session_id is None
    assert released.attempts == 1
    # The kind sees that its last request may have been carried out.
    assert released.state == {"awaiting": "add"}
    assert "no answer" in (released.error or "")
    assert transmission.message == "no answer: closeConnection"
    assert transmission.received_at == T0


def test_expired_lease_is_rescued_later_not_before(db: Database) -> None:
    session_id = open_session(db)
    with store(db) as s:
        job, _ = s.enqueue(new("a"))
        s.claim(session_id=session_id, qbwc_user=USER, limit=1, lease_seconds=60)
    with store(db, T0 + timedelta(seconds=59)) as s:
        assert s.rescue_expired() == []
    with store(db, T0 + timedelta(seconds=61)) as s:
        assert s.rescue_expired() == [job.id]
        assert s.get(job.id).status == "pending"


def test_transient_trouble_backs_off_then_fails_when_attempts_run_out(db: Database) -> None:
    session_id = open_session(db)
    now = T0
    with store(db, now) as s:
        job, _ = s.enqueue(new("a", max_attempts=3))
    delays = []
    for _attempt in range(3):
        with store(db, now) as s:
            (claimed,) = s.claim(session_id=session_id, qbwc_user=USER, limit=1, lease_seconds=60)
            status = s.retry_later(claimed.id, "QuickBooks 3175: locked by another user")
            after = s.get(job.id)
        if status == "pending":
            delays.append(after.run_after - now)
            now = after.run_after
    assert delays == [timedelta(seconds=30), timedelta(seconds=60)]
    assert after.status == "failed"
    assert after.error == "gave up after 3 attempts: QuickBooks 3175: locked by another user"


def test_advance_makes_next_step_ready_and_resets_attempts(db: Database) -> None:
    session_id = open_session(db)
    with store(db) as s:
        job, _ = s.enqueue(new("a"))
        s.claim(session_id=session_id, qbwc_user=USER, limit=1, lease_seconds=60)
        s.advance(job.id, {"step": "add"})
        after = s.get(job.id)
    assert (after.status, after.attempts, after.state) == ("pending", 0, {"step": "add"})


def test_transmission_answer_is_written_once(db: Database) -> None:
    session_id = open_session(db)
    with store(db) as s:
        job, _ = s.enqueue(new("a"))
        s.claim(session_id=session_id, qbwc_user=USER, limit=1, lease_seconds=60)
        tid = s.record_request(
            job, session_id=session_id, request_id="1", request_xml="<rq/>", state={}
        )
        assert [t.id for t in s.open_transmissions(session_id)] == [tid]
        s.record_answer(tid, Answer(response_xml="<rs/>", status_code=0, status_severity="Info"))
        s.record_answer(tid, Answer(response_xml="<changed/>", status_code=1))
        (t,) = s.transmissions(job.id)
        assert s.open_transmissions(session_id) == []
    assert (t.response_xml, t.status_code, t.status_severity) == ("<rs/>", 0, "Info")
    assert t.as_json()["request_xml"] == "<rq/>"
    assert set(t.as_json()) >= {
        "request_xml",
        "response_xml",
        "status_code",
        "status_message",
        "hresult",
        "sent_at",
        "received_at",
    }


def test_counts_by_status_and_kind(db: Database) -> None:
    with store(db) as s:
        s.enqueue(new("a"))
        s.enqueue(new("b", kind="vendor"))
        failed, _ = s.enqueue(new("c", kind="vendor"))
        s.fail(failed.id, "x")
        counts = s.counts()
    assert counts.by_status == {"pending": 2, "failed": 1}
    assert counts.by_kind_status[("vendor", "failed")] == 1


def test_enqueue_leaves_running_jobs_alone(db: Database) -> None:
    """Marking a job done does not touch an unrelated in-flight job."""
    session_id = open_session(db)
    with store(db) as s:
        a, _ = s.enqueue(new("a"))
        b, _ = s.enqueue(new("b"))
        s.claim(session_id=session_id, qbwc_user=USER, limit=2, lease_seconds=60)
        s.complete(a.id, {"ListID": "80000001-1700000000"})
        assert s.get(b.id).status == "in_flight"
        assert s.get(a.id).result == {"ListID": "80000001-1700000000"}


def test_status_column_rejects_unknown_status(db: Database) -> None:
    with store(db) as s:
        job, _ = s.enqueue(new("a"))
    with pytest.raises(IntegrityError), db.transaction() as conn:
        conn.execute(update(jobs).where(jobs.c.id == job.id).values(status="bogus"))
