"""Setting up and inspecting the simulated company directly, as tests and the demo do.

Everything returned is a copy (a snapshot): changing it changes nothing in the company.
"""

from __future__ import annotations

import copy
import threading
from datetime import date
from decimal import Decimal
from typing import Any

from lxml import etree

from service.simulators.quickbooks.context import make_ref
from service.simulators.quickbooks.model import (
    Account,
    Company,
    Entity,
    EntityKind,
    InventoryAdjustment,
    Item,
    ItemReceipt,
    ItemType,
    ListRecord,
    PurchaseOrder,
    Ref,
    Txn,
)


class CompanyAPI:
    """Setup and inspection of a :class:`Company`, under the simulator's one lock."""

    def __init__(self, company: Company) -> None:
        self._lock = threading.RLock()
        self._company = company

    # ================================================================== setup

    def add_account(
        self,
        name: str,
        account_type: str = "Income",
        *,
        parent: str | None = None,
        is_active: bool = True,
    ) -> Account:
        """Add an account (``account_type`` is a qbXML AccountType such as ``Expense``)."""
        with self._lock:
            parent_ref = self._account_ref(parent) if parent else None
            account = self._company.add_account(
                name, account_type, parent=parent_ref, is_active=is_active
            )
            return copy.deepcopy(account)

    def add_vendor(self, name: str, *, is_active: bool = True) -> Entity:
        return self._add_entity("Vendor", name, None, is_active)

    def add_customer(
        self, name: str, *, parent: str | None = None, is_active: bool = True
    ) -> Entity:
        """Add a customer, or a job when ``parent`` names its customer."""
        return self._add_entity("Customer", name, parent, is_active)

    def add_employee(self, name: str, *, is_active: bool = True) -> Entity:
        return self._add_entity("Employee", name, None, is_active)

    def add_other_name(self, name: str, *, is_active: bool = True) -> Entity:
        return self._add_entity("OtherName", name, None, is_active)

    def _add_entity(
        self, kind: EntityKind, name: str, parent: str | None, is_active: bool
    ) -> Entity:
        with self._lock:
            parent_ref = None
            if parent is not None:
                found = self._company.entity_by_name(parent)
                if found is None or found.kind != "Customer":
                    raise KeyError(f"no customer named {parent!r}")
                parent_ref = found.ref
            entity = self._company.add_entity(kind, name, parent=parent_ref, is_active=is_active)
            return copy.deepcopy(entity)

    def add_item(
        self,
        name: str,
        item_type: ItemType = "Inventory",
        *,
        is_active: bool = True,
        quantity_on_hand: Decimal | int = 0,
        purchase_cost: Decimal | int | None = None,
        income_account: str = "Autotask Income from PO",
        cogs_account: str = "Cost of Goods Sold",
        asset_account: str = "Inventory Asset",
        expense_account: str = "Cost of Goods Sold",
        purchase_desc: str | None = None,
    ) -> Item:
        """Add an item of any type. Inventory parts get the three accounts (and a starting
        QuantityOnHand); the other types get ``expense_account`` in a SalesOrPurchase."""
        with self._lock:
            company = self._company
            cost = None if purchase_cost is None else Decimal(purchase_cost)
            quantity = Decimal(quantity_on_hand) if item_type == "Inventory" else Decimal(0)
            item = Item(
                item_type=item_type,
                name=name,
                full_name=name,
                is_active=is_active,
                purchase_cost=cost,
                quantity_on_hand=quantity,
                total_value=quantity * (cost or Decimal(0)),
                **company.list_core(),
            )
            if item_type == "Inventory":
                item.income_account = self._account_ref(income_account)
                item.cogs_account = self._account_ref(cogs_account)
                item.asset_account = self._account_ref(asset_account)
            else:
                item.account = self._account_ref(expense_account)
                sales_or_purchase = etree.Element("SalesOrPurchase")
                if purchase_desc is not None:
                    etree.SubElement(sales_or_purchase, "Desc").text = purchase_desc
                sales_or_purchase.append(make_ref("AccountRef", item.account))
                item.fields.append(sales_or_purchase)
            if item_type == "Inventory" and purchase_desc is not None:
                description = etree.Element("PurchaseDesc")
                description.text = purchase_desc
                item.fields.append(description)
            return copy.deepcopy(company.add_item(item))

    def add_list_entry(self, kind: str, name: str) -> ListRecord:
        """Add an entry to one of the small lists references point to: ``Class``, ``Terms``,
        ``ShipMethod``, ``Template``, ``SalesTaxCode``, ``VendorType``… (the element name of
        the reference without ``Ref``)."""
        with self._lock:
            return copy.deepcopy(self._company.add_simple(kind, name))

    def set_active(self, name: str, is_active: bool) -> None:
        """Make a vendor/customer/employee/other name, or else an item, (in)active, as a user
        would in QuickBooks (a modification: new EditSequence)."""
        with self._lock:
            record: ListRecord | None = self._company.entity_by_name(name)
            record = record or self._company.item_by_name(name)
            if record is None:
                raise KeyError(f"no name or item called {name!r}")
            record.is_active = is_active
            self._company.touch(record)

    def set_closing_date(self, closing_date: date | None) -> None:
        """Set (or, with None, clear) the company's closing date, as an administrator does in
        Preferences > Accounting > Company Preferences, with a closing-date password: every
        transaction write dated on or before it is then refused with 3171."""
        with self._lock:
            self._company.closing_date = closing_date

    def simulate_ui_edit(self, object_id: str) -> str:
        """A QuickBooks user edits the record or transaction with this ListID/TxnID: it gets a
        new TimeModified and EditSequence (which is returned), so a Mod holding the old
        EditSequence fails with 3200."""
        with self._lock:
            record = self._find_any(object_id)
            self._company.touch(record)
            return record.edit_sequence

    def drop_external_guid(self, object_id: str) -> None:
        """Remove the ExternalGUID of the record or transaction with this ListID/TxnID, as if it
        had been saved without one (by hand, or by an older program): a lookup then has only
        what QuickBooks does return to recognise it."""
        with self._lock:
            record = self._find_any(object_id)
            record.fields = [f for f in record.fields if f.tag != "ExternalGUID"]

    def _find_any(self, object_id: str) -> ListRecord | Txn:
        company = self._company
        for pool in (
            company.accounts,
            company.entities,
            company.items,
            company.purchase_orders,
            company.item_receipts,
            company.inventory_adjustments,
        ):
            if object_id in pool:
                return pool[object_id]
        raise KeyError(f"no list record or transaction with ID {object_id!r}")

    def _account_ref(self, name: str) -> Ref:
        account = self._company.account_by_name(name)
        if account is None:
            raise KeyError(f"no account named {name!r}")
        return account.ref

    # ================================================================== inspection

    def vendor(self, name: str) -> Entity | None:
        """The vendor with this name (case-insensitive), or ``None``."""
        return self._entity("Vendor", name)

    def customer(self, full_name: str) -> Entity | None:
        """The customer or job (``Parent:Job``) with this full name, or ``None``."""
        return self._entity("Customer", full_name)

    def _entity(self, kind: EntityKind, name: str) -> Entity | None:
        with self._lock:
            found = self._company.entity_by_name(name)
            return copy.deepcopy(found) if found is not None and found.kind == kind else None

    def name_owner(self, name: str) -> Entity | None:
        """Whoever owns the name in the shared customer/vendor/employee/other-name namespace."""
        with self._lock:
            return copy.deepcopy(self._company.entity_by_name(name))

    def item(self, full_name: str) -> Item | None:
        """The item of any type with this full name, or ``None``."""
        with self._lock:
            return copy.deepcopy(self._company.item_by_name(full_name))

    def account(self, full_name: str) -> Account | None:
        with self._lock:
            return copy.deepcopy(self._company.account_by_name(full_name))

    def quantity_on_hand(self, item_name: str) -> Decimal:
        """QuantityOnHand of the item; ``KeyError`` when there is no such item."""
        with self._lock:
            item = self._company.item_by_name(item_name)
            if item is None:
                raise KeyError(f"no item named {item_name!r}")
            return item.quantity_on_hand

    def quantity_on_order(self, item_name: str) -> Decimal:
        with self._lock:
            item = self._company.item_by_name(item_name)
            if item is None:
                raise KeyError(f"no item named {item_name!r}")
            return self._company.quantity_on_order(item.list_id)

    def purchase_orders(self, ref_number: str | None = None) -> list[PurchaseOrder]:
        """Purchase orders, oldest first; only those with this RefNumber when one is given."""
        with self._lock:
            return _matching(self._company.purchase_orders.values(), ref_number)

    def purchase_order(self, txn_id: str) -> PurchaseOrder | None:
        with self._lock:
            return copy.deepcopy(self._company.purchase_orders.get(txn_id))

    def item_receipts(
        self, ref_number: str | None = None, *, linked_to: str | None = None
    ) -> list[ItemReceipt]:
        """Item receipts, oldest first; filtered by RefNumber and/or the PO TxnID they link to."""
        with self._lock:
            found = _matching(self._company.item_receipts.values(), ref_number)
            return [r for r in found if linked_to is None or linked_to in r.linked_txn_ids]

    def inventory_adjustments(self, ref_number: str | None = None) -> list[InventoryAdjustment]:
        with self._lock:
            return _matching(self._company.inventory_adjustments.values(), ref_number)

    def counts(self) -> dict[str, int]:
        """How many of each kind of object the company holds, for "exactly one of everything"
        assertions: ``Account``, ``Vendor``, ``Customer``, ``Employee``, ``OtherName``,
        ``ItemInventory``, ``ItemNonInventory``, ``ItemService``, ``ItemOtherCharge``,
        ``PurchaseOrder``, ``ItemReceipt``, ``InventoryAdjustment``."""
        with self._lock:
            company = self._company
            counts = dict.fromkeys(
                ("Vendor", "Customer", "Employee", "OtherName"), 0
            ) | dict.fromkeys(
                ("ItemInventory", "ItemNonInventory", "ItemService", "ItemOtherCharge"), 0
            )
            counts["Account"] = len(company.accounts)
            for entity in company.entities.values():
                counts[entity.kind] += 1
            for item in company.items.values():
                counts[f"Item{item.item_type}"] += 1
            counts["PurchaseOrder"] = len(company.purchase_orders)
            counts["ItemReceipt"] = len(company.item_receipts)
            counts["InventoryAdjustment"] = len(company.inventory_adjustments)
            return counts


def _matching(txns: Any, ref_number: str | None) -> list[Any]:
    ordered = sorted(txns, key=lambda t: t.txn_number)
    return [copy.deepcopy(t) for t in ordered if ref_number is None or t.ref_number == ref_number]
