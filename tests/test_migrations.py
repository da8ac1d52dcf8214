"""The migrations produce the schema the models describe, on both engines."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from service.db import Database
from service.migrate import (
    alembic_config,
    current_revision,
    head_revision,
    is_current,
    upgrade,
)
from service.models import Base


def _differences(db: Database) -> list[object]:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


def test_migrated_schema_matches_models(db: Database) -> None:
    assert _differences(db) == []


def test_partial_unique_index_is_created(db: Database) -> None:
    indexes = {ix["name"]: ix for ix in inspect(db.engine).get_indexes("jobs")}
    assert indexes["uq_jobs_idempotency_key_unfinished"]["unique"]


def test_database_is_at_head_and_upgrade_is_repeatable(db: Database) -> None:
    assert is_current(db)
    upgrade(db)  # running it again changes nothing and does not fail
    assert current_revision(db) == head_revision(db)


def test_fresh_database_is_not_current(tmp_path: Path) -> None:
    database = Database.from_url(f"sqlite:///{tmp_path / 'new.db'}")
    assert current_revision(database) is None
    assert not is_current(database)
    upgrade(database)
    assert is_current(database)
    database.dispose()


def test_the_newest_migration_can_be_undone_and_redone(db: Database) -> None:
    """Downgrading the head (poller_orders.final_at) to 0009 and upgrading again leaves the
    schema the models describe."""
    config = alembic_config(db)
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0009")
    assert current_revision(db) == "0009"
    assert "final_at" not in {c["name"] for c in inspect(db.engine).get_columns("poller_orders")}
    upgrade(db)
    assert is_current(db)
    assert _differences(db) == []
