"""Prometheus metrics of atqb, served at ``/metrics``; every name starts with ``atqb_``.

Two sources:

* **This process** (counters and histograms kept in memory since it started): Web Connector
  calls with their outcome and duration, round trips, qbXML requests sent, QuickBooks status
  codes and HRESULTs, session durations. :mod:`service.webconnector.exchange` records them with
  one-line calls (:func:`qbwc_call`, :func:`round_trip`, :func:`quickbooks_status`, :func:`hresult`,
  :func:`session_ended`); :mod:`service.web` starts each call's clock (:func:`timing_call`).
  With several ``atqb serve`` processes, scrape each one.
* **The database**, read at scrape time (the same figures whichever process answers): jobs by
  kind and status, Web Connector sessions by how they ended, and the Autotask poller's cycles,
  requests and throttling (the poller is another process and records each cycle in
  ``poll_cycles``, see :mod:`service.poller.cycles`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

from prometheus_client import Counter, Histogram, disable_created_metrics
from prometheus_client.core import (
    CollectorRegistry,
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
)
from sqlalchemy import func, select

from service.db import Database
from service.jobstore import JobStore
from service.models import wc_sessions
from service.poller.cycles import PollCycles
from service.qbxml.status import KNOWN_HRESULTS, normalize_hresult

#: Web Connector methods (label values are limited to these and "other").
QBWC_METHODS = frozenset(
    {
        "serverVersion",
        "clientVersion",
        "authenticate",
        "sendRequestXML",
        "receiveResponseXML",
        "connectionError",
        "getLastError",
        "closeConnection",
    }
)

# The *_created series only repeat when the process started.
disable_created_metrics()  # type: ignore[no-untyped-call]

_CALLS = Counter(
    "atqb_qbwc_calls",
    "Web Connector SOAP calls answered, by method and outcome",
    ["method", "outcome"],
    registry=None,
)
_CALL_SECONDS = Histogram(
    "atqb_qbwc_call_duration_seconds",
    "Time atqb took to answer a Web Connector call (SOAP parsing included), by method",
    ["method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
    registry=None,
)
_ROUND_TRIPS = Counter(
    "atqb_qbwc_round_trips",
    "receiveResponseXML calls that brought answers to requests atqb had sent, by result",
    ["result"],
    registry=None,
)
_REQUESTS_SENT = Counter(
    "atqb_qbxml_requests_sent",
    "qbXML requests handed to the Web Connector (one per job step)",
    registry=None,
)
_STATUS = Counter(
    "atqb_quickbooks_status",
    "QuickBooks status codes in answers to atqb's requests, by code and severity",
    ["code", "severity"],
    registry=None,
)
_HRESULTS = Counter(
    "atqb_quickbooks_hresults",
    "HRESULTs the Web Connector reported instead of a QuickBooks answer, by call",
    ["hresult", "method"],
    registry=None,
)
_SESSION_SECONDS = Histogram(
    "atqb_qbwc_session_duration_seconds",
    "Web Connector sessions from authenticate to their end, by how they ended",
    ["end"],
    buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200),
    registry=None,
)
_PROCESS_METRICS = (
    _CALLS,
    _CALL_SECONDS,
    _ROUND_TRIPS,
    _REQUESTS_SENT,
    _STATUS,
    _HRESULTS,
    _SESSION_SECONDS,
)

_call_started: ContextVar[float | None] = ContextVar("atqb_call_started", default=None)


# -- recording (called by service.web and service.webconnector.exchange) ----------------------


@contextmanager
def timing_call() -> Iterator[None]:
    """Start the clock of the Web Connector call being served (around the SOAP dispatch)."""
    token = _call_started.set(time.perf_counter())
    try:
        yield
    finally:
        _call_started.reset(token)


def qbwc_call(method: str, outcome: str) -> int:
    """Count a Web Connector call with its outcome; return its milliseconds so far (for the log).

    Outside :func:`timing_call` (the exchange called directly) the time is unknown: 0 is
    returned and no duration is observed.
    """
    method = method if method in QBWC_METHODS else "other"
    _CALLS.labels(method, outcome).inc()
    started = _call_started.get()
    if started is None:
        return 0
    seconds = time.perf_counter() - started
    _CALL_SECONDS.labels(method).observe(seconds)
    return round(seconds * 1000)


def requests_sent(count: int) -> None:
    """qbXML requests handed out in one sendRequestXML."""
    _REQUESTS_SENT.inc(count)


def round_trip(error: str | None) -> None:
    """A receiveResponseXML that answered requests atqb had sent (``error``: it went wrong)."""
    _ROUND_TRIPS.labels("error" if error else "ok").inc()


def quickbooks_status(code: int | None, severity: str | None) -> None:
    """A status QuickBooks gave one request."""
    if code is None:
        return
    known = severity if severity in ("Info", "Warn", "Error") else "other"
    # QuickBooks' codes have at most four digits; anything else is one label, not thousands.
    _STATUS.labels(str(code) if 0 <= code <= 9999 else "other", known).inc()


def hresult(value: str, method: str) -> None:
    """An HRESULT the Web Connector reported (``receiveResponseXML`` or ``connectionError``)."""
    try:
        label = normalize_hresult(value) if value else "none"
    except ValueError:
        label = "unreadable"  # whatever the sender wrote never becomes a label value
    else:
        # Each label value is a series kept forever: only known HRESULTs get their own.
        if label != "none" and label not in KNOWN_HRESULTS:
            label = "other"
    _HRESULTS.labels(label, method if method in QBWC_METHODS else "other").inc()


def session_ended(end: str, started: datetime, ended: datetime) -> None:
    """A session ended in this process (``closeConnection``, ``connectionError``)."""
    _SESSION_SECONDS.labels(end).observe(max(0.0, (ended - started).total_seconds()))


# -- collecting ------------------------------------------------------------------------------


class ProcessCollector:
    """This process's counters and histograms."""

    def collect(self) -> Iterable[Metric]:
        """Every in-process metric."""
        for metric in _PROCESS_METRICS:
            yield from metric.collect()


class DatabaseCollector:
    """Figures read from the database at scrape time."""

    def __init__(self, database: Database) -> None:
        self.db = database

    def collect(self) -> Iterable[Metric]:
        """Jobs, sessions and poll cycles."""
        # Imported here: the poller package imports the exchange, which imports this module.
        from service.poller.state import PollerStore

        now = datetime.now(UTC)
        with self.db.transaction() as conn:
            counts = JobStore(conn, now).counts()
            ended = conn.execute(
                select(wc_sessions.c.end_reason, func.count())
                .where(wc_sessions.c.ended_at.is_not(None))
                .group_by(wc_sessions.c.end_reason)
            ).all()
            open_sessions = conn.execute(
                select(func.count()).where(
                    wc_sessions.c.ended_at.is_(None), wc_sessions.c.expires_at > now
                )
            ).scalar_one()
            poll = PollCycles(conn, now).totals()
            held = PollerStore(conn, now).held_back()

        jobs = GaugeMetricFamily("atqb_jobs", "Jobs by kind and status", labels=["kind", "status"])
        for (kind, status), number in sorted(counts.by_kind_status.items()):
            jobs.add_metric([kind, status], number)
        yield jobs

        sessions = CounterMetricFamily(
            "atqb_qbwc_sessions_ended",
            "Web Connector sessions that have ended, by reason (every process)",
            labels=["reason"],
        )
        for reason, number in sorted(ended, key=lambda row: str(row[0])):
            sessions.add_metric([reason or "unknown"], number)
        yield sessions
        yield GaugeMetricFamily(
            "atqb_qbwc_sessions_open", "Web Connector sessions not ended", value=open_sessions
        )

        cycles = CounterMetricFamily(
            "atqb_poll_cycles", "Autotask poll cycles, by outcome", labels=["outcome"]
        )
        for outcome in ("ok", "failed"):
            cycles.add_metric([outcome], poll.cycles_by_outcome.get(outcome, 0))
        yield cycles
        yield GaugeMetricFamily(
            "atqb_poll_cycles_running",
            "Poll cycles started and not finished (more than one: a poller died during a cycle)",
            value=poll.cycles_by_outcome.get("running", 0),
        )
        yield CounterMetricFamily(
            "atqb_autotask_requests",
            "HTTP requests sent to Autotask by the poller (retries, pages, zone lookups)",
            value=poll.autotask_requests,
        )
        yield CounterMetricFamily(
            "atqb_autotask_throttled",
            "Times Autotask held a poll cycle back (HTTP 429, thread limit, request budget)",
            value=poll.autotask_throttled,
        )
        yield CounterMetricFamily(
            "atqb_poll_jobs_enqueued", "Jobs the poller enqueued", value=poll.jobs_enqueued
        )
        yield GaugeMetricFamily(
            "atqb_poll_purchase_orders_skipped",
            "Autotask POs the poller cannot read or build (each is tried again every cycle; "
            "/admin names the reason)",
            value=len(held.skipped),
        )
        yield GaugeMetricFamily(
            "atqb_poll_write_backs_refused",
            "Autotask POs whose External P.O. # write-back Autotask refuses (retried with "
            "backoff; /admin shows Autotask's message)",
            value=len(held.refused),
        )
        last_ok = GaugeMetricFamily(
            "atqb_poll_last_success_timestamp_seconds",
            "When the newest successful poll cycle ended (Unix time); absent before the first",
        )
        if poll.last_ok_at is not None:
            last_ok.add_metric([], poll.last_ok_at.timestamp())
        yield last_ok


def registry(database: Database) -> CollectorRegistry:
    """A registry with this process's metrics and the database's, for ``/metrics``."""
    found = CollectorRegistry(auto_describe=False)
    found.register(ProcessCollector())
    found.register(DatabaseCollector(database))
    return found
