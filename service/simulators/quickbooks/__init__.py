"""A simulated QuickBooks Desktop company file behind the request processor.

:class:`SimulatedQuickBooks` implements :class:`~service.simulators.processor.RequestProcessor`:
give it qbXML message sets, get QuickBooks' answers. It is an independent model of QuickBooks
(it shares no code with atqb's request builders) so that it can catch their mistakes. What it
models, and every choice made where the references are silent, is in ``README.md`` next to this
file and in the docstrings of the modules.
"""

from __future__ import annotations

from service.simulators.quickbooks.context import UnsupportedRequestError
from service.simulators.quickbooks.model import (
    DEFAULT_ACCOUNTS,
    Account,
    Entity,
    HostInfo,
    InventoryAdjustment,
    InventoryAdjustmentLine,
    Item,
    ItemReceipt,
    ItemReceiptLine,
    ListRecord,
    PurchaseOrder,
    PurchaseOrderLine,
    Ref,
)
from service.simulators.quickbooks.simulator import (
    ProcessedMessage,
    RequestOutcome,
    SimulatedQuickBooks,
)

__all__ = [
    "DEFAULT_ACCOUNTS",
    "Account",
    "Entity",
    "HostInfo",
    "InventoryAdjustment",
    "InventoryAdjustmentLine",
    "Item",
    "ItemReceipt",
    "ItemReceiptLine",
    "ListRecord",
    "ProcessedMessage",
    "PurchaseOrder",
    "PurchaseOrderLine",
    "Ref",
    "RequestOutcome",
    "SimulatedQuickBooks",
    "UnsupportedRequestError",
]
