"""Poll cycles: the record the Autotask poller leaves for /admin and /metrics."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from service.db import Database
from service.poller.cycles import PollCycles, log_cycle

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def test_a_cycle_is_recorded_from_start_to_finish(db: Database) -> None:
    with db.transaction() as conn:
        cycle_id = PollCycles(conn, T0).start()
    with db.transaction() as conn:
        (running,) = PollCycles(conn, T0).recent()
    assert (running.id, running.outcome, running.finished_at) == (cycle_id, "running", None)
    assert running.seconds is None
    with db.transaction() as conn:
        cycle = PollCycles(conn, T0 + timedelta(seconds=12)).finish(
            cycle_id,
            outcome="ok",
            autotask_requests=34,
            autotask_throttled=1,
            jobs_enqueued=5,
            details={"purchase_orders": 3},
        )
    assert cycle.seconds == 12
    assert (cycle.autotask_requests, cycle.autotask_throttled, cycle.jobs_enqueued) == (34, 1, 5)
    assert cycle.details == {"purchase_orders": 3}


def test_totals_add_up_every_cycle(db: Database) -> None:
    with db.transaction() as conn:
        cycles = PollCycles(conn, T0)
        assert cycles.totals().cycles_by_outcome == {}
        assert cycles.totals().last_ok_at is None
        first, second, third = cycles.start(), cycles.start(), cycles.start()
        cycles.finish(first, outcome="ok", autotask_requests=10, jobs_enqueued=2)
        cycles.finish(
            second,
            outcome="failed",
            autotask_requests=3,
            autotask_throttled=2,
            error="Autotask refused: HTTP 429",
        )
        totals = cycles.totals()
    assert totals.cycles_by_outcome == {"ok": 1, "failed": 1, "running": 1}
    assert (totals.autotask_requests, totals.autotask_throttled, totals.jobs_enqueued) == (13, 2, 2)
    assert totals.last_ok_at == T0
    assert third


def test_wrong_outcomes_and_counts_are_refused(db: Database) -> None:
    with db.transaction() as conn:
        cycles = PollCycles(conn, T0)
        cycle_id = cycles.start()
        with pytest.raises(ValueError, match="ok or failed"):
            cycles.finish(cycle_id, outcome="running")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="negative"):
            cycles.finish(cycle_id, outcome="ok", autotask_requests=-1)
        with pytest.raises(LookupError):
            cycles.get(cycle_id + 100)


def test_a_long_error_is_kept_shortened(db: Database) -> None:
    with db.transaction() as conn:
        cycles = PollCycles(conn, T0)
        cycle = cycles.finish(cycles.start(), outcome="failed", error="x" * 10_000)
    assert cycle.error is not None
    assert len(cycle.error) == 4000


def test_one_log_line_per_cycle(db: Database, caplog: pytest.LogCaptureFixture) -> None:
    with db.transaction() as conn:
        cycles = PollCycles(conn, T0)
        cycle = cycles.finish(
            cycles.start(),
            outcome="failed",
            autotask_requests=7,
            autotask_throttled=1,
            error="HTTP 429",
        )
    with caplog.at_level(logging.INFO, logger="atqb.poll"):
        log_cycle(cycle)
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert record.getMessage() == (
        f"poll cycle={cycle.id} outcome=failed autotask_requests=7 throttled=1 enqueued=0 ms=0 "
        "error='HTTP 429'"
    )
