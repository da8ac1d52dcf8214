"""A table of hostile payloads against a real waitress server, each with the answer it gets.

Every payload is sent to ``atqb serve``'s WSGI application under waitress (the server of
production), by httpx or, for what only raw bytes can say (chunked and truncated bodies, bad
framing), over a plain socket. After each one the service must still serve a Web Connector, the
waiting job must be untouched, and nothing secret may show in the answer or the logs. The same
table, in words, is in ``tests/hostile/README.md``.
"""

from __future__ import annotations

import logging
import shutil
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from service.clock import utcnow
from service.db import Database
from service.jobstore import JobStore
from service.simulators.webconnector import build_envelope, request_headers
from tests.hostile.wire import (
    http_request,
    judge,
    raw_exchange,
    split_http,
)
from tests.support import add_user, enqueue_company_queries, serve_in_thread

MAX_BODY = 2 * 1024 * 1024
PASSWORD = "S3cret-Passw0rd"
XML = {"Content-Type": "text/xml; charset=utf-8"}


def envelope(method: str, inner: str = "", *, declaration: str = "") -> bytes:
    """A SOAP envelope whose method element holds ``inner`` as it is (no escaping)."""
    marker = "\x01MARKER\x01"
    body = build_envelope(method, [("strVersion", marker)]).decode()
    body = body.replace(f"<strVersion>{marker}</strVersion>", inner)
    if declaration:
        body = body.replace('<?xml version="1.0" encoding="utf-8"?>', declaration)
    return body.encode()


def doctype(internal: str, inner: str, *, encoding: str = "utf-8") -> str:
    """An envelope (as text) with a DOCTYPE declaring ``internal``, calling clientVersion."""
    head = f'<?xml version="1.0" encoding="{encoding}"?><!DOCTYPE d [{internal}]>'
    text = envelope("clientVersion", f"<strVersion>{inner}</strVersion>").decode()
    return head + text.split("?>", 1)[1]


def laughs(levels: int) -> str:
    """The "billion laughs": each entity is ten of the one before."""
    entities = '<!ENTITY l0 "lol">' + "".join(
        f'<!ENTITY l{n} "{f"&l{n - 1};" * 10}">' for n in range(1, levels + 1)
    )
    return doctype(entities, f"&l{levels};")


XXE = doctype('<!ENTITY x SYSTEM "file:///etc/passwd">', "&x;")
XXE_NETWORK = doctype('<!ENTITY % p SYSTEM "http://127.0.0.1:9/evil.dtd"> %p;', "x")
QUADRATIC = doctype(f'<!ENTITY a "{"a" * 50_000}">', "&a;" * 5_000)
AUTHENTICATE_BROKEN = envelope(
    "authenticate", f"<strUserName>office</strUserName><strPassword>{PASSWORD}</strPassword"
)


@dataclass(frozen=True)
class Payload:
    """A body and its Content-Type, and the answer it must get."""

    name: str
    body: bytes
    content_type: str | None
    status: int
    #: Part of the fault's code or text ("" for a result).
    fault: str


PAYLOADS = [
    Payload("XML external entity (file)", XXE.encode(), XML["Content-Type"], 400, "DOCTYPE"),
    Payload("external DTD over the network", XXE_NETWORK.encode(), "text/xml", 400, "DOCTYPE"),
    Payload("billion laughs (10^9)", laughs(9).encode(), "text/xml", 400, "DOCTYPE"),
    Payload("quadratic blow-up", QUADRATIC.encode(), "text/xml", 400, "DOCTYPE"),
    Payload(
        "XXE in UTF-16 (with BOM)",
        XXE.replace("utf-8", "utf-16").encode("utf-16"),
        "text/xml",
        400,
        "not valid UTF-8",
    ),
    Payload(
        "XXE in UTF-16BE (no BOM)",
        XXE.replace("utf-8", "utf-16be").encode("utf-16-be"),
        "text/xml",
        400,
        "NUL byte",
    ),
    Payload(
        "XXE in UTF-7",
        XXE.replace("utf-8", "utf-7").replace("<!DOCTYPE", "+ADw-!DOCTYPE").encode(),
        "text/xml",
        400,
        "UTF-8 only",
    ),
    Payload(
        "undeclared entity",
        envelope("clientVersion", "<strVersion>&x;</strVersion>"),
        "text/xml",
        500,
        "Client",
    ),
    Payload(
        "100,000 nested elements",
        envelope("clientVersion", "<a>" * 100_000 + "</a>" * 100_000),
        "text/xml",
        500,
        "Excessive depth",
    ),
    Payload(
        "big text node (0.9 MB)",
        envelope("clientVersion", "<strVersion>" + "x" * 900_000 + "</strVersion>"),
        "text/xml",
        200,
        "",
    ),
    Payload(
        "huge text node (1.9 MB) without a live ticket",
        envelope("clientVersion", "<strVersion>" + "x" * 1_900_000 + "</strVersion>"),
        "text/xml",
        403,
        "Client.Authentication",
    ),
    Payload(
        "body over the limit",
        envelope("clientVersion", "<strVersion>" + "x" * MAX_BODY + "</strVersion>"),
        "text/xml",
        413,
        "exceeds",
    ),
    Payload(
        "invalid UTF-8",
        envelope("clientVersion", "<strVersion>@</strVersion>").replace(b"@", b"\xc3\x28\xff"),
        XML["Content-Type"],
        400,
        "not valid UTF-8",
    ),
    Payload(
        "charset that does not match the body",
        envelope("clientVersion", "<strVersion>x</strVersion>"),
        "text/xml; charset=utf-16",
        400,
        "UTF-8 only",
    ),
    Payload(
        "unknown charset",
        envelope("serverVersion"),
        "text/xml; charset=no-such-thing",
        400,
        "UTF-8 only",
    ),
    Payload(
        "Latin-1 declared",
        envelope("serverVersion", declaration='<?xml version="1.0" encoding="iso-8859-1"?>'),
        "text/xml",
        400,
        "UTF-8 only",
    ),
    Payload(
        "JSON content type", b'{"method": "serverVersion"}', "application/json", 415, "text/xml"
    ),
    Payload(
        "form content type",
        b"method=serverVersion",
        "application/x-www-form-urlencoded",
        415,
        "text/xml",
    ),
    Payload("no content type", envelope("serverVersion"), None, 415, "none"),
    Payload("empty body", b"", "text/xml", 400, "empty"),
    Payload("not XML", b"hello", "text/xml", 500, "XMLSyntaxError"),
    Payload("method that does not exist", envelope("dropAllTables"), "text/xml", 500, "Client"),
    Payload(
        "SOAP 1.2 envelope",
        envelope("serverVersion").replace(
            b"http://schemas.xmlsoap.org/soap/envelope/", b"http://www.w3.org/2003/05/soap-envelope"
        ),
        "application/soap+xml",
        500,
        "SoapError",
    ),
    Payload(
        "parameter of the wrong type",
        envelope("sendRequestXML", "<ticket>x</ticket><qbXMLMajorVers>thirteen</qbXMLMajorVers>"),
        "text/xml",
        500,
        "SchemaValidationError",
    ),
    Payload("malformed authenticate", AUTHENTICATE_BROKEN, "text/xml", 500, "XMLSyntaxError"),
]


@pytest.fixture(scope="module")
def database(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """One SQLite database for the whole table (the payloads never reach the database; the
    fuzzers run on both engines)."""
    path = tmp_path_factory.mktemp("payloads") / "atqb.db"
    shutil.copyfile(sqlite_template, path)
    database = Database.from_url(f"sqlite:///{path}")
    add_user(database, "office", PASSWORD)
    yield database
    database.dispose()


@pytest.fixture(scope="module")
def service(database: Database) -> Iterator[str]:
    with serve_in_thread(str(database.engine.url), max_body_bytes=MAX_BODY) as base:
        yield base


@pytest.fixture
def waiting_job(database: Database) -> Iterator[int]:
    """A job of the user; no payload may touch it."""
    (job_id,) = enqueue_company_queries(database, "office", 1)
    yield job_id
    with database.transaction() as conn:
        job = JobStore(conn, utcnow()).get(job_id)
    assert (job.status, job.attempts) == ("pending", 0)


def still_serves(base: str) -> None:
    """A Web Connector still gets its answers: serverVersion and a good password's ticket."""
    body = envelope("serverVersion")
    answer = httpx.post(base + "/qbwc", content=body, headers=request_headers("serverVersion"))
    verdict = judge(answer.status_code, answer.headers["content-type"], answer.content)
    assert verdict.result is not None
    assert (verdict.result.text or "").startswith("atqb")


@pytest.mark.parametrize("payload", PAYLOADS, ids=[p.name for p in PAYLOADS])
@pytest.mark.usefixtures("waiting_job")
def test_each_payload_gets_its_answer(
    service: str, payload: Payload, caplog: pytest.LogCaptureFixture
) -> None:
    headers = {"Content-Type": payload.content_type} if payload.content_type else {}
    with caplog.at_level(logging.INFO):
        response = httpx.post(service + "/qbwc", content=payload.body, headers=headers, timeout=60)
    verdict = judge(response.status_code, response.headers["content-type"], response.content)
    assert response.status_code == payload.status, response.text[:500]
    if payload.fault:
        assert payload.fault in f"{verdict.fault_code} {verdict.fault_string}", response.text[:500]
    else:
        assert verdict.result is not None
    assert "root:" not in response.text
    assert "lollol" not in response.text
    # Logs name the trouble without repeating the body: no password, no megabytes.
    assert PASSWORD not in caplog.text
    assert all(len(record.getMessage()) < 2_000 for record in caplog.records)
    still_serves(service)


# -- what only raw bytes can say --------------------------------------------------------------


def chunked(body: bytes, size: int = 100) -> bytes:
    """``body`` in HTTP/1.1 chunks of ``size`` bytes, with the last chunk."""
    parts = [body[i : i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in parts) + b"0\r\n\r\n"


SERVER_VERSION = envelope("serverVersion")
CHUNKED = {**XML, "Transfer-Encoding": "chunked"}


@dataclass(frozen=True)
class Raw:
    """Raw HTTP bytes and the answer they must get: a status, or None for no answer at all."""

    name: str
    data: bytes
    status: int | None
    #: Part of the answer's body.
    expect: bytes


RAW = [
    Raw("chunked body", http_request("/qbwc", chunked(SERVER_VERSION), CHUNKED), 200, b"atqb"),
    Raw(
        "chunked body and a Content-Length (chunked wins)",
        http_request("/qbwc", chunked(SERVER_VERSION), {**CHUNKED, "Content-Length": "7"}),
        200,
        b"atqb",
    ),
    Raw(
        "chunked body with a bad chunk size",
        http_request("/qbwc", b"zz\r\nabc\r\n0\r\n\r\n", CHUNKED),
        400,
        b"Invalid chunk size",
    ),
    Raw(
        "chunked body cut off",
        http_request("/qbwc", chunked(SERVER_VERSION)[:150], CHUNKED),
        None,
        b"",
    ),
    Raw(
        "body shorter than its Content-Length",
        http_request("/qbwc", SERVER_VERSION[:100], XML, length=len(SERVER_VERSION)),
        None,
        b"",
    ),
    Raw(
        "negative Content-Length",
        http_request("/qbwc", SERVER_VERSION, {**XML, "Content-Length": "-1"}),
        400,
        b"Content-Length is invalid",
    ),
    Raw(
        "Expect: 100-continue (the Web Connector sends it)",
        http_request("/qbwc", SERVER_VERSION, {**XML, "Expect": "100-continue"}),
        200,
        b"atqb",
    ),
    Raw("GET without ?wsdl", b"GET /qbwc HTTP/1.1\r\nHost: x\r\n\r\n", 405, b"Fault"),
]


@pytest.mark.parametrize("raw", RAW, ids=[r.name for r in RAW])
@pytest.mark.usefixtures("waiting_job")
def test_raw_bytes_get_their_answer(service: str, raw: Raw) -> None:
    answer = raw_exchange(service, raw.data, half_close=True, timeout=30)
    if raw.status is None:
        assert answer.data == b""
        assert answer.closed_by_server  # it did not wait for bytes that cannot come
    else:
        final = split_http(answer.data.split(b"HTTP/1.1 100 Continue\r\n\r\n")[-1])
        assert final.status == raw.status, answer.data[:500]
        assert raw.expect in final.body
        if final.headers["content-type"].startswith("text/xml"):
            judge(final.status, final.headers["content-type"], final.body)
    still_serves(service)


@pytest.mark.usefixtures("waiting_job")
def test_a_stalled_request_does_not_hold_up_others(service: str) -> None:
    data = http_request("/qbwc", SERVER_VERSION[:100], XML, length=len(SERVER_VERSION))
    host, port = service.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as stalled:
        stalled.sendall(data)  # ...and never the rest
        still_serves(service)
        still_serves(service)
