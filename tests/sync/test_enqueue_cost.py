"""What an enqueue call costs: a constant number of SQL statements whatever the number of POs
(issue 13 point 5: a first poll of 1,000 POs ran 36,000 statements), on both engines; and two
enqueuers racing on the same POs on PostgreSQL make one set of jobs.

Counted with SQLAlchemy's ``before_cursor_execute`` event (transaction control not included).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event, select

from service.db import Database
from service.jobstore import JobStore
from service.models import job_dependencies
from service.settings import load_settings
from service.sync.enqueue import Enqueuer, EnqueueReport, enqueue_purchase_orders
from service.sync.model import Company, Product, PurchaseOrder, Receiving
from tests.support import fill_history, generic_plans, until_a_lock_is_awaited
from tests.sync.helpers import line, order, stock
from tests.test_statements import counting

T0 = datetime(2026, 12, 4, 7, 0, tzinfo=UTC)
VENDORS = [Company(1000 + v, f"Vendor {v}") for v in range(5)]
PRODUCTS = [Product(5000 + p, f"Part {p}", unit_cost=Decimal("2.5")) for p in range(30)]
#: A first poll: the records, the account check, the on-hand data, every job about the POs.
FIRST_POLL_AT_MOST = 12


def _orders(count: int, quantity: int = 3, *, received: int = 0) -> list[PurchaseOrder]:
    """``count`` POs of 2 lines over 5 vendors and 30 products; ``received`` units of the first
    line received in Autotask (one receiving row)."""
    return [
        order(
            10_000 + n,
            line(100_000 + 2 * n, PRODUCTS[n % 30], quantity),
            line(100_001 + 2 * n, PRODUCTS[(n * 7) % 30], 1),
            vendor=VENDORS[n % 5],
            receivings=(Receiving(200_000 + n, 100_000 + 2 * n, received),) if received else (),
        )
        for n in range(count)
    ]


def _enqueue(
    db: Database, user: str, orders: list[PurchaseOrder], mode: str
) -> tuple[EnqueueReport, int]:
    settings = load_settings(transfer_mode=mode)
    with counting(db) as seen:
        report = enqueue_purchase_orders(
            db, settings, user, orders, stock(p5000=4, p5003=2), now=T0
        )
    return report, len(seen)


@pytest.mark.parametrize("mode", ["received", "unreceived"])
def test_enqueueing_a_hundred_pos_costs_the_statements_of_ten(db: Database, mode: str) -> None:
    costs: dict[int, list[int]] = {}
    for count in (10, 100):
        user = f"office-{count}"  # a company file each: nothing shared between the two
        first, first_cost = _enqueue(db, user, _orders(count), mode)
        # Autotask changed every PO and received on it: updates, receipts, inventory syncs.
        changed, changed_cost = _enqueue(db, user, _orders(count, 5, received=2), mode)
        again, again_cost = _enqueue(db, user, _orders(count, 5, received=2), mode)
        assert first.kinds()["purchase_order"] == count
        assert changed.kinds()["purchase_order_update"] == count
        assert again.created == []
        assert again.cancelled == []
        costs[count] = [first_cost, changed_cost, again_cost]
    assert costs[100] == costs[10], costs
    assert costs[10][0] <= FIRST_POLL_AT_MOST, costs


@pytest.mark.postgres
def test_two_enqueuers_racing_on_the_same_pos_make_one_set_of_jobs(postgres_db: Database) -> None:
    """B reads before A commits, so it plans every job anew; its INSERT waits for A's keys and,
    once A commits, each of B's jobs resolves to A's: nothing is made twice."""
    orders = _orders(20)
    settings = load_settings()
    reports: dict[str, EnqueueReport] = {}

    def enqueue_b() -> None:
        reports["b"] = enqueue_purchase_orders(postgres_db, settings, "office", orders, now=T0)

    with postgres_db.transaction() as conn:
        reports["a"] = Enqueuer(conn, T0, settings, "office").purchase_orders(orders)
        b = threading.Thread(target=enqueue_b)
        b.start()
        until_a_lock_is_awaited(postgres_db)
    b.join()
    a, b_report = reports["a"], reports["b"]
    assert b_report.created == []
    assert sorted(job.id for job in b_report.reused) == sorted(job.id for job in a.created)
    made = {job.id for job in a.created}
    with postgres_db.transaction() as conn:
        assert {job.id for job in JobStore(conn, T0).find()} == made
        dependencies = conn.execute(select(job_dependencies)).all()
    assert dependencies
    assert all({job, on} <= made for job, on in dependencies)


@pytest.mark.postgres
def test_what_an_enqueue_reads_stays_on_indexes_under_generic_plans(
    postgres_db: Database,
) -> None:
    """A poll runs the same statements every cycle, so psycopg prepares them and PostgreSQL may
    plan them generically: each still reads an index, never the whole history of jobs."""
    fill_history(postgres_db, transmissions=60_000, pending_jobs=20_000)
    enqueue_purchase_orders(postgres_db, load_settings(), "office", _orders(10), now=T0)
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.startswith("SELECT"):
            seen.append((statement, parameters))

    event.listen(postgres_db.engine, "before_cursor_execute", record)
    try:
        enqueue_purchase_orders(postgres_db, load_settings(), "office", _orders(20, 5), now=T0)
    finally:
        event.remove(postgres_db.engine, "before_cursor_execute", record)
    assert len(seen) >= 3
    for statement, plan in generic_plans(postgres_db, seen).items():
        assert "Seq Scan on jobs" not in plan, f"{statement}\n{plan}"
