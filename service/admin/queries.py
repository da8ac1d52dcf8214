"""The job searches of ``/admin``: status, kind, Web Connector user, PO, vendor and free text.

What a filter matches (case-insensitive; ``%`` and ``_`` are plain characters):

* ``po``: jobs about that Autotask purchase order (``autotask`` = ``PurchaseOrders``/id), and jobs
  whose subject names it as ``PO <value>`` (the sync engine writes subjects such as
  ``PO 1234 · Acme Supply`` for the PO's receipts and adjustments too).
* ``vendor``: the text appears in the subject or in the job's payload.
* ``text``: the text appears in the subject, error, kind, user, idempotency key or payload; a
  number also matches the job with that id.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import ColumnElement, Connection, Text, and_, cast, func, or_, select

from service.jobstatus import JOB_STATUSES
from service.jobstore import Job
from service.models import jobs

#: Longest value accepted for each text filter.
MAX_FILTER = 200


class FilterError(ValueError):
    """A filter value the page cannot use; the text says which and why."""


@dataclass(frozen=True)
class JobFilter:
    """What the operator asked to see; empty strings mean "any"."""

    status: str = ""
    kind: str = ""
    user: str = ""
    po: str = ""
    vendor: str = ""
    text: str = ""

    @classmethod
    def from_query(cls, query: dict[str, list[str]]) -> JobFilter:
        """Read the filter from a parsed query string; :class:`FilterError` for a bad value."""
        values: dict[str, str] = {}
        for field in fields(cls):
            given = query.get(field.name, [""])
            value = given[-1].strip() if given else ""
            if len(value) > MAX_FILTER:
                raise FilterError(f"{field.name}: at most {MAX_FILTER} characters")
            if any(ord(c) < 32 for c in value):
                raise FilterError(f"{field.name}: control characters are not allowed")
            values[field.name] = value
        if values["status"] and values["status"] not in JOB_STATUSES:
            raise FilterError(
                f"status: {values['status']!r} is not one of {', '.join(JOB_STATUSES)}"
            )
        return cls(**values)

    @property
    def active(self) -> bool:
        """Whether any filter is set."""
        return any(getattr(self, field.name) for field in fields(self))

    def as_query(self) -> dict[str, str]:
        """The non-empty filters, for links."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name)}


def _payload_text() -> ColumnElement[Any]:
    return cast(jobs.c.payload, Text)


def _po_condition(po: str) -> ColumnElement[bool]:
    named = f"PO {po}"
    subject = jobs.c.subject
    conditions = [
        func.lower(subject) == named.lower(),
        subject.istartswith(named + " ", autoescape=True),
        subject.icontains(" " + named + " ", autoescape=True),
        subject.iendswith(" " + named, autoescape=True),
    ]
    number = po.removeprefix("#")
    if number.isdigit() and len(number) < 19:
        conditions.append(
            and_(jobs.c.autotask_entity == "PurchaseOrders", jobs.c.autotask_id == int(number))
        )
    return or_(*conditions)


def _text_condition(text: str) -> ColumnElement[bool]:
    conditions = [
        column.icontains(text, autoescape=True)
        for column in (
            jobs.c.subject,
            jobs.c.error,
            jobs.c.kind,
            jobs.c.qbwc_user,
            jobs.c.idempotency_key,
            _payload_text(),
        )
    ]
    number = text.removeprefix("#")
    if number.isdigit() and len(number) < 19:
        conditions.append(jobs.c.id == int(number))
    return or_(*conditions)


def find_jobs(
    conn: Connection, job_filter: JobFilter, *, limit: int, before: int | None = None
) -> list[Job]:
    """Jobs matching the filter, newest first, at most ``limit``, with ids below ``before``."""
    query = select(jobs).order_by(jobs.c.id.desc()).limit(limit)
    if before is not None:
        query = query.where(jobs.c.id < before)
    if job_filter.status:
        query = query.where(jobs.c.status == job_filter.status)
    if job_filter.kind:
        query = query.where(jobs.c.kind == job_filter.kind)
    if job_filter.user:
        query = query.where(jobs.c.qbwc_user == job_filter.user)
    if job_filter.po:
        query = query.where(_po_condition(job_filter.po))
    if job_filter.vendor:
        query = query.where(
            or_(
                jobs.c.subject.icontains(job_filter.vendor, autoescape=True),
                _payload_text().icontains(job_filter.vendor, autoescape=True),
            )
        )
    if job_filter.text:
        query = query.where(_text_condition(job_filter.text))
    return [Job.from_row(row) for row in conn.execute(query).mappings()]
