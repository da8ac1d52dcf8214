"""The whole stack: simulated Web Connector → ``atqb serve`` (PostgreSQL) → simulated QuickBooks.

The jobs must end as the simulated company file says, through the trouble QuickBooks really
gives: a company file locked by another user (status 3176) and a request processor that throws.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from lxml import etree

from service.clock import utcnow
from service.db import Database
from service.jobstore import JobStore
from service.simulators.quickbooks import HostInfo, SimulatedQuickBooks
from service.simulators.webconnector import Faults, SimulatedWebConnector
from tests.support import add_user, enqueue_company_queries, reference_schema, run_service

pytestmark = pytest.mark.postgres


def _make_all_ready(db: Database) -> None:
    """Backdate retries instead of waiting for their backoff."""
    with db.transaction() as conn:
        store = JobStore(conn, utcnow())
        for job in store.find(status="pending"):
            store.set_run_after(job.id, utcnow() - timedelta(seconds=1))


def test_jobs_end_as_the_simulated_company_file_says_through_locks_and_hresults(
    postgres_database_url: str, postgres_db: Database, tmp_path: Path
) -> None:
    db = postgres_db
    add_user(db, "office", "pw")
    job_ids = enqueue_company_queries(db, "office", 6)
    quickbooks = SimulatedQuickBooks(host=HostInfo(company_name="Müller & Söhne Ltd"))
    quickbooks.busy(messages=1, status_code=3176)  # the first message meets a locked file
    with (
        run_service(postgres_database_url, tmp_path, {"ATQB_BATCH_SIZE": "3"}) as service,
        SimulatedWebConnector(
            service.soap_url,
            quickbooks,
            username="office",
            password="pw",
            noop_wait=0,
            max_noops=1,
            # The third message never reaches QuickBooks: the request processor throws.
            faults=Faults(hresult_on_messages=frozenset({3})),
        ) as connector,
    ):
        first = connector.run_session()
        _make_all_ready(db)
        second = connector.run_session()
        _make_all_ready(db)
        third = connector.run_session()

    assert first.round_trips >= 2
    assert third.percents[-1] == 100
    with db.transaction() as conn:
        store = JobStore(conn, utcnow())
        jobs = [store.get(job_id) for job_id in job_ids]
        transmissions = {job_id: store.transmissions(job_id) for job_id in job_ids}
    # Every job ends with what the company file says, exactly once.
    assert [job.status for job in jobs] == ["done"] * 6
    assert {job.result["company_name"] for job in jobs if job.result} == {"Müller & Söhne Ltd"}
    answered_ok = [t for ts in transmissions.values() for t in ts if t.status_code == 0]
    assert len(answered_ok) == 6
    # The lock was seen and retried, and the HRESULT recorded on the jobs that met it.
    codes = [t.status_code for ts in transmissions.values() for t in ts]
    assert codes.count(3176) == 3
    assert any(t.hresult == "0x80040401" for ts in transmissions.values() for t in ts)
    # QuickBooks answered every message it processed, and every request passed the schema.
    schema = reference_schema()
    for entry in quickbooks.log:
        assert schema.validate(etree.fromstring(entry.request_xml.split("?>", 2)[2].encode()))
    assert (
        quickbooks.messages_processed
        == first.round_trips + second.round_trips + (third.round_trips) - 1
    )  # the message that met the HRESULT never reached QuickBooks
