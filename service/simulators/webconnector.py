"""A simulated QuickBooks Web Connector: drives any Web Connector SOAP service over real HTTP.

It behaves like QBWC 2.x on the wire and in its call sequence (reference/qbwc.md 2-6):
requests are byte-shaped like the real QBWC 2.0.0.116 capture (``reference/qbwc/envelopes/
qbwc-2.0-capture``), sent with httpx, and every qbXML request the service hands out is given to a
QuickBooks :class:`~service.simulators.processor.RequestProcessor`, whose answer is posted back.

Faults can be injected (:class:`Faults`): a Web Connector killed between QuickBooks' work and
``receiveResponseXML``, a company file that cannot be opened (``connectionError``), QuickBooks
answering with an HRESULT, and a network cut after the service has answered. Each session produces
a :class:`SessionReport` with every call, its result and how long the service took.

Where the references do not say what QBWC does, the choice made here is written next to the code.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Literal

import httpx
from lxml import etree

from service.simulators.processor import (
    HRESULT_COULD_NOT_START,
    QuickBooksHResultError,
    RequestProcessor,
)
from service.xmlsafe import UnsafeXMLError, parse_bytes

INTUIT_NS = "http://developer.intuit.com/"
SOAP_ENV_NS = "http://schemas.xmlsoap.org/soap/envelope/"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"

#: The .NET 2.0 ``SoapHttpClientProtocol`` User-Agent QBWC sends (capture ``*.http-headers.txt``).
DEFAULT_USER_AGENT = (
    "Mozilla/4.0 (compatible; MSIE 6.0; MS Web Services Client Protocol 2.0.50727.1433)"
)
#: The QBWC version of the capture, sent as ``clientVersion/strVersion``.
DEFAULT_CLIENT_VERSION = "2.0.0.116"
DEFAULT_COMPANY_FILE = r"C:\Users\Public\Documents\Intuit\QuickBooks\Company Files\atqb.QBW"
DEFAULT_OWNER_ID = "{5B7F0A8E-3C64-4E0B-9D53-6A0F1C2B7E41}"
DEFAULT_FILE_ID = "{9E2D4C1A-7B35-4F68-A0C9-3D8E5F6A1B20}"
#: QuickBooks' request processor could not reach QuickBooks (reference/qbwc.md 6.3).
HRESULT_COULD_NOT_ACCESS = "0x80040401"
MESSAGE_COULD_NOT_ACCESS = "Could not access QuickBooks."
MESSAGE_COULD_NOT_START = "Could not start QuickBooks."

#: What QBWC reports when a method answers with a SOAP Fault or an unreadable answer
#: (reference/qbwc.md 6.1). serverVersion has no code: QBWC goes on without it.
QBWC_ERROR_CODES: Mapping[str, str] = {
    "authenticate": "QBWC1012",
    "clientVersion": "QBWC1036",
    "sendRequestXML": "QBWC1041",
    "receiveResponseXML": "QBWC1042",
    "getLastError": "QBWC1043",
    "closeConnection": "QBWC1044",
    "connectionError": "QBWC1045",
}

_ENVELOPE_HEAD = (
    '<?xml version="1.0" encoding="utf-8"?>'
    f'<soap:Envelope xmlns:soap="{SOAP_ENV_NS}" xmlns:xsi="{XSI_NS}" '
    'xmlns:xsd="http://www.w3.org/2001/XMLSchema"><soap:Body>'
)
_ENVELOPE_TAIL = "</soap:Body></soap:Envelope>"

ParamValue = str | int
AuthArray = tuple[str | None, ...]
Result = str | int | AuthArray | None

Outcome = Literal[
    "done",  # receiveResponseXML answered 100
    "no_work",  # authenticate answered "none"
    "invalid_user",  # authenticate answered "nvu"
    "busy",  # authenticate answered "busy"
    "postponed",  # authenticate asked to postpone the update (authRet[2])
    "client_version_refused",  # clientVersion answered "E:"/"O:" (or "W:" when not accepted)
    "error",  # the service ended the session through getLastError
    "connection_error",  # the company file could not be opened; connectionError ended it
    "crashed",  # the Web Connector died (injected)
    "failed",  # a call failed: SOAP Fault, unreadable answer, HTTP or network error
    "limit",  # the simulator's own bound on round trips or NoOp waits was reached
]


def escape_text(text: str) -> str:
    """Escape text the way .NET's XmlTextWriter does inside an element: ``&``, ``<``, ``>``.

    Quotes stay as they are and line breaks stay raw (capture 04: ``version="1.0" ?&gt;`` and
    literal newlines inside ``strHCPResponse``).
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def build_envelope(method: str, params: Sequence[tuple[str, ParamValue]]) -> bytes:
    """The request body QBWC sends for ``method``, parameters in WSDL order.

    No whitespace between elements, empty parameters self-closed with a space
    (``<strHCPResponse />``), a method without parameters self-closed
    (``<serverVersion xmlns="http://developer.intuit.com/" />``), as in the capture.
    """
    if not params:
        body = f'<{method} xmlns="{INTUIT_NS}" />'
    else:
        parts = [f'<{method} xmlns="{INTUIT_NS}">']
        for name, value in params:
            text = str(value)
            parts.append(f"<{name} />" if text == "" else f"<{name}>{escape_text(text)}</{name}>")
        parts.append(f"</{method}>")
        body = "".join(parts)
    return (_ENVELOPE_HEAD + body + _ENVELOPE_TAIL).encode("utf-8")


def request_headers(method: str, user_agent: str = DEFAULT_USER_AGENT) -> dict[str, str]:
    """The HTTP headers QBWC sends with ``method`` (besides Host and Content-Length)."""
    return {
        "User-Agent": user_agent,
        "Content-Type": "text/xml; charset=utf-8",
        "SOAPAction": f'"{INTUIT_NS}{method}"',
        "Expect": "100-continue",
    }


def default_hcp_response(
    *,
    owner_id: str = DEFAULT_OWNER_ID,
    file_id: str = DEFAULT_FILE_ID,
    company_name: str = "atqb Test Company",
    product_name: str = "QuickBooks Pro 2014",
) -> str:
    """A HostQuery + CompanyQuery + PreferencesQuery answer like the one in capture 04.

    It is what QBWC puts in ``strHCPResponse`` on the first ``sendRequestXML`` of a session:
    QuickBooks 2014 (qbXML 1.0 to 13.0, country US) and the company's ``FileID`` DataExt
    under ``owner_id``. Lines end in ``\\n`` and the declaration has no encoding, as in the capture.
    """
    versions = [
        "1.0", "1.1", "2.0", "2.1", "3.0", "4.0", "4.1", "5.0",
        "6.0", "7.0", "8.0", "9.0", "10.0", "11.0", "12.0", "13.0",
    ]  # fmt: skip
    name = escape_text(company_name)
    ok = 'statusCode="0" statusSeverity="Info" statusMessage="Status OK"'
    lines = [
        '<?xml version="1.0" ?>',
        "<QBXML>",
        "<QBXMLMsgsRs>",
        f'<HostQueryRs requestID="0" {ok}>',
        "<HostRet>",
        f"<ProductName>{escape_text(product_name)}</ProductName>",
        "<MajorVersion>24</MajorVersion>",
        "<MinorVersion>0</MinorVersion>",
        "<Country>US</Country>",
        *(f"<SupportedQBXMLVersion>{v}</SupportedQBXMLVersion>" for v in versions),
        "<IsAutomaticLogin>false</IsAutomaticLogin>",
        "<QBFileMode>SingleUser</QBFileMode>",
        "</HostRet>",
        "</HostQueryRs>",
        f'<CompanyQueryRs requestID="1" {ok}>',
        "<CompanyRet>",
        "<IsSampleCompany>false</IsSampleCompany>",
        f"<CompanyName>{name}</CompanyName>",
        f"<LegalCompanyName>{name}</LegalCompanyName>",
        "<FirstMonthFiscalYear>January</FirstMonthFiscalYear>",
        "<FirstMonthIncomeTaxYear>January</FirstMonthIncomeTaxYear>",
        "<CompanyType>Service Business</CompanyType>",
        "<TaxForm>OtherOrNone</TaxForm>",
        "<DataExtRet>",
        f"<OwnerID>{escape_text(owner_id)}</OwnerID>",
        "<DataExtName>AppLock</DataExtName>",
        "<DataExtType>STR255TYPE</DataExtType>",
        "<DataExtValue>LOCKED:ATQB-SIM:638412345678901234</DataExtValue>",
        "</DataExtRet>",
        "<DataExtRet>",
        f"<OwnerID>{escape_text(owner_id)}</OwnerID>",
        "<DataExtName>FileID</DataExtName>",
        "<DataExtType>STR255TYPE</DataExtType>",
        f"<DataExtValue>{escape_text(file_id)}</DataExtValue>",
        "</DataExtRet>",
        "</CompanyRet>",
        "</CompanyQueryRs>",
        f'<PreferencesQueryRs requestID="2" {ok}>',
        "<PreferencesRet>",
        "<AccountingPreferences>",
        "<IsUsingAccountNumbers>false</IsUsingAccountNumbers>",
        "<IsRequiringAccounts>true</IsRequiringAccounts>",
        "<IsUsingClassTracking>false</IsUsingClassTracking>",
        "<IsUsingAuditTrail>true</IsUsingAuditTrail>",
        "<IsAssigningJournalEntryNumbers>true</IsAssigningJournalEntryNumbers>",
        "</AccountingPreferences>",
        "<FinanceChargePreferences>",
        "<AnnualInterestRate>0.00</AnnualInterestRate>",
        "<MinFinanceCharge>0.00</MinFinanceCharge>",
        "<GracePeriod>0</GracePeriod>",
        "<IsAssessingForOverdueCharges>false</IsAssessingForOverdueCharges>",
        "<CalculateChargesFrom>DueDate</CalculateChargesFrom>",
        "<IsMarkedToBePrinted>false</IsMarkedToBePrinted>",
        "</FinanceChargePreferences>",
        "<JobsAndEstimatesPreferences>",
        "<IsUsingEstimates>true</IsUsingEstimates>",
        "<IsUsingProgressInvoicing>false</IsUsingProgressInvoicing>",
        "<IsPrintingItemsWithZeroAmounts>false</IsPrintingItemsWithZeroAmounts>",
        "</JobsAndEstimatesPreferences>",
        "<PurchasesAndVendorsPreferences>",
        "<IsUsingInventory>true</IsUsingInventory>",
        "<DaysBillsAreDue>10</DaysBillsAreDue>",
        "<IsAutomaticallyUsingDiscounts>false</IsAutomaticallyUsingDiscounts>",
        "</PurchasesAndVendorsPreferences>",
        "<ReportsPreferences>",
        "<AgingReportBasis>AgeFromDueDate</AgingReportBasis>",
        "<SummaryReportBasis>Accrual</SummaryReportBasis>",
        "</ReportsPreferences>",
        "<SalesAndCustomersPreferences>",
        "<IsTrackingReimbursedExpensesAsIncome>false</IsTrackingReimbursedExpensesAsIncome>",
        "<IsAutoApplyingPayments>true</IsAutoApplyingPayments>",
        "</SalesAndCustomersPreferences>",
        "<TimeTrackingPreferences>",
        "<FirstDayOfWeek>Monday</FirstDayOfWeek>",
        "</TimeTrackingPreferences>",
        "<CurrentAppAccessRights>",
        "<IsAutomaticLoginAllowed>false</IsAutomaticLoginAllowed>",
        "<IsPersonalDataAccessAllowed>false</IsPersonalDataAccessAllowed>",
        "</CurrentAppAccessRights>",
        "</PreferencesRet>",
        "</PreferencesQueryRs>",
        "</QBXMLMsgsRs>",
        "</QBXML>",
    ]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Faults:
    """Faults to inject. Message and call numbers count from 1 over the Web Connector's lifetime
    (not per session), so each fault fires once and the next session runs normally.
    """

    #: QuickBooks processes qbXML message N, then the Web Connector dies before
    #: ``receiveResponseXML``: no further call, not even ``closeConnection``.
    crash_after_message: int | None = None
    #: These qbXML messages never reach QuickBooks; the request processor "throws" and the Web
    #: Connector posts ``receiveResponseXML`` with an empty response and this HRESULT/message.
    hresult_on_messages: frozenset[int] = frozenset()
    hresult: str = HRESULT_COULD_NOT_ACCESS
    hresult_message: str = MESSAGE_COULD_NOT_ACCESS
    #: The next N attempts to open the company file fail; each failure is reported through
    #: ``connectionError`` instead of ``sendRequestXML``.
    open_failures: int = 0
    open_hresult: str = HRESULT_COULD_NOT_START
    open_message: str = MESSAGE_COULD_NOT_START
    #: SOAP call K is sent and answered by the service, but the connection is cut before the Web
    #: Connector reads the answer (the service did the work; the Web Connector never learns it).
    drop_connection_on_call: int | None = None


@dataclass(frozen=True)
class ReportedError:
    """A failed call, as QBWC would report it (QWCLog / Status column)."""

    method: str
    #: QBWC error code (reference/qbwc.md 6.1); None for serverVersion, which QBWC tolerates.
    code: str | None
    #: ``fault`` (SOAP Fault), ``unreadable`` (not the answer the WSDL describes), ``http``
    #: (a status other than 200 without a fault) or ``network`` (no answer at all).
    kind: Literal["fault", "unreadable", "http", "network"]
    detail: str

    def __str__(self) -> str:
        return f"{self.code or self.method}: {self.detail}"


@dataclass(frozen=True)
class CallRecord:
    """One SOAP call: what was sent, what came back and how long the service took."""

    method: str
    #: Parameters sent (the password masked as QWCLog does).
    params: Mapping[str, str]
    #: The decoded result: str, int (receiveResponseXML), tuple (authenticate), None on failure
    #: or when the result element was absent.
    result: Result
    #: Seconds from sending the request to having read the answer (the service's time plus HTTP).
    elapsed: float
    http_status: int | None
    error: ReportedError | None = None


@dataclass(frozen=True)
class SessionReport:
    """Everything one Web Connector update session did."""

    number: int
    outcome: Outcome
    calls: tuple[CallRecord, ...]
    server_version: str | None
    client_version_result: str | None
    authenticate_result: AuthArray | None
    ticket: str | None
    company_file: str | None
    #: sendRequestXML/receiveResponseXML pairs (receiveResponseXML posted).
    round_trips: int
    percents: tuple[int, ...]
    last_errors: tuple[str, ...]
    close_result: str | None
    connection_error_results: tuple[str, ...]
    crashed: bool
    #: Failed calls, as QBWC would report them.
    errors: tuple[ReportedError, ...]
    #: Injected faults that fired in this session, described.
    injected: tuple[str, ...]
    #: authRet[2] / authRet[3] when the service sent them (seconds).
    postpone_seconds: int | None = None
    min_run_seconds: int | None = None
    #: Time spent in the request processor (simulated QuickBooks).
    quickbooks_seconds: float = 0.0
    #: Free-text notes on choices the simulator made (warnings accepted, limits reached).
    notes: tuple[str, ...] = ()

    @property
    def methods(self) -> tuple[str, ...]:
        """The SOAP methods called, in order."""
        return tuple(call.method for call in self.calls)

    @property
    def service_seconds(self) -> float:
        """Total time the service took to answer this session's calls."""
        return sum(call.elapsed for call in self.calls)

    def calls_to(self, method: str) -> tuple[CallRecord, ...]:
        """The calls made to ``method``, in order."""
        return tuple(call for call in self.calls if call.method == method)


class AnswerError(Exception):
    """The service's answer is a SOAP Fault or not the answer the WSDL describes."""

    def __init__(self, kind: Literal["fault", "unreadable", "http"], detail: str) -> None:
        super().__init__(detail)
        self.kind: Literal["fault", "unreadable", "http"] = kind
        self.detail = detail


def _string_value(element: etree._Element, what: str) -> str | None:
    if element.get(f"{{{XSI_NS}}}nil") in ("true", "1"):
        return None
    if len(element):
        raise AnswerError("unreadable", f"{what} holds elements where a string was expected")
    return element.text or ""


def parse_answer(method: str, status: int, content_type: str, body: bytes) -> Result:
    """Decode a service's HTTP answer to ``method`` the way QBWC's .NET client does.

    Returns the result (str, int for receiveResponseXML, tuple for authenticate, None when a string
    result element is absent). Raises :class:`AnswerError` for a SOAP Fault, an HTTP error, a body
    that is not a SOAP 1.1 envelope, or a response element that is not
    ``{http://developer.intuit.com/}<method>Response``.
    """
    answer = _soap_answer(status, content_type, body)
    expected = f"{{{INTUIT_NS}}}{method}Response"
    if answer.tag != expected:
        raise AnswerError("unreadable", f"the answer is {answer.tag}, expected {expected}")
    return _result_value(method, answer.find(f"{{{INTUIT_NS}}}{method}Result"))


def _soap_answer(status: int, content_type: str, body: bytes) -> etree._Element:
    """The element a SOAP 1.1 envelope's Body holds; raises :class:`AnswerError` for an HTTP
    error, a body that is no envelope, or a SOAP Fault."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    if status not in (200, 500):
        raise AnswerError("http", f"HTTP {status} from the service")
    if media_type != "text/xml":
        raise AnswerError(
            "http" if status == 500 else "unreadable",
            f"HTTP {status} with content type {content_type or '(none)'!r}, expected text/xml",
        )
    try:
        root = parse_bytes(body, huge_tree=True)
    except (etree.XMLSyntaxError, UnsafeXMLError) as exc:
        raise AnswerError("unreadable", f"the answer is not well-formed XML: {exc}") from exc
    if root.tag != f"{{{SOAP_ENV_NS}}}Envelope":
        raise AnswerError("unreadable", f"the answer's root is {root.tag}, not a SOAP 1.1 Envelope")
    soap_body = root.find(f"{{{SOAP_ENV_NS}}}Body")
    if soap_body is None or not len(soap_body):
        raise AnswerError("unreadable", "the SOAP envelope has no Body content")
    answer = soap_body[0]
    if answer.tag == f"{{{SOAP_ENV_NS}}}Fault":
        code = (answer.findtext("faultcode") or "").strip()
        text = (answer.findtext("faultstring") or "").strip()
        raise AnswerError("fault", f"SOAP Fault {code}: {text}".rstrip(": "))
    if status != 200:
        raise AnswerError("http", f"HTTP {status} without a SOAP Fault")
    return answer


def _result_value(method: str, result: etree._Element | None) -> Result:
    """The value of ``method``'s result element (see :func:`parse_answer`)."""
    if method == "authenticate":
        if result is None:
            raise AnswerError("unreadable", "authenticateResult is missing")
        strings = [
            _string_value(child, "authenticateResult/string")
            for child in result
            if child.tag == f"{{{INTUIT_NS}}}string"
        ]
        return tuple(strings)
    if method == "receiveResponseXML":
        # int, minOccurs=1 in the WSDL. A missing or non-integer result is refused rather than read
        # as 0 ("keep going"), which would hide a broken service behind an endless loop.
        if result is None:
            raise AnswerError("unreadable", "receiveResponseXMLResult is missing")
        text = (_string_value(result, "receiveResponseXMLResult") or "").strip()
        try:
            return int(text)
        except ValueError as exc:
            raise AnswerError(
                "unreadable", f"receiveResponseXMLResult {text!r} is not an integer"
            ) from exc
    if result is None:
        return None
    return _string_value(result, f"{method}Result")


class _SessionEnd(Exception):
    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome)
        self.outcome: Outcome = outcome


@dataclass
class _Session:
    number: int
    calls: list[CallRecord] = field(default_factory=list)
    server_version: str | None = None
    client_version_result: str | None = None
    authenticate_result: AuthArray | None = None
    ticket: str | None = None
    company_file: str | None = None
    round_trips: int = 0
    percents: list[int] = field(default_factory=list)
    last_errors: list[str] = field(default_factory=list)
    close_result: str | None = None
    connection_error_results: list[str] = field(default_factory=list)
    crashed: bool = False
    errors: list[ReportedError] = field(default_factory=list)
    injected: list[str] = field(default_factory=list)
    postpone_seconds: int | None = None
    min_run_seconds: int | None = None
    quickbooks_seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def report(self, outcome: Outcome) -> SessionReport:
        return SessionReport(
            number=self.number,
            outcome=outcome,
            calls=tuple(self.calls),
            server_version=self.server_version,
            client_version_result=self.client_version_result,
            authenticate_result=self.authenticate_result,
            ticket=self.ticket,
            company_file=self.company_file,
            round_trips=self.round_trips,
            percents=tuple(self.percents),
            last_errors=tuple(self.last_errors),
            close_result=self.close_result,
            connection_error_results=tuple(self.connection_error_results),
            crashed=self.crashed,
            errors=tuple(self.errors),
            injected=tuple(self.injected),
            postpone_seconds=self.postpone_seconds,
            min_run_seconds=self.min_run_seconds,
            quickbooks_seconds=self.quickbooks_seconds,
            notes=tuple(self.notes),
        )


def _optional_seconds(auth: AuthArray, index: int) -> int | None:
    if len(auth) <= index:
        return None
    text = (auth[index] or "").strip()
    try:
        return int(text) if text else None
    except ValueError:
        return None


class SimulatedWebConnector:
    """A QuickBooks Web Connector that talks to the SOAP service at ``url``.

    Use it as a context manager (or call :meth:`close`) to release its HTTP connections. One
    instance runs one session at a time, like QBWC; run several instances (one per thread) to
    simulate several Web Connectors. An exception from the processor other than
    :class:`QuickBooksHResultError` is a bug in the simulated QuickBooks and propagates.
    """

    def __init__(
        self,
        url: str,
        processor: RequestProcessor,
        *,
        username: str,
        password: str,
        company_file: str = DEFAULT_COMPANY_FILE,
        client_version: str = DEFAULT_CLIENT_VERSION,
        user_agent: str = DEFAULT_USER_AGENT,
        owner_id: str = DEFAULT_OWNER_ID,
        file_id: str = DEFAULT_FILE_ID,
        hcp_response: str | None = None,
        qbxml_country: str = "US",
        qbxml_major: int = 13,
        qbxml_minor: int = 0,
        noop_wait: float = 5.0,
        max_noops: int = 12,
        max_round_trips: int = 1000,
        max_connection_retries: int = 2,
        accept_client_version_warning: bool = True,
        faults: Faults | None = None,
        timeout: float = 100.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """Configure the Web Connector.

        ``company_file`` is the file open in QuickBooks (sent as ``strCompanyFileName`` when
        ``authenticate`` answers ""). ``hcp_response`` defaults to :func:`default_hcp_response`
        with ``owner_id``/``file_id``. ``noop_wait`` is QBWC's pause after a "NoOp" (5 s in QBWC);
        ``max_noops``, ``max_round_trips`` and ``max_connection_retries`` bound each session so a
        misbehaving service cannot keep it going forever. ``timeout`` is per HTTP call (.NET's
        default is 100 s).
        """
        self.url = url
        self.processor = processor
        self.username = username
        self.password = password
        self.company_file = company_file
        self.client_version = client_version
        self.user_agent = user_agent
        self.hcp_response = (
            hcp_response
            if hcp_response is not None
            else default_hcp_response(owner_id=owner_id, file_id=file_id)
        )
        self.qbxml_country = qbxml_country
        self.qbxml_major = qbxml_major
        self.qbxml_minor = qbxml_minor
        self.noop_wait = noop_wait
        self.max_noops = max_noops
        self.max_round_trips = max_round_trips
        self.max_connection_retries = max_connection_retries
        self.accept_client_version_warning = accept_client_version_warning
        self.faults = faults or Faults()
        self._timeout = timeout
        self._transport = transport
        self._client = self._new_client()
        self._fresh_connection = True
        self._calls_made = 0
        self._messages_processed = 0
        self._open_failures_left = self.faults.open_failures
        self._sessions_run = 0

    # -- HTTP -------------------------------------------------------------------------------

    def _new_client(self) -> httpx.Client:
        client = httpx.Client(timeout=self._timeout, transport=self._transport)
        # .NET's SoapHttpClientProtocol sends none of httpx's default headers.
        for name in ("Accept", "Accept-Encoding", "Connection", "User-Agent"):
            del client.headers[name]
        return client

    def _reset_connections(self) -> None:
        """Drop every open connection, as a killed process or a network cut does."""
        self._client.close()
        self._client = self._new_client()
        self._fresh_connection = True

    def close(self) -> None:
        """Close the HTTP connections."""
        self._client.close()

    def __enter__(self) -> SimulatedWebConnector:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _call(
        self, session: _Session, method: str, params: Sequence[tuple[str, ParamValue]]
    ) -> CallRecord:
        """Make one SOAP call and record it; the record's ``error`` says whether it failed."""
        self._calls_made += 1
        headers = request_headers(method, self.user_agent)
        if self._fresh_connection:
            headers["Connection"] = "Keep-Alive"  # first request on a connection (capture 01)
            self._fresh_connection = False
        body = build_envelope(method, params)
        shown = {name: ("<MaskedForSecurity>" if name == "strPassword" else str(value))
                 for name, value in params}  # fmt: skip
        status: int | None = None
        error: ReportedError | None = None
        result: Result = None
        code = QBWC_ERROR_CODES.get(method)
        start = time.perf_counter()
        try:
            if self.faults.drop_connection_on_call == self._calls_made:
                with self._client.stream("POST", self.url, content=body, headers=headers) as resp:
                    status = resp.status_code  # answered, but never read
                self._reset_connections()
                session.injected.append(f"connection dropped on call {self._calls_made} ({method})")
                error = ReportedError(
                    method, code, "network", "the connection was closed before the answer was read"
                )
            else:
                response = self._client.post(self.url, content=body, headers=headers)
                status = response.status_code
                result = parse_answer(
                    method, status, response.headers.get("Content-Type", ""), response.content
                )
        except httpx.HTTPError as exc:
            self._reset_connections()
            error = ReportedError(method, code, "network", f"{type(exc).__name__}: {exc}")
        except AnswerError as exc:
            error = ReportedError(method, code, exc.kind, exc.detail)
        elapsed = time.perf_counter() - start
        record = CallRecord(method, shown, result, elapsed, status, error)
        session.calls.append(record)
        if error is not None:
            session.errors.append(error)
        return record

    def _call_or_end(
        self, session: _Session, method: str, params: Sequence[tuple[str, ParamValue]]
    ) -> Result:
        """Make a call; a failed call ends the session, as QBWC stops the update on 1012-1045.

        QBWC shows the error and ends the update (reference/qbwc.md 6.1). Whether it still calls
        closeConnection after a failed callback is not documented; this simulator does not, so a
        service must not rely on closeConnection to release what a session held.
        """
        record = self._call(session, method, params)
        if record.error is not None:
            raise _SessionEnd("failed")
        return record.result

    def _string_call(
        self, session: _Session, method: str, params: Sequence[tuple[str, ParamValue]]
    ) -> str:
        result = self._call_or_end(session, method, params)
        # A null/absent string result is read as "" (the Guide: "empty string or Null").
        return result if isinstance(result, str) else ""

    def _close(self, session: _Session, outcome: Outcome) -> _SessionEnd:
        ticket = session.ticket or ""
        session.close_result = self._string_call(session, "closeConnection", [("ticket", ticket)])
        return _SessionEnd(outcome)

    # -- sessions -----------------------------------------------------------------------------

    def run_session(self) -> SessionReport:
        """Run one update session (the user clicked "Update Selected" or the scheduler fired)."""
        self._sessions_run += 1
        session = _Session(number=self._sessions_run)
        try:
            self._run(session)
        except _SessionEnd as end:
            return session.report(end.outcome)
        raise AssertionError("a session always ends with an outcome")  # pragma: no cover

    def run_until_idle(self, max_sessions: int = 20) -> list[SessionReport]:
        """Run sessions until ``authenticate`` answers "none" (or ``max_sessions`` ran).

        Also stops after an "nvu" or a refused client version, which no further session changes.
        """
        reports: list[SessionReport] = []
        for _ in range(max_sessions):
            report = self.run_session()
            reports.append(report)
            if report.outcome in ("no_work", "invalid_user", "client_version_refused"):
                break
        return reports

    def _run(self, session: _Session) -> None:
        self._versions(session)
        self._authenticate(session)
        self._open_company(session)
        self._exchange(session)

    def _versions(self, session: _Session) -> None:
        # serverVersion and clientVersion are optional for the service: a fault there is logged
        # and the update goes on ("does not contain support for ... Allowing update operation
        # for backward compatibility"); only a network failure stops it.
        record = self._call(session, "serverVersion", [])
        if record.error is not None and record.error.kind == "network":
            raise _SessionEnd("failed")
        session.server_version = record.result if isinstance(record.result, str) else None

        record = self._call(session, "clientVersion", [("strVersion", self.client_version)])
        if record.error is not None:
            if record.error.kind == "network":
                raise _SessionEnd("failed")
            return
        answer = record.result if isinstance(record.result, str) else ""
        session.client_version_result = answer
        # "W:" warns (a dialog: a person must choose), "E:" cancels, "O:" names the version the
        # service expects and cancels (Guide ch.10 clientVersion).
        if answer[:2].upper() == "W:":
            if not self.accept_client_version_warning:
                raise _SessionEnd("client_version_refused")
            session.notes.append(f"clientVersion warning accepted: {answer[2:]}")
        elif answer[:2].upper() in ("E:", "O:"):
            raise _SessionEnd("client_version_refused")

    def _authenticate(self, session: _Session) -> None:
        result = self._call_or_end(
            session,
            "authenticate",
            [("strUserName", self.username), ("strPassword", self.password)],
        )
        auth: AuthArray = result if isinstance(result, tuple) else ()
        session.authenticate_result = auth
        if len(auth) < 2:
            # QBWC reads authRet[0] and authRet[1] unconditionally (reference/qbwc.md 5).
            error = ReportedError(
                "authenticate",
                QBWC_ERROR_CODES["authenticate"],
                "unreadable",
                f"authenticate answered {len(auth)} string(s); at least 2 are needed "
                "(Index was outside the bounds of the array)",
            )
            session.errors.append(error)
            raise _SessionEnd("failed")
        session.ticket = auth[0] or ""
        session.postpone_seconds = _optional_seconds(auth, 2)
        session.min_run_seconds = _optional_seconds(auth, 3)
        verdict = (auth[1] or "").strip()
        # "none"/"nvu"/"busy" (any case): message shown, closeConnection, stop (qbwc.md 3 and 5;
        # no QWCLog was found to confirm the closeConnection, so a service must cope either way).
        refusals: dict[str, Outcome] = {"none": "no_work", "nvu": "invalid_user", "busy": "busy"}
        if verdict.lower() in refusals:
            raise self._close(session, refusals[verdict.lower()])
        if session.postpone_seconds:
            # "the current update process is discontinued" (Guide ch.10 authenticate, example 1).
            raise self._close(session, "postponed")
        session.company_file = verdict or self.company_file

    def _open_company(self, session: _Session) -> None:
        """QBWC's OpenConnection/BeginSession; failures go to connectionError (Guide ch.10)."""
        retries = 0
        while self._open_failures_left > 0:
            self._open_failures_left -= 1
            hresult, message = self.faults.open_hresult, self.faults.open_message
            session.injected.append(f"company file could not be opened: {hresult} {message}")
            answer = self._string_call(
                session,
                "connectionError",
                [("ticket", session.ticket or ""), ("hresult", hresult), ("message", message)],
            )
            session.connection_error_results.append(answer)
            if answer.strip().lower() == "done":
                raise _SessionEnd("connection_error")
            if retries >= self.max_connection_retries:
                session.notes.append(
                    f"connectionError asked for another retry after {retries}; "
                    "the simulator stops retrying (the Guide: not more than a couple of times)"
                )
                raise _SessionEnd("connection_error")
            retries += 1
            # Any other answer is the company file to retry with; "" means the open one.
            session.company_file = answer or self.company_file

    def _exchange(self, session: _Session) -> None:
        """The sendRequestXML/receiveResponseXML loop (reference/qbwc.md 3)."""
        first = True
        noops = 0
        requests = 0
        while True:
            hcp = self.hcp_response if first else ""  # only the first call of a session carries it
            first = False
            request = self._string_call(
                session,
                "sendRequestXML",
                [
                    ("ticket", session.ticket or ""),
                    ("strHCPResponse", hcp),
                    ("strCompanyFileName", session.company_file or self.company_file),
                    ("qbXMLCountry", self.qbxml_country),
                    ("qbXMLMajorVers", self.qbxml_major),
                    ("qbXMLMinorVers", self.qbxml_minor),
                ],
            )
            if request == "" or request.strip().lower() == "noop":
                # "" (or "NoOp", Guide ch.10 sendRequestXML) → getLastError.
                text = self._last_error(session)
                # Anything but "NoOp" is shown and ends the session; "Interactive mode" (which
                # would lead to getInteractiveURL) is not simulated and ends it the same way.
                if text.strip().lower() != "noop":
                    raise self._close(session, "error")
                noops += 1
                if noops > self.max_noops:
                    session.notes.append(f"more than {self.max_noops} NoOp waits in one session")
                    raise self._close(session, "limit")
                time.sleep(self.noop_wait)
                continue
            requests += 1
            if requests > self.max_round_trips:
                session.notes.append(f"more than {self.max_round_trips} requests in one session")
                raise self._close(session, "limit")
            response, hresult, message = self._process(session, request)
            result = self._call_or_end(
                session,
                "receiveResponseXML",
                [
                    ("ticket", session.ticket or ""),
                    ("response", response),
                    ("hresult", hresult),
                    ("message", message),
                ],
            )
            session.round_trips += 1
            percent = result if isinstance(result, int) else 0
            session.percents.append(percent)
            if percent < 0:
                self._last_error(session)
                raise self._close(session, "error")
            if percent >= 100:  # above 100 is read as done too
                raise self._close(session, "done")

    def _last_error(self, session: _Session) -> str:
        text = self._string_call(session, "getLastError", [("ticket", session.ticket or "")])
        session.last_errors.append(text)
        return text

    def _process(self, session: _Session, request: str) -> tuple[str, str, str]:
        """Hand one qbXML message to QuickBooks: (response, hresult, message)."""
        self._messages_processed += 1
        number = self._messages_processed
        if number in self.faults.hresult_on_messages:
            session.injected.append(
                f"message {number}: request processor threw {self.faults.hresult}"
            )
            outcome = ("", self.faults.hresult, self.faults.hresult_message)
        else:
            start = time.perf_counter()
            try:
                outcome = (self.processor.process(request), "", "")
            except QuickBooksHResultError as exc:
                outcome = ("", exc.hresult, exc.message)
            finally:
                session.quickbooks_seconds += time.perf_counter() - start
        if self.faults.crash_after_message == number:
            session.injected.append(
                f"Web Connector killed after QuickBooks processed message {number}"
            )
            session.crashed = True
            self._reset_connections()
            raise _SessionEnd("crashed")
        return outcome
