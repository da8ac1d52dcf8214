"""Database connections: one engine per URL, short transactions, SQLite safe for many threads.

PostgreSQL is the production database. SQLite is the embedded default: it has a single writer, so
every transaction starts with ``BEGIN IMMEDIATE`` (it takes the write lock at once instead of
failing half-way with "database is locked"), waits for the lock instead of failing, and runs in
WAL mode so readers never block the writer.
"""

from __future__ import annotations

import select
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError

#: How long a SQLite writer waits for the lock before giving up (milliseconds).
SQLITE_BUSY_TIMEOUT_MS = 30_000


def _prepare_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's begin() decide when transactions start (pysqlite's own handling would
        # start them lazily and as deferred transactions).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create the engine for a SQLAlchemy URL (``sqlite:///...`` or ``postgresql+psycopg://...``)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(url, **kwargs)
        _prepare_sqlite(engine)
        return engine
    engine = create_engine(url, **kwargs)
    event.listen(engine, "checkout", _check_alive)
    return engine


def _check_alive(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Give a pooled PostgreSQL connection out only if the server has not closed it.

    Instead of a ping, which costs a round trip to the server on every call: an idle
    connection has nothing to read, so anything there (the server's goodbye when it restarts
    or ends the session, or the end of the stream) means it is gone. The pool then opens a new
    connection (SQLAlchemy's answer to :class:`~sqlalchemy.exc.DisconnectionError`).
    """
    if dbapi_connection.closed or _has_input(dbapi_connection.fileno()):
        raise DisconnectionError("the database server closed the connection")


def _has_input(fd: int) -> bool:
    """Whether the socket ``fd`` has something to read, or was closed, without waiting."""
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        return bool(poller.poll(0))
    return bool(select.select([fd], [], [], 0)[0])  # Windows: no poll()


class Database:
    """An engine and the one way to run a unit of work on it."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def from_url(cls, url: str) -> Database:
        """Open the database at ``url``."""
        return cls(make_engine(url))

    @property
    def is_postgres(self) -> bool:
        """Whether this is PostgreSQL (and claims may use ``SKIP LOCKED``)."""
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A connection inside a transaction, committed when the block ends without an exception."""
        with self.engine.begin() as connection:
            yield connection

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def describe_outage(exc: BaseException) -> str | None:
    """One line for an operator when ``exc`` says the database cannot be used right now (server
    down or restarting, connection lost, SQLite locked past its timeout); None for other errors,
    which are bugs and keep their traceback."""
    if not isinstance(exc, DBAPIError):
        return None
    if not (isinstance(exc, OperationalError) or exc.connection_invalidated):
        return None
    text = str(exc.orig if exc.orig is not None else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
