"""``atqb db prune`` and ``ATQB_PRUNE_AFTER_DAYS``: old history goes, unfinished work never."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from service.cli import main
from service.clock import utcnow
from service.db import Database
from service.jobstore import Answer, JobStore, NewJob
from service.models import jobs, transmissions, wc_sessions
from service.retention import prune
from service.settings import SettingsError, load_settings
from service.webconnector.sessions import Sessions

OLD = timedelta(days=100)


def _history(db: Database) -> dict[str, int]:
    """One job of each status with one answered transmission, 100 days old, and one done job
    of today; one session ended 100 days ago, one ended today, one live. Returns job ids."""
    now = utcnow()
    then = now - OLD
    made: dict[str, int] = {}
    with db.transaction() as conn:
        sessions = Sessions(conn, then)
        user = sessions.add_user("office", "pw", "")
        _, old_session = sessions.open(user, idle_seconds=60, work_at_start=0)
        sessions.end(old_session, "closeConnection")
        store = JobStore(conn, then)
        for status in ("done", "cancelled", "failed", "pending", "waiting", "in_flight", "new"):
            job, _ = store.enqueue(NewJob(kind="company_query", qbwc_user="office", payload={}))
            tid = store.record_request(
                job, session_id=old_session, request_id=str(job.id), request_xml="<rq/>", state={}
            )
            store.record_answer(tid, Answer(response_xml="<rs/>", status_code=0))
            made[status] = job.id
        for status in ("done", "cancelled", "failed", "waiting", "in_flight"):
            conn.execute(jobs.update().where(jobs.c.id == made[status]).values(status=status))
        recent = Sessions(conn, now)
        _, ended_today = recent.open(user, idle_seconds=60, work_at_start=0)
        recent.end(ended_today, "closeConnection")
        made["live_session"] = recent.open(user, idle_seconds=60, work_at_start=0)[1]
        made["ended_today"] = ended_today
        made["old_session"] = old_session
        # Done today: its transmission is recent.
        JobStore(conn, now).complete(made["new"], {})
    return made


def _left(db: Database) -> tuple[set[int], set[int], int]:
    with db.transaction() as conn:
        with_transmissions = set(conn.execute(select(transmissions.c.job_id)).scalars())
        session_ids = set(conn.execute(select(wc_sessions.c.id)).scalars())
        job_count = conn.execute(select(func.count()).select_from(jobs)).scalar_one()
    return with_transmissions, session_ids, job_count


def test_prune_removes_old_finished_history_and_keeps_unfinished_work(db: Database) -> None:
    made = _history(db)
    pruned = prune(db, timedelta(days=30), utcnow())
    assert (pruned.transmissions, pruned.sessions) == (2, 1)
    with_transmissions, session_ids, job_count = _left(db)
    kept = {made[s] for s in ("failed", "pending", "waiting", "in_flight", "new")}
    assert with_transmissions == kept
    assert session_ids == {made["ended_today"], made["live_session"]}
    assert job_count == 7  # job rows stay: `atqb jobs list` keeps its history
    with db.transaction() as conn:
        orphans = conn.execute(
            select(func.count()).where(transmissions.c.session_id.is_(None))
        ).scalar_one()
    assert orphans == len(kept)  # they outlived their session: kept, no longer pointing at it
    assert prune(db, timedelta(days=30), utcnow()) == type(pruned)(0, 0)  # nothing twice


def test_prune_older_than_more_days_than_the_history_removes_nothing(db: Database) -> None:
    _history(db)
    assert prune(db, timedelta(days=365), utcnow()).transmissions == 0


def test_prune_in_batches(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("service.retention.BATCH", 1)
    _history(db)
    assert prune(db, timedelta(days=30), utcnow()).transmissions == 2


def test_db_prune_command(
    sqlite_database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ATQB_DATABASE_URL", sqlite_database_url)
    database = Database.from_url(sqlite_database_url)
    _history(database)
    assert main(["db", "prune", "--older-than", "30"]) == 0
    out = capsys.readouterr().out
    assert "removed 2 transmission(s)" in out
    assert "1 ended session(s)" in out
    for bad in (["--older-than", "-1"], ["--older-than", "ten"], []):
        with pytest.raises(SystemExit) as exit_:
            main(["db", "prune", *bad])
        assert exit_.value.code == 2
    assert "--older-than" in capsys.readouterr().err
    database.dispose()


def test_prune_after_days_setting() -> None:
    assert load_settings().prune_after_days is None
    assert load_settings(prune_after_days="").prune_after_days is None
    assert load_settings(prune_after_days="90").prune_after_days == 90
    for bad in ("0", "-5", "a year"):
        with pytest.raises(SettingsError, match="ATQB_PRUNE_AFTER_DAYS"):
            load_settings(prune_after_days=bad)
