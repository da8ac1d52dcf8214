"""The job store's contract, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from service.db import Database
from service.jobstatus import JobStatus
from service.jobstore import (
    Answer,
    Job,
    JobNotFound,
    JobStore,
    JobStoreError,
    KeyMaker,
    NewJob,
    Ref,
)
from service.models import jobs
from service.webconnector.sessions import Sessions
from tests.test_statements import counting

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
USER = "office"


@contextmanager
def store(db: Database, now: datetime = T0) -> Iterator[JobStore]:
    """A job store in its own transaction, committed when the block ends."""
    with db.transaction() as conn:
        yield JobStore(conn, now)


def new(key: str | KeyMaker | None = None, **kw: object) -> NewJob:
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
    assert created_done
    assert again_done.id != done.id
    # A failed job waits for an operator: the same work is not silently tried again.
    assert not created_failed
    assert again_failed.id == failed.id


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


def test_dependents_within_walks_only_through_the_statuses_asked_for(db: Database) -> None:
    """A diamond below the root, and a branch cut by a job of another status: each dependent
    once, after the jobs that wait for it, in one statement."""
    with store(db) as s:
        root, _ = s.enqueue(new("root"))
        left, _ = s.enqueue(new("left", depends_on=(root.id,)))
        right, _ = s.enqueue(new("right", depends_on=(root.id,)))
        below, _ = s.enqueue(new("below", depends_on=(left.id, right.id)))
        busy, _ = s.enqueue(new("busy", depends_on=(root.id,)))
        behind, _ = s.enqueue(new("behind", depends_on=(busy.id,)))
        s.conn.execute(update(jobs).where(jobs.c.id == busy.id).values(status="in_flight"))
        with counting(db) as seen:
            found = s.dependents_within(root.id, (JobStatus.WAITING, JobStatus.PENDING))
        assert found == [below.id, left.id, right.id]
        assert len(seen) == 1
        assert s.dependents_within(behind.id, (JobStatus.WAITING,)) == []
        every = (JobStatus.WAITING, JobStatus.IN_FLIGHT)
        assert s.dependents_within(root.id, every) == [
            below.id,
            left.id,
            right.id,
            behind.id,
            busy.id,
        ]


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


# -- enqueueing many at once -----------------------------------------------------------------


def _chain(n: int, vendor_id: int | None = None) -> list[NewJob]:
    """Per PO ``n``: a vendor shared by all (or the stored one), the PO after it, a receipt after
    the PO, an inventory sync after both keyed by their ids."""
    entries: list[NewJob] = []
    if vendor_id is None:
        entries.append(new("vendor:1", kind="vendor"))
    vendor: int | Ref = vendor_id if vendor_id is not None else Ref(0)
    for po in range(n):
        first = len(entries)
        entries += [
            new(f"po:{po}", kind="purchase_order", depends_on=(vendor,)),
            new(f"receipt:{po}", kind="item_receipt", depends_on=(Ref(first),)),
            new(
                _inventory_key(po),
                kind="inventory_adjustment",
                depends_on=(Ref(first), Ref(first + 1)),
            ),
        ]
    return entries


def test_enqueue_many_resolves_references_in_list_order(db: Database) -> None:
    with store(db) as s:
        made = s.enqueue_many(_chain(2))
        (vendor, po, receipt, inventory) = (job for job, _ in made[:4])
        assert [created for _, created in made] == [True] * 7
        # Ids follow the list, though the jobs were inserted level by level.
        assert [job.id for job, _ in made] == sorted(job.id for job, _ in made)
        assert (vendor.status, po.status, receipt.status) == ("pending", "waiting", "waiting")
        assert s.prerequisites(po.id) == [vendor.id]
        assert s.prerequisites(inventory.id) == [po.id, receipt.id]
        assert inventory.idempotency_key == f"inventory:0:{po.id}-{receipt.id}"
        assert s.dependents(vendor.id) == [po.id, made[4][0].id]
        assert len(s.find()) == 7


def _inventory_key(po: int) -> KeyMaker:
    """The key of PO ``po``'s inventory adjustment, made from its prerequisites' IDs."""
    return lambda ids: f"inventory:{po}:{'-'.join(map(str, ids))}"


def _prefixed(entries: list[NewJob], prefix: str) -> list[NewJob]:
    """The same entries with other keys (the same work again, as if for another file)."""

    def rekey(key: str | KeyMaker | None) -> str | KeyMaker | None:
        if callable(key):
            made = key
            return lambda ids: prefix + made(ids)
        return prefix + key if isinstance(key, str) else key

    return [replace(e, idempotency_key=rekey(e.idempotency_key)) for e in entries]


def test_enqueue_many_gives_what_enqueue_one_by_one_gives(db: Database) -> None:
    with store(db) as s:
        vendor, _ = s.enqueue(new("vendor:1", kind="vendor"))
        failed, _ = s.enqueue(new("vendor:2", kind="vendor", subject="Vendor Bad"))
        s.fail(failed.id, "3100: name in use")
    entries = _chain(2, vendor.id)
    entries += [new("po:9", kind="purchase_order", depends_on=(failed.id,))]
    entries += [new("receipt:9", kind="item_receipt", depends_on=(Ref(len(entries) - 1),))]
    entries += [new("receipt:0", kind="item_receipt", payload={"again": True})]
    with store(db) as s:
        batch = s.enqueue_many(_prefixed(entries, "a:"))
    one_by_one: list[tuple[Job, bool]] = []
    with store(db) as s:
        for entry in _prefixed(entries, "b:"):
            depends = tuple(
                one_by_one[d.index][0].id if isinstance(d, Ref) else d for d in entry.depends_on
            )
            key = entry.idempotency_key
            key = key(depends) if callable(key) else key
            one_by_one.append(s.enqueue(replace(entry, depends_on=depends, idempotency_key=key)))

    def outcome(made: list[tuple[Job, bool]]) -> list[tuple[object, ...]]:
        ids = {job.id: n for n, (job, _) in enumerate(made)}
        ids.update({vendor.id: -1, failed.id: -2})
        return [
            (job.kind, job.status, created, ids.get(job.failed_by or 0), job.payload, job.subject)
            for job, created in made
        ]

    assert outcome(batch) == outcome(one_by_one)
    failed_po = batch[-3][0]
    assert failed_po.status == "failed"
    assert failed_po.failed_by == failed.id
    assert "Vendor Bad" in (failed_po.error or "")
    # A new job failed at birth fails the new jobs after it, naming it.
    assert batch[-2][0].failed_by == failed_po.id
    assert f"job #{failed_po.id}" in (batch[-2][0].error or "")
    # A key given twice is one job, the first.
    assert batch[-1] == (batch[1][0], False)


def test_enqueue_many_reuses_keys_held_and_points_dependents_at_the_holder(db: Database) -> None:
    with store(db) as s:
        held, _ = s.enqueue(new("po:0", kind="purchase_order"))
    with store(db) as s:
        made = s.enqueue_many(_chain(1))
        assert made[1] == (held, False)
        receipt = made[2][0]
        assert made[2][1]
        assert s.prerequisites(receipt.id) == [held.id]
        assert s.dependents(held.id) == [receipt.id, made[3][0].id]
        # The held job keeps its own prerequisites: the new vendor is not added to them.
        assert s.prerequisites(held.id) == []


def test_enqueue_many_same_key_twice_makes_one_job(db: Database) -> None:
    entries = [
        new("item:1", kind="item"),
        new("po:1", depends_on=(Ref(0),)),
        new("item:1", kind="item", payload={"other": True}),
        new("po:2", depends_on=(Ref(2),)),
    ]
    with store(db) as s:
        made = s.enqueue_many(entries)
        assert [created for _, created in made] == [True, True, False, True]
        assert made[2][0] == made[0][0]
        assert s.prerequisites(made[3][0].id) == [made[0][0].id]
        assert len(s.find()) == 3


def test_enqueue_many_key_made_from_prerequisites_is_reused_when_they_are(db: Database) -> None:
    with store(db) as s:
        po, _ = s.enqueue(new("po:0", kind="purchase_order"))
    entry = new(lambda ids: f"inventory:{ids}", depends_on=(po.id,))
    with store(db) as s:
        ((first, created_first),) = s.enqueue_many([entry])
    with store(db) as s:
        again, created_again = s.enqueue(entry)
    assert (created_first, created_again) == (True, False)
    assert again.id == first.id
    assert first.idempotency_key == f"inventory:({po.id},)"


def test_enqueue_many_refuses_references_to_later_entries_and_unknown_jobs(db: Database) -> None:
    with pytest.raises(ValueError, match="not an earlier entry"), store(db) as s:
        s.enqueue_many([new("a", depends_on=(Ref(1),)), new("b")])
    with pytest.raises(JobNotFound), store(db) as s:
        s.enqueue_many([new("a"), new("b", depends_on=(999,))])
    with store(db) as s:
        assert s.find() == []


def test_enqueue_many_costs_the_same_statements_for_ten_or_a_hundred(db: Database) -> None:
    with store(db) as s:
        vendor, _ = s.enqueue(new("vendor:1", kind="vendor"))
    counts = []
    for n, prefix in ((10, "a:"), (100, "b:")):
        with store(db) as s, counting(db) as seen:
            made = s.enqueue_many(_prefixed(_chain(n, vendor.id), prefix))
        assert all(created for _, created in made)
        counts.append(len(seen))
    # Reserve ids, lock the vendor, three levels of INSERT, the dependencies.
    assert counts == [6, 6]
