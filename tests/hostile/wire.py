"""Helpers of the hostile-input tests: call the WSGI app directly, send raw bytes, judge answers.

``call_wsgi`` runs one request through the real WSGI application in this process (no HTTP
server: thousands of fuzzed requests stay fast). ``raw_exchange`` writes bytes to a socket of a
real waitress server, for what only a server sees (chunked and truncated bodies). ``judge``
checks the promise every answer of ``/qbwc`` keeps: a well-formed SOAP envelope with a result or
a fault, never a traceback.
"""

from __future__ import annotations

import io
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from wsgiref.util import setup_testing_defaults

from lxml import etree

from service.simulators.webconnector import INTUIT_NS, SOAP_ENV_NS
from service.xmlsafe import parse_bytes
from tests.conftest import CAPTURE

#: The tickets in the captured sessions (replaced by live ones when replayed).
CAPTURED_TICKETS = (b"c94c84b3d59fe7a1603b765dd734e481", b"ea0bf596246b623664adb465cc8662a2")
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def captured_requests() -> list[tuple[str, bytes]]:
    """Every request of the real Web Connector capture: (method, body), in order."""
    found = []
    for path in sorted(CAPTURE.glob("*.request.xml")):
        method = path.name.split(".")[0].split("_", 1)[1]
        found.append((method, path.read_bytes()))
    return found


@dataclass(frozen=True)
class Answer:
    """An HTTP answer: status code, Content-Type and body."""

    status: int
    content_type: str
    body: bytes


def call_wsgi(
    app: WsgiApp,
    body: bytes,
    *,
    content_type: str | None = "text/xml; charset=utf-8",
    remote_addr: str = "192.0.2.10",
    method: str = "POST",
    path: str = "/qbwc",
    content_length: str | None = None,
) -> Answer:
    """Run one request through a WSGI application and collect its answer."""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "REMOTE_ADDR": remote_addr,
        "CONTENT_LENGTH": str(len(body)) if content_length is None else content_length,
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
    }
    if content_type is not None:
        environ["CONTENT_TYPE"] = content_type
    setup_testing_defaults(environ)
    started: list[tuple[str, list[tuple[str, str]]]] = []

    def start_response(status: str, headers: list[tuple[str, str]], _exc_info: Any = None) -> Any:
        started.append((status, headers))
        return lambda _data: None

    chunks = app(environ, start_response)
    try:
        data = b"".join(chunks)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    status, headers = started[-1]
    content = next((v for k, v in headers if k.lower() == "content-type"), "")
    return Answer(int(status.split()[0]), content, data)


@dataclass(frozen=True)
class Verdict:
    """What a well-formed SOAP answer says: a method's result or a fault."""

    fault_code: str | None
    fault_string: str
    method: str | None
    result: etree._Element | None


def judge(status: int, content_type: str, body: bytes) -> Verdict:
    """Assert that an answer of ``/qbwc`` is a well-formed SOAP result or fault; say which."""
    assert status // 100 in (2, 4, 5), (status, body[:500])
    assert content_type.startswith("text/xml"), (content_type, body[:500])
    assert b"Traceback" not in body, body[:2000]
    assert b'File "' not in body, body[:2000]
    root = parse_bytes(body)
    assert root.tag == f"{{{SOAP_ENV_NS}}}Envelope", body[:500]
    (soap_body,) = root.findall(f"{{{SOAP_ENV_NS}}}Body")
    (content,) = list(soap_body)
    if content.tag == f"{{{SOAP_ENV_NS}}}Fault":
        assert status != 200, body[:500]
        code = content.findtext("faultcode")
        assert code, body[:500]
        return Verdict(code.split(":")[-1], content.findtext("faultstring") or "", None, None)
    assert status == 200, body[:500]
    name = etree.QName(content)
    assert name.namespace == INTUIT_NS, body[:500]
    assert name.localname.endswith("Response"), body[:500]
    method = name.localname.removesuffix("Response")
    result = content.find(f"{{{INTUIT_NS}}}{method}Result")
    return Verdict(None, "", method, result)


def raw_exchange(base_url: str, data: bytes, *, half_close: bool, timeout: float) -> RawAnswer:
    """Write ``data`` to the server at ``base_url`` and read until it closes or ``timeout``.

    With ``half_close`` the sending side is shut after the data (the client is done); without,
    the connection stays open as a slow or stalled client's would.
    """
    host, port = base_url.removeprefix("http://").rsplit(":", 1)
    received = b""
    closed = False
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(data)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                chunk = sock.recv(65536)
                if not chunk:
                    closed = True
                    break
                received += chunk
                if _complete(received):
                    break
        except TimeoutError:
            pass
        except ConnectionResetError:
            closed = True
    return RawAnswer(received, closed)


@dataclass(frozen=True)
class RawAnswer:
    """What came back on a raw connection, and whether the server closed it."""

    data: bytes
    closed_by_server: bool


def _complete(received: bytes) -> bool:
    """Whether ``received`` holds a whole HTTP answer with a Content-Length."""
    head, sep, rest = received.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(rest) >= int(value.strip())
    return False


@dataclass(frozen=True)
class HttpAnswer:
    """A raw HTTP answer split into its parts."""

    status: int
    headers: dict[str, str]
    body: bytes


def split_http(raw: bytes) -> HttpAnswer:
    """Split a raw HTTP/1.1 answer (with a Content-Length) into status, headers and body."""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return HttpAnswer(int(lines[0].split()[1]), headers, body)


def http_request(
    path: str, body: bytes, headers: dict[str, str], *, length: int | None = None
) -> bytes:
    """An HTTP/1.1 POST with these headers; Content-Length is the body's unless ``length``."""
    lines = [f"POST {path} HTTP/1.1", "Host: atqb.test", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if "Transfer-Encoding" not in headers:
        lines.append(f"Content-Length: {len(body) if length is None else length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def send_params(ticket: str) -> list[tuple[str, str | int]]:
    """sendRequestXML's parameters as a QuickBooks 2014+ Web Connector sends them later in a
    session (no HCP response)."""
    return [
        ("ticket", ticket),
        ("strHCPResponse", ""),
        ("strCompanyFileName", ""),
        ("qbXMLCountry", "US"),
        ("qbXMLMajorVers", 13),
        ("qbXMLMinorVers", 0),
    ]


def receive_params(
    ticket: str, response: str, hresult: str = "", message: str = ""
) -> list[tuple[str, str | int]]:
    """receiveResponseXML's parameters."""
    return [("ticket", ticket), ("response", response), ("hresult", hresult), ("message", message)]
