"""Operator commands on both databases (``users remove`` and ``passwd``, ``jobs retry`` and
``list``): exit codes, messages, what is left."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.clock import utcnow
from service.db import Database
from service.jobstore import JobStore, NewJob
from service.webconnector.sessions import Sessions, verify_password
from tests.test_cli import run


@pytest.fixture
def cli_any_db(
    database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Database]:
    """The CLI pointed at a fresh database, once on SQLite and once on PostgreSQL."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ATQB_DATABASE_URL", database_url)
    database = Database.from_url(database_url)
    yield database
    database.dispose()


def _add(capsys: pytest.CaptureFixture[str], name: str) -> None:
    argv = ["users", "add", name, "--company-file", "", "--password-stdin"]
    assert run(argv, capsys, stdin="pw\n")[0] == 0


def _job(database: Database, user: str, subject: str, *, fail: bool = False) -> int:
    with database.transaction() as conn:
        store = JobStore(conn, utcnow())
        job, _ = store.enqueue(
            NewJob(kind="company_query", qbwc_user=user, payload={}, subject=subject)
        )
        if fail:
            store.fail(job.id, "QuickBooks 3100 (Error): The name is already in use.")
    return job.id


def _users(capsys: pytest.CaptureFixture[str]) -> list[str]:
    code, out, _ = run(["users", "list"], capsys)
    assert code == 0
    return [line.split()[0] for line in out.splitlines() if not line.startswith("no ")]


@pytest.mark.usefixtures("cli_any_db")
def test_users_remove_of_an_unknown_name_exits_1_and_says_how_to_list_users(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _add(capsys, "office")
    code, out, err = run(["users", "remove", "ofice"], capsys)
    assert (code, out) == (1, "")
    assert err == (
        "atqb: error: no Web Connector user 'ofice' (`atqb users list` shows the users there are)\n"
    )
    assert _users(capsys) == ["office"]


def test_users_remove_refuses_while_jobs_are_unfinished_then_removes_once_they_are_cancelled(
    cli_any_db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    _add(capsys, "office")
    _add(capsys, "annex")
    pending = _job(cli_any_db, "office", "Vendor Acme Supply")
    failed = _job(cli_any_db, "office", "PO 1234 · Acme Supply", fail=True)
    done = _job(cli_any_db, "office", "Customer Northwind")
    with cli_any_db.transaction() as conn:
        JobStore(conn, utcnow()).complete(done, {"how": "created"})
    _job(cli_any_db, "annex", "Vendor Other")  # another company file's work does not count

    code, out, err = run(["users", "remove", "office"], capsys)
    assert (code, out) == (1, "")
    assert err.count("\n") == 1
    assert err.startswith("atqb: error: ")
    assert "'office' still has 2 unfinished job(s) (1 pending, 1 failed: " in err
    assert f"#{pending}, #{failed})" in err
    assert "atqb jobs cancel ID" in err
    assert "atqb jobs retry ID" in err
    assert _users(capsys) == ["annex", "office"]

    for job_id in (pending, failed):
        assert run(["jobs", "cancel", str(job_id)], capsys)[0] == 0
    code, out, err = run(["users", "remove", "office"], capsys)
    assert (code, err) == (0, "")
    assert "removed Web Connector user 'office'" in out
    assert "restart a running `atqb poll`" in out
    assert _users(capsys) == ["annex"]
    # Its history stays, named by the user it was for.
    code, out, _ = run(["jobs", "list", "--json"], capsys)
    kept = {job["id"]: job["qbwc_user"] for job in json.loads(out)}
    assert kept[done] == kept[pending] == "office"


def test_users_remove_ends_the_users_sessions_and_its_password_no_longer_logs_in(
    cli_any_db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    _add(capsys, "office")
    with cli_any_db.transaction() as conn:
        sessions = Sessions(conn, utcnow())
        user = sessions.find_user("office")
        assert user is not None
        ticket, _ = sessions.open(user, idle_seconds=600, work_at_start=0)
    assert run(["users", "remove", "office"], capsys)[0] == 0
    with cli_any_db.transaction() as conn:
        sessions = Sessions(conn, utcnow())
        assert sessions.find(ticket, include_ended=True) is None
        assert not verify_password(sessions.find_user("office"), "pw")
    code, _, err = run(["users", "remove", "office"], capsys)
    assert code == 1
    assert "no Web Connector user 'office'" in err


@pytest.mark.usefixtures("cli_any_db")
def test_users_remove_warns_when_atqb_qbwc_user_names_the_removed_user(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _add(capsys, "office")
    monkeypatch.setenv("ATQB_QBWC_USER", "office")
    code, out, _ = run(["users", "remove", "office"], capsys)
    assert code == 0
    assert "ATQB_QBWC_USER is 'office': change it before `atqb poll` runs again" in out


def test_users_remove_without_a_name_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["users", "remove"], capsys)
    assert code == 2
    assert "usage:" in err


def test_users_passwd_without_a_terminal_says_how_to_give_the_password(
    cli_any_db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    _add(capsys, "office")
    code, out, err = run(["users", "passwd", "office"], capsys, stdin="")
    assert (code, out) == (1, "")
    assert "no terminal to ask for the password on" in err
    assert err.rstrip().endswith(
        """(e.g. `printf '%s\\n' "$PW" | atqb users passwd office --password-stdin`)"""
    )
    with cli_any_db.transaction() as conn:
        assert verify_password(Sessions(conn, utcnow()).find_user("office"), "pw")


def _chain(database: Database) -> dict[str, int]:
    """A vendor job that QuickBooks refused, a PO waiting for it and a receipt waiting for the
    PO (both failed with it), and an unrelated failed job of another user."""
    with database.transaction() as conn:
        store = JobStore(conn, utcnow())

        def enqueue(kind: str, user: str = "office", *after: int) -> int:
            job, _ = store.enqueue(
                NewJob(kind=kind, qbwc_user=user, payload={}, subject=kind, depends_on=after)
            )
            return job.id

        vendor = enqueue("vendor")
        po = enqueue("purchase_order", "office", vendor)
        receipt = enqueue("item_receipt", "office", po)
        other = enqueue("customer", "annex")
        store.fail(vendor, "QuickBooks 3100 (Error): The name is already in use.")
        store.fail(other, "QuickBooks 3100 (Error): The name is already in use.")
    return {"vendor": vendor, "po": po, "receipt": receipt, "other": other}


def test_jobs_retry_names_the_other_jobs_it_requeued(
    cli_any_db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = _chain(cli_any_db)
    # The receipt failed because the vendor did: retrying it retries the vendor, and the PO and
    # the receipt wait for it again.
    code, out, err = run(["jobs", "retry", str(ids["receipt"])], capsys)
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        f"job #{ids['receipt']} is now waiting",
        f"also re-queued 2 other job(s): #{ids['vendor']} vendor (pending), "
        f"#{ids['po']} purchase_order (waiting)",
    ]
    # A failed job nothing waits for: only itself.
    code, out, _ = run(["jobs", "retry", str(ids["other"])], capsys)
    assert (code, out) == (0, f"job #{ids['other']} is now pending\n")
    code, out, err = run(["jobs", "retry", str(ids["other"])], capsys)
    assert (code, out) == (1, "")
    assert err == (
        f"atqb: error: job #{ids['other']} is pending; only failed or cancelled jobs can be "
        "retried\n"
    )
    code, _, err = run(["jobs", "retry", "9999"], capsys)
    assert (code, err) == (1, "atqb: error: no job #9999\n")


def test_jobs_retry_of_the_failed_prerequisite_names_the_jobs_waiting_for_it_again(
    cli_any_db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = _chain(cli_any_db)
    code, out, _ = run(["jobs", "retry", str(ids["vendor"])], capsys)
    assert code == 0
    assert out.splitlines() == [
        f"job #{ids['vendor']} is now pending",
        f"also re-queued 2 other job(s): #{ids['po']} purchase_order (waiting), "
        f"#{ids['receipt']} item_receipt (waiting)",
    ]


def test_jobs_list_shows_the_web_connector_user_of_each_job(
    cli_any_db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = _chain(cli_any_db)
    expected = {ids[what]: "office" for what in ("vendor", "po", "receipt")}
    expected[ids["other"]] = "annex"
    code, out, _ = run(["jobs", "list"], capsys)
    assert code == 0
    header, *rows = out.splitlines()
    user_column = header.index("USER")
    assert {int(row.split()[0]): row[user_column:].split()[0] for row in rows} == expected
    code, out, _ = run(["jobs", "list", "--json", "--status", "failed"], capsys)
    assert {job["id"]: job["qbwc_user"] for job in json.loads(out)} == expected


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["users", "remove"], "Refused (exit 1, naming the jobs)"),
        (["jobs", "retry"], "every other job made to run again is named"),
        (["jobs", "list"], "the Web Connector user"),
        (["poll"], "it waits, printing what is missing"),
        (["demo"], "--keep DIR"),
    ],
)
def test_help_says_what_the_command_does(
    argv: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run([*argv, "--help"], capsys)
    assert code == 0
    assert says in " ".join(out.split())
