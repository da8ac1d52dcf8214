"""While the database cannot be reached: a Web Connector call gets a SOAP fault that says so (and
nothing about the database's address), the log gets one line instead of a traceback, and the
`atqb poll` loop reports the outage and goes on. Once PostgreSQL has closed the service's pooled
connections (as a restart does), the next call opens new ones instead of failing. Recovery after a
real PostgreSQL crash is part of the fault-injection run (tests/faults)."""

from __future__ import annotations

import logging
import threading

import pytest
from sqlalchemy.engine import make_url

from service.clock import utcnow
from service.db import Database
from service.jobstore import JobStore
from service.poller.core import Poller
from service.settings import load_settings
from service.simulators.autotask import SimulatedAutotask
from service.simulators.webconnector import SimulatedWebConnector
from tests.conftest import _admin_execute
from tests.support import (
    CompanyFile,
    add_user,
    enqueue_company_queries,
    free_port,
    serve_in_thread,
)


def _nowhere() -> str:
    """A PostgreSQL URL nobody answers."""
    return f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/atqb"


def test_a_call_during_an_outage_gets_a_fault_that_says_so_and_one_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with (
        caplog.at_level(logging.INFO),
        serve_in_thread(_nowhere()) as url,
        SimulatedWebConnector(
            url + "/qbwc", CompanyFile(), username="office", password="pw", noop_wait=0
        ) as connector,
    ):
        report = connector.run_session()
    assert report.outcome == "failed"
    (error,) = report.errors
    assert (error.method, error.kind) == ("authenticate", "fault")
    assert "cannot reach its database" in error.detail
    assert "try again" in error.detail
    assert "127.0.0.1" not in error.detail  # the caller has not even logged in
    said = [r for r in caplog.records if "database-unavailable" in r.getMessage()]
    assert len(said) == 1
    assert said[0].levelno == logging.ERROR
    assert "authenticate" in said[0].getMessage()
    assert "Connection refused" in said[0].getMessage()
    assert [r.getMessage() for r in caplog.records if r.exc_info] == []  # no traceback


def test_the_poll_loop_reports_an_outage_in_one_line_and_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = _nowhere()
    database = Database.from_url(url)
    lines: list[str] = []
    stop = threading.Event()

    def out(line: str) -> None:
        lines.append(line)
        if len(lines) == 2:
            stop.set()

    with SimulatedAutotask() as tenant, tenant.client(sleep=lambda _seconds: None) as client:
        poller = Poller(database, load_settings(database_url=url), client, qbwc_user="office")
        with caplog.at_level(logging.INFO):
            poller.run(stop, interval=0.01, out=out)
    database.dispose()
    assert len(lines) == 2  # a second cycle came after the first failed
    for line in lines:
        assert line.startswith("poll cycle failed: the database is unavailable (")
        assert "Connection refused" in line
        assert "next try in 0.01 s" in line
    assert [r.getMessage() for r in caplog.records if r.exc_info] == []


@pytest.mark.postgres
def test_after_postgres_ends_the_services_connections_the_next_session_works(
    postgres_db: Database, postgres_database_url: str
) -> None:
    # As a PostgreSQL restart does: every pooled connection of the service is closed by the
    # server while idle; the next call must open a new one, not fail on the dead one.
    add_user(postgres_db, "office", "pw")
    name = make_url(postgres_database_url).database
    with serve_in_thread(postgres_database_url) as url:
        for _ in range(2):
            (job,) = enqueue_company_queries(postgres_db, "office", 1)
            with SimulatedWebConnector(
                url + "/qbwc", CompanyFile(), username="office", password="pw", noop_wait=0
            ) as connector:
                report = connector.run_session()
            assert (report.outcome, report.errors) == ("done", ())
            with postgres_db.transaction() as conn:
                assert JobStore(conn, utcnow()).get(job).status == "done"
            postgres_db.dispose()  # the test's own connection is ended below too
            _admin_execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"
            )
