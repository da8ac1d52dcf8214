"""Behind a proxy, the login throttle counts the client addresses the proxy forwards, and only
when ``ATQB_TRUSTED_PROXY`` names that proxy. ``atqb serve`` runs as a real process; the test
plays the proxy, sending ``X-Forwarded-For`` from 127.0.0.1 as Caddy would from its container.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from service.db import Database
from service.webconnector.throttle import ADDRESS
from tests.hostile.test_auth import POLICY, Client, row, seed_failures
from tests.support import add_user, run_service

pytestmark = pytest.mark.postgres

PROXY = "127.0.0.1"
TRUSTING = {"ATQB_TRUSTED_PROXY": PROXY}
#: Two Web Connectors out on the internet, as the proxy sees them.
A, B = "198.51.100.7", "203.0.113.9"


@pytest.fixture
def office_db(postgres_db: Database) -> Database:
    """The test database, with the Web Connector user "office" (password "right")."""
    add_user(postgres_db, "office", "right")
    return postgres_db


@contextmanager
def forwarded(base: str, client: str, peer: str = PROXY) -> Iterator[Client]:
    """SOAP calls from ``peer`` that say, in X-Forwarded-For, they are for ``client``."""
    made = Client(base, peer, headers={"X-Forwarded-For": client})
    try:
        yield made
    finally:
        made.http.close()


def lock_address(db: Database, caller: Client, counted_as: str) -> None:
    """Fail logins through ``caller`` until the address they are counted under is locked."""
    assert caller.authenticate("nobody-0", "guess") == ("", "nvu")
    counted = row(db, ADDRESS, counted_as)
    assert counted is not None, f"not counted as {counted_as}"
    assert counted["failures"] == 1, f"not counted as {counted_as}"
    seed_failures(db, ADDRESS, counted_as, POLICY.address_limit - 1)
    assert caller.authenticate("nobody-1", "guess") == ("", "nvu")
    locked = row(db, ADDRESS, counted_as)
    assert locked is not None, locked
    assert locked["lockouts"] == 1, locked


def test_behind_the_trusted_proxy_each_forwarded_client_is_locked_out_alone(
    postgres_database_url: str, office_db: Database, tmp_path: Path
) -> None:
    with (
        run_service(postgres_database_url, tmp_path, TRUSTING) as service,
        forwarded(service.url, A) as attacker,
        forwarded(service.url, B) as office,
        # A client may write anything before the entry the proxy adds; only that entry counts.
        forwarded(service.url, f"{B}, {A}") as disguised,
    ):
        lock_address(office_db, attacker, A)
        assert row(office_db, ADDRESS, PROXY) is None  # the proxy itself is not counted
        assert attacker.authenticate("office", "right") == ("", "nvu")
        assert disguised.authenticate("office", "right") == ("", "nvu")
        ticket, outcome = office.authenticate("office", "right")
        assert len(ticket) == 64
        assert outcome == "none"
        assert row(office_db, ADDRESS, B) is None
        assert f"trusting X-Forwarded-For, -Proto and -Host from proxy {PROXY}" in service.log()


def test_a_peer_other_than_the_trusted_proxy_cannot_choose_its_address(
    postgres_database_url: str, office_db: Database, tmp_path: Path
) -> None:
    with (
        run_service(postgres_database_url, tmp_path, TRUSTING) as service,
        forwarded(service.url, A, peer="127.0.0.2") as direct,
        forwarded(service.url, B, peer="127.0.0.2") as direct_again,
    ):
        lock_address(office_db, direct, "127.0.0.2")
        assert row(office_db, ADDRESS, A) is None
        assert direct_again.authenticate("office", "right") == ("", "nvu")


def test_without_a_trusted_proxy_x_forwarded_for_is_ignored(
    postgres_database_url: str, office_db: Database, tmp_path: Path
) -> None:
    with (
        run_service(postgres_database_url, tmp_path) as service,
        forwarded(service.url, A) as attacker,
        forwarded(service.url, B) as office,
    ):
        lock_address(office_db, attacker, PROXY)
        assert row(office_db, ADDRESS, A) is None
        # Whatever the header says, every client behind 127.0.0.1 shares its lock.
        assert office.authenticate("office", "right") == ("", "nvu")
        assert row(office_db, ADDRESS, B) is None
        assert "ATQB_TRUSTED_PROXY unset: no proxy trusted" in service.log()
