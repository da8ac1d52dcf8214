"""The simulated QuickBooks request processor: message handling, fault hooks, setup and inspection.

A message set goes through what QuickBooks' ``ProcessRequest`` does (reference/qbxml.md 2, 9;
reference/qbwc.md 6.3):

1. **Raw non-ASCII** anywhere in the text, malformed XML, a DOCTYPE, a missing or unknown
   ``<?qbxml version?>``, anything but ``QBXML/QBXMLMsgsRq``, ``onError="rollbackOnError"`` or
   any schema violation other than an over-long string: the whole set is rejected by raising
   :class:`QuickBooksHResultError` ``0x80040400`` (no answer, no requestID). ``&#233;`` is fine.
2. **Over-long strings** are not a parse error in QuickBooks: they are checked per request at
   run time (reference/qbxml.md 7, 8.1). The simulator validates with the qbXML schema; when the
   only violations are ``maxLength`` ones, each request holding an over-long value answers
   **3070** "The string "X" in the field "Y" is too long." and the others are processed.
3. Characters outside Latin-1 (sent as character references) are stored as ``?``, as QuickBooks
   stores ISO-8859-1 (reference/qbxml.md 9). Answers are Unicode text whose non-ASCII characters
   are written as themselves (all Latin-1), starting ``<?xml version="1.0" ?>`` with no encoding
   declaration, like real answers.
4. Requests run in order, one at a time (one lock for everything). ``stopOnError``: after the first
   Error-severity status every later request answers 3231 and nothing is rolled back;
   ``continueOnError``: every request runs. Warnings (500, 570) and status 1 do not stop. Every
   ``…Rs`` echoes its ``requestID``; a requestID over 50 characters is status 1060.
5. A request type the simulator does not model, or a modelled request using an element it does not
   model (DataExt, item groups, currency filters…), raises :class:`UnsupportedRequestError` before
   anything runs: a test double should fail loudly rather than guess.

Iterators (``iterator="Start"`` + ``MaxReturned``, then ``Continue`` with ``iteratorID``) page any
query; an unknown iteratorID is 3210 (assumed). ``metaData="MetaDataOnly"`` answers ``retCount``
only. ``responseData="includeNone"`` answers statuses only.
"""

from __future__ import annotations

import re
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from lxml import etree

from service.qbxml.schema import qbxml_schema, schema_errors
from service.simulators.processor import (
    HRESULT_COULD_NOT_START,
    HRESULT_PARSE_ERROR,
    QuickBooksHResultError,
)
from service.simulators.quickbooks import errors, lists, purchase_orders, receipts
from service.simulators.quickbooks.api import CompanyAPI
from service.simulators.quickbooks.context import (
    Answer,
    Context,
    QueryOutcome,
    UnsupportedRequestError,
    text,
)
from service.simulators.quickbooks.model import (
    Company,
    HostInfo,
)
from service.xmlsafe import UnsafeXMLError, parse_text

PARSE_ERROR_MESSAGE = "QuickBooks found an error when parsing the provided XML text stream."
_QBXML_VERSION = re.compile(r'version\s*=\s*"([^"]*)"')
_MAX_REQUEST_ID = 50
#: Valid qbXML inside modelled requests that the simulator does not model: custom fields, item
#: groups, filters on currency/class/balance, date macros, value adjustments.
UNMODELLED = (
    "DataExt",
    "PurchaseOrderLineGroupAdd",
    "PurchaseOrderLineGroupMod",
    "ItemGroupLineAdd",
    "TotalBalanceFilter",
    "CurrencyFilter",
    "ClassFilter",
    "DateMacro",
    "ValueAdjustment",
)

#: Requests that save a transaction: inactive references and the closing date apply to them.
TRANSACTION_WRITES = frozenset(
    {"PurchaseOrderAddRq", "PurchaseOrderModRq", "ItemReceiptAddRq", "InventoryAdjustmentAddRq"}
)

HANDLERS: dict[str, Callable[[Context, etree._Element], Answer | QueryOutcome]] = {
    **lists.HANDLERS,
    **purchase_orders.HANDLERS,
    **receipts.HANDLERS,
}


@dataclass(frozen=True)
class RequestOutcome:
    """How one request of a message was answered."""

    request: str
    request_id: str | None
    status_code: int
    status_severity: str
    status_message: str


@dataclass(frozen=True)
class ProcessedMessage:
    """One call of :meth:`SimulatedQuickBooks.process`: what came in and what went out."""

    request_xml: str
    #: The qbXML answer, or ``None`` when the call raised an HRESULT.
    response_xml: str | None
    hresult: str | None = None
    requests: tuple[RequestOutcome, ...] = ()


@dataclass
class _HResultFault:
    hresult: str
    message: str
    after_processing: bool


@dataclass
class _Iterator:
    records: list[Any]
    render: Callable[[Any], etree._Element]
    page: int | None


@dataclass
class _Injected:
    """A status to answer instead of running the next ``times`` requests (or messages)."""

    status: errors.StatusError
    times: int


class _InjectedStatus(errors.StatusError):
    """A fault-hook status: the request never reached the company file."""


@dataclass
class _Message:
    """State of the message set being processed."""

    on_error: str
    include_data: bool
    too_long: dict[int, errors.StatusError] = field(default_factory=dict)
    macros: dict[str, str] = field(default_factory=dict)
    stopped: bool = False
    outcomes: list[RequestOutcome] = field(default_factory=list)


def _check_modelled(rq: etree._Element) -> None:
    """Refuse a request the simulator does not model: its type, or an element in it."""
    if rq.tag not in HANDLERS:
        raise UnsupportedRequestError(f"{rq.tag} is not modelled by the simulator")
    for name in UNMODELLED:
        if rq.find(f".//{name}") is not None:
            raise UnsupportedRequestError(f"{rq.tag}: {name} is not modelled")


def _parse_error(message: str = PARSE_ERROR_MESSAGE) -> QuickBooksHResultError:
    return QuickBooksHResultError(HRESULT_PARSE_ERROR, message)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SimulatedQuickBooks(CompanyAPI):
    """A QuickBooks Desktop company file behind the request processor (a ``RequestProcessor``).

    ``clock`` returns the current time (aware); answers show it at ``utc_offset`` (QuickBooks
    writes local time). ``default_accounts`` pre-populates the chart of accounts
    (:data:`~service.simulators.quickbooks.model.DEFAULT_ACCOUNTS`); ``host`` sets what
    HostQuery/CompanyQuery report and which qbXML versions are accepted. :attr:`log` keeps
    the last ``log_limit`` messages (all of them with ``None``).
    """

    def __init__(
        self,
        *,
        clock: Callable[[], datetime] = _utc_now,
        utc_offset: timedelta = timedelta(hours=-5),
        default_accounts: bool = True,
        host: HostInfo | None = None,
        log_limit: int | None = 10_000,
    ) -> None:
        super().__init__(
            Company(
                clock=clock, utc_offset=utc_offset, default_accounts=default_accounts, host=host
            )
        )
        self._messages_received = 0
        self._messages_processed = 0
        self._requests_processed = 0
        self._log: deque[ProcessedMessage] = deque(maxlen=log_limit)
        self._busy: list[_Injected] = []
        self._hresults: list[_HResultFault] = []
        self._injected: dict[str, list[_Injected]] = {}
        self._iterators: dict[str, _Iterator] = {}

    # ================================================================== the request processor

    def process(self, request_xml: str) -> str:
        """Process one qbXML message set and return QuickBooks' answer.

        Raises :class:`QuickBooksHResultError` where QuickBooks' request processor throws, and
        :class:`UnsupportedRequestError` for qbXML this simulator does not model.
        """
        with self._lock:
            self._messages_received += 1
            fault = self._hresults.pop(0) if self._hresults else None
            if fault is not None and not fault.after_processing:
                self._log.append(ProcessedMessage(request_xml, None, fault.hresult))
                raise QuickBooksHResultError(fault.hresult, fault.message)
            try:
                answer, outcomes = self._process(request_xml)
            except QuickBooksHResultError as exc:
                self._log.append(ProcessedMessage(request_xml, None, exc.hresult))
                raise
            self._messages_processed += 1
            if fault is not None:
                self._log.append(ProcessedMessage(request_xml, None, fault.hresult, outcomes))
                raise QuickBooksHResultError(fault.hresult, fault.message)
            self._log.append(ProcessedMessage(request_xml, answer, None, outcomes))
            return answer

    def _process(self, request_xml: str) -> tuple[str, tuple[RequestOutcome, ...]]:
        if not request_xml.isascii():
            raise _parse_error()  # raw non-ASCII fails; character references work (qbxml.md 9)
        try:
            root = parse_text(request_xml)
        except (etree.XMLSyntaxError, UnsafeXMLError) as exc:
            raise _parse_error() from exc
        self._check_version(root)
        problems = schema_errors(root)
        too_long = self._over_long_strings(root) if problems else {}
        if problems and not too_long:
            raise _parse_error()
        msgs = root.find("QBXMLMsgsRq")
        if root.tag != "QBXML" or msgs is None:
            raise _parse_error()
        on_error = msgs.get("onError", "")
        if on_error not in ("stopOnError", "continueOnError"):
            raise _parse_error()  # rollbackOnError is in the XSD but QuickBooks Desktop refuses it
        for attribute in ("newMessageSetID", "oldMessageSetID"):
            if msgs.get(attribute) is not None:
                raise UnsupportedRequestError(f"{attribute} (error recovery) is not modelled")
        requests = list(msgs)
        for rq in requests:
            _check_modelled(rq)
        _normalise(root)
        message = _Message(
            on_error=on_error,
            include_data=msgs.get("responseData", "includeAll") != "includeNone",
            too_long={requests.index(rq): status for rq, status in too_long.items()},
        )
        answers = etree.Element("QBXMLMsgsRs")
        for index, rq in enumerate(requests):
            answers.append(self._answer(message, index, rq))
        _count_down(self._busy)
        document = etree.Element("QBXML")
        document.append(answers)
        body = etree.tostring(document, encoding="unicode", pretty_print=True)
        return '<?xml version="1.0" ?>\n' + body, tuple(message.outcomes)

    def _check_version(self, root: etree._Element) -> None:
        """``<?qbxml version="X.Y"?>`` must precede the root with a version QuickBooks knows."""
        sibling = root.getprevious()
        while sibling is not None:
            if isinstance(sibling, etree._ProcessingInstruction) and sibling.target == "qbxml":
                found = _QBXML_VERSION.search(sibling.text or "")
                if found and found.group(1) in self._company.host.qbxml_versions:
                    return
                raise _parse_error()
            sibling = sibling.getprevious()
        raise _parse_error()

    def _over_long_strings(self, root: etree._Element) -> dict[etree._Element, errors.StatusError]:
        """Requests holding strings over their maxLength, when those are the only violations.

        Returns an empty dict when any other violation exists (then the whole set is refused).
        """
        schema = qbxml_schema()
        tree = root.getroottree()
        schema.validate(tree)
        found: dict[etree._Element, errors.StatusError] = {}
        for error in schema.error_log:  # type: ignore[attr-defined]
            if "[facet 'maxLength']" not in error.message:
                return {}
            hits = tree.xpath(error.path)
            if not isinstance(hits, list) or not hits:
                return {}
            element = hits[0]
            assert isinstance(element, etree._Element)
            request = element
            while request.getparent() is not None and request.getparent().tag != "QBXMLMsgsRq":  # type: ignore[union-attr]
                request = request.getparent()  # type: ignore[assignment]
            if request.getparent() is None:
                return {}
            found.setdefault(request, errors.string_too_long(element.text or "", element.tag))
        return found

    def _answer(self, message: _Message, index: int, rq: etree._Element) -> etree._Element:
        rs = etree.Element(rq.tag.removesuffix("Rq") + "Rs")
        request_id = rq.get("requestID")
        if request_id is not None:
            rs.set("requestID", request_id)
        rets: list[etree._Element] = []
        extra: dict[str, str] = {}
        status: errors.StatusError | None
        if message.stopped:
            status = errors.not_processed()
        else:
            try:
                status, rets, extra = self._run(message, index, rq)
            except errors.StatusError as exc:
                status, rets, extra = exc, [], {}
            if not isinstance(status, _InjectedStatus):
                self._requests_processed += 1
        code = status.code if status else errors.STATUS_OK
        severity = status.severity if status else "Info"
        text_ = status.message if status else errors.ok_message()
        rs.set("statusCode", str(code))
        rs.set("statusSeverity", severity)
        rs.set("statusMessage", text_)
        for key, value in extra.items():
            rs.set(key, value)
        if message.include_data:
            rs.extend(rets)
        message.outcomes.append(RequestOutcome(rq.tag, request_id, code, severity, text_))
        if severity == "Error" and message.on_error == "stopOnError":
            message.stopped = True
        return rs

    def _run(
        self, message: _Message, index: int, rq: etree._Element
    ) -> tuple[errors.StatusError | None, list[etree._Element], dict[str, str]]:
        request_id = rq.get("requestID")
        if request_id is not None and len(request_id) > _MAX_REQUEST_ID:
            raise errors.invalid_request_id(request_id)
        if index in message.too_long:
            raise message.too_long[index]
        self._raise_injected(rq)
        context = Context(
            self._company,
            message.macros,
            frozenset(c.text or "" for c in rq.findall("IncludeRetElement")),
            writes_transaction=rq.tag in TRANSACTION_WRITES,
        )
        if rq.get("iterator") in ("Continue", "Stop"):
            return self._continue(rq)
        outcome = HANDLERS[rq.tag](context, rq)
        if isinstance(outcome, Answer):
            return outcome.warning, outcome.rets, {}
        return self._query_answer(rq, outcome)

    def _raise_injected(self, rq: etree._Element) -> None:
        """Raise the fault-hook status for this request, if one is armed."""
        if self._busy:
            subject = text(rq[0], "TxnID") or text(rq[0], "ListID") if len(rq) else None
            name = rq.tag.removesuffix("Rq")
            for suffix in ("Add", "Mod", "Query"):
                name = name.removesuffix(suffix)
            lock = errors.lock_error(self._busy[0].status.code, subject or name)
            raise _InjectedStatus(lock.code, lock.message)
        queue = self._injected.get(rq.tag)
        if queue:
            status = queue[0].status
            _count_down(queue)
            raise _InjectedStatus(status.code, status.message, status.severity)

    def _query_answer(
        self, rq: etree._Element, outcome: QueryOutcome
    ) -> tuple[errors.StatusError | None, list[etree._Element], dict[str, str]]:
        records = list(outcome.records)
        extra: dict[str, str] = {}
        if rq.get("iterator") == "Start":
            max_returned = text(rq, "MaxReturned")
            page = int(max_returned) if max_returned else None
            iterator_id = "{" + str(uuid.uuid4()) + "}"
            self._iterators[iterator_id] = _Iterator(records, outcome.render, page)
            return self._next_page(iterator_id, outcome.warning)
        meta = rq.get("metaData", "NoMetaData")
        if meta != "NoMetaData":
            extra["retCount"] = str(len(records))
        rets = [] if meta == "MetaDataOnly" else [outcome.render(r) for r in records]
        return outcome.warning, rets, extra

    def _continue(
        self, rq: etree._Element
    ) -> tuple[errors.StatusError | None, list[etree._Element], dict[str, str]]:
        iterator_id = rq.get("iteratorID", "")
        if iterator_id not in self._iterators:
            raise errors.invalid_field_value(
                "iteratorID", iterator_id, "The iterator has expired or does not exist."
            )
        if rq.get("iterator") == "Stop":
            del self._iterators[iterator_id]
            return None, [], {}
        max_returned = text(rq, "MaxReturned")
        if max_returned:
            self._iterators[iterator_id].page = int(max_returned)
        return self._next_page(iterator_id, None)

    def _next_page(
        self, iterator_id: str, warning: errors.StatusError | None
    ) -> tuple[errors.StatusError | None, list[etree._Element], dict[str, str]]:
        state = self._iterators[iterator_id]
        size = state.page if state.page is not None else len(state.records)
        page, state.records = state.records[:size], state.records[size:]
        remaining = len(state.records)
        if not remaining:
            del self._iterators[iterator_id]
        extra = {"iteratorRemainingCount": str(remaining), "iteratorID": iterator_id}
        return warning, [state.render(r) for r in page], extra

    # ================================================================== fault hooks

    def busy(self, messages: int = 1, *, status_code: int = errors.IN_USE_LOCK_FAILED) -> None:
        """Answer every request of the next ``messages`` message sets with a lock error.

        ``status_code`` is 3170, 3175, 3176 (default) or 3180, with the nested texts QuickBooks
        uses for them (reference/qbxml.md 7); nothing in the company file changes.
        """
        lock = errors.lock_error(status_code, "")  # refuses a code that is not a lock error
        with self._lock:
            self._busy.append(_Injected(lock, messages))

    def raise_hresult(
        self,
        messages: int = 1,
        *,
        hresult: str = HRESULT_COULD_NOT_START,
        message: str | None = None,
        after_processing: bool = False,
    ) -> None:
        """Make the next ``messages`` calls of :meth:`process` raise ``hresult``.

        With ``after_processing`` the message set is processed first (its changes stay) and the
        answer is lost: what a write whose answer never came back looks like at this seam.
        """
        text_ = message or errors.HRESULT_MESSAGES.get(hresult, "Unexpected error.")
        with self._lock:
            self._hresults.extend(
                _HResultFault(hresult, text_, after_processing) for _ in range(messages)
            )

    def fail_next(
        self,
        request: str,
        status_code: int,
        message: str,
        *,
        severity: errors.Severity = "Error",
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` requests named ``request`` (``"PurchaseOrderAddRq"``) with
        this status instead of running them."""
        with self._lock:
            self._injected.setdefault(request, []).append(
                _Injected(errors.StatusError(status_code, message, severity), times)
            )

    @property
    def messages_received(self) -> int:
        """Calls of :meth:`process`, whatever their outcome."""
        with self._lock:
            return self._messages_received

    @property
    def messages_processed(self) -> int:
        """Message sets that were processed (an HRESULT raised before processing does not count)."""
        with self._lock:
            return self._messages_processed

    @property
    def requests_processed(self) -> int:
        """Requests that ran against the company file (not 3231-skipped, not fault-injected)."""
        with self._lock:
            return self._requests_processed

    @property
    def log(self) -> tuple[ProcessedMessage, ...]:
        """Every call of :meth:`process`, oldest first."""
        with self._lock:
            return tuple(self._log)


def _count_down(queue: list[_Injected]) -> None:
    """Use up one turn of the fault at the head of ``queue``."""
    if queue:
        queue[0].times -= 1
        if queue[0].times <= 0:
            queue.pop(0)


def _normalise(root: etree._Element) -> None:
    """Store what QuickBooks would: Latin-1 only (others become ``?``), no layout whitespace."""
    for element in root.iter(tag=etree.Element):
        if element.text is not None:
            if len(element):
                element.text = None if not element.text.strip() else element.text
            else:
                element.text = _latin1(element.text)
        element.tail = None
        for key, value in element.attrib.items():
            element.set(key, _latin1(str(value)))


def _latin1(value: str) -> str:
    return value if value.isascii() else "".join(c if ord(c) < 256 else "?" for c in value)
