"""The statuses of a job (CONTRACT.md), one type for the schema, the job store and its users.

A :class:`JobStatus` is a ``str``: it compares equal to the text stored in ``jobs.status`` and
shown in JSON, so values read back as plain strings match it.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class JobStatus(StrEnum):
    """Where a job stands: waiting for work, under way, or finished one way or another."""

    PENDING = "pending"
    WAITING = "waiting"
    IN_FLIGHT = "in_flight"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


#: Every status, in the contract's order.
JOB_STATUSES = tuple(JobStatus)
#: "Unfinished" statuses hold the idempotency key: a failed job waits for an operator, so
#: enqueueing the same work again returns it instead of silently trying again.
UNFINISHED_STATUSES = (
    JobStatus.PENDING,
    JobStatus.WAITING,
    JobStatus.IN_FLIGHT,
    JobStatus.FAILED,
)
#: Jobs with work still to do (a failed job waits for an operator, not for QuickBooks).
ACTIVE_STATUSES = (JobStatus.PENDING, JobStatus.WAITING, JobStatus.IN_FLIGHT)
#: A failed or cancelled job: its dependents cannot run.
BROKEN_STATUSES = (JobStatus.FAILED, JobStatus.CANCELLED)


def sql_literals(statuses: Iterable[JobStatus]) -> str:
    """The statuses as comma-separated SQL string literals: ``'pending', 'waiting'``."""
    return ", ".join(f"'{status.value}'" for status in statuses)
