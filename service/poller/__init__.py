"""The Autotask poller: reads what changed in Autotask and enqueues it for QuickBooks.

::

    with AutotaskClient.from_settings(settings) as client:
        poller = Poller(database, settings, client)       # jobs for ATQB_QBWC_USER
        outcome = poller.run_cycle()                      # one cycle (``atqb poll --once``)
        print(outcome.line())
        poller.run(stop_event)                            # every ATQB_POLL_INTERVAL seconds

How a cycle finds changes without modified stamps, and what it cannot see, is described in
:mod:`service.poller.core`. State (per-PO fingerprints, watermarks, manual selections, a requested
full inventory sync) lives in the tables ``poller_orders`` and ``poller_state``.
"""

from __future__ import annotations

from .core import (
    SWEEP_SIZE,
    CycleOutcome,
    Poller,
    PollerError,
    request_full_sync,
    resolve_qbwc_user,
    select_for_transfer,
)

__all__ = [
    "SWEEP_SIZE",
    "CycleOutcome",
    "Poller",
    "PollerError",
    "request_full_sync",
    "resolve_qbwc_user",
    "select_for_transfer",
]
