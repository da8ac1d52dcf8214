"""The simulated Web Connector against a scripted stub service over real HTTP.

The stub is a WSGI app served by waitress on 127.0.0.1; it answers with envelopes shaped like the
PHP server's answers in the real QBWC capture (reference/qbwc/envelopes/qbwc-2.0-capture) and keeps
every raw request it received, so the tests see exactly what a real service would see.
"""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from lxml import etree
from waitress.server import create_server

from service.qbxml.schema import schema_errors
from service.simulators.processor import HRESULT_PARSE_ERROR, QuickBooksHResultError
from service.simulators.webconnector import (
    DEFAULT_FILE_ID,
    DEFAULT_OWNER_ID,
    DEFAULT_USER_AGENT,
    INTUIT_NS,
    Faults,
    SessionReport,
    SimulatedWebConnector,
    build_envelope,
    parse_answer,
)
from service.xmlsafe import parse_bytes, parse_text
from tests.conftest import CAPTURE, REFERENCE_XSD

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
TICKET = "c94c84b3d59fe7a1603b765dd734e481"
COMPANY = r"C:\KPALMER\QBW\Test Company.QBW"

CUSTOMER_ADD = (
    '<?xml version="1.0" encoding="utf-8"?><?qbxml version="13.0"?><QBXML>'
    '<QBXMLMsgsRq onError="continueOnError"><CustomerAddRq requestID="1"><CustomerAdd>'
    "<Name>Smith &amp; Sons</Name></CustomerAdd></CustomerAddRq></QBXMLMsgsRq></QBXML>"
)
CUSTOMER_ADD_RS = (
    '<?xml version="1.0" ?>\n<QBXML>\n<QBXMLMsgsRs>\n<CustomerAddRs requestID="1" '
    'statusCode="0" statusSeverity="Info" statusMessage="Status OK">\n<CustomerRet>\n'
    "<ListID>80000001-1700000000</ListID>\n<Name>Smith &amp; Sons &lt;East&gt;</Name>\n"
    "</CustomerRet>\n</CustomerAddRs>\n</QBXMLMsgsRs>\n</QBXML>\n"
)


# -- the stub service -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Raw:
    """An answer sent as it is."""

    body: bytes
    status: int = 200
    content_type: str = "text/xml; charset=utf-8"


@dataclass(frozen=True)
class Received:
    """One HTTP request the stub received."""

    method: str
    headers: dict[str, str]
    body: bytes
    params: dict[str, str]


Answer = str | int | list[str] | Raw | Callable[[dict[str, str]], Any]

DEFAULTS: dict[str, Answer] = {
    "serverVersion": "PHP QuickBooks SOAP Server v1.5.0 at /~kpalmer/QuickBooks/server_api.php",
    "clientVersion": "",
    "authenticate": [TICKET, ""],
    "sendRequestXML": "",
    "receiveResponseXML": 100,
    "getLastError": "No more work",
    "connectionError": "done",
    "closeConnection": "Complete!",
}


def envelope(method: str, result: str | int | list[str]) -> bytes:
    """An answer shaped like the PHP server's in the capture (``ns1:`` prefix, one line)."""
    if isinstance(result, list):
        inner = "".join(f"<ns1:string>{escape(s)}</ns1:string>" for s in result)
    else:
        inner = escape(str(result))
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<SOAP-ENV:Envelope xmlns:SOAP-ENV="{SOAP_ENV}" xmlns:ns1="{INTUIT_NS}"><SOAP-ENV:Body>'
        f"<ns1:{method}Response><ns1:{method}Result>{inner}</ns1:{method}Result>"
        f"</ns1:{method}Response></SOAP-ENV:Body></SOAP-ENV:Envelope>\n"
    ).encode()


def fault(text: str = "Server was unable to process request.") -> Raw:
    return Raw(
        (
            f'<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="{SOAP_ENV}">'
            "<soap:Body><soap:Fault><faultcode>soap:Server</faultcode>"
            f"<faultstring>{text}</faultstring><detail /></soap:Fault></soap:Body></soap:Envelope>"
        ).encode(),
        status=500,
    )


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@dataclass
class StubService:
    """A scripted Web Connector service: per method, a queue of answers, then a default."""

    script: dict[str, list[Answer]] = field(default_factory=dict)
    defaults: dict[str, Answer] = field(default_factory=lambda: dict(DEFAULTS))
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        headers = {
            key[5:].replace("_", "-").lower(): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            if environ.get(key):
                headers[key.replace("_", "-").lower()] = environ[key]
        element = parse_bytes(body)[0][0]
        method = etree.QName(element).localname
        params = {etree.QName(child).localname: child.text or "" for child in element}
        with self.lock:
            self.received.append(Received(method, headers, body, params))
            queue = self.script.get(method, [])
            answer = queue.pop(0) if queue else self.defaults[method]
        if callable(answer):
            answer = answer(params)
        raw = answer if isinstance(answer, Raw) else Raw(envelope(method, answer))
        status = {200: "200 OK", 500: "500 Internal Server Error"}.get(
            raw.status, f"{raw.status} X"
        )
        start_response(status, [("Content-Type", raw.content_type)])
        return [raw.body]

    @property
    def methods(self) -> list[str]:
        return [r.method for r in self.received]

    def calls(self, method: str) -> list[Received]:
        return [r for r in self.received if r.method == method]


@dataclass
class Dispatcher:
    """The WSGI app of the module's one server; each test plugs in its own stub service."""

    service: StubService = field(default_factory=StubService)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        return self.service(environ, start_response)


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[Dispatcher, str]]:
    dispatcher = Dispatcher()
    wsgi_server = create_server(dispatcher, host="127.0.0.1", port=0, threads=2)
    thread = threading.Thread(target=wsgi_server.run, daemon=True)
    thread.start()
    try:
        yield dispatcher, f"http://127.0.0.1:{wsgi_server.effective_port}/qbwc"  # type: ignore[union-attr]
    finally:
        wsgi_server.close()
        thread.join(timeout=5)


@pytest.fixture
def stub(server: tuple[Dispatcher, str]) -> tuple[StubService, str]:
    dispatcher, url = server
    dispatcher.service = StubService()
    return dispatcher.service, url


class Processor:
    """A scripted QuickBooks: answers in order (an exception is raised), records requests."""

    def __init__(self, *answers: str | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[str] = []

    def process(self, request_xml: str) -> str:
        self.requests.append(request_xml)
        answer = self.answers.pop(0) if self.answers else CUSTOMER_ADD_RS
        if isinstance(answer, Exception):
            raise answer
        return answer


def connector(
    url: str, processor: Processor | None = None, **options: Any
) -> SimulatedWebConnector:
    options.setdefault("noop_wait", 0)
    return SimulatedWebConnector(
        url, processor or Processor(), username="api", password="password", **options
    )


def run(url: str, processor: Processor | None = None, **options: Any) -> SessionReport:
    with connector(url, processor, **options) as wc:
        return wc.run_session()


START = ["serverVersion", "clientVersion", "authenticate"]


# -- byte shape against the capture ---------------------------------------------------------------


def capture_headers(number: str) -> dict[str, str]:
    text = next(CAPTURE.glob(f"{number}_*.http-headers.txt")).read_text()
    pairs = (line.split(": ", 1) for line in text.splitlines() if line)
    return {name.lower(): value for name, value in pairs}


def capture_file(number: str, suffix: str) -> bytes:
    return next(CAPTURE.glob(f"{number}_*.{suffix}")).read_bytes()


def test_replays_both_captured_sessions_byte_for_byte(stub: tuple[StubService, str]) -> None:
    """The capture's own answers, replayed: every request the simulator sends equals QBWC's."""
    service, url = stub
    numbers = [f"{n:02d}" for n in range(1, 15)]
    answers = {n: Raw(capture_file(n, "response.xml")) for n in numbers}
    for n in numbers:
        method = next(CAPTURE.glob(f"{n}_*.request.xml")).name.split("_")[1].split(".")[0]
        service.script.setdefault(method, []).append(answers[n])
    hcp, hcp_again = (
        parse_bytes(capture_file(n, "request.xml")).findtext(f".//{{{INTUIT_NS}}}strHCPResponse")
        for n in ("04", "10")
    )  # the second session's differs in the AppLock DataExt's time stamp
    qb_answer = parse_bytes(capture_file("11", "request.xml")).findtext(
        f".//{{{INTUIT_NS}}}response"
    )
    assert hcp
    assert hcp_again
    assert qb_answer
    processor = Processor(qb_answer)
    with connector(
        url, processor, company_file=COMPANY, hcp_response=hcp, qbxml_major=5,
        client_version="2.0.0.116",
    ) as wc:  # fmt: skip
        first = wc.run_session()
        wc.hcp_response = hcp_again
        second = wc.run_session()

    assert len(service.received) == 14
    for n, received in zip(numbers, service.received, strict=True):
        assert received.body == capture_file(n, "request.xml"), f"request {n} differs"
        expected = capture_headers(n)
        got = dict(received.headers)
        assert got.pop("host").startswith("127.0.0.1:")
        expected.pop("host")
        assert got == expected, f"headers of request {n}"

    assert first.methods == (*START, "sendRequestXML", "getLastError", "closeConnection")
    assert first.outcome == "error"
    assert first.last_errors == ("No registered functions for action: ItemServiceQuery",)
    assert first.close_result == "Complete!"
    assert first.ticket == TICKET
    assert second.outcome == "error"
    assert second.round_trips == 1
    assert second.percents == (0,)
    # The CustomerAdd request (with its &#13; line ends) reached QuickBooks as the service sent it.
    assert processor.requests[0].startswith('<?xml version="1.0" encoding="utf-8"?>\r\n')
    assert "<Name>Shannon 171 Daniels</Name>" in processor.requests[0]


def test_headers_are_the_dotnet_clients(stub: tuple[StubService, str]) -> None:
    service, url = stub
    run(url)
    for received in service.received:
        assert received.headers["user-agent"] == DEFAULT_USER_AGENT
        assert received.headers["content-type"] == "text/xml; charset=utf-8"
        assert received.headers["soapaction"] == f'"http://developer.intuit.com/{received.method}"'
        assert "accept" not in received.headers
        assert "accept-encoding" not in received.headers
    assert [r.headers.get("connection") for r in service.received[:2]] == ["Keep-Alive", None]


def test_envelope_shape() -> None:
    body = build_envelope(
        "receiveResponseXML",
        [("ticket", "t"), ("response", '<a b="1">x & y</a>\n'), ("hresult", ""), ("message", "")],
    )
    assert body == (
        b'<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.'
        b'org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="h'
        b'ttp://www.w3.org/2001/XMLSchema"><soap:Body><receiveResponseXML xmlns="http://developer'
        b'.intuit.com/"><ticket>t</ticket><response>&lt;a b="1"&gt;x &amp; y&lt;/a&gt;\n</respons'
        b"e><hresult /><message /></receiveResponseXML></soap:Body></soap:Envelope>"
    )


# -- call order -----------------------------------------------------------------------------------


def test_normal_session(stub: tuple[StubService, str]) -> None:
    service, url = stub
    service.script["sendRequestXML"] = [CUSTOMER_ADD, CUSTOMER_ADD]
    service.script["receiveResponseXML"] = [50, 100]
    processor = Processor()
    report = run(url, processor)

    assert report.methods == (
        *START, "sendRequestXML", "receiveResponseXML", "sendRequestXML", "receiveResponseXML",
        "closeConnection",
    )  # fmt: skip
    assert report.outcome == "done"
    assert report.round_trips == 2
    assert report.percents == (50, 100)
    assert report.close_result == "Complete!"
    assert not report.crashed
    assert not report.errors
    assert report.authenticate_result == (TICKET, "")
    assert processor.requests == [CUSTOMER_ADD, CUSTOMER_ADD]  # entities decoded for QuickBooks
    sends = service.calls("sendRequestXML")
    assert [bool(s.params["strHCPResponse"]) for s in sends] == [True, False]
    assert b"<strHCPResponse />" in sends[1].body
    for send in sends:
        assert send.params["ticket"] == TICKET
        assert send.params["qbXMLCountry"] == "US"
        assert (send.params["qbXMLMajorVers"], send.params["qbXMLMinorVers"]) == ("13", "0")
        assert send.params["strCompanyFileName"].endswith("atqb.QBW")
    receive = service.calls("receiveResponseXML")[0]
    assert receive.params["response"] == CUSTOMER_ADD_RS  # & < > survive the round trip
    assert b"<hresult /><message />" in receive.body
    assert all(call.elapsed >= 0 for call in report.calls)


def test_hcp_response_is_valid_qbxml_13_with_the_file_id(stub: tuple[StubService, str]) -> None:
    service, url = stub
    run(url, file_id="{11111111-2222-3333-4444-555555555555}")
    hcp = service.calls("sendRequestXML")[0].params["strHCPResponse"]
    root = parse_text(hcp)
    assert schema_errors(root) == []
    assert etree.XMLSchema(etree.parse(str(REFERENCE_XSD))).validate(root)
    file_ids = [
        d.findtext("DataExtValue")
        for d in root.iter("DataExtRet")
        if d.findtext("DataExtName") == "FileID"
    ]
    assert file_ids == ["{11111111-2222-3333-4444-555555555555}"]
    assert root.findtext(".//HostRet/Country") == "US"
    assert "13.0" in [v.text for v in root.iter("SupportedQBXMLVersion")]
    assert DEFAULT_OWNER_ID in hcp
    assert DEFAULT_FILE_ID not in hcp


def test_company_file_from_authenticate(stub: tuple[StubService, str]) -> None:
    service, url = stub
    service.script["authenticate"] = [[TICKET, r"C:\Books\Other.QBW"]]
    report = run(url)
    assert service.calls("sendRequestXML")[0].params["strCompanyFileName"] == r"C:\Books\Other.QBW"
    assert report.company_file == r"C:\Books\Other.QBW"


@pytest.mark.parametrize(
    ("verdict", "outcome"),
    [("none", "no_work"), ("NONE", "no_work"), ("nvu", "invalid_user"), ("busy", "busy")],
)
def test_authenticate_refusals_close_and_stop(
    stub: tuple[StubService, str], verdict: str, outcome: str
) -> None:
    service, url = stub
    service.script["authenticate"] = [["", verdict]]
    report = run(url)
    assert report.methods == (*START, "closeConnection")
    assert report.outcome == outcome
    assert service.calls("closeConnection")[0].params["ticket"] == ""


def test_postponed_update(stub: tuple[StubService, str]) -> None:
    service, url = stub
    service.script["authenticate"] = [[TICKET, "", "60", "300"]]
    report = run(url)
    assert report.methods == (*START, "closeConnection")
    assert (report.outcome, report.postpone_seconds, report.min_run_seconds) == (
        "postponed",
        60,
        300,
    )


def test_password_is_masked_in_the_report(stub: tuple[StubService, str]) -> None:
    service, url = stub
    report = run(url)
    assert report.calls_to("authenticate")[0].params["strPassword"] == "<MaskedForSecurity>"
    assert service.calls("authenticate")[0].params["strPassword"] == "password"


def test_empty_request_then_last_error_closes(stub: tuple[StubService, str]) -> None:
    service, url = stub
    service.script["getLastError"] = ["Vendor Acme failed: 3100"]
    report = run(url)
    assert report.methods == (*START, "sendRequestXML", "getLastError", "closeConnection")
    assert report.outcome == "error"
    assert report.last_errors == ("Vendor Acme failed: 3100",)


def test_noop_waits_and_asks_again_without_hcp(stub: tuple[StubService, str]) -> None:
    service, url = stub
    service.script["sendRequestXML"] = ["", CUSTOMER_ADD]
    service.script["getLastError"] = ["NoOp"]
    report = run(url)
    assert report.methods == (
        *START, "sendRequestXML", "getLastError", "sendRequestXML", "receiveResponseXML",
        "closeConnection",
    )  # fmt: skip
    assert report.outcome == "done"
    assert [bool(s.params["strHCPResponse"]) for s in service.calls("sendRequestXML")] == [
        True,
        False,
    ]


def test_noop_from_send_request_xml_goes_to_get_last_error(stub: tuple[StubService, str]) -> None:
    service, url = stub
    service.script["sendRequestXML"] = ["NoOp", CUSTOMER_ADD]
    service.script["getLastError"] = ["NoOp"]
    report = run(url)
    assert report.methods[3:6] == ("sendRequestXML", "getLastError", "sendRequestXML")
    assert report.outcome == "done"


def test_noop_waits_are_bounded(stub: tuple[StubService, str]) -> None:
    service, url = stub
    service.defaults["getLastError"] = "NoOp"
    report = run(url, max_noops=3)
    assert report.methods.count("sendRequestXML") == 4
    assert report.methods[-1] == "closeConnection"
    assert report.outcome == "limit"
    assert report.notes


def test_negative_percent_asks_last_error_then_closes(stub: tuple[StubService, str]) -> None:
    service, url = stub
    service.script["sendRequestXML"] = [CUSTOMER_ADD]
    service.script["receiveResponseXML"] = [-101]
    service.script["getLastError"] = ["QuickBooks refused the vendor"]
    report = run(url)
    assert report.methods == (
        *START, "sendRequestXML", "receiveResponseXML", "getLastError", "closeConnection",
    )  # fmt: skip
    assert report.percents == (-101,)
    assert report.outcome == "error"
    assert report.last_errors == ("QuickBooks refused the vendor",)


def test_round_trips_are_bounded(stub: tuple[StubService, str]) -> None:
    service, url = stub
    service.defaults["sendRequestXML"] = CUSTOMER_ADD
    service.defaults["receiveResponseXML"] = 50
    report = run(url, max_round_trips=5)
    assert report.round_trips == 5
    assert report.methods.count("sendRequestXML") == 6
    assert report.methods[-1] == "closeConnection"
    assert report.outcome == "limit"


@pytest.mark.parametrize("answer", ["E:Upgrade QBWC", "O:2.3.0.215", "e:lower case"])
def test_client_version_refusal_stops(stub: tuple[StubService, str], answer: str) -> None:
    service, url = stub
    service.script["clientVersion"] = [answer]
    report = run(url)
    assert report.methods == ("serverVersion", "clientVersion")
    assert report.outcome == "client_version_refused"


def test_client_version_warning(stub: tuple[StubService, str]) -> None:
    service, url = stub
    service.defaults["clientVersion"] = "W:Please upgrade"
    assert run(url, accept_client_version_warning=False).outcome == "client_version_refused"
    report = run(url)
    assert report.outcome == "error"
    assert report.methods[2] == "authenticate"
    assert report.notes == ("clientVersion warning accepted: Please upgrade",)


def test_run_until_idle(stub: tuple[StubService, str]) -> None:
    service, url = stub
    service.script["authenticate"] = [["t1", ""], ["t2", ""], ["t3", "none"]]
    service.script["sendRequestXML"] = [CUSTOMER_ADD]
    with connector(url) as wc:
        reports = wc.run_until_idle(max_sessions=10)
    assert [r.outcome for r in reports] == ["done", "error", "no_work"]
    assert [r.number for r in reports] == [1, 2, 3]
    with connector(url) as wc:
        assert len(wc.run_until_idle(max_sessions=2)) == 2  # never idle: bounded


# -- connectionError ------------------------------------------------------------------------------


def test_connection_error_done(stub: tuple[StubService, str]) -> None:
    service, url = stub
    report = run(url, faults=Faults(open_failures=1))
    assert report.methods == (*START, "connectionError")
    assert report.outcome == "connection_error"
    params = service.calls("connectionError")[0].params
    assert params == {
        "ticket": TICKET,
        "hresult": "0x80040408",
        "message": "Could not start QuickBooks.",
    }
    assert report.connection_error_results == ("done",)


def test_connection_error_retry_with_a_company_file(stub: tuple[StubService, str]) -> None:
    service, url = stub
    service.script["connectionError"] = [r"C:\Books\Retry.QBW"]
    report = run(url, faults=Faults(open_failures=1))
    assert report.methods == (
        *START,
        "connectionError",
        "sendRequestXML",
        "getLastError",
        "closeConnection",
    )
    assert service.calls("sendRequestXML")[0].params["strCompanyFileName"] == r"C:\Books\Retry.QBW"


def test_connection_error_retries_are_bounded(stub: tuple[StubService, str]) -> None:
    service, url = stub
    service.defaults["connectionError"] = ""
    with connector(url, faults=Faults(open_failures=10), max_connection_retries=2) as wc:
        report = wc.run_session()
        assert report.methods == (*START, "connectionError", "connectionError", "connectionError")
        assert report.outcome == "connection_error"
        assert report.notes
        assert wc.run_session().methods[-1] == "connectionError"  # still failing to open


def test_quickbooks_busy_reported_through_connection_error(stub: tuple[StubService, str]) -> None:
    service, url = stub
    faults = Faults(
        open_failures=1, open_hresult="0x80040401", open_message="Could not access QuickBooks."
    )
    report = run(url, faults=faults)
    assert service.calls("connectionError")[0].params["hresult"] == "0x80040401"
    assert report.injected


# -- fault hooks ----------------------------------------------------------------------------------


def test_crash_after_quickbooks_processed_the_message(stub: tuple[StubService, str]) -> None:
    service, url = stub
    service.script["sendRequestXML"] = [CUSTOMER_ADD, CUSTOMER_ADD, CUSTOMER_ADD]
    service.script["receiveResponseXML"] = [50]
    processor = Processor()
    with connector(url, processor, faults=Faults(crash_after_message=2)) as wc:
        crashed = wc.run_session()
        after = wc.run_session()
    assert crashed.methods == (*START, "sendRequestXML", "receiveResponseXML", "sendRequestXML")
    assert crashed.crashed
    assert crashed.outcome == "crashed"
    assert crashed.close_result is None
    assert len(processor.requests) == 3  # QuickBooks did the work of message 2, then message 3
    assert after.methods == (*START, "sendRequestXML", "receiveResponseXML", "closeConnection")
    assert after.outcome == "done"
    assert not after.crashed
    # The killed process's connection is gone: the next session starts a new one.
    assert service.calls("serverVersion")[1].headers.get("connection") == "Keep-Alive"


def test_hresult_instead_of_quickbooks_answer(stub: tuple[StubService, str]) -> None:
    service, url = stub
    service.script["sendRequestXML"] = [CUSTOMER_ADD]
    processor = Processor()
    report = run(url, processor, faults=Faults(hresult_on_messages=frozenset({1})))
    receive = service.calls("receiveResponseXML")[0]
    assert receive.params == {
        "ticket": TICKET, "response": "", "hresult": "0x80040401",
        "message": "Could not access QuickBooks.",
    }  # fmt: skip
    assert b"<response /><hresult>0x80040401</hresult>" in receive.body
    assert processor.requests == []
    assert report.injected


def test_processor_hresult_is_posted(stub: tuple[StubService, str]) -> None:
    service, url = stub
    service.script["sendRequestXML"] = [CUSTOMER_ADD]
    processor = Processor(QuickBooksHResultError(HRESULT_PARSE_ERROR, "QuickBooks found an error"))
    run(url, processor)
    params = service.calls("receiveResponseXML")[0].params
    assert (params["response"], params["hresult"]) == ("", HRESULT_PARSE_ERROR)
    assert params["message"] == "QuickBooks found an error"


def test_dropped_connection(stub: tuple[StubService, str]) -> None:
    service, url = stub
    service.script["sendRequestXML"] = [CUSTOMER_ADD, CUSTOMER_ADD]
    processor = Processor()
    with connector(url, processor, faults=Faults(drop_connection_on_call=4)) as wc:
        cut = wc.run_session()
        after = wc.run_session()
    assert cut.methods == (*START, "sendRequestXML")
    assert service.methods[3] == "sendRequestXML"  # the service answered it
    assert processor.requests == [CUSTOMER_ADD]  # only the second session's request ran
    assert cut.outcome == "failed"
    assert (cut.errors[0].code, cut.errors[0].kind) == ("QBWC1041", "network")
    assert after.outcome == "done"


def test_service_not_listening() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    report = run(f"http://127.0.0.1:{port}/qbwc")
    assert report.methods == ("serverVersion",)
    assert report.outcome == "failed"
    assert report.errors[0].kind == "network"


# -- bad answers ----------------------------------------------------------------------------------

BAD_ANSWERS = {
    "fault": fault("Object reference not set to an instance of an object."),
    "garbage": Raw(b"Warning: something broke in /var/www/server.php<br>"),
    "html": Raw(b"<html><body>Bad gateway</body></html>", content_type="text/html"),
    "http 500 text": Raw(b"Internal Server Error", status=500, content_type="text/plain"),
    "http 404": Raw(b"", status=404),
    "empty": Raw(b""),
    "wrong namespace": Raw(
        envelope("x", "").replace(INTUIT_NS.encode(), b"http://localhost:8000//")
    ),
    "not soap": Raw(b"<?xml version='1.0'?><answer>ok</answer>"),
    "entities": Raw(
        b'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY a "aaaaaaaaaa">]>'
        b'<e xmlns="http://schemas.xmlsoap.org/soap/envelope/">&a;</e>'
    ),
}


@pytest.mark.parametrize("bad", sorted(BAD_ANSWERS))
@pytest.mark.parametrize(
    ("method", "code"),
    [
        ("authenticate", "QBWC1012"),
        ("sendRequestXML", "QBWC1041"),
        ("receiveResponseXML", "QBWC1042"),
        ("getLastError", "QBWC1043"),
        ("closeConnection", "QBWC1044"),
        ("connectionError", "QBWC1045"),
    ],
)
def test_bad_answer_ends_the_session_with_qbwcs_code(
    stub: tuple[StubService, str], method: str, code: str, bad: str
) -> None:
    service, url = stub
    service.script["sendRequestXML"] = [CUSTOMER_ADD]
    service.script["receiveResponseXML"] = [-1]
    answer = BAD_ANSWERS[bad]
    if bad == "wrong namespace":
        answer = Raw(envelope(method, "1").replace(INTUIT_NS.encode(), b"http://localhost:8000//"))
    service.script[method] = [answer]
    faults = Faults(open_failures=1) if method == "connectionError" else None
    if method == "connectionError":
        service.defaults["connectionError"] = ""
    report = run(url, faults=faults)
    assert report.methods[-1] == method  # nothing after the failed call
    assert report.outcome == "failed"
    (error,) = report.errors
    assert (error.method, error.code) == (method, code)
    assert str(error).startswith(code)
    expected_kind = {"fault": "fault", "http 500 text": "http", "http 404": "http"}.get(
        bad, "unreadable"
    )
    assert error.kind == expected_kind
    if bad == "fault":
        assert "Object reference not set" in error.detail


@pytest.mark.parametrize("method", ["serverVersion", "clientVersion"])
def test_optional_methods_may_fail(stub: tuple[StubService, str], method: str) -> None:
    service, url = stub
    service.script[method] = [fault("No such method")]
    report = run(url)
    assert report.methods[:3] == tuple(START)
    assert report.outcome == "error"
    (error,) = report.errors
    assert error.code == {"serverVersion": None, "clientVersion": "QBWC1036"}[method]


def test_scalar_result_wrapped_in_string_is_refused(stub: tuple[StubService, str]) -> None:
    """johnballantyne/qbws#10: <serverVersionResult><string>…</string></serverVersionResult>."""
    service, url = stub
    service.script["getLastError"] = [Raw(envelope("getLastError", "").replace(
        b"<ns1:getLastErrorResult></ns1:getLastErrorResult>",
        b"<ns1:getLastErrorResult><ns1:string>x</ns1:string></ns1:getLastErrorResult>",
    ))]  # fmt: skip
    report = run(url)
    assert report.errors[0].code == "QBWC1043"
    assert "elements" in report.errors[0].detail


@pytest.mark.parametrize(
    ("result", "detail"),
    [
        ([TICKET], "1 string(s)"),
        ([], "0 string(s)"),
    ],
)
def test_authenticate_needs_two_strings(
    stub: tuple[StubService, str], result: list[str], detail: str
) -> None:
    service, url = stub
    service.script["authenticate"] = [result]
    report = run(url)
    assert report.methods == tuple(START)
    assert report.errors[0].code == "QBWC1012"
    assert detail in report.errors[0].detail


@pytest.mark.parametrize("percent", ["fifty", "", "1.5"])
def test_receive_response_xml_needs_an_integer(stub: tuple[StubService, str], percent: str) -> None:
    service, url = stub
    service.script["sendRequestXML"] = [CUSTOMER_ADD]
    service.script["receiveResponseXML"] = [percent]
    report = run(url)
    assert report.methods[-1] == "receiveResponseXML"
    assert report.errors[0].code == "QBWC1042"


def test_parse_answer_details() -> None:
    nil = (
        f'<s:Envelope xmlns:s="{SOAP_ENV}" xmlns:i="http://www.w3.org/2001/XMLSchema-instance">'
        f'<s:Body><authenticateResponse xmlns="{INTUIT_NS}"><authenticateResult>'
        '<string>abc</string><string i:nil="true"/><string>5</string>'
        "</authenticateResult></authenticateResponse></s:Body></s:Envelope>"
    ).encode()
    assert parse_answer("authenticate", 200, "text/xml", nil) == ("abc", None, "5")
    absent = envelope("closeConnection", "").replace(
        b"<ns1:closeConnectionResult></ns1:closeConnectionResult>", b""
    )
    assert parse_answer("closeConnection", 200, "text/xml; charset=utf-8", absent) is None
    assert (
        parse_answer("receiveResponseXML", 200, "text/xml", envelope("receiveResponseXML", " 42 "))
        == 42
    )


def test_report_is_frozen(stub: tuple[StubService, str]) -> None:
    _, url = stub
    report = run(url)
    with pytest.raises(AttributeError):
        report.outcome = "done"  # type: ignore[misc]
    assert re.fullmatch(r"[0-9a-f]{32}", report.ticket or "")
