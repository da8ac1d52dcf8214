"""Password guessing is locked out per user name at an address and per address; tickets are
worth nothing to anyone else. Everything over HTTP against the real application under waitress.

Clients take other source addresses on the loopback network (127.0.0.2, 127.0.0.3...), so the
service sees them as different machines. Locks are ended by backdating their rows, not by
waiting.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import insert, select, update

from service.clock import utcnow
from service.db import Database
from service.jobstore import JobStore
from service.models import login_throttle, transmissions, wc_sessions
from service.simulators.webconnector import build_envelope, parse_answer, request_headers
from service.webconnector.throttle import ADDRESS, USER, Policy, pair_subject, subject_of
from tests.hostile.wire import receive_params, send_params
from tests.support import CompanyFile, add_user, enqueue_company_queries, serve_in_thread

POLICY = Policy()


class Client:
    """A Web Connector's SOAP calls from one source address (with ``headers`` on every call)."""

    def __init__(self, base: str, address: str, headers: dict[str, str] | None = None) -> None:
        self.url = base + "/qbwc"
        self.http = httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=30)
        self.headers = headers or {}

    def call(self, method: str, *params: tuple[str, str | int]) -> object:
        body = build_envelope(method, params)
        headers = {**request_headers(method), **self.headers}
        answer = self.http.post(self.url, content=body, headers=headers)
        return parse_answer(
            method, answer.status_code, answer.headers.get("content-type", ""), answer.content
        )

    def authenticate(self, user: str, password: str) -> tuple[str, str]:
        result = self.call("authenticate", ("strUserName", user), ("strPassword", password))
        assert isinstance(result, tuple)
        ticket, outcome = result[0] or "", result[1] or ""
        return ticket, outcome

    def send(self, ticket: str) -> str:
        result = self.call("sendRequestXML", *send_params(ticket))
        assert isinstance(result, str | None)
        return result or ""

    def receive(self, ticket: str, response: str) -> int:
        result = self.call("receiveResponseXML", *receive_params(ticket, response))
        assert isinstance(result, int)
        return result


@pytest.fixture
def base(db: Database, database_url: str) -> Iterator[str]:
    add_user(db, "office", "right")
    add_user(db, "warehouse", "other-right")
    with serve_in_thread(database_url) as url:
        yield url


@pytest.fixture
def clients(base: str) -> Iterator[list[Client]]:
    made = [Client(base, f"127.0.0.{n}") for n in range(2, 6)]
    yield made
    for client in made:
        client.http.close()


def backdate_locks(db: Database) -> None:
    """Every lock ends now, as if its time had passed."""
    with db.transaction() as conn:
        conn.execute(update(login_throttle).values(locked_until=utcnow() - timedelta(seconds=1)))


def seed_failures(db: Database, scope: str, subject: str, failures: int) -> None:
    """Record ``failures`` recent failures of a subject (keeping its lock count)."""
    now = utcnow()
    key = (login_throttle.c.scope == scope, login_throttle.c.subject == subject)
    with db.transaction() as conn:
        if conn.execute(select(login_throttle.c.scope).where(*key)).first() is None:
            conn.execute(
                insert(login_throttle).values(
                    scope=scope,
                    subject=subject,
                    failures=failures,
                    window_started_at=now,
                    last_failure_at=now,
                    lockouts=0,
                )
            )
        else:
            values = {"failures": failures, "window_started_at": now, "last_failure_at": now}
            conn.execute(update(login_throttle).where(*key).values(values))


def row(db: Database, scope: str, subject: str) -> dict[str, object] | None:
    with db.transaction() as conn:
        found = conn.execute(
            select(login_throttle).where(
                login_throttle.c.scope == scope, login_throttle.c.subject == subject
            )
        ).first()
    return dict(found._mapping) if found is not None else None


OFFICE_AT_ATTACKER = pair_subject("office", "127.0.0.2")


def test_repeated_wrong_passwords_lock_the_user_out_at_that_address(
    db: Database, clients: list[Client]
) -> None:
    attacker, _, elsewhere, _ = clients
    for _ in range(POLICY.user_limit):
        assert attacker.authenticate("office", "guess") == ("", "nvu")
    # Locked at the attacker's address: the right password gets "nvu" there too...
    assert attacker.authenticate("office", "right") == ("", "nvu")
    locked = row(db, USER, OFFICE_AT_ATTACKER)
    assert locked is not None
    assert locked["lockouts"] == 1
    assert locked["failures"] == 0
    # ...and attempts during the lock are refused without being checked or counted.
    assert attacker.authenticate("office", "guess") == ("", "nvu")
    assert row(db, USER, OFFICE_AT_ATTACKER) == locked
    # The same user from any other address logs in: the Web Connector is not locked out.
    ticket, outcome = elsewhere.authenticate("office", "right")
    assert len(ticket) == 64
    assert outcome == "none"
    # Another user, even from the attacker's address, is not affected.
    ticket, outcome = attacker.authenticate("warehouse", "other-right")
    assert len(ticket) == 64
    assert outcome == "none"
    # After the cooldown the right password works there, and the record is cleared.
    backdate_locks(db)
    ticket, outcome = attacker.authenticate("office", "right")
    assert len(ticket) == 64
    assert outcome == "none"
    assert row(db, USER, OFFICE_AT_ATTACKER) is None


@pytest.mark.usefixtures("db")
def test_failures_from_other_addresses_cannot_lock_the_web_connector_out(
    clients: list[Client],
) -> None:
    web_connector, *attackers = clients
    for attacker in attackers:
        for _ in range(POLICY.user_limit + 2):
            assert attacker.authenticate("office", "guess") == ("", "nvu")
    ticket, outcome = web_connector.authenticate("office", "right")
    assert len(ticket) == 64
    assert outcome == "none"


def test_parallel_guesses_are_checked_no_more_than_the_limit(
    db: Database, clients: list[Client]
) -> None:
    attacker = clients[0]
    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(lambda _: attacker.authenticate("office", "guess"), range(40)))
    assert set(answers) == {("", "nvu")}
    # Counted one by one: five failures made one lock, the other 35 were refused unchecked.
    locked = row(db, USER, OFFICE_AT_ATTACKER)
    assert locked is not None
    assert locked["lockouts"] == 1
    assert locked["failures"] == 0
    address = row(db, ADDRESS, "127.0.0.2")
    assert address is not None
    assert address["failures"] == POLICY.user_limit


def test_each_new_lock_lasts_twice_as_long(db: Database, clients: list[Client]) -> None:
    attacker = clients[0]
    cooldowns = []
    for _ in range(3):
        # The failures before the last one are written directly (each real one costs a hash).
        seed_failures(db, USER, OFFICE_AT_ATTACKER, POLICY.user_limit - 1)
        assert attacker.authenticate("office", "guess") == ("", "nvu")
        locked = row(db, USER, OFFICE_AT_ATTACKER)
        assert locked is not None
        cooldowns.append(locked["locked_until"] - locked["last_failure_at"])  # type: ignore[operator]
        backdate_locks(db)
    assert cooldowns == [
        POLICY.base_cooldown * 1,
        POLICY.base_cooldown * 2,
        POLICY.base_cooldown * 4,
    ]
    assert POLICY.cooldown(10) == POLICY.max_cooldown


def test_a_successful_login_resets_the_count(db: Database, clients: list[Client]) -> None:
    office = clients[0]
    seed_failures(db, USER, OFFICE_AT_ATTACKER, POLICY.user_limit - 1)
    assert office.authenticate("office", "right")[1] == "none"
    assert row(db, USER, OFFICE_AT_ATTACKER) is None
    assert office.authenticate("office", "typo") == ("", "nvu")  # one failure, not the fifth
    assert office.authenticate("office", "right")[1] == "none"


def test_one_address_trying_many_names_is_locked_out_but_other_addresses_are_not(
    db: Database, clients: list[Client]
) -> None:
    sprayer, office = clients[0], clients[1]
    assert sprayer.authenticate("admin0", "password") == ("", "nvu")
    seed_failures(db, ADDRESS, "127.0.0.2", POLICY.address_limit - 1)
    assert sprayer.authenticate("admin1", "password") == ("", "nvu")
    # No user name reached its limit, but the address did: even a good login from it fails...
    assert sprayer.authenticate("office", "right") == ("", "nvu")
    # ...while the same user from another address logs in, untouched by the address's lock.
    ticket, outcome = office.authenticate("office", "right")
    assert len(ticket) == 64
    assert outcome == "none"
    admin0 = row(db, USER, pair_subject("admin0", "127.0.0.2"))
    assert admin0 is not None
    assert admin0["locked_until"] is None
    backdate_locks(db)
    assert sprayer.authenticate("office", "right")[1] == "none"


def test_two_service_processes_count_the_same_failures(db: Database, database_url: str) -> None:
    add_user(db, "office", "right")
    with serve_in_thread(database_url) as first, serve_in_thread(database_url) as second:
        # One address, two processes: the counts of "office" at that address add up.
        one, two = Client(first, "127.0.0.2"), Client(second, "127.0.0.2")
        for n in range(POLICY.user_limit):
            assert (one if n % 2 else two).authenticate("office", "guess") == ("", "nvu")
        assert one.authenticate("office", "right") == ("", "nvu")
        assert two.authenticate("office", "right") == ("", "nvu")
        one.http.close()
        two.http.close()


def test_addresses_count_per_host_and_ipv6_per_64() -> None:
    assert subject_of(ADDRESS, "192.0.2.7") == "192.0.2.7"
    assert subject_of(ADDRESS, "2001:db8:1:2:aaaa::1") == "2001:db8:1:2::/64"
    assert subject_of(ADDRESS, "2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert subject_of(ADDRESS, "::ffff:192.0.2.7") == "192.0.2.7"
    assert subject_of(ADDRESS, "not an address") == "not an address"
    long_name = subject_of(USER, "x" * 10_000)
    assert long_name.startswith("sha256:")
    assert len(long_name) <= 128


# -- tickets ----------------------------------------------------------------------------------


def request_ids(message: str) -> set[int]:
    return {int(found) for found in re.findall(r'requestID="(\d+)"', message)}


def test_a_ticket_cannot_pull_or_complete_another_users_jobs(
    db: Database, clients: list[Client]
) -> None:
    office_jobs = set(enqueue_company_queries(db, "office", 2))
    warehouse_jobs = set(enqueue_company_queries(db, "warehouse", 2))
    a, b = clients[0], clients[1]
    ticket_b, _ = b.authenticate("warehouse", "other-right")
    sent_b = b.send(ticket_b)
    assert request_ids(sent_b) == warehouse_jobs
    ticket_a, _ = a.authenticate("office", "right")
    sent_a = a.send(ticket_a)
    assert request_ids(sent_a) == office_jobs  # only its own user's jobs, never B's
    # A posts QuickBooks' answer to B's requests with its own ticket: refused, B's jobs untouched.
    assert a.receive(ticket_a, CompanyFile(name="Forged").process(sent_b)) == -1
    with db.transaction() as conn:
        store = JobStore(conn, utcnow())
        for job_id in warehouse_jobs:
            assert store.get(job_id).status == "in_flight"
        answered = conn.execute(
            select(transmissions.c.id).where(
                transmissions.c.job_id.in_(warehouse_jobs), transmissions.c.received_at.isnot(None)
            )
        ).all()
    assert answered == []
    # A's session ending does not release B's jobs; B completes them itself.
    assert a.call("closeConnection", ("ticket", ticket_a)) is not None
    assert b.receive(ticket_b, CompanyFile(name="Warehouse").process(sent_b)) == 100
    with db.transaction() as conn:
        store = JobStore(conn, utcnow())
        assert {store.get(j).result["company_name"] for j in warehouse_jobs} == {"Warehouse"}  # type: ignore[index]


def test_tickets_are_random_256_bit_and_stored_only_as_hashes(
    db: Database, clients: list[Client]
) -> None:
    tickets = [clients[0].authenticate("office", "right")[0] for _ in range(3)]
    assert len(set(tickets)) == 3
    assert all(re.fullmatch(r"[0-9a-f]{64}", ticket) for ticket in tickets)
    with db.transaction() as conn:
        stored = set(conn.execute(select(wc_sessions.c.ticket_hash)).scalars())
    assert not set(tickets) & stored
    # Each authenticate ended the session before it: those tickets are worth nothing now.
    (job_id,) = enqueue_company_queries(db, "office", 1)
    assert all(clients[0].send(ticket) == "" for ticket in tickets[:-1])
    assert request_ids(clients[0].send(tickets[-1])) == {job_id}


def test_an_out_of_range_status_code_from_quickbooks_is_recorded_not_a_500(
    db: Database, clients: list[Client]
) -> None:
    (job_id,) = enqueue_company_queries(db, "office", 1)
    client = clients[0]
    ticket, _ = client.authenticate("office", "right")
    sent = client.send(ticket)
    answer = CompanyFile().process(sent)
    answer = re.sub(r'statusCode="0"', 'statusCode="99999999999"', answer, count=1)
    assert 'statusCode="99999999999"' in answer
    # A SOAP answer (the percentage or -1), not a fault from a failed INSERT.
    assert isinstance(client.receive(ticket, answer), int)
    with db.transaction() as conn:
        job = JobStore(conn, utcnow()).get(job_id)
    assert job.error is not None
    assert "out of range" in job.error


@pytest.mark.usefixtures("db")
def test_distinct_hresults_do_not_make_new_metric_series(base: str, clients: list[Client]) -> None:
    client = clients[0]
    sent = [f"0x8{n:07X}" for n in range(12)]  # well-formed, unknown
    for hresult in sent:
        ticket, _ = client.authenticate("office", "right")
        assert (
            client.call(
                "connectionError", ("ticket", ticket), ("hresult", hresult), ("message", "x")
            )
            == "done"
        )
    metrics = httpx.get(base + "/metrics", timeout=30).text
    labels = set(re.findall(r'atqb_quickbooks_hresults_total\{hresult="([^"]*)"', metrics))
    # (The registry is the process's: other tests may have counted known HRESULTs.)
    assert "other" in labels
    assert not labels & set(sent)


@pytest.mark.postgres
def test_two_answers_on_one_ticket_at_once_are_applied_once(
    postgres_db: Database, postgres_database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    add_user(postgres_db, "office", "right")
    rounds = 8
    with serve_in_thread(postgres_database_url) as url, caplog.at_level(logging.WARNING):
        one, two = Client(url, "127.0.0.2"), Client(url, "127.0.0.3")
        for _ in range(rounds):
            enqueue_company_queries(postgres_db, "office", 1)
            ticket, _ = one.authenticate("office", "right")
            answer = CompanyFile().process(one.send(ticket))
            barrier = threading.Barrier(2)

            def receive(
                client: Client,
                ticket: str = ticket,
                answer: str = answer,
                barrier: threading.Barrier = barrier,
            ) -> int:
                barrier.wait()
                return client.receive(ticket, answer)

            with ThreadPoolExecutor(2) as pool:
                list(pool.map(receive, (one, two)))
        one.http.close()
        two.http.close()
    # In every round one call applied the answer and the other found nothing left in flight.
    ignored = [r for r in caplog.records if "no request in flight" in r.getMessage()]
    assert len(ignored) == rounds
