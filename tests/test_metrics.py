"""/metrics: Prometheus text with every name prefixed atqb_, from the database and this process."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from service import metrics
from service.db import Database
from service.poller.cycles import PollCycles
from service.simulators.quickbooks import HostInfo, SimulatedQuickBooks
from service.simulators.webconnector import Faults, SimulatedWebConnector
from service.webconnector.sessions import Sessions
from tests.admin.helpers import T0, later, populate
from tests.support import add_user, enqueue_company_queries, run_service, serve_in_thread

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(base: str) -> Samples:
    """Every sample of /metrics, keyed by name and sorted labels."""
    response = httpx.get(base + "/metrics", timeout=30)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        assert family.name.startswith("atqb_"), family.name
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


@pytest.fixture
def site(db: Database, database_url: str) -> Iterator[str]:  # noqa: ARG001 - db migrates the database served
    with serve_in_thread(database_url) as base:
        yield base


def test_database_figures_jobs_sessions_and_poll_cycles(db: Database, site: str) -> None:
    populate(db)
    with db.transaction() as conn:
        sessions = Sessions(conn, later(60))
        user = sessions.add_user("third", "pw", "")
        _, ended = sessions.open(user, idle_seconds=1800, work_at_start=0)
        sessions.end(ended, "closeConnection")
        cycles = PollCycles(conn, T0)
        cycles.finish(cycles.start(), outcome="ok", autotask_requests=40, jobs_enqueued=7)
        cycles.finish(cycles.start(), outcome="failed", autotask_requests=5, autotask_throttled=2)
        cycles.start()
    samples = scrape(site)
    jobs = {labels: value for (name, labels), value in samples.items() if name == "atqb_jobs"}
    assert jobs[(("kind", "company_query"), ("status", "done"))] == 1
    assert jobs[(("kind", "vendor_add"), ("status", "failed"))] == 1
    assert jobs[(("kind", "purchase_order_add"), ("status", "pending"))] == 1
    assert samples[("atqb_qbwc_sessions_ended_total", (("reason", "closeConnection"),))] == 1
    # The session populate() opened was idle past its expiry long ago: not open any more.
    assert samples[("atqb_qbwc_sessions_open", ())] == 0
    assert samples[("atqb_poll_cycles_total", (("outcome", "ok"),))] == 1
    assert samples[("atqb_poll_cycles_total", (("outcome", "failed"),))] == 1
    assert samples[("atqb_poll_cycles_running", ())] == 1
    assert samples[("atqb_autotask_requests_total", ())] == 45
    assert samples[("atqb_autotask_throttled_total", ())] == 2
    assert samples[("atqb_poll_jobs_enqueued_total", ())] == 7
    assert samples[("atqb_poll_last_success_timestamp_seconds", ())] == T0.timestamp()


def test_before_any_poll_cycle_the_figures_are_zero(site: str) -> None:
    samples = scrape(site)
    assert samples[("atqb_autotask_requests_total", ())] == 0
    assert samples[("atqb_autotask_throttled_total", ())] == 0
    assert ("atqb_poll_last_success_timestamp_seconds", ()) not in samples


# -- a served process: the counts a Web Connector session caused, and its log ----------------

PASSWORD = "pw-Zebra-7731"
WRONG_PASSWORD = "bad-Quokka-1234"
LINE = re.compile(r"^\S+ \S+ (?P<level>[A-Z]+) atqb\.qbwc (?P<method>\w+) (?P<fields>.*)$")


def test_a_session_shows_in_metrics_and_in_one_log_line_per_call(
    sqlite_database_url: str, tmp_path: Path
) -> None:
    db = Database.from_url(sqlite_database_url)
    add_user(db, "office", PASSWORD)
    enqueue_company_queries(db, "office", 3)
    db.dispose()
    quickbooks = SimulatedQuickBooks(host=HostInfo(company_name="Acme Books"))
    runs = [
        # 2 requests answered, then the second message gets an HRESULT instead of an answer
        Faults(hresult_on_messages=frozenset({2})),
        Faults(open_failures=1),  # the company file cannot be opened: connectionError
    ]
    with run_service(sqlite_database_url, tmp_path, {"ATQB_BATCH_SIZE": "2"}) as service:
        reports = []
        for faults in runs:
            with SimulatedWebConnector(
                service.soap_url,
                quickbooks,
                username="office",
                password=PASSWORD,
                noop_wait=0,
                faults=faults,
            ) as connector:
                reports.append(connector.run_session())
        with SimulatedWebConnector(
            service.soap_url, quickbooks, username="office", password=WRONG_PASSWORD
        ) as connector:
            reports.append(connector.run_session())
        samples = scrape(service.url)
        log = service.log()
    assert [r.outcome for r in reports] == ["error", "connection_error", "invalid_user"]

    def calls(method: str, outcome: str) -> float:
        key = (("method", method), ("outcome", outcome))
        return samples.get(("atqb_qbwc_calls_total", key), 0)

    assert calls("authenticate", "work") == 2
    assert calls("authenticate", "nvu") == 1
    assert calls("sendRequestXML", "sent") == 2
    assert calls("receiveResponseXML", "ok") == 1
    assert calls("receiveResponseXML", "error") == 1
    assert calls("connectionError", "done") == 1
    assert calls("closeConnection", "closed") == 1
    assert samples[("atqb_qbwc_round_trips_total", (("result", "ok"),))] == 1
    assert samples[("atqb_qbwc_round_trips_total", (("result", "error"),))] == 1
    assert samples[("atqb_qbxml_requests_sent_total", ())] == 3
    assert samples[("atqb_quickbooks_status_total", (("code", "0"), ("severity", "Info")))] == 2
    hresults = {
        labels: value
        for (name, labels), value in samples.items()
        if name == "atqb_quickbooks_hresults_total"
    }
    assert hresults == {
        (("hresult", "0x80040401"), ("method", "receiveResponseXML")): 1,
        (("hresult", "0x80040408"), ("method", "connectionError")): 1,
    }
    for end in ("closeConnection", "connectionError"):
        assert samples[("atqb_qbwc_session_duration_seconds_count", (("end", end),))] == 1
        assert samples[("atqb_qbwc_sessions_ended_total", (("reason", end),))] == 1
    timed = samples[("atqb_qbwc_call_duration_seconds_count", (("method", "authenticate"),))]
    assert timed == 3
    assert samples[("atqb_jobs", (("kind", "company_query"), ("status", "done")))] == 2

    # One structured line per Web Connector call, with its outcome and time.
    lines = [m for m in map(LINE.match, log.splitlines()) if m]
    made = [call.method for report in reports for call in report.calls]
    assert [m["method"] for m in lines] == made
    for match in lines:
        fields = dict(part.split("=", 1) for part in match["fields"].split(" ") if "=" in part)
        assert re.fullmatch(r"\d+", fields["ms"]), match.group(0)
        assert fields["outcome"], match.group(0)
        if match["method"] not in ("serverVersion", "clientVersion"):
            assert "user" in fields or "ticket" in fields, match.group(0)
        if "ticket" in fields:
            assert re.fullmatch(r"[0-9a-f]{6}…|-", fields["ticket"]), match.group(0)
    # Never a password, a secret or a whole ticket.
    tickets = [r.ticket for r in reports if r.ticket]
    assert len(tickets) == 2
    assert all(len(t) == 64 for t in tickets)
    for secret in (PASSWORD, WRONG_PASSWORD, *tickets, *(t[:12] for t in tickets)):
        assert secret not in log


# -- what goes into a label ------------------------------------------------------------------


def family_samples(name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """This process's samples of one metric (through the same collector /metrics uses)."""
    found: dict[tuple[tuple[str, str], ...], float] = {}
    for family in metrics.ProcessCollector().collect():
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def test_values_from_outside_never_become_label_values() -> None:
    before = family_samples("atqb_quickbooks_hresults_total")
    metrics.hresult("<script>0x8004</script>", "receiveResponseXML")
    metrics.hresult("-2147220480", "connectionError")  # the signed decimal form of 0x80040400
    metrics.hresult("", "evil method")
    after = family_samples("atqb_quickbooks_hresults_total")

    def grew(labels: tuple[tuple[str, str], ...]) -> float:
        return after.get(labels, 0) - before.get(labels, 0)

    assert grew((("hresult", "unreadable"), ("method", "receiveResponseXML"))) == 1
    assert grew((("hresult", "0x80040400"), ("method", "connectionError"))) == 1
    assert grew((("hresult", "none"), ("method", "other"))) == 1
    assert not any("<" in value for labels in after for _, value in labels)


def test_odd_statuses_and_methods_are_bounded() -> None:
    before = family_samples("atqb_quickbooks_status_total")
    metrics.quickbooks_status(3100, "Fatal!")
    metrics.quickbooks_status(None, "Error")  # no status: nothing counted
    metrics.quickbooks_status(-123456789, "Error")
    after = family_samples("atqb_quickbooks_status_total")
    key = (("code", "3100"), ("severity", "other"))
    assert after[key] - before.get(key, 0) == 1
    odd = (("code", "other"), ("severity", "Error"))
    assert after[odd] - before.get(odd, 0) == 1
    assert sum(after.values()) - sum(before.values()) == 2
    assert metrics.qbwc_call("madeUpMethod", "ok") == 0  # no clock started: time unknown
    calls = family_samples("atqb_qbwc_calls_total")
    assert calls[(("method", "other"), ("outcome", "ok"))] >= 1
