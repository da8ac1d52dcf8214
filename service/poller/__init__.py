"""The Autotask poller: reads what changed in Autotask and enqueues it for QuickBooks.

::

    from service.poller.core import Poller

    with AutotaskClient.from_settings(settings) as client:
        poller = Poller(database, settings, client)       # jobs for ATQB_QBWC_USER
        outcome = poller.run_cycle()                      # one cycle (``atqb poll --once``)
        print(outcome.line())
        poller.run(stop_event)                            # every ATQB_POLL_INTERVAL seconds

How a cycle finds changes without modified stamps, and what it cannot see, is described in
:mod:`service.poller.core`. State (per-PO fingerprints, watermarks, manual selections, a requested
full inventory sync) lives in the tables ``poller_orders`` and ``poller_state``
(:mod:`service.poller.state`), and each cycle's record in ``poll_cycles``
(:mod:`service.poller.cycles`, which ``atqb serve`` reads for ``/admin`` and ``/metrics``: so this
package imports none of its modules itself, and the service does not load the poller).
"""
