"""/healthz: 200 when the database answers and its schema is current, 503 with the reason else."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.support import serve_in_thread


@pytest.mark.usefixtures("db")
def test_healthy(database_url: str) -> None:
    with serve_in_thread(database_url) as base:
        response = httpx.get(base + "/healthz")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"status": "ok", "database": "ok", "migrations": "current"}


def test_a_database_never_migrated_is_unhealthy(tmp_path: Path) -> None:
    with serve_in_thread(f"sqlite:///{tmp_path / 'new.db'}") as base:
        response = httpx.get(base + "/healthz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "error",
        "database": "ok",
        "migrations": "behind: run `atqb db upgrade`",
    }


def test_an_unreachable_database_is_unhealthy_and_says_so() -> None:
    # Nothing listens on port 9 of the loopback: the connection is refused at once.
    with serve_in_thread("postgresql+psycopg://atqb@127.0.0.1:9/atqb") as base:
        response = httpx.get(base + "/healthz", timeout=30)
        other = httpx.get(base + "/support")
    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "unreachable: OperationalError"}
    assert other.status_code == 200, "pages that need no database still answer"
