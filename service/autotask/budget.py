"""The client's own hourly request budget.

Autotask allows 10,000 requests per rolling 60 minutes per Autotask database, shared by every
integration of the tenant, and rejects requests above it until the rolling hour drops below
(reference/autotask.md 8). atqb keeps to a smaller share of its own so that it never starves the
other integrations: :class:`RequestBudget` counts every HTTP request the client sends (retries,
page fetches and zone lookups included) over the same rolling hour.

When the budget is used up, :meth:`RequestBudget.acquire` **waits** if a slot frees within
``max_wait`` seconds (the oldest counted request leaves the window), and otherwise **raises**
:class:`~service.autotask.errors.BudgetExhausted` with ``retry_after`` set, *before* sending
anything. Short waits smooth out bursts; long ones are the poller's decision (typically: end
the cycle, report it, and continue in the next one, which is safe because every read is
repeatable).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable

from .errors import BudgetExhausted, ConfigurationError

__all__ = ["DEFAULT_REQUESTS_PER_HOUR", "TENANT_REQUESTS_PER_HOUR", "RequestBudget"]

logger = logging.getLogger("service.autotask")

#: Autotask's tenant-wide threshold (reference/autotask.md 8).
TENANT_REQUESTS_PER_HOUR = 10_000
#: atqb's default share of it.
DEFAULT_REQUESTS_PER_HOUR = 3_000
#: Fraction of the budget at which a warning is logged.
WARN_FRACTION = 0.8
WINDOW_SECONDS = 3600.0


class RequestBudget:
    """Counts requests over a rolling hour and keeps under ``per_hour``.

    ``clock`` (monotonic seconds) and ``sleep`` are injectable so tests need not wait.
    Not thread-safe: one budget belongs to one client used by one thread.
    """

    def __init__(
        self,
        per_hour: int = DEFAULT_REQUESTS_PER_HOUR,
        *,
        max_wait: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if isinstance(per_hour, bool) or not 1 <= per_hour <= TENANT_REQUESTS_PER_HOUR:
            raise ConfigurationError(
                f"the Autotask request budget must be between 1 and {TENANT_REQUESTS_PER_HOUR} "
                f"requests per hour (Autotask's limit for the whole tenant), got {per_hour!r}"
            )
        if max_wait < 0:
            raise ConfigurationError(f"max_wait must not be negative, got {max_wait!r}")
        self.limit = per_hour
        self.max_wait = max_wait
        self._clock = clock
        self._sleep = sleep
        self._sent: deque[float] = deque()
        self._total = 0
        self._warned = False

    def _expire(self, now: float) -> None:
        while self._sent and self._sent[0] <= now - WINDOW_SECONDS:
            self._sent.popleft()
        if self._warned and len(self._sent) < self.limit * WARN_FRACTION:
            self._warned = False

    @property
    def used(self) -> int:
        """Requests counted in the last rolling hour."""
        self._expire(self._clock())
        return len(self._sent)

    @property
    def remaining(self) -> int:
        """Requests still allowed in the current rolling hour."""
        return self.limit - self.used

    @property
    def total(self) -> int:
        """Requests counted since this budget was created (never decreases)."""
        return self._total

    def seconds_until_free(self) -> float:
        """How long until one more request is allowed (0 when one is allowed now)."""
        now = self._clock()
        self._expire(now)
        if len(self._sent) < self.limit:
            return 0.0
        return max(0.0, self._sent[len(self._sent) - self.limit] + WINDOW_SECONDS - now)

    def acquire(self, what: str) -> None:
        """Count one request about to be sent (``what`` describes it for the log).

        Waits up to ``max_wait`` seconds for a free slot; raises
        :class:`~service.autotask.errors.BudgetExhausted` when that is not enough.
        """
        wait = self.seconds_until_free()
        if wait > 0:
            if wait > self.max_wait:
                raise BudgetExhausted(
                    f"atqb's Autotask request budget is used up: {self.limit} requests in the "
                    f"last hour; the next one is allowed in {wait:.0f} s (not sent: {what}). "
                    "The budget keeps atqb under Autotask's tenant-wide limit of "
                    f"{TENANT_REQUESTS_PER_HOUR} requests per hour.",
                    used=len(self._sent),
                    limit=self.limit,
                    retry_after=wait,
                )
            logger.info(
                "Autotask request budget used up (%d per hour); waiting %.1f s before %s",
                self.limit,
                wait,
                what,
            )
            self._sleep(wait)
            self._expire(self._clock())
        self._sent.append(self._clock())
        self._total += 1
        if not self._warned and len(self._sent) >= self.limit * WARN_FRACTION:
            self._warned = True
            logger.warning(
                "atqb has used %d of its %d Autotask requests for this hour",
                len(self._sent),
                self.limit,
            )
