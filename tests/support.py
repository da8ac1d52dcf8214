"""Helpers for tests that run the real service: start ``atqb serve`` processes, make jobs.

``CompanyFile`` is the stand-in for QuickBooks in the protocol tests: it answers the one request
kind the protocol tests enqueue (CompanyQuery), and rejects anything the reference XSD rejects
the way QuickBooks does (HRESULT 0x80040400), so every request the service sends is validated.
"""

from __future__ import annotations

import itertools
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import httpx
import psycopg
from lxml import etree
from psycopg.sql import Literal

from service.clock import utcnow
from service.db import Database
from service.jobstore import JobStore, NewJob
from service.simulators.processor import HRESULT_PARSE_ERROR, QuickBooksHResultError
from service.webconnector.sessions import Sessions
from service.xmlsafe import parse_text

REPO = Path(__file__).resolve().parents[1]
REFERENCE_XSD = REPO / "service" / "qbxml" / "xsd" / "qbxmlops130.xsd"


def reference_schema() -> etree.XMLSchema:
    """Intuit's qbXML 13.0 schema (tests/data/README.md says where it comes from)."""
    return etree.XMLSchema(etree.parse(str(REFERENCE_XSD)))


@dataclass
class CompanyFile:
    """Answers CompanyQueryRq like QuickBooks; refuses schema-invalid messages like QuickBooks."""

    name: str = "Sample Company"
    requests: list[str] = field(default_factory=list)
    schema: etree.XMLSchema = field(default_factory=reference_schema)

    def process(self, request_xml: str) -> str:
        """One qbXML message set in, its answer out."""
        self.requests.append(request_xml)
        root = parse_text(request_xml)
        if not self.schema.validate(root):
            raise QuickBooksHResultError(
                HRESULT_PARSE_ERROR,
                "QuickBooks found an error when parsing the provided XML text stream.",
            )
        answers = []
        messages = root.find("QBXMLMsgsRq")
        for request in messages if messages is not None else []:
            request_id = request.get("requestID", "")
            answers.append(
                f'<CompanyQueryRs requestID="{request_id}" statusCode="0" '
                f'statusSeverity="Info" statusMessage="Status OK"><CompanyRet>'
                f"<CompanyName>{escape(self.name)}</CompanyName></CompanyRet></CompanyQueryRs>"
            )
        return (
            '<?xml version="1.0" ?>\n<QBXML>\n<QBXMLMsgsRs>\n'
            + "".join(answers)
            + ("\n</QBXMLMsgsRs>\n</QBXML>\n")
        )


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServiceProcess:
    """A running ``atqb serve``."""

    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def soap_url(self) -> str:
        """The SOAP endpoint."""
        return self.url + "/qbwc"

    def log(self) -> str:
        """What the process wrote so far."""
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        """Terminate it and wait."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextmanager
def run_service(
    database_url: str, workdir: Path, env: dict[str, str] | None = None, port: int | None = None
) -> Iterator[ServiceProcess]:
    """Start ``python -m service serve`` on ``port`` (default: a free one); stop it afterwards."""
    port = port or free_port()
    environment = {**os.environ, "ATQB_DATABASE_URL": database_url, **(env or {})}
    log_path = workdir / f"serve-{port}.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "service", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=environment,
            cwd=workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    service = ServiceProcess(f"http://127.0.0.1:{port}", process, log_path)
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"atqb serve exited {process.returncode}:\n{service.log()}")
            try:
                if httpx.get(service.url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"atqb serve did not come up:\n{service.log()}")
            time.sleep(0.1)
        yield service
    finally:
        service.stop()


def add_user(database: Database, name: str, password: str, company_file: str = "") -> None:
    """Create a Web Connector user."""
    with database.transaction() as conn:
        Sessions(conn, utcnow()).add_user(name, password, company_file)


def enqueue_company_queries(database: Database, user: str, count: int) -> list[int]:
    """``count`` independent CompanyQuery jobs for ``user``."""
    with database.transaction() as conn:
        store = JobStore(conn, utcnow())
        return [
            store.enqueue(
                NewJob(kind="company_query", qbwc_user=user, payload={}, subject=f"check {n}")
            )[0].id
            for n in range(count)
        ]


def fill_history(database: Database, *, transmissions: int, pending_jobs: int) -> None:
    """A PostgreSQL database with a long past, made set-based (generate_series), not through the
    API: ``transmissions`` answered transmissions of done jobs (two per job, over ended
    sessions) and ``pending_jobs`` ready jobs of 100 other Web Connector users. Then ANALYZE.
    """
    done_jobs = max(1, transmissions // 2)
    statements = [
        "INSERT INTO wc_users (name, password_hash, company_file, file_id, created_at) "
        "SELECT 'history-' || n, 'x', '', '{00000000-0000-0000-0000-000000000000}', now() "
        "FROM generate_series(1, 100) AS n",
        "INSERT INTO wc_sessions (ticket_hash, user_id, company_file, created_at, last_seen_at, "
        "expires_at, ended_at, end_reason, work_at_start, finished, round_trips, "
        "has_hcp_response) SELECT md5('history' || n) || md5(n::text), u.id, '', "
        "now() - interval '200 days', now() - interval '200 days', now() - interval '199 days', "
        "now() - interval '199 days', 'closeConnection', 0, 0, 0, false "
        "FROM generate_series(1, 10000) AS n "
        "JOIN wc_users AS u ON u.name = 'history-' || mod(n, 100) + 1",
        "INSERT INTO jobs (kind, qbwc_user, status, priority, payload, state, subject, attempts, "
        "max_attempts, run_after, created_at, updated_at) "
        "SELECT 'company_query', 'history-' || mod(n, 100) + 1, s.status, 0, '{}', '{}', "
        "'history', 1, 5, now() - interval '200 days', now() - interval '200 days', "
        "now() - interval '200 days' "
        f"FROM generate_series(1, {done_jobs + pending_jobs}) AS n, "
        f"LATERAL (SELECT CASE WHEN n <= {done_jobs} THEN 'done' ELSE 'pending' END AS status) s",
        "INSERT INTO transmissions (job_id, session_id, request_id, request_xml, response_xml, "
        "status_code, status_severity, status_message, sent_at, received_at) "
        "SELECT j.id, (SELECT min(id) FROM wc_sessions) + mod(j.id, 10000), j.id::text, "
        "'<QBXML/>', '<QBXML/>', 0, 'Info', 'Status OK', now() - interval '200 days', "
        "now() - interval '200 days' "
        "FROM jobs AS j CROSS JOIN generate_series(1, 2) "
        f"WHERE j.status = 'done' AND j.subject = 'history' LIMIT {transmissions}",
    ]
    with database.transaction() as conn:
        for statement in statements:
            conn.exec_driver_sql(statement)
    with database.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")


@contextmanager
def serve_in_thread(database_url: str, **settings: object) -> Iterator[str]:
    """The real WSGI application under waitress, in this process; yields the base URL."""
    import threading

    from waitress.server import create_server

    from service.settings import load_settings
    from service.web import create_app

    database = Database.from_url(database_url)
    app = create_app(load_settings(database_url=database_url, **settings), database)
    server = create_server(app, host="127.0.0.1", port=0, threads=4, ident="atqb-test")
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"  # type: ignore[union-attr]
    finally:
        # Take every channel out of waitress' map first: its loop ends by itself once the map
        # is empty, and only then are the sockets closed (closing a socket under select()
        # fails in the server thread with EBADF).
        channels = list(server._map.values())  # type: ignore[union-attr]
        for channel in channels:
            channel.del_channel()
        thread.join(timeout=5)
        for channel in channels:
            if channel.socket is not None:  # a channel may have closed itself meanwhile
                channel.socket.close()
        server.task_dispatcher.shutdown()
        database.dispose()


class RoundRobinTransport(httpx.BaseTransport):
    """Sends each call to the next of several service processes in turn, starting with the
    ``first``; ``used`` lists the port of every call."""

    def __init__(self, ports: list[int], first: int = 0) -> None:
        self.ports = itertools.islice(itertools.cycle(ports), first, None)
        self.inner = httpx.HTTPTransport()
        self.used: list[int] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        port = next(self.ports)
        self.used.append(port)
        request.url = request.url.copy_with(port=port)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def until_a_lock_is_awaited(db: Database) -> None:
    """Return once a session of this PostgreSQL database waits for a lock (another transaction's
    uncommitted rows, say); fail after half a minute."""
    name = db.engine.url.database
    for _ in range(3000):
        with db.engine.connect() as conn:
            waiting = conn.exec_driver_sql(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = %(name)s AND wait_event_type = 'Lock'",
                {"name": name},
            ).scalar_one()
        if waiting:
            return
        time.sleep(0.01)
    raise AssertionError("no session waited for a lock")


def generic_plans(db: Database, statements: list[tuple[str, Any]]) -> dict[str, str]:
    """The plan PostgreSQL gives each statement (with its parameters, as recorded by a
    ``before_cursor_execute`` listener) once psycopg has prepared it and the plan is generic."""
    plans: dict[str, str] = {}
    with db.transaction() as conn:
        conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
        raw = conn.connection.dbapi_connection
        assert isinstance(raw, psycopg.Connection)  # PostgreSQL through psycopg
        for number, (statement, given) in enumerate(statements):
            # A statement run for many rows (a multi-row INSERT) is planned as for one.
            parameters = given[0] if isinstance(given, list) else given
            names = list(dict.fromkeys(re.findall(r"%\((\w+)\)s", statement)))
            numbered = re.sub(
                r"%\((\w+)\)s",
                lambda m, names=names: f"${names.index(m.group(1)) + 1}",
                statement,
            )
            conn.exec_driver_sql(f"PREPARE q{number} AS {numbered}")
            # Typed by the PREPARE: the values go in as literals (NULL included).
            arguments = ", ".join(Literal(parameters[name]).as_string(raw) for name in names)
            call = f"EXPLAIN EXECUTE q{number}" + (f"({arguments})" if names else "")
            plans[statement] = "\n".join(row[0] for row in conn.exec_driver_sql(call))
        conn.exec_driver_sql("DEALLOCATE ALL")
    return plans
