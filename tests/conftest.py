"""Fixtures shared by the whole suite: databases on both engines, paths to the reference material.

PostgreSQL: a template database is migrated once per run; every test gets its own database
created from it (``CREATE DATABASE ... TEMPLATE``) and dropped afterwards. SQLite: a migrated file
is copied for every test. ``scripts/test`` makes sure the PostgreSQL server runs and exports
``ATQB_TEST_POSTGRES_URL`` when it had to start a private one.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from service.db import Database
from service.migrate import upgrade
from service.settings import Settings

REPO = Path(__file__).resolve().parents[1]
# Reference data the tests read, kept in the repository (origins, licences: tests/data/README.md).
REFERENCE = REPO / "tests" / "data"
# Intuit's qbXML 13.0 schema: the package's own copy (test_reference_data checks it byte for byte).
REFERENCE_XSD = REPO / "service" / "qbxml" / "xsd" / "qbxmlops130.xsd"
SWAGGER = REFERENCE / "autotask" / "autotask-rest-v1.swagger.subset.json"
CAPTURE = REFERENCE / "qbwc" / "envelopes" / "qbwc-2.0-capture"

POSTGRES_ADMIN_URL = os.environ.get(
    "ATQB_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)

# Settings come from the environment: a developer's own ATQB_* variables must not leak into tests.
# ATQB_TEST_* are the tests' own knobs (the server, the load size, the fault-injection seed).
for _name in [name for name in os.environ if name.startswith("ATQB_")]:
    if not _name.startswith("ATQB_TEST_"):
        del os.environ[_name]

#: The file the program reads settings from (relative to its working directory), as shipped.
PRODUCT_ENV_FILE = Settings.model_config.get("env_file")


@pytest.fixture(autouse=True)
def _no_dotenv_of_the_developer(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings made in the test process ignore any ``.env``: the developer's, in the working
    directory pytest runs in, must not change a test's outcome (tests/test_isolation.py).
    Programs the tests start run in a temporary directory of their own."""
    monkeypatch.setitem(Settings.model_config, "env_file", None)


@pytest.fixture
def dotenv_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An empty working directory whose ``.env`` the settings read as the program does."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(Settings.model_config, "env_file", PRODUCT_ENV_FILE)
    return tmp_path


def _admin_execute(*statements: str) -> None:
    engine = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            for statement in statements:
                connection.execute(text(statement))
    finally:
        engine.dispose()


def postgres_url(database: str) -> str:
    """The URL of another database on the test server."""
    return make_url(POSTGRES_ADMIN_URL).set(database=database).render_as_string(False)


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """A migrated template database, made once per test run."""
    name = f"atqb_template_{uuid.uuid4().hex[:12]}"
    _admin_execute(f'CREATE DATABASE "{name}"')
    database = Database.from_url(postgres_url(name))
    try:
        upgrade(database)
    finally:
        database.dispose()
    yield name
    _admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_database_url(postgres_template: str) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for one test, dropped afterwards."""
    name = f"atqb_test_{uuid.uuid4().hex[:12]}"
    _admin_execute(f'CREATE DATABASE "{name}" TEMPLATE "{postgres_template}"')
    yield postgres_url(name)
    _admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, made once per test run."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    database = Database.from_url(f"sqlite:///{path}")
    upgrade(database)
    database.dispose()
    return path


@pytest.fixture
def sqlite_database_url(sqlite_template: Path, tmp_path: Path) -> str:
    """A fresh, migrated SQLite database file for one test."""
    path = tmp_path / "atqb.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """A fresh migrated database, once on each engine."""
    fixture = "sqlite_database_url" if request.param == "sqlite" else "postgres_database_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """The database of :func:`database_url`, opened."""
    database = Database.from_url(database_url)
    yield database
    database.dispose()


@pytest.fixture
def postgres_db(postgres_database_url: str) -> Iterator[Database]:
    """A fresh PostgreSQL database, opened (for tests of PostgreSQL-only behaviour)."""
    database = Database.from_url(postgres_database_url)
    yield database
    database.dispose()


# -- time by folder ------------------------------------------------------------------------------
# The fault, fuzz and load tests must stay under ten minutes together in CI (issue 7): the end of
# every run says how long each folder of the suite took (setup and teardown included).

_SECONDS_BY_FOLDER: dict[str, float] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Add a test phase's time to its folder's."""
    parts = Path(report.nodeid.split("::")[0]).parts
    folder = "/".join(parts[:2]) if len(parts) > 2 else parts[0]
    _SECONDS_BY_FOLDER[folder] = _SECONDS_BY_FOLDER.get(folder, 0.0) + report.duration


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the time of each folder, and of the fault, fuzz and load tests together."""
    if not _SECONDS_BY_FOLDER:
        return
    terminalreporter.section("time by folder")
    for folder, seconds in sorted(_SECONDS_BY_FOLDER.items(), key=lambda item: -item[1]):
        terminalreporter.write_line(f"{seconds:8.1f} s  {folder}")
    proof = [f"tests/{name}" for name in ("faults", "hostile", "load")]
    if not any(folder in _SECONDS_BY_FOLDER for folder in proof):
        return
    together = sum(_SECONDS_BY_FOLDER.get(folder, 0.0) for folder in proof)
    terminalreporter.write_line(
        f"{together:8.1f} s  fault, fuzz and load tests together ({', '.join(proof)})"
    )
