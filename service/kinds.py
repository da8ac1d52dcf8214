"""Job kinds: how a job turns into qbXML requests, and what each answer does to it.

A kind is a small state machine. :meth:`JobKind.step` builds the request for the job's next step
and the state to keep while it is in flight (a :class:`Step`), or decides at once without asking
QuickBooks anything (:class:`Done` when what the job must make sure of is already known,
:class:`Fail`, :class:`RetryLater`). :meth:`JobKind.handle` reads QuickBooks' answer and decides
what happens next (:class:`Done`, :class:`Next`, :class:`RetryLater`, :class:`Fail`). Both run
inside the exchange's database transaction and get a :class:`Context` with its handles (the
connection, the job store, the settings), so a kind can read what its prerequisites left behind
and record what QuickBooks assigned.

A request whose answer never came may have been carried out by QuickBooks. The state saved with
the request stays on the job when its lease ends, so the kind's next ``step`` sees it and can look
the object up before adding it again.

A step that only reads a list by names or IDs can say so with a :class:`Lookup`: the exchange then
answers the lookups of several jobs that have the same shape with one request naming all their
values (every job gets the whole answer and picks its own records out of it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any, Literal, Protocol

from sqlalchemy import Connection

from service.jobstore import Job, JobStore
from service.qbxml import build
from service.qbxml.build import Request
from service.qbxml.status import Outcome, describe
from service.qbxml.text import name_key
from service.qbxml.types import CompanyRecord, Response
from service.settings import Settings

#: The most values one merged lookup names (QuickBooks sets no limit; this keeps answers small).
MAX_LOOKUP_VALUES = 100

LookupQuery = Literal[
    "vendor", "customer", "item", "item_inventory", "purchase_order", "item_receipt"
]
LookupField = Literal["full_names", "list_ids", "txn_ids", "ref_numbers"]

_LOOKUP_BUILDERS: dict[str, Callable[..., Request]] = {
    "vendor": build.vendor_query,
    "customer": build.customer_query,
    "item": build.item_query,
    "item_inventory": build.item_inventory_query,
    # OwnerID 0: without it QuickBooks leaves ExternalGUID, atqb's proof of ownership, out.
    "purchase_order": partial(build.purchase_order_query, external_guid=True),
    "item_receipt": partial(build.item_receipt_query, external_guid=True),
}
#: Fields whose values QuickBooks compares without regard to case (names, reference numbers).
_CASELESS: frozenset[str] = frozenset({"full_names", "ref_numbers"})


@dataclass(frozen=True)
class Lookup:
    """A read-only query naming records by ``FullName``, ``ListID``, ``TxnID`` or ``RefNumber``.

    The list forms are exact lookups: QuickBooks returns what it finds, in the order asked, and
    answers 500 (Warn) naming a value it could not find (reference/qbxml.md 4.1, 4.10). Queries of
    the same ``query`` and ``by`` can be merged into one request.
    """

    query: LookupQuery
    by: LookupField
    values: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.values:
            # An empty list is no list at all: the query would return the whole list.
            raise ValueError("a lookup needs at least one value")
        if self.query not in _LOOKUP_BUILDERS:
            raise ValueError(f"unknown lookup query {self.query!r}")

    @property
    def key(self) -> tuple[str, str]:
        """Lookups with the same key can share one request."""
        return (self.query, self.by)

    def build(self, request_id: str) -> Request:
        """The request for this lookup."""
        return _LOOKUP_BUILDERS[self.query](request_id, **{self.by: list(self.values)})

    def merged(self, others: list[Lookup]) -> Lookup:
        """One lookup naming the values of this one and ``others`` (duplicates once)."""
        seen: set[str] = set()
        values: list[str] = []
        for lookup in [self, *others]:
            if lookup.key != self.key:
                raise ValueError(f"cannot merge a {lookup.key} lookup into a {self.key} one")
            for value in lookup.values:
                key = name_key(value) if self.by in _CASELESS else value
                if key not in seen:
                    seen.add(key)
                    values.append(value)
        return Lookup(self.query, self.by, tuple(values))


@dataclass(frozen=True)
class Step:
    """The next request of a job, and the state to keep on the job while it is in flight.

    With ``lookup``, the request is that lookup's and the exchange may merge it with others.
    """

    request: Request
    state: dict[str, Any] = field(default_factory=dict)
    lookup: Lookup | None = None

    @classmethod
    def of_lookup(cls, lookup: Lookup, request_id: str, state: dict[str, Any]) -> Step:
        """A step that is only this lookup."""
        return cls(lookup.build(request_id), state, lookup)


@dataclass(frozen=True)
class Done:
    """The job is finished; ``result`` keeps what QuickBooks assigned (ListID, TxnID...)."""

    result: dict[str, Any]


@dataclass(frozen=True)
class Next:
    """The step succeeded and another one follows."""

    state: dict[str, Any]


@dataclass(frozen=True)
class RetryLater:
    """Transient trouble (QuickBooks busy or locked): try again after a backoff."""

    error: str
    state: dict[str, Any] | None = None


@dataclass(frozen=True)
class Fail:
    """A permanent error an operator must see."""

    error: str


Decision = Done | Next | RetryLater | Fail
#: What :meth:`JobKind.step` returns: a request to send, or a verdict reached without one.
StepOutcome = Step | Done | Fail | RetryLater


@dataclass(frozen=True)
class Context:
    """The exchange's handles, for kinds: all inside the transaction of the current call."""

    conn: Connection
    store: JobStore
    settings: Settings
    now: datetime


class JobKind(Protocol):
    """What every kind of job provides."""

    #: The value of ``jobs.kind``.
    name: str

    def step(self, job: Job, request_id: str, ctx: Context) -> StepOutcome:
        """Build the request for the job's next step, with this ``requestID``, or decide now."""
        ...

    def handle(self, job: Job, response: Response, ctx: Context) -> Decision:
        """Decide what QuickBooks' answer (a qbXML status, never an HRESULT) means for the job.

        HRESULTs, lost answers and unreadable answers are handled by the exchange for every
        kind alike: the job is retried and its saved state says the request may have run.
        """
        ...


def error_text(response: Response) -> str:
    """An operator's one-line account of an unsuccessful answer, with the status code."""
    description = describe(response.status_code or 0, response.status_message)
    return (
        f"QuickBooks {response.status_code} ({response.status_severity}): "
        f"{response.status_message or 'no message'} — {description.action}"
    )


#: qbXML status for a transaction dated on or before the company's closing date (qbxml.md 7).
CLOSING_DATE = 3171


def closing_date_text(response: Response, dated: str | None) -> str:
    """Plain words for a 3171: the date, why QuickBooks refuses it, and the two ways out."""
    when = f"dated {dated}" if dated else "dated today"
    return (
        f"QuickBooks refused this transaction {when}: that is on or before the company's closing "
        "date (QuickBooks: Edit > Preferences > Accounting > Company Preferences). An "
        "administrator must move the closing date back, or the date must change in Autotask; "
        f"then retry this job. atqb does not retry it by itself. QuickBooks {response.status_code}"
        f": {response.status_message or 'no message'}"
    )


def failure(
    response: Response, error: str | None = None, *, dated: str | None = None
) -> Decision | None:
    """The decision every kind shares for an answer that is not a success; None for a success.

    Locks and "not processed" are retried later; other errors fail the job with QuickBooks'
    own message. ``dated`` is the transaction date the request carried (None: today), named
    when QuickBooks refuses it for the closing date (3171), which is never retried.
    """
    outcome = response.outcome
    if outcome in (Outcome.OK, Outcome.WARNING, Outcome.NOTHING_MATCHED, Outcome.NOT_FOUND):
        return None
    if response.status_code == CLOSING_DATE:
        return Fail(closing_date_text(response, dated))
    text = error or error_text(response)
    if outcome is Outcome.RETRY_LATER:
        return RetryLater(text)
    return Fail(text)


class CompanyQuery:
    """Read the company's name: the smallest useful request, and a check that the link works."""

    name = "company_query"

    def step(self, _job: Job, request_id: str, _ctx: Context) -> StepOutcome:
        """One CompanyQueryRq."""
        return Step(build.company_query(request_id))

    def handle(self, _job: Job, response: Response, _ctx: Context) -> Decision:
        """Done with the company name, or the QuickBooks error."""
        trouble = failure(response)
        if trouble is not None:
            return trouble
        companies = response.records_of(CompanyRecord)
        return Done({"company_name": companies[0].company_name if companies else None})
