"""Whole Web Connector sessions over real HTTP against ``atqb serve`` processes on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from service.clock import utcnow
from service.db import Database
from service.jobstore import JobStore
from service.simulators.webconnector import Faults, SimulatedWebConnector
from tests.support import (
    CompanyFile,
    RoundRobinTransport,
    add_user,
    enqueue_company_queries,
    run_service,
)

pytestmark = pytest.mark.postgres


def test_complete_session_sends_batches_and_ends_with_every_job_done(
    postgres_database_url: str, postgres_db: Database, tmp_path: Path
) -> None:
    db = postgres_db
    add_user(db, "office", "s3cret", company_file=r"C:\Books\Company.QBW")
    job_ids = enqueue_company_queries(db, "office", 5)
    company = CompanyFile(name="Acme Books & Co")
    with (
        run_service(postgres_database_url, tmp_path, {"ATQB_BATCH_SIZE": "2"}) as service,
        SimulatedWebConnector(
            service.soap_url, company, username="office", password="s3cret", noop_wait=0
        ) as connector,
    ):
        (report,) = connector.run_until_idle(max_sessions=1)
        again = connector.run_session()
    assert report.authenticate_result is not None
    assert report.authenticate_result[1] == r"C:\Books\Company.QBW"
    assert report.round_trips == 3  # 2 + 2 + 1 requests
    assert report.percents[-1] == 100
    assert list(report.percents) == sorted(report.percents)
    assert report.close_result is not None
    assert "5 job(s) finished" in report.close_result
    assert [len(m.split("<CompanyQueryRq")) - 1 for m in company.requests] == [2, 2, 1]
    # Nothing left: the next run is told there is no work.
    assert again.authenticate_result is not None
    assert again.authenticate_result[1] == "none"
    with db.transaction() as conn:
        store = JobStore(conn, utcnow())
        for job_id in job_ids:
            job = store.get(job_id)
            assert job.status == "done"
            assert job.result == {"company_name": "Acme Books & Co"}
            (transmission,) = store.transmissions(job_id)
            assert f'requestID="{job_id}"' in transmission.request_xml
            assert transmission.status_code == 0
            assert "Acme Books &amp; Co" in (transmission.response_xml or "")
            assert transmission.received_at is not None


def test_wrong_password_gets_nvu_and_touches_no_job(
    postgres_database_url: str, postgres_db: Database, tmp_path: Path
) -> None:
    db = postgres_db
    add_user(db, "office", "right")
    (job_id,) = enqueue_company_queries(db, "office", 1)
    with run_service(postgres_database_url, tmp_path) as service:
        for user, password in (("office", "wrong"), ("nobody", "right"), ("", "")):
            with SimulatedWebConnector(
                service.soap_url, CompanyFile(), username=user, password=password, noop_wait=0
            ) as connector:
                report = connector.run_session()
            assert report.authenticate_result == ("", "nvu")
            assert report.round_trips == 0
        assert "outcome=nvu" in service.log()
        assert "right" not in service.log().replace("outcome", "")
    with db.transaction() as conn:
        job = JobStore(conn, utcnow()).get(job_id)
    assert (job.status, job.attempts) == ("pending", 0)


def test_crash_after_quickbooks_processed_leaves_job_ready_and_marked(
    postgres_database_url: str, postgres_db: Database, tmp_path: Path
) -> None:
    db = postgres_db
    add_user(db, "office", "pw")
    (job_id,) = enqueue_company_queries(db, "office", 1)
    company = CompanyFile()
    with run_service(postgres_database_url, tmp_path) as service:
        with SimulatedWebConnector(
            service.soap_url,
            company,
            username="office",
            password="pw",
            noop_wait=0,
            faults=Faults(crash_after_message=1),
        ) as crashing:
            crashed = crashing.run_session()
        assert crashed.crashed
        # The next run is a new authenticate: it ends the crashed session and its lease.
        with SimulatedWebConnector(
            service.soap_url, company, username="office", password="pw", noop_wait=0
        ) as healthy:
            report = healthy.run_session()
    assert report.percents[-1] == 100
    with db.transaction() as conn:
        store = JobStore(conn, utcnow())
        job = store.get(job_id)
        first, second = store.transmissions(job_id)
    assert job.status == "done"
    assert job.attempts == 2
    assert first.message == "no answer: new authenticate for the same user"
    assert second.status_code == 0


def test_two_service_processes_serve_one_session_alternately(
    postgres_database_url: str, postgres_db: Database, tmp_path: Path
) -> None:
    db = postgres_db
    add_user(db, "office", "pw")
    job_ids = enqueue_company_queries(db, "office", 12)
    company = CompanyFile()
    env = {"ATQB_BATCH_SIZE": "3"}
    with (
        run_service(postgres_database_url, tmp_path, env) as first,
        run_service(postgres_database_url, tmp_path, env) as second,
    ):
        ports = [httpx.URL(first.url).port, httpx.URL(second.url).port]
        transport = RoundRobinTransport([p for p in ports if p is not None])
        with SimulatedWebConnector(
            first.soap_url,
            company,
            username="office",
            password="pw",
            noop_wait=0,
            transport=transport,
        ) as connector:
            report = connector.run_session()
        first_log, second_log = first.log(), second.log()
        logs = first_log + second_log
    assert len(set(transport.used)) == 2
    assert report.round_trips == 4
    assert report.percents[-1] == 100
    # Strict alternation puts every sendRequestXML on one process and every receiveResponseXML on
    # the other: each job is claimed in one process and its answer applied in the other.
    served = [
        {m for m in ("sendRequestXML", "receiveResponseXML") if f"INFO atqb.qbwc {m}" in log}
        for log in (first_log, second_log)
    ]
    assert sorted(map(sorted, served)) == [["receiveResponseXML"], ["sendRequestXML"]]
    sent = [rid for message in company.requests for rid in _request_ids(message)]
    assert sorted(sent) == sorted(job_ids)  # every job sent exactly once
    with db.transaction() as conn:
        store = JobStore(conn, utcnow())
        assert all(store.get(j).status == "done" for j in job_ids)
        assert all(len(store.transmissions(j)) == 1 for j in job_ids)
    assert "Traceback" not in logs


def _request_ids(message: str) -> list[int]:
    return [int(part.split('"', 1)[0]) for part in message.split('requestID="')[1:]]
