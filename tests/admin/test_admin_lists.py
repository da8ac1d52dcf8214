"""/admin pages whose content each test makes: the empty state, paging, sessions, poll cycles."""

from __future__ import annotations

import httpx
import pytest

from service.admin import pages
from service.db import Database
from service.jobstore import JobStore, NewJob
from service.poller.cycles import PollCycles
from service.webconnector.sessions import Sessions
from tests.admin.helpers import T0, doc, job_ids, later


def test_an_empty_installation_says_so(admin: httpx.Client) -> None:
    page = doc(admin.get("/admin").text)
    assert page.get_element_by_id("no-jobs").text_content() == "No jobs exist yet."
    assert "No Web Connector session yet" in page.get_element_by_id("no-sessions").text_content()
    poll = page.get_element_by_id("no-poll-cycles").text_content()
    assert "No poll cycles recorded yet" in poll
    # Honest about this version: with no poller, it says so; with one, where to look.
    if pages.has_poller():
        assert "If it runs and nothing appears, its log says why." in poll
    else:
        assert "This version of atqb does not include the poller yet" in poll


def test_older_jobs_are_paged(admin: httpx.Client, db: Database) -> None:

    with db.transaction() as conn:
        store = JobStore(conn, T0)
        ids = [
            store.enqueue(NewJob("company_query", "office", {}, subject=f"n{n}"))[0].id
            for n in range(105)
        ]
    first = admin.get("/admin")
    assert job_ids(first.text) == sorted(ids, reverse=True)[:100]
    older = doc(first.text).xpath('//p[@class="pager"]/a/@href')[0]
    second = admin.get(older)
    assert job_ids(second.text) == sorted(ids, reverse=True)[100:]
    assert not doc(second.text).xpath('//p[@class="pager"]')


def test_sessions_page_lists_runs_with_their_errors(admin: httpx.Client, db: Database) -> None:

    with db.transaction() as conn:
        sessions = Sessions(conn, T0)
        user = sessions.add_user("office", "pw", "")
        _, closed = sessions.open(user, idle_seconds=1800, work_at_start=3)
        sessions.touch(sessions.get(closed), 1800, round_trips=2, finished=3)
    with db.transaction() as conn:
        Sessions(conn, later(95)).end(closed, "closeConnection")
    with db.transaction() as conn:
        _, failed = Sessions(conn, later(200)).open(user, idle_seconds=1800, work_at_start=1)
        Sessions(conn, later(201)).end(
            failed,
            "connectionError",
            last_error="QuickBooks could not be opened (0x80040408: Could not start QuickBooks.)",
        )
    page = doc(admin.get("/admin/sessions").text)
    rows = {
        int(row.get("data-session")): [cell.text_content() for cell in row.xpath("td")]
        for row in page.xpath("//tr[@data-session]")
    }
    assert rows[closed][1:] == [
        "office", "2026-11-23 09:00:00", "2026-11-23 09:00:00", "closeConnection", "1 min 35 s",
        "2", "3/3", "",
    ]  # fmt: skip
    assert rows[failed][4] == "connectionError"
    assert rows[failed][-1].startswith("QuickBooks could not be opened (0x80040408")
    assert page.xpath(f'//tr[@data-session="{failed}"]/td[last()]/@class') == ["error"]
    overview = doc(admin.get("/admin").text)
    assert overview.xpath("//div[@id='sessions']//tr/@data-session") == [str(failed), str(closed)]


def test_poll_cycles_are_listed_once_the_poller_records_them(
    admin: httpx.Client, db: Database
) -> None:
    with db.transaction() as conn:
        cycles = PollCycles(conn, T0)
        ok = cycles.start()
        throttled = cycles.start()
        running = cycles.start()
    with db.transaction() as conn:
        cycles = PollCycles(conn, later(42))
        cycles.finish(ok, outcome="ok", autotask_requests=31, jobs_enqueued=4)
        cycles.finish(
            throttled,
            outcome="failed",
            autotask_requests=6,
            autotask_throttled=1,
            error="Autotask refused: HTTP 429 <limit>",
        )
    page = doc(admin.get("/admin/poll").text)
    rows = {
        int(row.get("data-cycle")): [cell.text_content() for cell in row.xpath("td")]
        for row in page.xpath("//tr[@data-cycle]")
    }
    assert rows[ok][2:7] == ["42 s", "ok", "31", "0", "4"]
    assert rows[throttled][3:6] == ["failed", "6", "1"]
    assert rows[throttled][7] == "Autotask refused: HTTP 429 <limit>"
    assert rows[running][3] == "running"
    assert rows[running][2].startswith("running for ")
    assert "no-poll-cycles" not in admin.get("/admin").text


def test_the_empty_poll_state_matches_whether_a_poller_exists(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pages, "has_poller", lambda: False)
    absent = doc(pages.poll_empty()).text_content()
    assert "does not include the poller yet" in absent
    assert "scripts/simulate" in absent
    monkeypatch.setattr(pages, "has_poller", lambda: True)
    present = doc(pages.poll_empty()).text_content()
    assert "does not include" not in present
    assert "its log says why" in present
