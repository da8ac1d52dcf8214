"""Throwaway databases for the benchmarks: a new PostgreSQL database on the test server, or a
SQLite file in a folder, each dropped afterwards. Not migrated: the benchmark does that."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conftest import _admin_execute, postgres_url

ENGINES = ("postgres", "sqlite")


@contextmanager
def database_url(engine: str, folder: Path) -> Iterator[str]:
    """The URL of a fresh, empty database of ``engine`` (``postgres`` or ``sqlite``)."""
    if engine == "sqlite":
        yield f"sqlite:///{folder / f'bench-{uuid.uuid4().hex[:8]}.db'}"
        return
    name = f"atqb_bench_{uuid.uuid4().hex[:8]}"
    _admin_execute(f'CREATE DATABASE "{name}"')
    try:
        yield postgres_url(name)
    finally:
        _admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def engines(choice: str) -> tuple[str, ...]:
    """The engines a ``--engine`` choice (``postgres``, ``sqlite`` or ``both``) names."""
    return ENGINES if choice == "both" else (choice,)
