"""Fixtures of the poller tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from service.db import Database
from service.simulators.autotask import SimulatedAutotask
from tests.poller.helpers import World


@pytest.fixture
def tenant() -> Iterator[SimulatedAutotask]:
    """A simulated Autotask tenant answering HTTP on a local address."""
    with SimulatedAutotask() as made:
        yield made


@pytest.fixture
def world(
    tenant: SimulatedAutotask,
    postgres_database_url: str,
    postgres_db: Database,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> World:
    """The tenant, PostgreSQL and the CLI, run from an empty folder (no stray .env)."""
    monkeypatch.chdir(tmp_path)
    return World(tenant, postgres_database_url, postgres_db, monkeypatch, capsys)
