"""Schema migrations (alembic), run by ``atqb db upgrade`` and by the tests."""

from __future__ import annotations

from importlib import resources

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from service.db import Database


def alembic_config(database: Database) -> Config:
    """An alembic configuration pointing at the packaged migrations and at ``database``."""
    config = Config()
    location = resources.files("service.migrations")
    config.set_main_option("script_location", str(location))
    config.set_main_option(
        "sqlalchemy.url", database.engine.url.render_as_string(hide_password=False)
    )
    return config


def upgrade(database: Database, revision: str = "head") -> None:
    """Migrate ``database`` to ``revision`` (the newest by default)."""
    config = alembic_config(database)
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def head_revision(database: Database) -> str | None:
    """The newest revision the package knows."""
    return ScriptDirectory.from_config(alembic_config(database)).get_current_head()


def current_revision(database: Database) -> str | None:
    """The revision the database is at, or None when it was never migrated."""
    with database.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def is_current(database: Database) -> bool:
    """Whether the database schema is the newest one this package knows."""
    return current_revision(database) == head_revision(database)
