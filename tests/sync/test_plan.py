"""The enqueue plan on both engines: what it reads up front, how planned jobs stand in for stored
ones until the flush, and what it reads when asked for something it did not load."""

from __future__ import annotations

from datetime import UTC, datetime

from service.db import Database
from service.jobstore import Job, JobStore, NewJob, Ref
from service.sync.mapping import Mappings
from service.sync.plan import Plan, Planned, order
from tests.test_statements import counting

T0 = datetime(2026, 12, 4, 7, 0, tzinfo=UTC)
USER = "office"


def job(
    key: str | None, entity: str = "PurchaseOrders", autotask_id: int | None = 1, **kw: object
) -> NewJob:
    fields: dict[str, object] = {
        "kind": "purchase_order",
        "qbwc_user": USER,
        "payload": {"fingerprint": key},
        "idempotency_key": key,
        "autotask_entity": entity,
        "autotask_id": autotask_id,
    }
    fields.update(kw)
    return NewJob(**fields)  # type: ignore[arg-type]


def test_a_planned_job_stands_for_the_stored_one_until_the_flush(db: Database) -> None:
    with db.transaction() as conn:
        stored, _ = JobStore(conn, T0).enqueue(job("po:1:a"))
    with db.transaction() as conn, counting(db) as seen:
        plan = Plan(conn, T0, USER)
        plan.load(
            records={"PurchaseOrders": [1, 2], "PurchaseOrderItems": [11]},
            mappings={"purchase_order": [1, 2]},
        )
        assert len(seen) == 2
        again, created_again = plan.add(job("po:1:a"))
        update, created = plan.add(
            job("po:1:b", kind="purchase_order_update", depends_on=(stored.id,))
        )
        receipt, _ = plan.add(job(None, "PurchaseOrderItems", 11, depends_on=(update.id,)))
        assert (again, created_again) == (stored, False)
        assert isinstance(update, Planned)
        assert created
        assert update.status == "waiting"
        # Found as a stored job would be: by its key, and among the jobs about its PO.
        assert plan.add(job("po:1:b")) == (update, False)
        active = plan.jobs_about(
            "PurchaseOrders", 1, ["purchase_order", "purchase_order_update"], ["pending", "waiting"]
        )
        assert active == [stored, update]
        prerequisites: list[int | Ref] = [update.id, stored.id]
        assert sorted(prerequisites, key=order) == [stored.id, update.id]
        assert len(seen) == 2  # all of it from the snapshot
        plan.flush()
        (flushed, made) = plan.resolve(update)
        assert isinstance(flushed, Job)
        assert made
        assert flushed.idempotency_key == "po:1:b"
        assert plan.resolve(stored) == (stored, False)
        store = JobStore(conn, T0)
        assert store.prerequisites(flushed.id) == [stored.id]
        assert store.prerequisites(plan.resolve(receipt)[0].id) == [flushed.id]


def test_what_was_not_loaded_is_read_when_asked(db: Database) -> None:
    with db.transaction() as conn:
        store = JobStore(conn, T0)
        stored, _ = store.enqueue(job("po:7:a", autotask_id=7))
        check, _ = store.enqueue(
            job("check:1", kind="account_check", autotask_entity=None, autotask_id=None)
        )
        store.complete(check.id, {})
        Mappings(conn, T0, USER).put("purchase_order", 7, qb_id="7-1", data={"fingerprint": "a"})
    with db.transaction() as conn:
        plan = Plan(conn, T0, USER)
        plan.load(records={}, mappings={})
        assert plan.jobs_about("PurchaseOrders", 7, ["purchase_order"], ["pending"]) == [stored]
        assert plan.add(job("po:7:a", autotask_id=7)) == (stored, False)
        mapping = plan.mapping("purchase_order", 7)
        assert mapping is not None
        assert mapping.qb_id == "7-1"
        assert plan.done("account_check", "check:1")
        assert not plan.done("account_check", "check:2")
        assert not plan.done("item", "check:1")


def test_mapping_data_is_seen_at_once_and_written_at_the_flush(db: Database) -> None:
    with db.transaction() as conn:
        Mappings(conn, T0, USER).put("item", 101, qb_id="80-1", qb_name="Cable", data={"a": "1"})
    with db.transaction() as conn, counting(db) as seen:
        plan = Plan(conn, T0, USER)
        plan.load(records={}, mappings={"item": [101, 102]})
        plan.put_data("item", 101, {"on_hand": "5"})
        plan.put_data("item", 102, {"on_hand": "2", "gone": None})
        item = plan.mapping("item", 101)
        assert item is not None
        assert item.qb_id == "80-1"
        assert item.data == {"a": "1", "on_hand": "5"}
        assert len(seen) == 1  # no job asked for: the mappings only
        plan.flush()
        assert len(seen) == 2
    with db.transaction() as conn:
        stored = Mappings(conn, T0, USER).get_many("item", [101, 102])
    assert stored[101].data == {"a": "1", "on_hand": "5"}
    assert stored[101].qb_name == "Cable"
    assert stored[102].data == {"on_hand": "2"}


def test_cancelling_flushes_first_and_reads_the_jobs_again(db: Database) -> None:
    with db.transaction() as conn:
        store = JobStore(conn, T0)
        failed, _ = store.enqueue(job("po:1:a"))
        store.fail(failed.id, "3100: name in use")
    with db.transaction() as conn:
        plan = Plan(conn, T0, USER)
        plan.load(records={"PurchaseOrders": [1]}, mappings={})
        after, _ = plan.add(job("inv:1", kind="inventory_adjustment", depends_on=(failed.id,)))
        assert after.status == "failed"
        cancelled = plan.cancel_with_dependents(failed.id)
        dependent = plan.resolve(after)[0]
        assert cancelled == [dependent.id, failed.id]
        assert (
            plan.jobs_about(
                "PurchaseOrders",
                1,
                ["purchase_order", "inventory_adjustment"],
                ["failed", "pending", "waiting"],
            )
            == []
        )
        # Jobs planned after the flush name the flushed ones by their ids.
        later, _ = plan.add(job("po:1:b", depends_on=(after.id,)))
        assert isinstance(later.id, Ref)
        assert later.status == "failed"
        plan.flush()
        assert JobStore(conn, T0).prerequisites(plan.resolve(later)[0].id) == [dependent.id]
