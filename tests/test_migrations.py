"""The migrations produce the schema the models describe, on both engines."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from service.db import Database
from service.migrate import current_revision, head_revision, is_current, upgrade
from service.models import Base


def test_migrated_schema_matches_models(db: Database) -> None:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_partial_unique_index_is_created(db: Database) -> None:
    indexes = {ix["name"]: ix for ix in inspect(db.engine).get_indexes("jobs")}
    assert indexes["uq_jobs_idempotency_key_unfinished"]["unique"]


def test_database_is_at_head_and_upgrade_is_repeatable(db: Database) -> None:
    assert is_current(db)
    upgrade(db)  # running it again changes nothing and does not fail
    assert current_revision(db) == head_revision(db)


def test_fresh_database_is_not_current(tmp_path) -> None:
    database = Database.from_url(f"sqlite:///{tmp_path / 'new.db'}")
    assert current_revision(database) is None
    assert not is_current(database)
    upgrade(database)
    assert is_current(database)
    database.dispose()
