"""``/admin`` sign-ins are throttled and logged like Web Connector logins, and ``/admin`` and
``/metrics`` say so (503) while the database is down. Over HTTP against the real application
under waitress; clients take other loopback source addresses to look like other machines."""

from __future__ import annotations

import logging

import httpx
import pytest

from service.webconnector.throttle import Policy
from tests.support import free_port, serve_in_thread

ADMIN = {"admin_user": "boss", "admin_password": "right-horse-battery"}


def _client(address: str) -> httpx.Client:
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=30)


@pytest.mark.usefixtures("db")
def test_admin_password_guessing_is_locked_out_and_logged(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        caplog.at_level(logging.WARNING),
        serve_in_thread(database_url, **ADMIN) as url,
        _client("127.0.0.2") as attacker,
        _client("127.0.0.3") as operator,
    ):
        for n in range(Policy().user_limit):
            answer = attacker.get(url + "/admin", auth=("boss", f"guess-{n}"))
            assert answer.status_code == 401
        # Locked: even the right password is refused from the guessing address...
        assert (
            attacker.get(url + "/admin", auth=("boss", ADMIN["admin_password"])).status_code == 401
        )
        # ...but not from the operator's.
        assert (
            operator.get(url + "/admin", auth=("boss", ADMIN["admin_password"])).status_code == 200
        )
        # A browser's first request (no credentials yet) is not a failure.
        assert operator.get(url + "/admin").status_code == 401
        assert (
            operator.get(url + "/admin", auth=("boss", ADMIN["admin_password"])).status_code == 200
        )
    refused = [r.getMessage() for r in caplog.records if "/admin sign-in refused" in r.getMessage()]
    assert len(refused) == Policy().user_limit + 1
    assert "'127.0.0.2'" in refused[0]
    assert any("locked" in r.getMessage() for r in caplog.records)
    assert not any(ADMIN["admin_password"] in r.getMessage() for r in caplog.records)


def test_admin_and_metrics_say_the_database_is_unavailable() -> None:
    nowhere = f"postgresql+psycopg://postgres:s3cret@127.0.0.1:{free_port()}/atqb"
    with serve_in_thread(nowhere, **ADMIN) as url:
        metrics = httpx.get(url + "/metrics", timeout=30)
        admin = httpx.get(url + "/admin", auth=("boss", ADMIN["admin_password"]), timeout=30)
    assert metrics.status_code == 503
    assert b"database" in metrics.content
    assert admin.status_code == 503
    assert b"database" in admin.content
    assert b"s3cret" not in metrics.content + admin.content
