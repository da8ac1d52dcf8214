"""Fixtures of the sync tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from service.db import Database
from tests.sync.helpers import Harness, harness


@pytest.fixture
def h(postgres_database_url: str, postgres_db: Database) -> Iterator[Harness]:
    """A harness on PostgreSQL in received mode."""
    with harness(postgres_database_url, postgres_db) as made:
        yield made
