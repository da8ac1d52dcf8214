"""The simulated tenant's HTTP server: routes, authentication, faults and the request log.

:class:`SimulatedAutotask` is a :class:`~.data.TenantData` that also answers HTTP on
``127.0.0.1`` (a free port), as a stdlib ``ThreadingHTTPServer`` in a background thread.

Addresses
=========

The server is plain HTTP. Two ways to reach it:

* **As Autotask** (what tests do): :meth:`SimulatedAutotask.http_client` returns an
  ``httpx.Client`` whose transport sends every ``https://*.autotask.net`` request to the server
  over loopback, keeping the ``Host`` header — what a hosts-file entry plus a TLS-terminating
  front end would do — and refuses every other host, so nothing ever leaves the machine. Behind
  it the tenant announces Autotask-shaped ``https`` URLs: the zone lookup at
  ``https://webservices.autotask.net/atservicesrest/v1.0/zoneInformation`` answers
  ``https://{zone_host}/ATServicesRest/``, and ``nextPageUrl`` is on the host the request came
  to. The real :class:`~service.autotask.AutotaskClient` then runs unchanged, zone discovery,
  paging and host checks included: :meth:`SimulatedAutotask.client` builds one.
* **Directly** at :attr:`SimulatedAutotask.local_base_url` (``http://127.0.0.1:PORT/...``),
  e.g. with curl or ``ATQB_AUTOTASK_BASE_URL``. URLs in answers then use that address. The
  client accepts it as a configured base URL, but (rightly, in production) refuses to follow
  an ``http`` ``nextPageUrl`` or to trust an ``http`` zone URL: fine for the demo's small data.

Behaviour (reference/autotask.md sections; [U] = the simulator's choice where no source says)
================================================================================================

* Authentication (2; apigrate/autotask-restapi#19): missing ``UserName`` or ``Secret`` headers,
  or a wrong secret: 401, empty body [U]. Unknown user name: 500. Wrong or missing
  ``ApiIntegrationCode``: 500 whose message names the integration code [U text]. A request
  to an ``*.autotask.net`` host other than the tenant's zone: 401 (the zone moved, 3).
* Zone lookup (3): ``GET .../zoneInformation?user=``, no credentials needed, 500 for an
  unknown or blank user. ``GET /ATServicesRest/VersionInformation``.
* Queries (4): ``POST`` (or ``GET ?search=``) ``{Entity}/query``, then ``nextPageUrl`` =
  ``{Entity}/query/next?paging=...&search=...``, answered to POST (same body) or GET; see
  :mod:`.query`. ``{Entity}/query/count``; ``{Entity}/{id}`` → ``{"item": ... | null}``.
  Children: ``PurchaseOrders/{id}/Items[/{id}]``, ``PurchaseOrderItems/{id}/Receiving[/{id}]``
  (empty for an unknown parent [U]), paged the same way by GET.
* Writes: ``PATCH {Entity}`` for entities whose Swagger has it, and
  ``PATCH PurchaseOrders/{id}/Items``: ``{"id", fields...}`` → ``{"itemId": id}``; read-only or
  unknown fields and bad values: 500 [U text]; unknown id: 500 "No matching records found."
  (9). Creating records over HTTP is not modelled (405).
* Metadata (5): ``{Entity}/entityInformation``, ``.../fields`` with the PO ``status`` and
  company ``companyType`` picklists (values as strings, this tenant's integers),
  ``.../userDefinedFields`` (none). ``ThresholdInformation`` (8) counts this tenant's API
  requests in the last hour; above ``hourly_limit`` requests get 429 [U body, no Retry-After].
* Unknown routes: 404 and wrong methods: 405, with ASP.NET's ``{"Message": ...}`` body (9).
* Faults for tests: :meth:`SimulatedAutotask.fail_next` and its shorthands answer the next N
  matching requests with 429 + ``Retry-After``, 500, the thread-threshold error
  (``Itgenatr005``, 8), a malformed body, or a dropped connection, before anything else;
  :meth:`SimulatedAutotask.fail_at_random` answers 429 or 500 to a seeded random share of
  requests (the fault-injection test's unreliable Autotask).
* Standing refusals for tests: :meth:`SimulatedAutotask.refuse_update` answers every PATCH of
  one record with HTTP 500 and a validation message, as Autotask answers validation errors
  (9 [C]: HTTP 500 with an ``errors`` array); :meth:`SimulatedAutotask.deny_queries` answers
  every query and count of an entity with HTTP 500 and the message of an API user whose
  security level may not read it (9 [C], ``autotask/samples/error-permission-500.json``; the
  stricter of the two answers Autotask gives, the other being 403).
"""

from __future__ import annotations

import collections
import contextlib
import functools
import json
import logging
import random
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal, Self
from urllib.parse import parse_qsl, quote, urlsplit

import httpx

from service.autotask import AutotaskClient

from .data import TenantData
from .query import Cursor, QueryError, parse_query, project, run
from .schema import ENTITIES, EntityDef, entity_named
from .values import dumps, to_stored

__all__ = [
    "DEFAULT_INTEGRATION_CODE",
    "DEFAULT_SECRET",
    "DEFAULT_USERNAME",
    "DEFAULT_ZONE_HOST",
    "THREAD_LIMIT_MESSAGE",
    "LoggedRequest",
    "RoutingTransport",
    "SimulatedAutotask",
]

logger = logging.getLogger("service.simulators.autotask")

DEFAULT_USERNAME = "atqb-api@northgate-it.example"
DEFAULT_SECRET = "sim-Secret-7f3a9c"  # noqa: S105 - the simulated tenant's own, not a credential
DEFAULT_INTEGRATION_CODE = "SIMULATEDTENANTCODE7"
DEFAULT_ZONE_HOST = "webservices5.autotask.net"
_AUTOTASK_HOST = re.compile(r"^[a-z0-9-]+\.autotask\.net$", re.IGNORECASE)
_LOCAL_HOSTS = ("127.0.0.1", "localhost")
#: Autotask's answer to a query the API user's security level does not allow (9 [C],
#: ``autotask/samples/error-permission-500.json``).
PERMISSION_MESSAGE = (
    "The logged in Resource does not have the adequate permissions to query this entity type."
)
THREAD_LIMIT_MESSAGE = (
    "Itgenatr005: Thread Threshold Exceeded. The thread threshold of 3 threads has been "
    "exceeded for this integration and endpoint."
)
_WINDOW = 3600.0

Action = Literal[
    "zone",
    "version",
    "threshold",
    "query",
    "count",
    "get",
    "children",
    "patch",
    "info",
    "fields",
    "udfs",
    "unrouted",
]


@dataclass(frozen=True)
class LoggedRequest:
    """One request the tenant received (no headers: they hold the credentials).

    ``action`` says what it was (``"query"``, ``"count"``, ``"get"``, ``"children"``,
    ``"patch"``, ``"fields"``, ``"zone"``, ...), ``entity`` the resource, ``page`` the page
    number of a query or child list (2 and up for ``nextPageUrl`` requests), ``body`` the JSON
    sent (numbers with a fraction as Decimal) or the raw text when it was not JSON.
    """

    method: str
    path: str
    query: Mapping[str, str]
    body: Any
    status: int
    action: Action
    entity: str | None = None
    page: int = 1


@dataclass
class _Answer:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False


def _json(status: int, body: object, **headers: str) -> _Answer:
    return _Answer(
        status, dumps(body), {"Content-Type": "application/json; charset=utf-8", **headers}
    )


def _errors(status: int, *messages: str, **headers: str) -> _Answer:
    return _json(status, {"errors": list(messages)}, **headers)


def _no_route(path: str) -> _Answer:
    return _json(
        404, {"Message": f"No HTTP resource was found that matches the request URI '{path}'."}
    )


def _bad_method(method: str) -> _Answer:
    return _json(
        405, {"Message": f"The requested resource does not support http method '{method}'."}
    )


@dataclass
class _Fault:
    answer: _Answer
    remaining: int
    path: str | None


@dataclass
class _Chaos:
    rng: random.Random
    rate_limited: float
    server_error: float
    retry_after: float
    answered: int = 0


@dataclass
class _Request:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    host: str
    headers: Mapping[str, str]

    @property
    def public(self) -> bool:
        """Addressed to an Autotask host name (through :class:`RoutingTransport`)."""
        return bool(_AUTOTASK_HOST.match(self.host.split(":")[0]))

    @property
    def origin(self) -> str:
        """Scheme and host that URLs in the answer use: https for Autotask's names."""
        return f"{'https' if self.public else 'http'}://{self.host}"


@functools.cache
def _unused_tls_context() -> ssl.SSLContext:
    return ssl.create_default_context()


class RoutingTransport(httpx.BaseTransport):
    """Sends ``https://*.autotask.net`` (and local) requests to a simulated tenant on
    ``127.0.0.1:port`` over plain HTTP, keeping the ``Host`` header; any other host fails with
    ``httpx.ConnectError``, so a test can never reach the real Autotask."""

    def __init__(self, port: int) -> None:
        self._port = port
        # Routed requests are plain HTTP: one shared TLS context spares loading the CA
        # bundle for every client (it is never used for a handshake).
        self._inner = httpx.HTTPTransport(verify=_unused_tls_context())

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Route one request (httpx's transport interface)."""
        host = request.url.host
        if not _AUTOTASK_HOST.match(host) and host not in _LOCAL_HOSTS:
            raise httpx.ConnectError(
                f"the simulated Autotask network has no host {host!r}", request=request
            )
        routed = httpx.Request(
            request.method,
            request.url.copy_with(scheme="http", host="127.0.0.1", port=self._port),
            headers=request.headers,
            stream=request.stream,
            extensions=request.extensions,
        )
        return self._inner.handle_request(routed)

    def close(self) -> None:
        """Close the pooled connections."""
        self._inner.close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "atqb-simulated-autotask"
    timeout = 30
    # Headers and body go out in two writes; with Nagle's algorithm the body would wait for
    # the client's delayed ACK (about 40 ms a request).
    disable_nagle_algorithm = True
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        headers = httpx.Headers(list(self.headers.items()))  # names ignore case
        answer = self.server.tenant._handle(self.command, self.path, headers, body)
        if answer.drop:
            self.close_connection = True
            return
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        self.wfile.write(answer.body)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s " + format, self.address_string(), *args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, tenant: SimulatedAutotask, port: int) -> None:
        self.tenant = tenant
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", port), _Handler)

    def track(self, connection: socket.socket, open_: bool) -> None:
        with self._connections_lock:
            (self._connections.add if open_ else self._connections.discard)(connection)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def open_connections(self) -> int:
        with self._connections_lock:
            return len(self._connections)

    def handle_error(self, _request: Any, client_address: Any) -> None:
        logger.debug("simulated Autotask: error serving %s", client_address, exc_info=True)


class SimulatedAutotask(TenantData):
    """A simulated Autotask REST tenant: records (:class:`~.data.TenantData`) plus an HTTP
    server. Use it as a context manager (or :meth:`start`/:meth:`stop`)::

        with demo_tenant() as tenant:
            client = tenant.client(sleep=lambda s: None)
            orders = list(client.query(PurchaseOrder))
            tenant.receive(line_id, 2)          # "change data in Autotask"
            tenant.rate_limit_next(1, retry_after=3)

    ``username``, ``secret`` and ``integration_code`` are the API user's credentials the
    tenant accepts. ``zone_host``/``zone_name`` are what the zone lookup announces.
    ``port`` 0 picks a free one. ``hourly_limit`` is Autotask's threshold of API requests per
    rolling hour (8); ``clock`` (monotonic seconds) measures that hour. ``log_limit`` bounds the
    request log (the counter keeps counting). Other keywords go to :class:`~.data.TenantData`.
    """

    def __init__(
        self,
        *,
        username: str = DEFAULT_USERNAME,
        secret: str = DEFAULT_SECRET,
        integration_code: str = DEFAULT_INTEGRATION_CODE,
        zone_host: str = DEFAULT_ZONE_HOST,
        zone_name: str = "US2",
        port: int = 0,
        hourly_limit: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
        log_limit: int = 10_000,
        **data: Any,
    ) -> None:
        super().__init__(**data)
        if not _AUTOTASK_HOST.match(zone_host):
            raise ValueError(f"zone_host must be an *.autotask.net name, got {zone_host!r}")
        self.username = username
        self.secret = secret
        self.integration_code = integration_code
        self.zone_host = zone_host
        self.zone_name = zone_name
        self.hourly_limit = hourly_limit
        self._clock = clock
        self._port = port
        self._state = threading.Lock()
        self._log: collections.deque[LoggedRequest] = collections.deque(maxlen=log_limit)
        self._count = 0
        self._recent: collections.deque[float] = collections.deque()
        self._faults: list[_Fault] = []
        self._chaos: _Chaos | None = None
        self._refused: dict[tuple[str, int], str] = {}
        self._denied: set[str] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._http_clients: list[httpx.Client] = []

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> Self:
        """Start answering HTTP in a background thread (idempotent)."""
        if self._server is None:
            server = _Server(self, self._port)
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="simulated-autotask",
                daemon=True,
            )
            thread.start()
            self._server, self._thread = server, thread
        return self

    def stop(self) -> None:
        """Stop the server, close open connections and the HTTP clients it handed out."""
        for client in self._http_clients:
            client.close()
        self._http_clients.clear()
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._server = self._thread = None
        server.shutdown()
        server.close_connections()
        server.server_close()
        thread.join()
        deadline = time.monotonic() + 5
        while server.open_connections() and time.monotonic() < deadline:
            time.sleep(0.01)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The TCP port on 127.0.0.1 (the server must be started)."""
        if self._server is None:
            raise RuntimeError("the simulated Autotask tenant is not started")
        port: int = self._server.server_address[1]
        return port

    @property
    def base_url(self) -> str:
        """The REST base as Autotask names it: ``https://{zone_host}/ATServicesRest/V1.0/``
        (reached through :meth:`http_client`)."""
        return f"https://{self.zone_host}/ATServicesRest/V1.0/"

    @property
    def zone_lookup_url(self) -> str:
        """Autotask's zone-lookup URL (the client's default), served by this tenant through
        :meth:`http_client`."""
        return "https://webservices.autotask.net/atservicesrest/v1.0/zoneInformation"

    @property
    def local_base_url(self) -> str:
        """``http://127.0.0.1:PORT/ATServicesRest/V1.0/``: the REST base reached directly."""
        return f"http://127.0.0.1:{self.port}/ATServicesRest/V1.0/"

    @property
    def local_zone_lookup_url(self) -> str:
        """The zone lookup reached directly (for ``ATQB_AUTOTASK_ZONE_URL`` beside
        :attr:`local_base_url`, so that even a 401 never sends the client to the real
        Autotask). It announces the local address, which the client refuses as a zone URL."""
        return f"http://127.0.0.1:{self.port}/ATServicesRest/V1.0/zoneInformation"

    def http_client(self, **kwargs: Any) -> httpx.Client:
        """An ``httpx.Client`` that reaches this tenant under Autotask's host names (see the
        module docstring); closed by :meth:`stop`. Keywords go to ``httpx.Client``."""
        client = httpx.Client(transport=RoutingTransport(self.port), **kwargs)
        self._http_clients.append(client)
        return client

    def client(self, *, discover: bool = False, **kwargs: Any) -> AutotaskClient:
        """The project's real :class:`~service.autotask.AutotaskClient`, with this tenant's
        credentials, connected through :meth:`http_client`. It uses :attr:`base_url`, or with
        ``discover=True`` looks the zone up as in production. Other keywords (``sleep``,
        ``retry``, ``budget``, credentials...) go to the client."""
        kwargs.setdefault("http_client", self.http_client())
        if not discover:
            kwargs.setdefault("base_url", self.base_url)
        username = kwargs.pop("username", self.username)
        secret = kwargs.pop("secret", self.secret)
        code = kwargs.pop("integration_code", self.integration_code)
        return AutotaskClient(username, secret, code, **kwargs)

    def move_zone(self, zone_host: str, zone_name: str) -> None:
        """Move the tenant to another zone: requests to the old host get 401 and the zone
        lookup announces the new one (reference/autotask.md 3)."""
        if not _AUTOTASK_HOST.match(zone_host):
            raise ValueError(f"zone_host must be an *.autotask.net name, got {zone_host!r}")
        self.zone_host, self.zone_name = zone_host, zone_name

    # -- request log -------------------------------------------------------------------------

    @property
    def requests(self) -> list[LoggedRequest]:
        """The requests received since the last :meth:`reset_requests`, oldest first (at most
        ``log_limit``)."""
        with self._state:
            return list(self._log)

    @property
    def request_count(self) -> int:
        """How many HTTP requests arrived since the last :meth:`reset_requests`."""
        with self._state:
            return self._count

    def count_requests(
        self,
        *,
        action: Action | None = None,
        entity: str | None = None,
        method: str | None = None,
    ) -> int:
        """How many logged requests match every given criterion."""
        return sum(
            1
            for r in self.requests
            if (action is None or r.action == action)
            and (entity is None or r.entity == entity)
            and (method is None or r.method == method.upper())
        )

    def reset_requests(self) -> None:
        """Empty the request log and zero the counter (the hourly threshold keeps counting)."""
        with self._state:
            self._log.clear()
            self._count = 0

    # -- fault hooks -------------------------------------------------------------------------

    def fail_next(
        self,
        times: int = 1,
        *,
        status: int = 500,
        errors: Sequence[str] = ("An unexpected error has occurred.",),
        retry_after: float | str | None = None,
        body: bytes | None = None,
        content_type: str = "application/json; charset=utf-8",
        path: str | None = None,
    ) -> None:
        """Answer the next ``times`` requests whose path contains ``path`` (ignoring case;
        None: every API request, zone lookups excepted) with ``status`` and
        ``{"errors": errors}`` (or the raw ``body``), plus ``Retry-After`` when given. Faults
        queue in order; each request consumes at most one."""
        answer = (
            _errors(status, *errors)
            if body is None
            else _Answer(status, body, {"Content-Type": content_type})
        )
        if retry_after is not None:
            answer.headers["Retry-After"] = (
                retry_after if isinstance(retry_after, str) else f"{retry_after:g}"
            )
        self._queue(answer, times, path)

    def rate_limit_next(
        self, times: int = 1, *, retry_after: float | str | None = 7, path: str | None = None
    ) -> None:
        """HTTP 429 (the hourly threshold, 8) with ``Retry-After`` unless None."""
        self.fail_next(
            times,
            status=429,
            errors=("The API request threshold has been exceeded.",),
            retry_after=retry_after,
            path=path,
        )

    def server_error_next(
        self,
        times: int = 1,
        *,
        message: str = "An unexpected error has occurred.",
        path: str | None = None,
    ) -> None:
        """HTTP 500 with an ``errors`` message (transient unless the text says otherwise)."""
        self.fail_next(times, status=500, errors=(message,), path=path)

    def thread_limit_next(
        self, times: int = 1, *, status: int = 500, path: str | None = None
    ) -> None:
        """Autotask's thread-threshold error, ``Itgenatr005`` (8), with ``status``."""
        self.fail_next(times, status=status, errors=(THREAD_LIMIT_MESSAGE,), path=path)

    def malformed_next(
        self,
        times: int = 1,
        *,
        body: bytes = b'{"items": [{"id": 1',
        status: int = 200,
        content_type: str = "application/json; charset=utf-8",
        path: str | None = None,
    ) -> None:
        """A ``status`` answer whose body is not the documented JSON (default: cut short)."""
        self.fail_next(times, status=status, body=body, content_type=content_type, path=path)

    def disconnect_next(self, times: int = 1, *, path: str | None = None) -> None:
        """Close the connection without answering (a network cut)."""
        self._queue(_Answer(0, drop=True), times, path)

    def fail_at_random(
        self,
        rng: random.Random | None,
        *,
        rate_limited: float = 0.0,
        server_error: float = 0.0,
        retry_after: float = 1.0,
    ) -> None:
        """From now on answer a random share of API requests (zone lookups excepted) that no
        queued fault answers: HTTP 429 with ``Retry-After: retry_after`` with probability
        ``rate_limited``, HTTP 500 with probability ``server_error``. Draws come from ``rng``,
        so a seeded run repeats as long as requests arrive in the same order. None stops it."""
        if not 0 <= rate_limited + server_error <= 1 or min(rate_limited, server_error) < 0:
            raise ValueError("rate_limited and server_error are shares that add up to at most 1")
        with self._state:
            self._chaos = (
                None if rng is None else _Chaos(rng, rate_limited, server_error, retry_after)
            )

    @property
    def random_faults_answered(self) -> int:
        """Requests answered with an error by :meth:`fail_at_random` so far."""
        with self._state:
            return self._chaos.answered if self._chaos else 0

    def clear_faults(self) -> None:
        """Forget every queued fault (random ones included) and standing refusal."""
        with self._state:
            self._faults.clear()
            self._chaos = None
            self._refused.clear()
            self._denied.clear()

    def refuse_update(
        self,
        entity: str,
        record_id: int,
        message: str = "The value of the field externalPONumber is not valid.",
    ) -> None:
        """Answer every PATCH of this record with HTTP 500 ``{"errors": [message]}`` until
        :meth:`clear_faults`: a validation error that does not go away."""
        with self._state:
            self._refused[(entity.casefold(), record_id)] = message

    def deny_queries(self, entity: str) -> None:
        """Answer every query and count of ``entity`` with Autotask's permission error (HTTP
        500) until :meth:`clear_faults`: an API user whose security level lacks the entity."""
        with self._state:
            self._denied.add(entity.casefold())

    def _standing_refusal(self, action: str, entity: str | None, body: object) -> _Answer | None:
        if entity is None:
            return None
        if action in ("query", "count") and entity.casefold() in self._denied:
            return _errors(500, PERMISSION_MESSAGE)
        record_id = body.get("id") if action == "patch" and isinstance(body, dict) else None
        refusal = self._refused.get((entity.casefold(), record_id)) if record_id else None
        return _errors(500, refusal) if refusal else None

    @property
    def pending_faults(self) -> int:
        """Requests that queued faults will still answer."""
        with self._state:
            return sum(f.remaining for f in self._faults)

    def _queue(self, answer: _Answer, times: int, path: str | None) -> None:
        if isinstance(times, bool) or not isinstance(times, int) or times < 1:
            raise ValueError(f"times must be a positive integer, got {times!r}")
        with self._state:
            self._faults.append(_Fault(answer, times, path.casefold() if path else None))

    def _take_fault(self, path: str, zone: bool) -> _Answer | None:
        lowered = path.casefold()
        for fault in self._faults:
            if (fault.path is None and not zone) or (fault.path and fault.path in lowered):
                fault.remaining -= 1
                if not fault.remaining:
                    self._faults.remove(fault)
                return fault.answer
        chaos = self._chaos
        if chaos is None or zone:
            return None
        draw = chaos.rng.random()
        if draw < chaos.rate_limited:
            chaos.answered += 1
            answer = _errors(429, "The API request threshold has been exceeded.")
            answer.headers["Retry-After"] = f"{chaos.retry_after:g}"
            return answer
        if draw < chaos.rate_limited + chaos.server_error:
            chaos.answered += 1
            return _errors(500, "An unexpected error has occurred.")
        return None

    # -- HTTP --------------------------------------------------------------------------------

    def _handle(self, method: str, target: str, headers: Mapping[str, str], raw: bytes) -> _Answer:
        url = urlsplit(target)
        body: Any = None
        bad_body = False
        if raw:
            try:
                body = json.loads(raw.decode("utf-8-sig"), parse_float=Decimal)
            except ValueError:
                body, bad_body = raw.decode("utf-8", "replace"), True
        request = _Request(
            method,
            url.path,
            dict(parse_qsl(url.query, keep_blank_values=True)),
            body,
            headers.get("Host", ""),
            headers,
        )
        action, entity, page, respond = self._route(request)
        with self._state:
            self._count += 1
            answer = self._take_fault(request.path, action == "zone")
            if answer is None and action not in ("zone", "version"):
                answer = self._count_for_threshold()
            if answer is None and self._authenticate(request) is None:
                answer = self._standing_refusal(action, entity, body)
        if answer is None:
            if bad_body:
                answer = _errors(400, "The request body is not valid JSON.")
            else:
                try:
                    answer = respond()
                except QueryError as exc:
                    answer = _errors(500, str(exc))
        logged = LoggedRequest(
            method, request.path, request.query, body, answer.status, action, entity, page
        )
        with self._state:
            self._log.append(logged)
        return answer

    def _count_for_threshold(self) -> _Answer | None:
        now = self._clock()
        while self._recent and self._recent[0] <= now - _WINDOW:
            self._recent.popleft()
        self._recent.append(now)
        if len(self._recent) > self.hourly_limit:
            return _errors(
                429,
                f"Request threshold exceeded: the limit of {self.hourly_limit} requests per "
                "60 minutes has been reached for this Autotask database.",
            )
        return None

    def _route(self, request: _Request) -> tuple[Action, str | None, int, Callable[[], _Answer]]:
        """What a request asks for: (action, entity, page, answer function)."""
        parts = [p for p in request.path.split("/") if p]
        keys = [p.casefold() for p in parts]
        method = request.method
        unrouted: tuple[Action, None, int, Callable[[], _Answer]] = (
            "unrouted",
            None,
            1,
            lambda: _no_route(request.path),
        )
        if keys[:1] != ["atservicesrest"]:
            return unrouted
        if keys[1:] == ["versioninformation"]:
            return "version", None, 1, self._only(method, "GET", self._version)
        if keys[1:3] == ["v1.0", "zoneinformation"] and len(keys) == 3:
            return "zone", None, 1, self._only(method, "GET", lambda: self._zone(request))
        if keys[1:2] != ["v1.0"] or len(keys) < 3:
            return unrouted
        api, api_keys = parts[2:], keys[2:]

        def guarded(answer: Callable[[], _Answer]) -> Callable[[], _Answer]:
            return lambda: self._authenticate(request) or answer()

        if api_keys == ["thresholdinformation"]:
            return "threshold", None, 1, guarded(self._only(method, "GET", self._threshold))
        entity = entity_named(api[0])
        if entity is None:
            return unrouted
        route = self._entity_route(request, entity, api_keys[1:])
        if route is None:
            return "unrouted", entity.name, 1, guarded(lambda: _no_route(request.path))
        action, page, answer = route
        return action, entity.name, page, guarded(answer)

    @staticmethod
    def _only(method: str, allowed: str, answer: Callable[[], _Answer]) -> Callable[[], _Answer]:
        return answer if method in allowed.split() else lambda: _bad_method(method)

    def _entity_route(
        self, request: _Request, entity: EntityDef, tail: list[str]
    ) -> tuple[Action, int, Callable[[], _Answer]] | None:
        method = request.method
        only = self._only
        if not tail:
            allowed = "PATCH" if entity.patchable else ""
            return "patch", 1, only(method, allowed, lambda: self._patch(entity, request.body))
        if tail == ["query"] or tail == ["query", "next"]:
            page, answer = self._paged(request, entity, "query")
            return "query", page, only(method, "GET POST", answer)
        if tail == ["query", "count"]:
            return "count", 1, only(method, "GET POST", lambda: self._count_query(entity, request))
        if tail == ["entityinformation"]:
            return "info", 1, only(method, "GET", lambda: self._info(entity))
        if tail == ["entityinformation", "fields"]:
            return "fields", 1, only(method, "GET", lambda: self._fields(entity))
        if tail == ["entityinformation", "userdefinedfields"]:
            return "udfs", 1, only(method, "GET", lambda: _json(200, {"fields": []}))
        if not tail[0].isdigit():
            return None
        return self._record_route(request, entity, int(tail[0]), tail[1:])

    def _record_route(
        self, request: _Request, entity: EntityDef, record_id: int, tail: list[str]
    ) -> tuple[Action, int, Callable[[], _Answer]] | None:
        """The route below one record: the record, or its children (``Entity/{id}/Child...``)."""
        method = request.method
        only = self._only
        if not tail:
            return "get", 1, only(method, "GET", lambda: self._get(entity, record_id, None))
        child = next(
            (
                e
                for e in ENTITIES.values()
                if e.parent and e.parent[0] == entity.name and e.parent[1].casefold() == tail[0]
            ),
            None,
        )
        if child is None or len(tail) > 2:
            return None
        if len(tail) == 2 and tail[1] != "next":
            if not tail[1].isdigit():
                return None
            child_id = int(tail[1])
            return "get", 1, only(method, "GET", lambda: self._get(child, child_id, record_id))
        if method == "PATCH" and len(tail) == 1 and child.name == "PurchaseOrderItems":
            return "patch", 1, lambda: self._patch(child, request.body, parent_id=record_id)
        page, answer = self._paged(request, child, "children", parent_id=record_id)
        return "children", page, only(method, "GET", answer)

    # -- answers -----------------------------------------------------------------------------

    def _authenticate(self, request: _Request) -> _Answer | None:
        headers = request.headers
        user, secret = headers.get("UserName"), headers.get("Secret")
        if not user or not secret:
            return _Answer(401)
        if user.strip().casefold() != self.username.casefold():
            return _errors(500, "Invalid user name, or the user is not an API user.")
        if secret != self.secret:
            return _Answer(401)
        if headers.get("ApiIntegrationCode") != self.integration_code:
            return _errors(500, "The IntegrationCode provided is not valid.")
        if request.public and request.host.split(":")[0].casefold() != self.zone_host.casefold():
            return _Answer(401)
        return None

    def _version(self) -> _Answer:
        return _json(200, {"apiVersions": ["1.0"]})

    def _zone(self, request: _Request) -> _Answer:
        user = request.query.get("user", "").strip()
        if not user or user.casefold() != self.username.casefold():
            return _errors(500, "Zone information could not be determined for this user.")
        number = re.sub(r"\D", "", self.zone_host.split(".")[0]) or "0"
        url = (
            f"https://{self.zone_host}/ATServicesRest/"
            if request.public
            else f"{request.origin}/ATServicesRest/"
        )
        return _json(
            200,
            {
                "zoneName": self.zone_name,
                "url": url,
                "webUrl": f"https://ww{number}.autotask.net/",
                "ci": int(number),
            },
        )

    def _threshold(self) -> _Answer:
        with self._state:
            used = len(self._recent)
        return _json(
            200,
            {
                "externalRequestThreshold": self.hourly_limit,
                "requestThresholdTimeframe": 60,
                "currentTimeframeRequestCount": used,
            },
        )

    def _search(self, request: _Request) -> object:
        """The query of a request: the body of a POST, else the URL's ``search``."""
        if request.method == "POST" and request.body is not None:
            return request.body
        text = request.query.get("search")
        if text is None:
            raise QueryError("The query has no search parameter.")
        try:
            return json.loads(text, parse_float=Decimal)
        except ValueError:
            raise QueryError("The search parameter is not valid JSON.") from None

    def _paged(
        self,
        request: _Request,
        entity: EntityDef,
        action: Action,
        *,
        parent_id: int | None = None,
    ) -> tuple[int, Callable[[], _Answer]]:
        """A query or child list page: the page number and the answer function."""
        paging = request.query.get("paging")
        if request.path.casefold().rstrip("/").endswith("/next") != (paging is not None):
            return 1, lambda: _no_route(request.path)
        try:
            cursor = Cursor.from_json(paging) if paging is not None else None
        except QueryError as exc:
            error = _errors(500, str(exc))
            return 1, lambda: error
        page = len(cursor.previous_ids) + 1 if cursor else 1

        def answer() -> _Answer:
            if action == "children":
                assert entity.parent is not None
                assert parent_id is not None
                search: object = {
                    "filter": [{"op": "eq", "field": entity.parent[2], "value": parent_id}]
                }
            else:
                search = self._search(request)
            query = parse_query(entity, search)
            after = cursor.after_id if cursor else -1
            with self.lock:
                rows, more = run(query, self.rows(entity), after)
                items = [project(row, query.include) for row in rows]
            base = request.path.rstrip("/")
            base = base[: -len("/next")] if cursor else base

            def url(c: Cursor) -> str:
                link = f"{request.origin}{base}/next?paging={quote(c.to_json(), safe='')}"
                if action == "query":
                    text = json.dumps(search, separators=(",", ":"), default=str)
                    link += f"&search={quote(text, safe='')}"
                return link

            previous = cursor.previous_ids if cursor else ()
            next_url = (
                url(Cursor(query.max_records, (*previous, after), items[-1]["id"]))
                if more
                else None
            )
            prev_url = (
                url(Cursor(query.max_records, previous[:-1], previous[-1])) if previous else None
            )
            return _json(
                200,
                {
                    "items": items,
                    "pageDetails": {
                        "count": len(items),
                        "requestCount": query.max_records,
                        "prevPageUrl": prev_url,
                        "nextPageUrl": next_url,
                    },
                },
            )

        return page, answer

    def _count_query(self, entity: EntityDef, request: _Request) -> _Answer:
        query = parse_query(entity, self._search(request))
        with self.lock:
            count = sum(1 for row in self.rows(entity) if query.predicate(row))
        return _json(200, {"queryCount": count})

    def _get(self, entity: EntityDef, record_id: int, parent_id: int | None) -> _Answer:
        with self.lock:
            row = self.live_row(entity, record_id)
            if row is not None and parent_id is not None:
                assert entity.parent is not None
                row = row if row[entity.parent[2]] == parent_id else None
            item = None if row is None else project(row, None)
        return _json(200, {"item": item})

    def _patch(self, entity: EntityDef, body: object, *, parent_id: int | None = None) -> _Answer:
        if not isinstance(body, dict):
            return _errors(500, "The request body must be a JSON object with an id.")
        fields = {str(k): v for k, v in body.items()}
        record_id = next((fields.pop(k) for k in list(fields) if k.casefold() == "id"), None)
        if isinstance(record_id, bool) or not isinstance(record_id, int):
            return _errors(500, "The id of the entity to update is missing or not an integer.")
        problems = []
        values: dict[str, Any] = {}
        for name, value in fields.items():
            fd = entity.field(name)
            if fd is None:
                problems.append(f"Unable to find the field {name!r} in the {entity.name} entity.")
            elif fd.read_only:
                problems.append(f"The field {fd.name} is read only.")
            else:
                try:
                    values[fd.name] = to_stored(fd, value)
                except ValueError as exc:
                    problems.append(f"Invalid value: {exc}.")
        if problems:
            return _errors(500, *problems)
        with self.lock:
            row = self.live_row(entity, record_id)
            if row is None or (
                parent_id is not None
                and entity.parent is not None
                and row[entity.parent[2]] != parent_id
            ):
                return _errors(500, "No matching records found.")
            if values:
                try:
                    self.change(entity.name, record_id, **values)
                except ValueError as exc:
                    return _errors(500, str(exc))
        return _json(200, {"itemId": record_id})

    def _info(self, entity: EntityDef) -> _Answer:
        return _json(
            200,
            {
                "info": {
                    "name": entity.model.removesuffix("Model"),
                    "canCreate": True,
                    "canDelete": entity.name in ("InventoryProducts",),
                    "canQuery": True,
                    "canUpdate": entity.patchable or entity.name == "PurchaseOrderItems",
                    "hasUserDefinedFields": entity.field("userDefinedFields") is not None,
                    "supportsWebhookCallouts": entity.name in ("Companies", "Tickets"),
                }
            },
        )

    def _fields(self, entity: EntityDef) -> _Answer:
        out = []
        for fd in entity.fields:
            if fd.type == "udf":
                continue
            choices = self.picklist(entity.name, fd.name) if fd.picklist else {}
            out.append(
                {
                    "name": fd.name,
                    "dataType": fd.type,
                    "length": 0,
                    "isRequired": fd.required,
                    "isReadOnly": fd.read_only,
                    "isQueryable": True,
                    "isReference": fd.reference is not None,
                    "referenceEntityType": fd.reference or "",
                    "isPickList": fd.picklist,
                    "picklistValues": [
                        {
                            "value": str(value),
                            "label": label,
                            "isDefaultValue": order == 0,
                            "sortOrder": order,
                            "parentValue": "",
                            "isActive": True,
                            "isSystem": True,
                        }
                        for order, (label, value) in enumerate(choices.items())
                    ]
                    if fd.picklist
                    else None,
                    "picklistParentValueField": "",
                    "isSupportedWebhookField": False,
                }
            )
        return _json(200, {"fields": out})
