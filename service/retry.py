"""When a job that met transient trouble runs again: capped exponential backoff."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class RetryPolicy:
    """Wait ``base * 2**(attempt-1)`` seconds after a failed attempt, never more than ``cap``.

    No jitter: the Web Connector's schedule already spreads the work, and a predictable delay is
    easier for an operator to reason about ("tried 3 times, next try in 2 minutes").
    """

    base_seconds: float = 30.0
    cap_seconds: float = 3600.0
    max_attempts: int = 8

    def delay(self, attempts: int) -> timedelta:
        """How long to wait after ``attempts`` failed attempts (``attempts`` >= 1)."""
        exponent = max(0, min(attempts - 1, 32))
        return timedelta(seconds=min(self.cap_seconds, self.base_seconds * 2**exponent))


DEFAULT_RETRY = RetryPolicy()
