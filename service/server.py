"""Serving the WSGI application with waitress (production-grade, and it runs on Windows too)."""

from __future__ import annotations

import gc
import logging
import math
import time
from typing import Any

import spyne.const
from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer, MultiSocketServer, create_server

from service.db import Database
from service.exchange import utcnow
from service.migrate import is_current
from service.retention import start_automatic
from service.settings import Settings
from service.web import create_app

log = logging.getLogger("atqb.server")

#: The forwarding headers believed from the trusted proxy (Caddy sets all three).
FORWARDED_HEADERS = frozenset({"x-forwarded-for", "x-forwarded-proto", "x-forwarded-host"})


#: Bytes of a request body waitress holds in memory before moving it to a temporary file:
#: with ``ATQB_CONNECTION_LIMIT`` connections, at most 64 MB for 500 clients together.
INBUF_OVERFLOW = 128 * 1024


class DeadlineChannel(HTTPChannel):
    """A waitress connection that must deliver each request whole within ``deadline`` seconds.

    waitress' ``channel_timeout`` counts idle time, which a client sending a byte a second
    resets forever; hundreds of such clients would hold every connection slot. Here the clock
    starts at a request's first byte, and the connection is dropped (without an answer) when
    the request is not complete at the deadline. The main loop asks every channel whether it is
    readable at least once a second, which is where the deadline is checked.
    """

    deadline: float = 60.0
    request_started: float | None = None

    def received(self, data: bytes) -> bool:
        if self.request is None and self.request_started is None:
            self.request_started = time.monotonic()
        result: bool = super().received(data)
        if self.request is None:
            self.request_started = None
        return result

    def readable(self) -> bool:
        started = self.request_started
        if started is not None and time.monotonic() - started > self.deadline:
            if not self.will_close:
                log.warning(
                    "dropped a connection from %r: its request was not complete after %d s",
                    self.addr[0] if self.addr else "?",
                    self.deadline,
                )
            self.will_close = True
        return bool(super().readable())


#: The youngest generation's threshold while serving (CPython's default is 700). spyne makes
#: thousands of short-lived objects per call; at 700 the collector runs several times per call,
#: and every tenth of those runs also scans the older generation.
GC_THRESHOLD = 50_000


def quiet_garbage_collector() -> None:
    """No stop-the-world collections inside a Web Connector call (issue 13).

    Everything made at start-up (modules, spyne's interface, the SQLAlchemy metadata, the XSD)
    lives as long as the process: ``gc.freeze()`` moves it out of the collector's sight, so a
    full collection no longer walks a few hundred thousand objects that can never be garbage.
    A higher first threshold makes collections rarer; what a call leaves in reference cycles
    is collected when the call ends (:mod:`service.web`), and reference counting frees the rest
    at once. spyne's own full collection at the end of a call, once a second at most
    (``spyne.const.MIN_GC_INTERVAL``, to close file handles sooner; atqb keeps none in a call),
    is turned off.
    """
    gc.collect()
    gc.freeze()
    _, second, third = gc.get_threshold()
    gc.set_threshold(GC_THRESHOLD, second, third)
    spyne.const.MIN_GC_INTERVAL = math.inf


class NotMigrated(RuntimeError):
    """The database schema is older than this version of atqb."""


def proxy_options(trusted_proxy: str | None) -> dict[str, Any]:
    """waitress's options for ``ATQB_TRUSTED_PROXY``: which peer's forwarding headers it believes.

    From the trusted proxy, the last X-Forwarded-For entry (the one the proxy added) becomes
    ``REMOTE_ADDR``, which the login throttle counts. From any other peer, and always when no
    proxy is trusted, the forwarding headers are removed before the application sees them.
    """
    if trusted_proxy is None:
        # waitress refuses trusted_proxy_headers without a trusted_proxy.
        return {"clear_untrusted_proxy_headers": True}
    return {
        "trusted_proxy": trusted_proxy,
        "trusted_proxy_count": 1,
        "trusted_proxy_headers": set(FORWARDED_HEADERS),
        "clear_untrusted_proxy_headers": True,
    }


def serve(settings: Settings, host: str, port: int, threads: int = 8) -> None:
    """Serve until interrupted. Refuses to start on a database that is not migrated."""
    database = Database.from_url(settings.database_url)
    if not is_current(database):
        raise NotMigrated(
            "the database schema is not current: run `atqb db upgrade` first "
            f"({database.engine.url.render_as_string(hide_password=True)})"
        )
    app = create_app(settings, database)
    if settings.prune_after_days is not None:
        log.info(
            "pruning history older than %d days every hour (ATQB_PRUNE_AFTER_DAYS)",
            settings.prune_after_days,
        )
    start_automatic(database, settings.prune_after_days, utcnow)
    quiet_garbage_collector()
    log.info("atqb serving the Web Connector at http://%s:%d/qbwc", host, port)
    if settings.trusted_proxy is None:
        log.info("ATQB_TRUSTED_PROXY unset: no proxy trusted, client addresses are the TCP peers'")
    else:
        log.info(
            "trusting X-Forwarded-For, -Proto and -Host from proxy %s (ATQB_TRUSTED_PROXY)",
            "at any address" if settings.trusted_proxy == "*" else settings.trusted_proxy,
        )
    server = create_server(
        app,
        host=host,
        port=port,
        threads=threads,
        # A little above the SOAP limit, so the application answers with a SOAP fault itself.
        max_request_body_size=settings.max_body_bytes + 1024,
        connection_limit=settings.connection_limit,
        # Bodies over this wait in temporary files, not memory, until they are complete.
        inbuf_overflow=INBUF_OVERFLOW,
        ident="atqb",
        **proxy_options(settings.trusted_proxy),
    )
    listeners = (
        list((server.map or {}).values()) if isinstance(server, MultiSocketServer) else [server]
    )
    channel = type("Channel", (DeadlineChannel,), {"deadline": settings.request_deadline})
    for listener in listeners:
        if isinstance(listener, BaseWSGIServer):
            listener.channel_class = channel
    server.print_listen("Serving on http://{}:{}")
    server.run()
