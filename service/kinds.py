"""Job kinds: how a job turns into qbXML requests, and what each answer does to it.

A kind is a small state machine. :meth:`JobKind.step` builds the request for the job's next step
and the state to keep while it is in flight; :meth:`JobKind.handle` reads QuickBooks' answer and
decides what happens next (:class:`Done`, :class:`Next`, :class:`RetryLater`, :class:`Fail`).

A request whose answer never came may have been carried out by QuickBooks. The state saved with
the request stays on the job when its lease ends, so the kind's next ``step`` sees it and can look
the object up before adding it again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from service.jobstore import Job
from service.qbxml import build
from service.qbxml.build import Request
from service.qbxml.status import Outcome, describe
from service.qbxml.types import CompanyRecord, Response


@dataclass(frozen=True)
class Step:
    """The next request of a job, and the state to keep on the job while it is in flight."""

    request: Request
    state: dict[str, Any] = field(default_factory=dict)


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


class JobKind(Protocol):
    """What every kind of job provides."""

    #: The value of ``jobs.kind``.
    name: str

    def step(self, job: Job, request_id: str) -> Step:
        """Build the request for the job's next step, with this ``requestID``."""
        ...

    def handle(self, job: Job, response: Response) -> Decision:
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


def failure(response: Response, error: str | None = None) -> Decision | None:
    """The decision every kind shares for an answer that is not a success; None for a success.

    Locks and "not processed" are retried later; other errors fail the job with QuickBooks'
    own message.
    """
    outcome = response.outcome
    if outcome in (Outcome.OK, Outcome.WARNING, Outcome.NOTHING_MATCHED, Outcome.NOT_FOUND):
        return None
    text = error or error_text(response)
    if outcome is Outcome.RETRY_LATER:
        return RetryLater(text)
    return Fail(text)


class CompanyQuery:
    """Read the company's name: the smallest useful request, and a check that the link works."""

    name = "company_query"

    def step(self, job: Job, request_id: str) -> Step:
        """One CompanyQueryRq."""
        return Step(build.company_query(request_id))

    def handle(self, job: Job, response: Response) -> Decision:
        """Done with the company name, or the QuickBooks error."""
        trouble = failure(response)
        if trouble is not None:
            return trouble
        companies = response.records_of(CompanyRecord)
        return Done({"company_name": companies[0].company_name if companies else None})


def builtin_kinds() -> Mapping[str, JobKind]:
    """The kinds this version of atqb knows, by name."""
    kinds: list[JobKind] = [CompanyQuery()]
    return {kind.name: kind for kind in kinds}
