"""The Web Connector calls' behaviour at the edges, in process, with a clock the tests move."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from service.db import Database
from service.jobstore import Job, JobStore, NewJob
from service.settings import load_settings
from service.webconnector.exchange import NOOP, Exchange
from tests.support import CompanyFile, add_user, enqueue_company_queries


class Clock:
    """Real time, moved forward when a test says so (jobs are enqueued at real time)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    @property
    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def exchange(db: Database, database_url: str, clock: Clock) -> Exchange:
    add_user(db, "office", "pw")
    settings = load_settings(database_url=database_url, batch_size=3)
    return Exchange(db, settings, clock=clock)


def send(exchange: Exchange, ticket: str, major: int = 13) -> str:
    return exchange.send_request_xml(ticket, "", "", "US", major, 0)


def job(db: Database, job_id: int) -> Job:
    with db.transaction() as conn:
        return JobStore(conn, datetime.now(UTC)).get(job_id)


def test_no_work_means_none(exchange: Exchange) -> None:
    ticket, outcome = exchange.authenticate("office", "pw")
    assert outcome == "none"
    assert len(ticket) == 64


def test_work_due_shortly_keeps_the_session_with_noop(
    db: Database, exchange: Exchange, clock: Clock
) -> None:
    (job_id,) = enqueue_company_queries(db, "office", 1)
    with db.transaction() as conn:
        JobStore(conn, clock()).set_run_after(job_id, clock.now + timedelta(seconds=30))
    ticket, outcome = exchange.authenticate("office", "pw")
    assert outcome == ""
    assert send(exchange, ticket) == ""
    assert exchange.get_last_error(ticket) == NOOP
    clock.advance(31)
    assert f'requestID="{job_id}"' in send(exchange, ticket)


def test_work_far_in_the_future_means_none(db: Database, exchange: Exchange, clock: Clock) -> None:
    (job_id,) = enqueue_company_queries(db, "office", 1)
    with db.transaction() as conn:
        JobStore(conn, clock()).set_run_after(job_id, clock.now + timedelta(hours=1))
    assert exchange.authenticate("office", "pw")[1] == "none"


def test_progress_is_a_real_percentage(db: Database, exchange: Exchange) -> None:
    enqueue_company_queries(db, "office", 4)
    exchange.settings = load_settings(database_url=str(db.engine.url), batch_size=1)
    ticket, _ = exchange.authenticate("office", "pw")
    company = CompanyFile()
    percents = [
        exchange.receive_response_xml(ticket, company.process(send(exchange, ticket)), "", "")
        for _ in range(4)
    ]
    assert percents == [25, 50, 75, 100]
    assert "4 job(s) finished" in exchange.close_connection(ticket)


def test_quickbooks_too_old_is_told_and_nothing_is_sent(db: Database, exchange: Exchange) -> None:
    (job_id,) = enqueue_company_queries(db, "office", 1)
    ticket, _ = exchange.authenticate("office", "pw")
    assert send(exchange, ticket, major=5) == ""
    assert "QuickBooks Desktop 2014 or newer" in exchange.get_last_error(ticket)
    assert job(db, job_id).status == "pending"


def test_a_job_of_an_unknown_kind_fails_and_the_others_go(db: Database, exchange: Exchange) -> None:
    with db.transaction() as conn:
        odd, _ = JobStore(conn, datetime.now(UTC)).enqueue(
            NewJob(kind="teleport", qbwc_user="office", payload={})
        )
    (good,) = enqueue_company_queries(db, "office", 1)
    ticket, _ = exchange.authenticate("office", "pw")
    message = send(exchange, ticket)
    assert f'requestID="{good}"' in message
    assert f'requestID="{odd.id}"' not in message
    failed = job(db, odd.id)
    assert failed.status == "failed"
    assert "unknown job kind 'teleport'" in (failed.error or "")


def test_unparseable_message_sends_each_job_alone_to_find_the_bad_one(
    db: Database, exchange: Exchange
) -> None:
    ids = enqueue_company_queries(db, "office", 3)
    ticket, _ = exchange.authenticate("office", "pw")
    assert send(exchange, ticket).count("CompanyQueryRq") == 3
    text = "QuickBooks found an error when parsing the provided XML text stream."
    assert exchange.receive_response_xml(ticket, "", "0x80040400", text) == -1
    assert "0x80040400" in exchange.get_last_error(ticket)
    # Each job now travels alone: one request per message.
    first = send(exchange, ticket)
    assert first.count("CompanyQueryRq") == 1
    # Alone and refused again: that job is at fault and fails; the others are not held back.
    exchange.receive_response_xml(ticket, "", "0x80040400", text)
    company = CompanyFile()
    for _ in range(2):
        exchange.receive_response_xml(ticket, company.process(send(exchange, ticket)), "", "")
    statuses = sorted(job(db, i).status for i in ids)
    assert statuses == ["done", "done", "failed"]
    failed = next(job(db, i) for i in ids if job(db, i).status == "failed")
    assert "cannot parse this job's request" in (failed.error or "")


def test_unreadable_answer_is_an_error_and_the_jobs_wait_for_a_retry(
    db: Database, exchange: Exchange
) -> None:
    (job_id,) = enqueue_company_queries(db, "office", 1)
    ticket, _ = exchange.authenticate("office", "pw")
    send(exchange, ticket)
    assert exchange.receive_response_xml(ticket, "<QBXML><oops", "", "") == -1
    assert "could not read QuickBooks' answer" in exchange.get_last_error(ticket)
    after = job(db, job_id)
    assert after.status == "pending"
    assert after.attempts == 1
    assert "could not read" in (after.error or "")


def test_connection_error_ends_the_session_and_frees_its_jobs(
    db: Database, exchange: Exchange
) -> None:
    (job_id,) = enqueue_company_queries(db, "office", 1)
    ticket, _ = exchange.authenticate("office", "pw")
    send(exchange, ticket)
    assert exchange.connection_error(ticket, "0x80040408", "Could not start QuickBooks.") == "done"
    assert "Could not start QuickBooks" in exchange.get_last_error(ticket)
    assert send(exchange, ticket) == ""  # the ticket is no longer live
    assert job(db, job_id).status == "pending"


def test_answer_for_a_job_cancelled_meanwhile_is_kept_but_not_applied(
    db: Database, exchange: Exchange
) -> None:
    (job_id,) = enqueue_company_queries(db, "office", 1)
    ticket, _ = exchange.authenticate("office", "pw")
    message = send(exchange, ticket)
    with db.transaction() as conn:
        JobStore(conn, datetime.now(UTC)).cancel(job_id)
    exchange.receive_response_xml(ticket, CompanyFile().process(message), "", "")
    with db.transaction() as conn:
        store = JobStore(conn, datetime.now(UTC))
        (transmission,) = store.transmissions(job_id)
        assert store.get(job_id).status == "cancelled"
    assert transmission.status_code == 0


def test_a_new_authenticate_ends_the_previous_session(db: Database, exchange: Exchange) -> None:
    (job_id,) = enqueue_company_queries(db, "office", 1)
    old, _ = exchange.authenticate("office", "pw")
    send(exchange, old)
    new, _ = exchange.authenticate("office", "pw")
    assert send(exchange, old) == ""
    assert f'requestID="{job_id}"' in send(exchange, new)
