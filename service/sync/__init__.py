"""The sync engine: the workflow of the seeds as job kinds, and the API that enqueues it.

* :mod:`service.sync.model`: the Autotask-shaped data the poller hands over (a purchase order
  with its lines, vendor, customers, products, receiving rows; on-hand rows per location).
* :mod:`service.sync.enqueue`: :class:`~service.sync.enqueue.Enqueuer` turns that data into jobs
  and their dependencies (vendor, customer and item before the PO, receipts after it, the
  inventory sync last), once: the same data enqueued again makes no new work.
* :mod:`service.sync.kinds`: the job kinds the exchange runs (the one-time account check,
  ensure vendor/customer/item, transfer and update a PO, item receipts, inventory adjustments).
* :mod:`service.sync.payloads`: each kind's payload as a frozen dataclass, read from and written
  to the job's JSON (:mod:`service.sync.jsondata` checks the fields; a malformed payload fails
  its job naming the field). Each kind's step state is typed the same way, beside its kind
  (:mod:`service.sync.po_state` for the PO transfer and update); the exchange's own flags
  (``_solo``, ``_internal_error``) stay out of them.
* :mod:`service.sync.mapping`: what atqb remembers about each Autotask record's counterpart in
  QuickBooks (ListID/TxnID, name, EditSequence), per company file.
"""

from __future__ import annotations
