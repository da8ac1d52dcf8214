"""Load: 50 Web Connector sessions for 50 company files at once, against 2 ``atqb serve``
processes on one PostgreSQL database. No job may be lost or sent twice.

CI runs 50 sessions of ``ATQB_TEST_LOAD_JOBS`` jobs each (20 by default, batch size 5, so every
session still makes several round trips); ``benchmarks/bench_load.py`` runs the full 50 x 200
and prints the same figures. The p50 and p99 time per call are printed, not asserted.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from service.db import Database
from tests.load.harness import check_every_job_once, run_load

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

SESSIONS = 50
JOBS = int(os.environ.get("ATQB_TEST_LOAD_JOBS", "20"))
BATCH_SIZE = int(os.environ.get("ATQB_TEST_LOAD_BATCH_SIZE", "5"))


@pytest.mark.timeout(300)
def test_fifty_sessions_at_once_lose_nothing_and_send_nothing_twice(
    postgres_database_url: str, postgres_db: Database, tmp_path: Path
) -> None:
    report, connectors = run_load(
        postgres_database_url,
        tmp_path,
        sessions=SESSIONS,
        jobs_per_session=JOBS,
        processes=2,
        batch_size=BATCH_SIZE,
    )
    print("\n" + "\n".join(report.lines()))
    check_every_job_once(postgres_db, connectors)
    assert len(report.call_seconds["receiveResponseXML"]) == SESSIONS * -(-JOBS // BATCH_SIZE)
