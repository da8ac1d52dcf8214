"""Many Web Connectors at once against several ``atqb serve`` processes on one database.

:func:`run_load` gives each of ``sessions`` users its own company file (a
:class:`~tests.support.CompanyFile` named after the user) and ``jobs`` CompanyQuery jobs, starts
``processes`` service processes on the same PostgreSQL database, and runs one
:class:`~service.simulators.webconnector.SimulatedWebConnector` per user, all at once, each in
its own thread. Every connector spreads its calls over the processes in turn (call *k* of
connector *n* goes to process *(n + k) mod processes*), so each session's jobs are claimed in one
process and answered in another. :func:`check_every_job_once` then says whether every job was
sent exactly once, to its own company file, answered and done.

Used by ``tests/load/test_load.py`` (a CI-sized run) and ``benchmarks/bench_load.py`` (the full
size: 50 sessions of 200 jobs).
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import func, insert, select

from service.clock import utcnow
from service.db import Database
from service.jobstore import JobStore
from service.models import jobs, transmissions, wc_users
from service.simulators.webconnector import SessionReport, SimulatedWebConnector
from service.webconnector.sessions import Sessions, format_guid
from tests.support import (
    CompanyFile,
    RoundRobinTransport,
    add_user,
    enqueue_company_queries,
    run_service,
)

PASSWORD = "load-test-password"


@dataclass
class Connector:
    """One user's Web Connector, company file and jobs, and what its session did."""

    user: str
    company: CompanyFile
    job_ids: list[int]
    report: SessionReport | None = None
    error: BaseException | None = None


@dataclass(frozen=True)
class LoadReport:
    """What a load run did and how long the service took per call."""

    sessions: int
    jobs_per_session: int
    processes: int
    batch_size: int
    wall_seconds: float
    #: Seconds per SOAP call as the Web Connector saw them (HTTP on loopback and waiting for a
    #: free server thread included), by method.
    call_seconds: dict[str, list[float]]
    #: Seconds per call inside the service (from SOAP dispatch to the exchange's log line, the
    #: ``ms=`` of each call's log line), by method.
    service_seconds: dict[str, list[float]]

    def lines(self) -> list[str]:
        """The figures, for people: calls, jobs per second, p50 and p99 per call."""
        jobs_done = self.sessions * self.jobs_per_session
        calls = sum(len(times) for times in self.call_seconds.values())
        out = [
            f"{self.sessions} sessions x {self.jobs_per_session} jobs on {self.processes} "
            f"atqb serve processes (batch size {self.batch_size}): {jobs_done} jobs in "
            f"{self.wall_seconds:.1f} s ({jobs_done / self.wall_seconds:.0f} jobs/s), "
            f"{calls} calls",
        ]
        for title, by_method in (
            ("time per call as the Web Connector sees it (ms)", self.call_seconds),
            ("time per call inside the service (ms)", self.service_seconds),
        ):
            out.append(f"  {title:<50} {'calls':>6} {'p50':>8} {'p99':>8} {'max':>8}")
            every = [t for times in by_method.values() for t in times]
            for method, times in [*sorted(by_method.items()), ("all calls", every)]:
                out.append(
                    f"    {method:<48} {len(times):>6} {percentile(times, 0.50) * 1000:>8.1f} "
                    f"{percentile(times, 0.99) * 1000:>8.1f} {max(times) * 1000:>8.1f}"
                )
        return out


def percentile(values: list[float], share: float) -> float:
    """The value below which ``share`` of ``values`` lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]


def prepare(database: Database, sessions: int, jobs_per_session: int) -> list[Connector]:
    """Users ``load00``... with their jobs; one connector each.

    The users share one password, hashed once: a hash costs half a second of CPU on purpose.
    """
    add_user(database, "load00", PASSWORD, company_file=r"C:\Books\load00.QBW")
    with database.transaction() as conn:
        first = Sessions(conn, utcnow()).find_user("load00")
        assert first is not None
        for n in range(1, sessions):
            conn.execute(
                insert(wc_users).values(
                    name=f"load{n:02d}",
                    password_hash=first.password_hash,
                    company_file=rf"C:\Books\load{n:02d}.QBW",
                    file_id=format_guid(uuid.uuid4()),
                    created_at=utcnow(),
                )
            )
    connectors = []
    for n in range(sessions):
        user = f"load{n:02d}"
        job_ids = enqueue_company_queries(database, user, jobs_per_session)
        connectors.append(Connector(user, CompanyFile(name=f"Company of {user}"), job_ids))
    return connectors


def run_load(
    database_url: str,
    workdir: Path,
    *,
    sessions: int,
    jobs_per_session: int,
    processes: int = 2,
    batch_size: int = 50,
) -> tuple[LoadReport, list[Connector]]:
    """Run every connector's session at once; return the figures and the connectors."""
    database = Database.from_url(database_url)
    try:
        connectors = prepare(database, sessions, jobs_per_session)
    finally:
        database.dispose()
    env = {"ATQB_BATCH_SIZE": str(batch_size)}
    with ExitStack() as stack:
        services = [
            stack.enter_context(run_service(database_url, workdir, env)) for _ in range(processes)
        ]
        ports = [httpx.URL(service.url).port or 0 for service in services]
        start = threading.Barrier(len(connectors) + 1)

        def run(index: int, connector: Connector) -> None:
            transport = RoundRobinTransport(ports, index)
            start.wait()
            try:
                with SimulatedWebConnector(
                    services[0].soap_url,
                    connector.company,
                    username=connector.user,
                    password=PASSWORD,
                    noop_wait=0,
                    transport=transport,
                ) as web_connector:
                    connector.report = web_connector.run_session()
            except BaseException as exc:  # reported by the caller, with the user's name
                connector.error = exc

        threads = [
            threading.Thread(target=run, args=(n, c), name=c.user) for n, c in enumerate(connectors)
        ]
        for thread in threads:
            thread.start()
        start.wait()
        began = time.perf_counter()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - began
        logs = "".join(service.log() for service in services)
    if "Traceback" in logs:
        raise AssertionError(f"a service process logged a traceback:\n{logs[-5000:]}")
    times: dict[str, list[float]] = {}
    for connector in connectors:
        if connector.report is not None:
            for call in connector.report.calls:
                times.setdefault(call.method, []).append(call.elapsed)
    inside: dict[str, list[float]] = {}
    for method, ms in _CALL_LOG.findall(logs):
        inside.setdefault(method, []).append(int(ms) / 1000)
    report = LoadReport(sessions, jobs_per_session, processes, batch_size, wall, times, inside)
    return report, connectors


#: The exchange's one log line per call: method first, milliseconds in the service last.
_CALL_LOG = re.compile(r" atqb\.qbwc (\w+) .*?\bms=(\d+)")


def check_every_job_once(database: Database, connectors: list[Connector]) -> None:
    """Every session ended done; every job was sent once, to its own company file, and is done
    with one answered transmission and its company's name as result."""
    problems = [f"{c.user}: {c.error!r}" for c in connectors if c.error is not None]
    problems += [
        f"{c.user}: session ended {c.report.outcome}, errors {c.report.errors}"
        for c in connectors
        if c.report is not None and (c.report.outcome != "done" or c.report.errors)
    ]
    assert not problems, problems
    for connector in connectors:
        sent = Counter(
            int(found)
            for message in connector.company.requests
            for found in re.findall(r'requestID="(\d+)"', message)
        )
        assert sent == Counter(connector.job_ids), f"{connector.user} got other jobs or repeats"
    with database.transaction() as conn:
        statuses: dict[str, int] = dict(
            conn.execute(select(jobs.c.status, func.count()).group_by(jobs.c.status)).all()
        )
        per_job = conn.execute(
            select(transmissions.c.job_id, func.count(), func.count(transmissions.c.received_at))
            .group_by(transmissions.c.job_id)
            .having((func.count() != 1) | (func.count(transmissions.c.received_at) != 1))
        ).all()
        attempts = conn.execute(select(jobs.c.attempts).where(jobs.c.attempts != 1)).all()
        store = JobStore(conn, utcnow())
        for connector in connectors:
            for job_id in connector.job_ids[:: max(1, len(connector.job_ids) // 5)]:
                result = store.get(job_id).result or {}
                assert result.get("company_name") == f"Company of {connector.user}", job_id
    total = sum(len(c.job_ids) for c in connectors)
    assert statuses == {"done": total}, statuses
    assert per_job == [], f"jobs without exactly one answered transmission: {per_job[:10]}"
    assert attempts == [], f"jobs sent more than once: {len(attempts)}"
