"""The SOAP endpoint on the wire: real Web Connector bytes, a WSDL-driven client, hostile input.

Served by waitress in this process, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from lxml import etree
from sqlalchemy import update

from service.clock import utcnow
from service.db import Database
from service.jobstore import JobStore
from service.models import wc_sessions
from service.webconnector.exchange import UNKNOWN_TICKET
from tests.conftest import CAPTURE, REFERENCE
from tests.support import CompanyFile, add_user, enqueue_company_queries, serve_in_thread

INTUIT = "http://developer.intuit.com/"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
WSDL = REFERENCE / "qbwc" / "QBWebConnectorSvc.wsdl"
CAPTURED_TICKETS = ("c94c84b3d59fe7a1603b765dd734e481", "ea0bf596246b623664adb465cc8662a2")
MAX_BODY = 64 * 1024


@pytest.fixture
def service(db: Database, database_url: str) -> Iterator[str]:  # noqa: ARG001 - db migrates the database served
    with serve_in_thread(database_url, max_body_bytes=MAX_BODY) as base:
        yield base


def captured(number: int) -> tuple[bytes, dict[str, str]]:
    """A request of the real Web Connector capture: body and headers (Host and length dropped)."""
    (request,) = CAPTURE.glob(f"{number:02d}_*.request.xml")
    headers_file = request.with_name(request.name.replace(".request.xml", ".http-headers.txt"))
    headers = {}
    for line in headers_file.read_text().splitlines():
        name, _, value = line.partition(": ")
        if name not in ("Host", "Content-Length", "Expect"):
            headers[name] = value
    return request.read_bytes(), headers


def post(base: str, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
    sent = headers or {"Content-Type": "text/xml; charset=utf-8"}
    return httpx.post(base + "/qbwc", content=body, headers=sent, timeout=30)


def result_of(response: httpx.Response, method: str) -> etree._Element:
    """The ``<method>Result`` element of a SOAP answer (asserting the wire shape on the way)."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/xml")
    root = etree.fromstring(response.content)
    body = root.find(f"{{{SOAP_ENV}}}Body")
    assert body is not None
    wrapper = body.find(f"{{{INTUIT}}}{method}Response")
    assert wrapper is not None, response.text
    result = wrapper.find(f"{{{INTUIT}}}{method}Result")
    assert result is not None, response.text
    return result


def fault_of(response: httpx.Response) -> str:
    """The faultstring of a SOAP fault answer."""
    root = etree.fromstring(response.content)
    fault = root.find(f"{{{SOAP_ENV}}}Body/{{{SOAP_ENV}}}Fault")
    assert fault is not None, response.text
    return fault.findtext("faultcode", "") + " " + fault.findtext("faultstring", "")


# -- the real Web Connector's bytes ----------------------------------------------------------


def test_replay_of_both_captured_sessions(db: Database, service: str) -> None:
    add_user(db, "api", "password")
    (job_id,) = enqueue_company_queries(db, "api", 1)
    for session in ((1, 2, 3, 4, 5, 6), (7, 8, 9, 10, 11, 12, 13, 14)):
        ticket = ""
        for number in session:
            body, headers = captured(number)
            for old in CAPTURED_TICKETS:
                body = body.replace(old.encode(), ticket.encode())
            response = post(service, body, headers)
            method = headers["SOAPAction"].strip('"').rsplit("/", 1)[1]
            result = result_of(response, method)
            if method == "serverVersion":
                assert (result.text or "").startswith("atqb ")
            elif method == "authenticate":
                strings = [s.text or "" for s in result.findall(f"{{{INTUIT}}}string")]
                assert len(strings) == 2
                assert len(strings[0]) >= 32
                ticket = strings[0]
                assert strings[1] == ""  # work is waiting, use the open company file
            elif method == "sendRequestXML":
                # The capture comes from QuickBooks 2006 (qbXML 5.0), too old for atqb.
                assert (result.text or "") == ""
            elif method == "getLastError":
                assert "qbXML 13.0" in (result.text or "")
                assert "supports qbXML 5.0" in (result.text or "")
            elif method == "receiveResponseXML":
                assert int(result.text or "x") in range(0, 101)
            elif method == "closeConnection":
                assert "job(s) finished" in (result.text or "")
    with db.transaction() as conn:
        job = JobStore(conn, utcnow()).get(job_id)
    assert (job.status, job.attempts) == ("pending", 0)  # nothing was sent to the old QuickBooks


def test_wsdl_is_served(service: str) -> None:
    response = httpx.get(service + "/qbwc?wsdl")
    assert response.status_code == 200
    wsdl = etree.fromstring(response.content)
    operations = {op.get("name") for op in wsdl.iter("{http://schemas.xmlsoap.org/wsdl/}operation")}
    assert operations >= {
        "serverVersion",
        "clientVersion",
        "authenticate",
        "sendRequestXML",
        "receiveResponseXML",
        "connectionError",
        "getLastError",
        "closeConnection",
    }
    assert wsdl.get("targetNamespace") == INTUIT


def test_zeep_client_from_the_official_wsdl_calls_every_method(db: Database, service: str) -> None:
    import zeep

    add_user(db, "zeep", "pw")
    (job_id,) = enqueue_company_queries(db, "zeep", 1)
    # zeep has no type hints.
    client = zeep.Client(str(WSDL))  # type: ignore[no-untyped-call]
    api = client.create_service(  # type: ignore[no-untyped-call]
        f"{{{INTUIT}}}QBWebConnectorSvcSoap", service + "/qbwc"
    )
    assert api.serverVersion().startswith("atqb ")
    assert api.clientVersion("2.3.0.215") in ("", None)
    ticket, company_file = api.authenticate("zeep", "pw")
    assert company_file in ("", None)
    request = api.sendRequestXML(ticket, "", "", "US", 13, 0)
    answer = CompanyFile(name="Zeep Ltd").process(request)
    assert api.receiveResponseXML(ticket, answer, "", "") == 100
    assert api.getLastError(ticket) in ("", None)
    assert "1 job(s) finished" in api.closeConnection(ticket)
    ticket2, _ = api.authenticate("zeep", "pw")
    assert api.connectionError(ticket2, "0x80040408", "Could not start QuickBooks.") == "done"
    assert "Could not start QuickBooks" in api.getLastError(ticket2)
    with db.transaction() as conn:
        assert JobStore(conn, utcnow()).get(job_id).result == {"company_name": "Zeep Ltd"}


# -- bad input ---------------------------------------------------------------------------------


def envelope(method: str, inner: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<soap:Envelope xmlns:soap="{SOAP_ENV}"><soap:Body>'
        f'<{method} xmlns="{INTUIT}">{inner}</{method}></soap:Body></soap:Envelope>'
    ).encode()


XXE = (
    b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    + envelope("authenticate", "<strUserName>&x;</strUserName><strPassword>p</strPassword>")[21:]
)
LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa">'
    + b"".join(
        f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">'.encode() for i in range(8)
    )
    + b"]>"
    + envelope("clientVersion", "<strVersion>&i;</strVersion>")[21:]
)


@pytest.mark.parametrize(
    ("body", "content_type", "status", "expect"),
    [
        pytest.param(b"<soap:Envelope><unclosed", "text/xml", 500, "Client", id="malformed SOAP"),
        pytest.param(b"\x00\xff garbage", "text/xml", 400, "not valid UTF-8", id="not XML at all"),
        pytest.param(envelope("dropAllTables"), "text/xml", 500, "Client", id="unknown method"),
        pytest.param(
            envelope("getLastError", "<tiket>x</tiket>"),
            "text/xml",
            500,
            "",
            id="wrong parameter name",
        ),
        pytest.param(XXE, "text/xml", 400, "DOCTYPE is refused", id="XML external entity"),
        pytest.param(LAUGHS, "text/xml", 400, "DOCTYPE is refused", id="entity expansion"),
        pytest.param(
            b"<x>" + b"a" * (MAX_BODY + 1) + b"</x>",
            "text/xml",
            413,
            "exceeds",
            id="oversized body",
        ),
        pytest.param(
            envelope("serverVersion"), "application/json", 415, "text/xml", id="wrong content type"
        ),
    ],
)
def test_bad_input_gets_a_clear_error_and_changes_nothing(
    db: Database,
    service: str,
    body: bytes,
    content_type: str,
    status: int,
    expect: str,
) -> None:
    add_user(db, "office", "pw")
    (job_id,) = enqueue_company_queries(db, "office", 1)
    response = post(service, body, {"Content-Type": content_type})
    assert response.status_code == status, response.text
    assert expect in fault_of(response)
    assert "root:" not in response.text  # no /etc/passwd content, ever
    # The service goes on serving, and the job is untouched.
    ticket = result_of(post(service, envelope("authenticate", AUTH)), "authenticate")
    assert len(ticket) == 2
    with db.transaction() as conn:
        job = JobStore(conn, utcnow()).get(job_id)
    assert (job.status, job.attempts) == ("pending", 0)


AUTH = "<strUserName>office</strUserName><strPassword>pw</strPassword>"


def _call(service: str, method: str, **params: str) -> str:
    inner = "".join(f"<{k}>{v}</{k}>" for k, v in params.items())
    return result_of(post(service, envelope(method, inner)), method).text or ""


def test_unknown_ticket_gets_benign_answers_and_changes_nothing(db: Database, service: str) -> None:
    add_user(db, "office", "pw")
    (job_id,) = enqueue_company_queries(db, "office", 1)
    forged = "0" * 64
    send = envelope(
        "sendRequestXML",
        f"<ticket>{forged}</ticket><strHCPResponse /><strCompanyFileName />"
        "<qbXMLCountry>US</qbXMLCountry><qbXMLMajorVers>13</qbXMLMajorVers>"
        "<qbXMLMinorVers>0</qbXMLMinorVers>",
    )
    assert (result_of(post(service, send), "sendRequestXML").text or "") == ""
    assert (
        _call(service, "receiveResponseXML", ticket=forged, response="", hresult="", message="")
        == "-1"
    )
    assert _call(service, "getLastError", ticket=forged) == UNKNOWN_TICKET
    assert "already ended" in _call(service, "closeConnection", ticket=forged)
    with db.transaction() as conn:
        job = JobStore(conn, utcnow()).get(job_id)
    assert (job.status, job.attempts) == ("pending", 0)


def test_expired_ticket_is_refused_and_its_lease_released(db: Database, service: str) -> None:
    add_user(db, "office", "pw")
    (job_id,) = enqueue_company_queries(db, "office", 1)
    auth = result_of(post(service, envelope("authenticate", AUTH)), "authenticate")
    ticket = auth[0].text or ""
    send = envelope(
        "sendRequestXML",
        f"<ticket>{ticket}</ticket><strHCPResponse /><strCompanyFileName />"
        "<qbXMLCountry>US</qbXMLCountry><qbXMLMajorVers>13</qbXMLMajorVers>"
        "<qbXMLMinorVers>0</qbXMLMinorVers>",
    )
    assert "CompanyQueryRq" in (result_of(post(service, send), "sendRequestXML").text or "")
    # Backdate the session instead of waiting for it to go quiet.
    with db.transaction() as conn:
        conn.execute(
            update(wc_sessions).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    answer = CompanyFile().process(
        "<?xml version='1.0'?><?qbxml version='13.0'?><QBXML><QBXMLMsgsRq onError='stopOnError'>"
        f"<CompanyQueryRq requestID='{job_id}'/></QBXMLMsgsRq></QBXML>"
    )
    escaped = answer.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    late = _call(
        service, "receiveResponseXML", ticket=ticket, response=escaped, hresult="", message=""
    )
    assert late == "-1"
    # The next session's housekeeping ends the expired one and frees the job.
    post(service, envelope("authenticate", AUTH))
    with db.transaction() as conn:
        job = JobStore(conn, utcnow()).get(job_id)
    assert job.status == "pending"
    assert "no answer" in (job.error or "")


def test_support_healthz_metrics_and_admin(db: Database, service: str) -> None:
    support = httpx.get(service + "/support")
    assert support.status_code == 200
    assert "atqb" in support.text
    health = httpx.get(service + "/healthz")
    assert health.json() == {"status": "ok", "database": "ok", "migrations": "current"}
    add_user(db, "office", "pw")
    enqueue_company_queries(db, "office", 2)
    metrics = httpx.get(service + "/metrics").text
    assert re.search(r'atqb_jobs\{kind="company_query",status="pending"\} 2\.0', metrics)
    admin = httpx.get(service + "/admin")
    assert admin.status_code == 401
    assert "ATQB_ADMIN_USER" in admin.text
    assert httpx.get(service + "/nowhere").status_code == 404
