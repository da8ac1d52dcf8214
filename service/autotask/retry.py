"""When and how long the client waits before repeating a request.

Repeated: network failures and timeouts, HTTP 429, Autotask's thread-threshold error
(``Itgenatr005``, recognised by its text whatever the status), and HTTP 5xx that is not a
recognisably permanent error (permission, missing record). Every request the client makes is
safe to repeat: queries and reads change nothing, and the only write (PATCH of named fields)
sets absolute values.

The wait is capped exponential backoff with jitter: before attempt *n + 1* the client waits
``d/2 + random() * d/2`` where ``d = min(max_delay, base_delay * 2**(n-1))``. A ``Retry-After``
header (seconds or an HTTP date) is honoured exactly instead; when it asks for more than
``max_retry_after`` seconds the client does not wait at all but raises, so the caller can decide
(n8n's Autotask node and WYRE's client do the same; reference/autotask.md 8.1).
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

__all__ = ["RequestRetry", "parse_retry_after"]


@dataclass(frozen=True)
class RequestRetry:
    """Limits for repeating a request; the defaults wait at most about 15 s in all."""

    #: Attempts per request, the first included.
    max_attempts: int = 5
    #: Backoff before the second attempt, in seconds (before jitter).
    base_delay: float = 1.0
    #: Cap of one backoff, in seconds.
    max_delay: float = 60.0
    #: Longest ``Retry-After`` the client waits for; above it the error is raised instead.
    max_retry_after: float = 120.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < 0 or self.max_retry_after < 0:
            raise ValueError("delays must not be negative")

    def backoff(self, failed_attempts: int, jitter: float) -> float:
        """Seconds to wait after ``failed_attempts`` failures; ``jitter`` is in [0, 1)."""
        delay = min(self.max_delay, self.base_delay * 2.0 ** max(0, failed_attempts - 1))
        return delay / 2 + jitter * delay / 2


def parse_retry_after(value: str | None, *, date_header: str | None = None) -> float | None:
    """Seconds asked for by a ``Retry-After`` header, or None when absent or unreadable.

    An HTTP-date is measured from the answer's ``Date`` header when present, else from now.
    """
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    now = datetime.now(UTC)
    if date_header:
        with contextlib.suppress(TypeError, ValueError):
            now = parsedate_to_datetime(date_header)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())
