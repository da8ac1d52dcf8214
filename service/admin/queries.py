"""The job searches of ``/admin``: status, kind, Web Connector user, PO, vendor and free text.

Read and checked here from the page's query string; what each filter matches is
:meth:`JobStore.find`'s to say, which runs the search (the job store holds every query on jobs).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from service.jobstatus import JOB_STATUSES
from service.jobstore import Job, JobStore

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

    def find(self, store: JobStore, *, limit: int, before: int | None = None) -> list[Job]:
        """The jobs matching the filter, newest first, at most ``limit``, with ids below
        ``before`` (:meth:`JobStore.find`)."""
        return store.find(
            status=self.status or None,
            kind=self.kind or None,
            qbwc_user=self.user or None,
            po=self.po or None,
            vendor=self.vendor or None,
            text=self.text or None,
            before=before,
            limit=limit,
        )
