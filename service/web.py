"""The WSGI application of ``atqb serve``: one address for the Web Connector and for people.

Paths: ``/qbwc`` (SOAP; ``GET /qbwc?wsdl``), ``/support`` (the .qwc's AppSupport page; the Web
Connector fetches it when the application is added and wants 200, qbwc.md 7), ``/healthz``,
``/metrics`` and ``/admin``.

Before spyne sees a SOAP body, this layer refuses bodies over the size limit, empty bodies,
bodies that are not UTF-8 (the Web Connector sends nothing else) and any XML that carries a
DOCTYPE (the only way to declare entities): external-entity and entity-expansion payloads never
reach a parser. Holding every body to UTF-8 is what makes the DOCTYPE check on the bytes
complete: in UTF-16, UTF-7 or EBCDIC a DOCTYPE is not the ASCII bytes ``<!DOCTYPE``. Whatever
else goes wrong inside spyne is answered with a SOAP fault, never a bare HTTP error page.
"""

from __future__ import annotations

import codecs
import gc
import html
import io
import json
import logging
import re
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.exc import SQLAlchemyError

from service import __version__, metrics
from service.admin import AdminApp
from service.db import Database, describe_outage
from service.exchange import Exchange, utcnow
from service.migrate import is_current
from service.qbwc import soap_application
from service.sessions import Sessions
from service.settings import Settings

log = logging.getLogger("atqb.web")

StartResponse = Callable[..., Any]
Environ = dict[str, Any]
WsgiApp = Callable[[Environ, StartResponse], Iterable[bytes]]

_XML_TYPES = ("text/xml", "application/xml", "application/soap+xml")
_DOCTYPE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_UTF8 = ("utf-8", "utf8")
#: The XML declaration at the start of a body (after an optional UTF-8 byte order mark).
_DECLARATION = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*<\?xml(?P<attributes>[^>]*)\?>")
_ENCODING = re.compile(rb"""encoding\s*=\s*(?P<quote>["']?)(?P<name>[^"'\s?>]*)(?P=quote)""")
_XML_FAULT = "text/xml; charset=utf-8"
#: A SOAP body larger than this must show a live session's ticket in its first
#: :data:`PEEK_BYTES` before it is read whole (only receiveResponseXML and sendRequestXML
#: carry more than a few hundred bytes, and the Web Connector sends the ticket first).
LARGE_BODY_BYTES = 1 << 20
PEEK_BYTES = 64 * 1024
#: Large bodies (of live sessions) read and parsed at once; more wait, waitress keeping their
#: bodies in temporary files meanwhile.
LARGE_BODIES_AT_ONCE = 2
_TICKET = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?ticket(?:\s[^>]*)?>\s*([^<\s]{1,200})\s*</")


def _charset(content_type: str) -> str | None:
    """The charset parameter of a Content-Type, unquoted and lower case (the last one wins,
    as for spyne, which decodes the body with it)."""
    charset = None
    for parameter in content_type.split(";")[1:]:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip("\"'").lower()
    return charset


def _encoding_problem(content_type: str, body: bytes) -> str | None:
    """Why a SOAP body is not plain UTF-8 XML, or None when it is.

    UTF-8 is checked in slices so a 64 MB body never becomes one 64 MB string here. A NUL byte
    is refused too: no XML may hold one, and libxml2 reads a body that starts ``<\\0?\\0`` as
    UTF-16 whatever it says.
    """
    charset = _charset(content_type)
    if charset is not None and charset not in _UTF8:
        return f"charset {charset!r}: atqb reads UTF-8 only"
    declaration = _DECLARATION.match(body[:1024])
    if declaration is not None:
        encoding = _ENCODING.search(declaration.group("attributes"))
        name = encoding.group("name").decode("ascii", "replace").lower() if encoding else "utf-8"
        if name not in _UTF8:
            return f"XML declared in {name!r}: atqb reads UTF-8 only"
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(body)
    step = 1 << 20
    for start in range(0, len(body), step):
        try:
            decoder.decode(view[start : start + step], final=start + step >= len(body))
        except UnicodeDecodeError as exc:
            return f"the body is not valid UTF-8 (byte {start + exc.start})"
    if b"\0" in body:
        return "the body holds a NUL byte, which no XML may hold"
    return None


def _fault_on_error(app: WsgiApp) -> WsgiApp:
    """``app``, answering a SOAP fault instead of an HTTP error page when it raises.

    spyne turns what atqb's methods raise into SOAP faults itself; this catches what breaks
    inside spyne first (a body it cannot decode, a validator that gives up).
    """

    def guarded(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        try:
            return list(app(environ, start_response))
        except Exception:
            log.exception("the SOAP layer failed on a request of %s bytes", _length_of(environ))
            fault = soap_fault("Server", "atqb could not handle this request")
            start_response(
                "500 Internal Server Error",
                [("Content-Type", _XML_FAULT), ("Content-Length", str(len(fault)))],
                sys.exc_info(),
            )
            return [fault]

    return guarded


def _length_of(environ: Environ) -> str:
    """The request's Content-Length, for logs."""
    return str(environ.get("CONTENT_LENGTH") or 0)


class _WithoutBody(logging.Filter):
    """spyne logs every body it cannot parse in full: a password of a malformed authenticate,
    or 64 MB per request. Keep its message, drop the body."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and len(record.args) == 2:
            error, text = record.args
            record.msg = "%r in a SOAP body of %d characters (not logged)"
            record.args = (error, len(text) if isinstance(text, str | bytes) else 0)
        return True


logging.getLogger("spyne.protocol.soap.soap11.invalid").addFilter(_WithoutBody())


def soap_fault(code: str, text: str) -> bytes:
    """A SOAP 1.1 fault envelope."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soap11env:Envelope xmlns:soap11env="http://schemas.xmlsoap.org/soap/envelope/">'
        "<soap11env:Body><soap11env:Fault>"
        f"<faultcode>soap11env:{html.escape(code)}</faultcode>"
        f"<faultstring>{html.escape(text)}</faultstring>"
        "</soap11env:Fault></soap11env:Body></soap11env:Envelope>"
    ).encode()


def _respond(
    start_response: StartResponse,
    status: str,
    body: bytes,
    content_type: str,
    headers: Iterable[tuple[str, str]] = (),
) -> list[bytes]:
    start_response(
        status,
        [("Content-Type", content_type), ("Content-Length", str(len(body))), *headers],
    )
    return [body]


class AtqbApp:
    """Routes requests to the SOAP service and the small pages beside it."""

    def __init__(self, database: Database, settings: Settings, exchange: Exchange) -> None:
        self.db = database
        self.settings = settings
        self.soap = _fault_on_error(
            soap_application(exchange, max_body_bytes=settings.max_body_bytes)
        )
        self.registry = metrics.registry(database)
        self.admin = AdminApp(database, settings)
        self._large_bodies = threading.BoundedSemaphore(LARGE_BODIES_AT_ONCE)
        # /healthz asks alembic for the schema's revision on every call: its INFO lines would
        # fill the log with two lines per health check.
        logging.getLogger("alembic.runtime.migration").setLevel(logging.WARNING)

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "") or "/"
        if path in ("/qbwc", "/qbwc/"):
            return self._qbwc(environ, start_response)
        if path == "/support":
            return self._support(start_response)
        if path == "/healthz":
            return self._healthz(start_response)
        if path == "/metrics":
            return self._metrics(start_response)
        if path == "/admin" or path.startswith("/admin/"):
            return self.admin(environ, start_response)
        if path == "/":
            return _respond(
                start_response, "302 Found", b"", "text/plain", [("Location", "/support")]
            )
        return _respond(start_response, "404 Not Found", b"not found\n", "text/plain")

    # -- /qbwc -----------------------------------------------------------------------------

    def _qbwc(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST":
            return self.soap(environ, start_response)
        content_type = environ.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
        if content_type not in _XML_TYPES:
            text = f"Content-Type must be text/xml for SOAP 1.1, got {content_type or 'none'!r}"
            fault = soap_fault("Client.UnsupportedMediaType", text)
            return _respond(
                start_response, "415 Unsupported Media Type", fault, "text/xml; charset=utf-8"
            )
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if length < 0:
            fault = soap_fault("Client", "invalid Content-Length")
            return _respond(start_response, "400 Bad Request", fault, "text/xml; charset=utf-8")
        if length > self.settings.max_body_bytes:
            text = f"request body of {length} bytes exceeds {self.settings.max_body_bytes}"
            fault = soap_fault("Client.RequestTooLong", text)
            return _respond(
                start_response, "413 Payload Too Large", fault, "text/xml; charset=utf-8"
            )
        if length <= LARGE_BODY_BYTES:
            return self._qbwc_body(environ, start_response, length, b"")
        head = environ["wsgi.input"].read(PEEK_BYTES)
        try:
            live = self._live_ticket(head)
        except SQLAlchemyError:
            log.error("could not check the ticket of a large SOAP body: the database is down")
            fault = soap_fault("Server.DatabaseUnavailable", "atqb cannot reach its database")
            return _respond(start_response, "503 Service Unavailable", fault, _XML_FAULT)
        if not live:
            log.warning(
                "refused a SOAP body of %d bytes from %r without a live ticket in its first %d",
                length,
                environ.get("REMOTE_ADDR", ""),
                PEEK_BYTES,
            )
            text = (
                f"a request body over {LARGE_BODY_BYTES} bytes must carry a live session's "
                f"ticket within its first {PEEK_BYTES} bytes"
            )
            fault = soap_fault("Client.Authentication", text)
            return _respond(start_response, "403 Forbidden", fault, _XML_FAULT)
        with self._large_bodies:
            return self._qbwc_body(environ, start_response, length, head)

    def _live_ticket(self, head: bytes) -> bool:
        """Whether the start of a body names the ticket of a live Web Connector session."""
        match = _TICKET.search(head)
        if match is None:
            return False
        ticket = match.group(1).decode("utf-8", "replace")
        with self.db.transaction() as conn:
            return Sessions(conn, utcnow()).find(ticket) is not None

    def _qbwc_body(
        self, environ: Environ, start_response: StartResponse, length: int, head: bytes
    ) -> Iterable[bytes]:
        """Read the rest of a SOAP body (after ``head``), check it and hand it to spyne."""
        rest = length - len(head)
        body = head + environ["wsgi.input"].read(rest) if rest else head
        if len(body) < length:
            fault = soap_fault("Client", "request body shorter than its Content-Length")
            return _respond(start_response, "400 Bad Request", fault, "text/xml; charset=utf-8")
        if not body:
            fault = soap_fault("Client", "the request body is empty")
            return _respond(start_response, "400 Bad Request", fault, _XML_FAULT)
        problem = _encoding_problem(environ.get("CONTENT_TYPE", ""), body)
        if problem is not None:
            fault = soap_fault("Client.Encoding", problem)
            return _respond(start_response, "400 Bad Request", fault, _XML_FAULT)
        if _DOCTYPE.search(body):
            log.warning("refused a SOAP body with a DOCTYPE/ENTITY declaration")
            fault = soap_fault("Client.DoctypeRefused", "XML with a DOCTYPE is refused")
            return _respond(start_response, "400 Bad Request", fault, "text/xml; charset=utf-8")
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        with metrics.timing_call():
            # spyne answers before returning: the exchange's call runs inside this block.
            answer = list(self.soap(environ, start_response))
        # spyne leaves each call's context in reference cycles, with the call's parsed XML
        # (about 70 objects a call): freed here, in a fraction of a millisecond, instead of by
        # a collection of tens of thousands of them, tens of milliseconds long, inside a later
        # call (service.server.quiet_garbage_collector makes those rare, not impossible).
        gc.collect(0)
        return answer

    # -- small pages -----------------------------------------------------------------------

    def _support(self, start_response: StartResponse) -> Iterable[bytes]:
        page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>atqb support</title></head>
<body>
<h1>atqb {html.escape(__version__)}</h1>
<p>atqb carries purchase orders, item receipts, vendors, customers, inventory parts and on-hand
counts from Autotask PSA into QuickBooks Desktop through the QuickBooks Web Connector.</p>
<p>If the Web Connector shows an error, the administrator of this service can see every job,
every request sent to QuickBooks and every answer with <code>atqb jobs list</code> and
<code>atqb jobs show ID</code>, or on the <a href="/admin">admin page</a>.</p>
</body></html>
"""
        return _respond(start_response, "200 OK", page.encode(), "text/html; charset=utf-8")

    def _metrics(self, start_response: StartResponse) -> Iterable[bytes]:
        try:
            body = generate_latest(self.registry)
        except SQLAlchemyError as exc:
            reason = describe_outage(exc)
            if reason is None:
                raise
            log.error("/metrics outcome=database-unavailable: %s", reason)
            text = b"# atqb cannot reach its database: no metrics until it is back\n"
            return _respond(start_response, "503 Service Unavailable", text, "text/plain")
        return _respond(start_response, "200 OK", body, CONTENT_TYPE_LATEST)

    def _healthz(self, start_response: StartResponse) -> Iterable[bytes]:
        try:
            current = is_current(self.db)
        except SQLAlchemyError as exc:
            body = {"status": "error", "database": f"unreachable: {type(exc).__name__}"}
            return _respond(
                start_response,
                "503 Service Unavailable",
                json.dumps(body).encode(),
                "application/json",
            )
        body = {
            "status": "ok" if current else "error",
            "database": "ok",
            "migrations": "current" if current else "behind: run `atqb db upgrade`",
        }
        status = "200 OK" if current else "503 Service Unavailable"
        return _respond(start_response, status, json.dumps(body).encode(), "application/json")


def create_app(settings: Settings, database: Database | None = None) -> AtqbApp:
    """The whole WSGI application for these settings."""
    db = database or Database.from_url(settings.database_url)
    return AtqbApp(db, settings, Exchange(db, settings))
