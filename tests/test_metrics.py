"""/metrics: Prometheus text with every name prefixed atqb_, from the database and this process."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from service.db import Database
from service.pollcycles import PollCycles
from service.sessions import Sessions
from tests.admin.helpers import T0, later, populate
from tests.support import serve_in_thread

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
def site(db: Database, database_url: str) -> Iterator[str]:
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
