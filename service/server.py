"""Serving the WSGI application with waitress (production-grade, and it runs on Windows too)."""

from __future__ import annotations

import logging

from waitress import serve as waitress_serve

from service.db import Database
from service.migrate import is_current
from service.settings import Settings
from service.web import create_app

log = logging.getLogger("atqb.server")


class NotMigrated(RuntimeError):
    """The database schema is older than this version of atqb."""


def serve(settings: Settings, host: str, port: int, threads: int = 8) -> None:
    """Serve until interrupted. Refuses to start on a database that is not migrated."""
    database = Database.from_url(settings.database_url)
    if not is_current(database):
        raise NotMigrated(
            "the database schema is not current: run `atqb db upgrade` first "
            f"({database.engine.url.render_as_string(hide_password=True)})"
        )
    app = create_app(settings, database)
    log.info("atqb serving the Web Connector at http://%s:%d/qbwc", host, port)
    waitress_serve(
        app,
        host=host,
        port=port,
        threads=threads,
        # A little above the SOAP limit, so the application answers with a SOAP fault itself.
        max_request_body_size=settings.max_body_bytes + 1024,
        ident="atqb",
        clear_untrusted_proxy_headers=True,
    )
