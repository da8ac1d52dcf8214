"""The job kinds of the sync, for :func:`service.jobkinds.builtin_kinds`."""

from __future__ import annotations

from service.kinds import JobKind
from service.sync.accounts import CheckAccounts
from service.sync.corrections import CorrectReceipts
from service.sync.inventory import SyncInventory
from service.sync.lists import list_kinds
from service.sync.purchase_orders import TransferPurchaseOrder, UpdatePurchaseOrder
from service.sync.receipts import ReceivePurchaseOrderLine


def sync_kinds() -> list[JobKind]:
    """``account_check``, ``vendor``, ``customer``, ``item``, ``purchase_order``,
    ``purchase_order_update``, ``item_receipt``, ``item_receipt_correction``,
    ``inventory_adjustment``."""
    return [
        CheckAccounts(),
        *list_kinds(),
        TransferPurchaseOrder(),
        UpdatePurchaseOrder(),
        ReceivePurchaseOrderLine(),
        CorrectReceipts(),
        SyncInventory(),
    ]
