"""How many SQL statements each Web Connector call runs: the count must not creep back up.

Counted with SQLAlchemy's ``before_cursor_execute`` event on the real engines (PostgreSQL and
SQLite), for one round trip of one job and for a round trip of a batch of 50: a batch writes
set-based, so it costs the same statements as one job.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from service.db import Database
from service.exchange import Exchange
from service.settings import load_settings
from tests.support import CompanyFile, add_user, enqueue_company_queries

#: sendRequestXML + receiveResponseXML (issue 13: at most 8, from 14). sendRequestXML: the
#: session found and touched, the claim, the transmissions (one more when jobs' step states
#: change: not for a CompanyQuery). receiveResponseXML: the session (locked) with its open
#: requests and their jobs, the answers (which of them were still open: issue 14's two answers
#: on one ticket at once), the jobs done, their dependents released, the session touched with
#: its progress read.
ROUND_TRIP_STATEMENTS = 8


@contextmanager
def counting(db: Database) -> Iterator[list[str]]:
    """The statements run on ``db`` inside the block (transaction control not included)."""
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.split(None, 1)[0].upper() not in ("BEGIN", "COMMIT", "ROLLBACK"):
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def round_trip(db: Database, database_url: str, jobs: int) -> tuple[list[str], list[str]]:
    add_user(db, "office", "pw")
    enqueue_company_queries(db, "office", jobs)
    exchange = Exchange(db, load_settings(database_url=database_url, batch_size=50))
    # authenticate also looks for expired sessions and leases (every 10 s at most): not counted.
    ticket, _ = exchange.authenticate("office", "pw")
    with counting(db) as send:
        request = exchange.send_request_xml(ticket, "", "", "US", 13, 0)
    answer = CompanyFile().process(request)
    with counting(db) as receive:
        percent = exchange.receive_response_xml(ticket, answer, "", "")
    assert percent == 100
    return send, receive


@pytest.mark.parametrize("jobs", [1, 50])
def test_a_round_trip_runs_few_statements(db: Database, database_url: str, jobs: int) -> None:
    send, receive = round_trip(db, database_url, jobs)
    assert len(send) + len(receive) <= ROUND_TRIP_STATEMENTS, "\n".join(send + receive)
