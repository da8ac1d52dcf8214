"""Fixtures of the /admin tests: the real application under waitress, with admin credentials.

Pages that only read share one populated database per module and engine (``shared``); tests
that change things get their own SQLite database (``site``, ``admin``).
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from service.db import Database
from tests.admin.helpers import ADMIN, Jobs, populate
from tests.conftest import _admin_execute, postgres_url
from tests.support import serve_in_thread


@pytest.fixture
def database_url(sqlite_database_url: str) -> str:
    """SQLite only: what these tests check does not depend on the engine (``shared`` does)."""
    return sqlite_database_url


@pytest.fixture
def site(db: Database, database_url: str) -> Iterator[str]:  # noqa: ARG001 - db migrates the database served
    """Base URL of atqb serving this test's database, with /admin enabled."""
    with serve_in_thread(database_url, admin_user=ADMIN[0], admin_password=ADMIN[1]) as base:
        yield base


@pytest.fixture
def jobs(db: Database) -> Jobs:
    """The test's database, filled by :func:`tests.admin.helpers.populate`."""
    return populate(db)


@pytest.fixture
def admin(site: str) -> Iterator[httpx.Client]:
    """A client signed in to /admin."""
    with httpx.Client(base_url=site, auth=ADMIN, timeout=30) as client:
        yield client


@dataclass(frozen=True)
class Shared:
    """A populated installation shared by the read-only tests of a module."""

    client: httpx.Client
    jobs: Jobs
    db: Database


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def shared(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    sqlite_template: Path,
) -> Iterator[Shared]:
    """atqb on a database filled by :func:`populate`, once per module and engine."""
    name = None
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("admin-shared") / "atqb.db"
        shutil.copyfile(sqlite_template, path)
        url = f"sqlite:///{path}"
    else:
        template = request.getfixturevalue("postgres_template")
        name = f"atqb_test_{uuid.uuid4().hex[:12]}"
        _admin_execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        url = postgres_url(name)
    database = Database.from_url(url)
    try:
        jobs = populate(database)
        with (
            serve_in_thread(url, admin_user=ADMIN[0], admin_password=ADMIN[1]) as base,
            httpx.Client(base_url=base, auth=ADMIN, timeout=30) as client,
        ):
            yield Shared(client, jobs, database)
    finally:
        database.dispose()
        if name is not None:
            _admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
