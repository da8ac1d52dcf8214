"""Job kinds: how a job turns into qbXML requests, and what each answer does to it.

A kind is a small state machine. :meth:`JobKind.step` builds the request for the job's next step
and the state to keep while it is in flight; :meth:`JobKind.handle` reads QuickBooks' answer and
says what happens next (:class:`Done`, :class:`Next`, :class:`RetryLater`, :class:`Fail`).

A request whose answer never came may have been carried out by QuickBooks. The state saved with
the request stays on the job when its lease ends, so the kind's next ``step`` sees it and can look
the object up before adding it again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from lxml import etree

from service.jobstore import Job


@dataclass(frozen=True)
class Step:
    """The next request of a job (its ``requestID`` is set by the exchange)."""

    request: etree._Element
    state: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Reply:
    """QuickBooks' answer to one request: its ``…Rs`` element, or the HRESULT that replaced it."""

    element: etree._Element | None
    status_code: int | None = None
    status_severity: str | None = None
    status_message: str | None = None
    hresult: str | None = None
    hresult_message: str | None = None


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


Outcome = Done | Next | RetryLater | Fail


class JobKind(Protocol):
    """What every kind of job provides."""

    #: The value of ``jobs.kind``.
    name: str

    def step(self, job: Job) -> Step:
        """Build the request for the job's next step."""
        ...

    def handle(self, job: Job, reply: Reply) -> Outcome:
        """Decide what QuickBooks' answer means for the job."""
        ...


def describe_reply(reply: Reply) -> str:
    """The error text of an unsuccessful reply, with the QuickBooks status code or HRESULT."""
    if reply.hresult:
        return f"QuickBooks HRESULT {reply.hresult}: {reply.hresult_message or 'no message'}"
    return f"QuickBooks status {reply.status_code}: {reply.status_message or 'no message'}"


class CompanyQuery:
    """Read the company's name: the smallest useful request, and a check that the link works."""

    name = "company_query"

    def step(self, job: Job) -> Step:
        """One CompanyQueryRq."""
        return Step(request=etree.Element("CompanyQueryRq"))

    def handle(self, job: Job, reply: Reply) -> Outcome:
        """Done with the company name, or the QuickBooks error."""
        if reply.hresult or reply.element is None:
            return RetryLater(describe_reply(reply))
        if reply.status_code != 0:
            return Fail(describe_reply(reply))
        name = reply.element.findtext("CompanyRet/CompanyName")
        return Done({"company_name": name})


def builtin_kinds() -> Mapping[str, JobKind]:
    """The kinds this version of atqb knows, by name."""
    kinds: list[JobKind] = [CompanyQuery()]
    return {kind.name: kind for kind in kinds}
