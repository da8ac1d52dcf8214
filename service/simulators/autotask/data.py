"""The records of the simulated tenant and the API tests use to change them.

:class:`TenantData` holds every record of every entity in :data:`~.schema.ENTITIES` with all
the fields of its Swagger model (absent ones are null) and changes them the way Autotask's UI
would, so that a test can "change data in Autotask" between two poll cycles:

* POs are created New or Submitted against a company of type Vendor; lines need a product or
  a charge, a quantity of at least 1 and an active location (reference/autotask.md 7.1-7.2);
* :meth:`TenantData.receive` adds a receiving row (``quantityPreviouslyReceived`` and
  ``quantityBackOrdered`` computed; never more than the line's quantity), adds the units to
  on-hand at the line's location and moves the PO to Received Partial or Received Full;
  :meth:`TenantData.cancel_receipt` undoes one (the row disappears) and
  :meth:`TenantData.unreceive` takes units back with a negative row (how Autotask shows a
  cancelled receipt is not documented, 7.3: the simulator offers both);
* on-hand per product and location is kept in both ``InventoryItems.quantityOnHand`` (legacy)
  and ``InventoryProducts.onHandUnits`` (2022.1 model), which share their ids here; the
  on-order figures follow the open PO lines.

Ids are per entity, in ranges that never overlap, so a test notices a PO id used as a line id.
Methods take Python names for the main arguments and any other field by its Autotask name:
``tenant.add_purchase_order(vendor, status="Submitted", shipToCity="Salem")``. Every method
raises ValueError for data Autotask would refuse. All of it is thread-safe (one lock), so the
HTTP server may read while a test writes.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from .schema import COMPANY_TYPES, ENTITIES, PO_STATUSES, EntityDef, entity_named
from .values import to_stored

__all__ = ["LOCAL_COMPANY_ID", "SYSTEM_RESOURCE_ID", "TenantData"]

#: The tenant's own company (reference/autotask.md 7.8: "The local company has id 0").
LOCAL_COMPANY_ID = 0
#: The resource that creates and receives everything in the simulated tenant.
SYSTEM_RESOURCE_ID = 29682885

_FIRST_IDS = {
    "Companies": 29683001,
    "PurchaseOrders": 1001,
    "PurchaseOrderItems": 5001,
    "PurchaseOrderItemReceiving": 9001,
    "Products": 201,
    "InventoryLocations": 11,
    "InventoryItems": 7001,
    "InventoryProducts": 7001,
    "Tickets": 41001,
    "Projects": 61001,
}
_OPEN = ("Submitted", "Received Partial")
_RECEIVABLE = ("Submitted", "Received Partial", "Received Full")


def _entity(name: str) -> EntityDef:
    entity = entity_named(name)
    if entity is None:
        raise ValueError(f"the simulated tenant has no entity {name!r}")
    return entity


class TenantData:
    """Records of one simulated Autotask tenant, changed through typed methods.

    ``po_statuses`` and ``company_types`` map picklist labels to this tenant's integers
    (defaults :data:`~.schema.PO_STATUSES` and :data:`~.schema.COMPANY_TYPES`); ``now`` gives
    the time stamped on new records (default: the current UTC time).
    """

    def __init__(
        self,
        *,
        po_statuses: Mapping[str, int] | None = None,
        company_types: Mapping[str, int] | None = None,
        now: Callable[[], datetime] | None = None,
        local_company_name: str = "Northgate IT Services",
    ) -> None:
        self.lock = threading.RLock()
        self._records: dict[str, dict[int, dict[str, Any]]] = {name: {} for name in ENTITIES}
        self._next_id = dict(_FIRST_IDS)
        self._on_order_stale = False
        # Child ids by parent id (lines of a PO, receipts of a line), kept as records change.
        self._by_parent: dict[str, dict[int, set[int]]] = {
            e.name: {} for e in ENTITIES.values() if e.parent
        }
        self.po_statuses: dict[str, int] = dict(po_statuses or PO_STATUSES)
        self.company_types: dict[str, int] = dict(company_types or COMPANY_TYPES)
        for labels, what in ((self.po_statuses, "PO status"), (self.company_types, "type")):
            if len(set(labels.values())) != len(labels):
                raise ValueError(f"two {what} labels share one value: {labels}")
        missing = {"New", "Submitted", "Received Partial", "Received Full", "Canceled"} - set(
            self.po_statuses
        )
        if missing or not {"Vendor", "Customer"} <= set(self.company_types):
            raise ValueError("PO statuses and company types need Autotask's labels")
        self._now = now or (lambda: datetime.now(UTC))
        self._insert(
            "Companies",
            {
                "companyName": local_company_name,
                "companyType": self.company_types.get("Partner", self.company_types["Customer"]),
                "address1": "100 Harbor Way",
                "city": "Portland",
                "state": "OR",
                "postalCode": "97204",
                "phone": "503-555-0100",
                "isActive": True,
                "ownerResourceID": SYSTEM_RESOURCE_ID,
            },
            record_id=LOCAL_COMPANY_ID,
        )

    # -- picklists ---------------------------------------------------------------------------

    def po_status(self, label: str) -> int:
        """This tenant's integer for a PO status label ("Canceled", "Received Full", ...)."""
        try:
            return self.po_statuses[label]
        except KeyError:
            raise ValueError(f"no PO status {label!r}; known: {list(self.po_statuses)}") from None

    def company_type(self, label: str) -> int:
        """This tenant's integer for an organization type label ("Vendor", "Customer", ...)."""
        try:
            return self.company_types[label]
        except KeyError:
            raise ValueError(
                f"no company type {label!r}; known: {list(self.company_types)}"
            ) from None

    def picklist(self, entity: str, field: str) -> dict[str, int]:
        """The label-to-value choices of a picklist field (empty for other fields)."""
        key = (_entity(entity).name, field.casefold())
        if key == ("PurchaseOrders", "status"):
            return dict(self.po_statuses)
        if key == ("Companies", "companytype"):
            return dict(self.company_types)
        return {}

    def _status_label(self, value: int | None) -> str | None:
        return next((k for k, v in self.po_statuses.items() if v == value), None)

    # -- generic records ---------------------------------------------------------------------

    def _row(self, entity: str, record_id: int) -> dict[str, Any]:
        try:
            return self._records[entity][record_id]
        except KeyError:
            raise ValueError(f"{entity} has no record {record_id}") from None

    def _values(self, entity: EntityDef, fields: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, value in fields.items():
            fd = entity.field(name)
            if fd is None:
                raise ValueError(f"{entity.name} has no field {name!r}")
            if fd.name == "id":
                raise ValueError("the id of a record cannot be set or changed")
            out[fd.name] = to_stored(fd, value)
        return out

    def _insert(
        self, entity_name: str, fields: Mapping[str, Any], *, record_id: int | None = None
    ) -> int:
        entity = _entity(entity_name)
        values = self._values(entity, fields)
        with self.lock:
            if record_id is None:
                record_id = self._next_id[entity.name]
                self._next_id[entity.name] += 1
            row: dict[str, Any] = {f.name: [] if f.type == "udf" else None for f in entity.fields}
            row.update(values)
            row["id"] = record_id
            missing = [f.name for f in entity.fields if f.required and row[f.name] is None]
            if missing:
                raise ValueError(f"{entity.name} needs {', '.join(missing)}")
            self._records[entity.name][record_id] = row
            if entity.parent:
                parent_id = row[entity.parent[2]]
                self._by_parent[entity.name].setdefault(parent_id, set()).add(record_id)
            return record_id

    def _remove(self, entity: EntityDef, record_id: int) -> None:
        row = self._records[entity.name].pop(record_id)
        if entity.parent:
            self._by_parent[entity.name][row[entity.parent[2]]].discard(record_id)

    def get(self, entity: str, record_id: int) -> dict[str, Any]:
        """A copy of one record (Python values), or ValueError when there is none."""
        with self.lock:
            self._settle()
            return copy.deepcopy(self._row(_entity(entity).name, record_id))

    def records(self, entity: str) -> list[dict[str, Any]]:
        """Copies of every record of ``entity``, by id."""
        name = _entity(entity).name
        with self.lock:
            self._settle()
            return [copy.deepcopy(self._records[name][i]) for i in sorted(self._records[name])]

    def rows(self, entity: EntityDef) -> list[dict[str, Any]]:
        """The live records of ``entity`` by id, for the server; call with :attr:`lock` held."""
        self._settle()
        table = self._records[entity.name]
        return [table[i] for i in sorted(table)]

    def live_row(self, entity: EntityDef, record_id: int) -> dict[str, Any] | None:
        """The live record, or None, for the server; call with :attr:`lock` held."""
        self._settle()
        return self._records[entity.name].get(record_id)

    def find(self, entity: str, **equals: Any) -> list[dict[str, Any]]:
        """Copies of the records whose fields (Autotask names) equal the given values."""
        ent = _entity(entity)
        wanted = self._values(ent, equals)
        return [r for r in self.records(ent.name) if all(r[k] == v for k, v in wanted.items())]

    def find_id(self, entity: str, **equals: Any) -> int:
        """The id of the one record matching ``equals``; ValueError unless exactly one does."""
        found = self.find(entity, **equals)
        if len(found) != 1:
            raise ValueError(f"{len(found)} {entity} records match {equals}")
        record_id: int = found[0]["id"]
        return record_id

    def change(self, entity: str, record_id: int, **fields: Any) -> None:
        """Set fields (Autotask names) of one record, as an Autotask user would.

        PO lines keep at least the quantity already received; companies get a new
        ``lastTrackedModifiedDateTime``; on-order figures follow line and status changes.
        """
        ent = _entity(entity)
        values = self._values(ent, fields)
        if ent.parent and ent.parent[2] in values:
            raise ValueError(f"{ent.parent[2]} of a {ent.name} record cannot change")
        with self.lock:
            row = self._row(ent.name, record_id)
            if ent.name == "PurchaseOrderItems" and "quantity" in values:
                received = self._received(record_id)
                if values["quantity"] is None or values["quantity"] < max(1, received):
                    raise ValueError(
                        f"line {record_id} has {received} received; its quantity cannot be "
                        f"{values['quantity']}"
                    )
            if ent.name == "Companies":
                values.setdefault("lastTrackedModifiedDateTime", self._now())
            updated = {**row, **values}
            missing = [f.name for f in ent.fields if f.required and updated[f.name] is None]
            if missing:
                raise ValueError(f"{ent.name} needs {', '.join(missing)}")
            row.update(values)
            self._on_order_stale = True

    def corrupt(self, entity: str, record_id: int, **fields: Any) -> None:
        """Set fields (Autotask names) of one record to raw values, unchecked: the odd data a
        tenant with years of history holds (a null where a number belongs, control characters
        that an import or an old integration left in a name). Autotask itself validates what
        its UI and API accept today; what older imports left behind is not documented, so the
        simulator lets a test put anything there."""
        ent = _entity(entity)
        values: dict[str, Any] = {}
        for name, value in fields.items():
            fd = ent.field(name)
            if fd is None:
                raise ValueError(f"{ent.name} has no field {name!r}")
            values[fd.name] = value
        with self.lock:
            self._row(ent.name, record_id).update(values)

    def delete(self, entity: str, record_id: int) -> None:
        """Remove a record. A PO with lines, a line with receipts and a receipt (use
        :meth:`cancel_receipt`) are refused, as they are in Autotask."""
        ent = _entity(entity)
        with self.lock:
            self._row(ent.name, record_id)
            if ent.name == "PurchaseOrders" and self._lines(record_id):
                raise ValueError(f"PO {record_id} has lines; delete them first")
            if ent.name == "PurchaseOrderItems" and self._receipts(record_id):
                raise ValueError(f"line {record_id} has receipts; cancel them first")
            if ent.name == "PurchaseOrderItemReceiving":
                raise ValueError("a receipt is cancelled with cancel_receipt, not deleted")
            self._remove(ent, record_id)
            if ent.name in ("InventoryItems", "InventoryProducts"):
                self._records["InventoryItems"].pop(record_id, None)
                self._records["InventoryProducts"].pop(record_id, None)
            self._on_order_stale = True

    # -- companies, products, locations, tickets, projects ------------------------------------

    def add_company(self, name: str, company_type: str = "Customer", **fields: Any) -> int:
        """A company ("organization") of the given type label; returns its id."""
        now = self._now()
        values = {
            "companyName": name,
            "companyType": self.company_type(company_type),
            "isActive": True,
            "phone": "555-0100",
            "ownerResourceID": SYSTEM_RESOURCE_ID,
            "createDate": now,
            "lastActivityDate": now,
            "lastTrackedModifiedDateTime": now,
            "createdByResourceID": SYSTEM_RESOURCE_ID,
        }
        values.update(fields)
        return self._insert("Companies", values)

    def add_vendor(self, name: str, **fields: Any) -> int:
        """A company of type Vendor."""
        return self.add_company(name, "Vendor", **fields)

    def add_customer(self, name: str, **fields: Any) -> int:
        """A company of type Customer."""
        return self.add_company(name, "Customer", **fields)

    def add_product(
        self,
        name: str,
        *,
        unit_cost: Decimal | float | str | None = None,
        unit_price: Decimal | float | str | None = None,
        sku: str | None = None,
        **fields: Any,
    ) -> int:
        """An active, non-serialized product; returns its id."""
        values: dict[str, Any] = {
            "name": name,
            "isActive": True,
            "isSerialized": False,
            "unitCost": None if unit_cost is None else Decimal(str(unit_cost)),
            "unitPrice": None if unit_price is None else Decimal(str(unit_price)),
            "sku": sku,
            "productBillingCodeID": 29682801,
        }
        values.update(fields)
        return self._insert("Products", values)

    def add_location(
        self, name: str, *, is_default: bool = False, is_active: bool = True, **fields: Any
    ) -> int:
        """An inventory location; ``is_default`` makes it the only default one."""
        with self.lock:
            record_id = self._insert(
                "InventoryLocations",
                {
                    "locationName": name,
                    "isActive": is_active,
                    "isDefault": is_default,
                    "resourceID": SYSTEM_RESOURCE_ID,
                    **fields,
                },
            )
            if is_default:
                for row in self._records["InventoryLocations"].values():
                    row["isDefault"] = row["id"] == record_id
            return record_id

    def default_location(self) -> int | None:
        """The id of the default active location, if there is one."""
        with self.lock:
            locations = self._records["InventoryLocations"]
            return next(
                (
                    i
                    for i in sorted(locations)
                    if locations[i]["isDefault"] and locations[i]["isActive"]
                ),
                None,
            )

    def add_ticket(self, company_id: int, title: str, **fields: Any) -> int:
        """A ticket of a company (PO lines can belong to one)."""
        with self.lock:
            self._company(company_id)
            record_id = self._next_id["Tickets"]
            return self._insert(
                "Tickets",
                {
                    "companyID": company_id,
                    "title": title,
                    "status": 1,
                    "priority": 2,
                    "ticketNumber": f"T20240501.{record_id % 10000:04d}",
                    "createDate": self._now(),
                    "creatorResourceID": SYSTEM_RESOURCE_ID,
                    **fields,
                },
            )

    def add_project(self, company_id: int, name: str, **fields: Any) -> int:
        """A project of a company (PO lines can belong to one)."""
        with self.lock:
            self._company(company_id)
            record_id = self._next_id["Projects"]
            return self._insert(
                "Projects",
                {
                    "companyID": company_id,
                    "projectName": name,
                    "projectNumber": f"P20240501.{record_id % 10000:04d}",
                    "status": 1,
                    "projectType": 5,
                    "createDateTime": self._now(),
                    "creatorResourceID": SYSTEM_RESOURCE_ID,
                    **fields,
                },
            )

    def _company(self, company_id: int) -> dict[str, Any]:
        return self._row("Companies", company_id)

    # -- stock -------------------------------------------------------------------------------

    def _stock_id(self, product_id: int, location_id: int, *, create: bool) -> int | None:
        for row in self._records["InventoryItems"].values():
            if row["productID"] == product_id and row["inventoryLocationID"] == location_id:
                stock_id: int = row["id"]
                return stock_id
        if not create:
            return None
        self._row("Products", product_id)
        location = self._row("InventoryLocations", location_id)
        if not location["isActive"]:
            raise ValueError(f"location {location_id} is not active")
        stock_id = self._insert(
            "InventoryItems",
            {
                "productID": product_id,
                "inventoryLocationID": location_id,
                "quantityOnHand": 0,
                "quantityMinimum": 0,
                "quantityMaximum": 0,
                "quantityReserved": 0,
                "quantityPicked": 0,
                "quantityOnOrder": 0,
                "backOrderQuantity": 0,
            },
        )
        self._insert(
            "InventoryProducts",
            {
                "productID": product_id,
                "inventoryLocationID": location_id,
                "onHandUnits": 0,
                "availableUnits": 0,
                "reservedUnits": 0,
                "pickedUnits": 0,
                "unitsOnOrder": 0,
                "backOrderQuantity": 0,
                "quantityMinimum": 0,
                "quantityMaximum": 0,
                "createDateTime": self._now(),
                "createdByResourceID": SYSTEM_RESOURCE_ID,
            },
            record_id=stock_id,
        )
        return stock_id

    def set_on_hand(
        self, product_id: int, location_id: int, units: int, *, reserved: int = 0, picked: int = 0
    ) -> None:
        """Set a product's on-hand at one location (creating its inventory row), as a stock
        count would. On-hand must cover reserved plus picked units (reference 7.5)."""
        if min(units, reserved, picked) < 0 or units < reserved + picked:
            raise ValueError(f"on hand {units} must be >= reserved {reserved} + picked {picked}")
        with self.lock:
            stock_id = self._stock_id(product_id, location_id, create=True)
            assert stock_id is not None
            self._write_stock(stock_id, units, reserved=reserved, picked=picked)

    def _write_stock(
        self, stock_id: int, units: int, *, reserved: int | None = None, picked: int | None = None
    ) -> None:
        item = self._records["InventoryItems"][stock_id]
        product = self._records["InventoryProducts"][stock_id]
        if reserved is not None:
            item["quantityReserved"] = product["reservedUnits"] = reserved
        if picked is not None:
            item["quantityPicked"] = product["pickedUnits"] = picked
        item["quantityOnHand"] = product["onHandUnits"] = units
        product["availableUnits"] = units - product["reservedUnits"] - product["pickedUnits"]

    def on_hand(self, product_id: int, location_id: int | None = None) -> int:
        """On-hand of a product at one location, or across all locations."""
        with self.lock:
            return sum(
                r["quantityOnHand"]
                for r in self._records["InventoryItems"].values()
                if r["productID"] == product_id
                and (location_id is None or r["inventoryLocationID"] == location_id)
            )

    def _add_stock(self, product_id: int | None, location_id: int | None, delta: int) -> None:
        if product_id is None or location_id is None:
            return
        stock_id = self._stock_id(product_id, location_id, create=True)
        assert stock_id is not None
        units = self._records["InventoryItems"][stock_id]["quantityOnHand"] + delta
        self._write_stock(stock_id, max(0, units))

    def _settle(self) -> None:
        """Bring the on-order figures up to date after purchasing changed (done lazily, when
        a record is read, so that building thousands of POs stays linear)."""
        if not self._on_order_stale:
            return
        self._on_order_stale = False
        received: dict[int, int] = {}
        for receipt in self._records["PurchaseOrderItemReceiving"].values():
            line_id = receipt["purchaseOrderItemID"]
            received[line_id] = received.get(line_id, 0) + receipt["quantityNowReceiving"]
        on_order: dict[tuple[int, int], int] = {}
        for line in self._records["PurchaseOrderItems"].values():
            order = self._records["PurchaseOrders"].get(line["orderID"])
            if order is None or self._status_label(order["status"]) not in _OPEN:
                continue
            key = (line["productID"], line["inventoryLocationID"])
            on_order[key] = on_order.get(key, 0) + line["quantity"] - received.get(line["id"], 0)
        for stock_id, item in self._records["InventoryItems"].items():
            units = on_order.get((item["productID"], item["inventoryLocationID"]), 0)
            item["quantityOnOrder"] = units
            self._records["InventoryProducts"][stock_id]["unitsOnOrder"] = units

    # -- purchasing --------------------------------------------------------------------------

    def add_purchase_order(
        self,
        vendor_id: int,
        *,
        status: str = "New",
        purchase_for_company_id: int | None = None,
        **fields: Any,
    ) -> int:
        """A PO from a vendor (a company of type Vendor), New or Submitted.

        Ship-to defaults to the purchase-for company's address, else the tenant's own.
        Use :meth:`receive`, :meth:`cancel_purchase_order` to move it on.
        """
        if status not in ("New", "Submitted"):
            raise ValueError(f"a PO starts New or Submitted, not {status!r}")
        with self.lock:
            vendor = self._company(vendor_id)
            if vendor["companyType"] != self.company_type("Vendor"):
                raise ValueError(f"company {vendor_id} ({vendor['companyName']}) is not a vendor")
            ship_to = self._company(
                LOCAL_COMPANY_ID if purchase_for_company_id is None else purchase_for_company_id
            )
            now = self._now()
            record_id = self._next_id["PurchaseOrders"]
            values: dict[str, Any] = {
                "vendorID": vendor_id,
                "status": self.po_status(status),
                "purchaseForCompanyID": purchase_for_company_id,
                "purchaseOrderNumber": str(record_id),
                "shipToName": ship_to["companyName"],
                "shipToAddress1": ship_to["address1"] or "100 Harbor Way",
                "shipToAddress2": ship_to["address2"],
                "shipToCity": ship_to["city"],
                "shipToState": ship_to["state"],
                "shipToPostalCode": ship_to["postalCode"],
                "phone": ship_to["phone"],
                "createDateTime": now,
                "submitDateTime": now if status == "Submitted" else None,
                "creatorResourceID": SYSTEM_RESOURCE_ID,
                "paymentTerm": 1,
                "showEachTaxInGroup": False,
                "showTaxCategory": False,
                "useItemDescriptionsFrom": 1,
                "freight": Decimal("0"),
                "internalCurrencyFreight": Decimal("0"),
            }
            values.update(fields)
            return self._insert("PurchaseOrders", values)

    def add_line(
        self,
        order_id: int,
        product_id: int | None,
        quantity: int,
        unit_cost: Decimal | float | str,
        *,
        location_id: int | None = None,
        memo: str | None = None,
        ticket_id: int | None = None,
        project_id: int | None = None,
        **fields: Any,
    ) -> int:
        """A PO line of ``quantity`` (at least 1) units of a product at ``unit_cost``, received
        into ``location_id`` (default: the default location). Lines can be added while the PO
        is New (7.2); the simulator also allows Submitted and Received Partial, as editing a
        PO in the UI can. ``product_id`` None needs a ``chargeID``."""
        with self.lock:
            order = self._row("PurchaseOrders", order_id)
            if self._status_label(order["status"]) not in ("New", *_OPEN):
                raise ValueError(f"PO {order_id} is {self._status_label(order['status'])}")
            if product_id is None and fields.get("chargeID") is None:
                raise ValueError("a line needs a product or a charge")
            if product_id is not None:
                self._row("Products", product_id)
            location = self.default_location() if location_id is None else location_id
            if location is not None and not self._row("InventoryLocations", location)["isActive"]:
                raise ValueError(f"location {location} is not active")
            if ticket_id is not None:
                self._row("Tickets", ticket_id)
            if project_id is not None:
                self._row("Projects", project_id)
            if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
                raise ValueError(f"a line's quantity must be at least 1, got {quantity!r}")
            cost = Decimal(str(unit_cost))
            record_id = self._insert(
                "PurchaseOrderItems",
                {
                    "orderID": order_id,
                    "productID": product_id,
                    "quantity": quantity,
                    "unitCost": cost,
                    "internalCurrencyUnitCost": cost,
                    "inventoryLocationID": location,
                    "memo": memo,
                    "ticketID": ticket_id,
                    "projectID": project_id,
                    **fields,
                },
            )
            self._refresh_status(order_id)
            return record_id

    def _children(self, entity: str, parent_id: int) -> list[dict[str, Any]]:
        table = self._records[entity]
        return [table[i] for i in sorted(self._by_parent[entity].get(parent_id, ()))]

    def _lines(self, order_id: int) -> list[dict[str, Any]]:
        return self._children("PurchaseOrderItems", order_id)

    def _receipts(self, line_id: int) -> list[dict[str, Any]]:
        return self._children("PurchaseOrderItemReceiving", line_id)

    def _received(self, line_id: int) -> int:
        return sum(r["quantityNowReceiving"] for r in self._receipts(line_id))

    def received(self, line_id: int) -> int:
        """Units received so far on a PO line."""
        with self.lock:
            self._row("PurchaseOrderItems", line_id)
            return self._received(line_id)

    def submit(self, order_id: int) -> None:
        """New → Submitted (``submitDateTime`` set)."""
        with self.lock:
            order = self._row("PurchaseOrders", order_id)
            if self._status_label(order["status"]) != "New":
                raise ValueError(f"PO {order_id} is not New")
            order["status"] = self.po_status("Submitted")
            order["submitDateTime"] = self._now()
            self._on_order_stale = True

    def cancel_purchase_order(self, order_id: int) -> None:
        """Set a PO to Canceled (``cancelDateTime`` set). A PO with receipts cannot be."""
        with self.lock:
            order = self._row("PurchaseOrders", order_id)
            if any(self._receipts(line["id"]) for line in self._lines(order_id)):
                raise ValueError(f"PO {order_id} has received items and cannot be canceled")
            order["status"] = self.po_status("Canceled")
            order["cancelDateTime"] = self._now()
            self._on_order_stale = True

    def receive(
        self,
        line_id: int,
        quantity: int,
        *,
        receive_date: datetime | None = None,
        serial_number: str | None = None,
        vendor_invoice_number: str | None = None,
    ) -> int:
        """Receive ``quantity`` units of a PO line; returns the receiving row's id.

        The PO must be Submitted or Received Partial (or Full: 7.3), and the line's received
        total cannot exceed its quantity. The units are added to on-hand at the line's location.
        """
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            raise ValueError(f"receive at least one unit, not {quantity!r}")
        with self.lock:
            line = self._row("PurchaseOrderItems", line_id)
            order = self._row("PurchaseOrders", line["orderID"])
            label = self._status_label(order["status"])
            if label not in _RECEIVABLE:
                raise ValueError(f"PO {order['id']} is {label}; only a submitted PO is received")
            before = self._received(line_id)
            if before + quantity > line["quantity"]:
                raise ValueError(
                    f"line {line_id} has {line['quantity']} ordered and {before} received; "
                    f"{quantity} more is too many"
                )
            record_id = self._insert(
                "PurchaseOrderItemReceiving",
                {
                    "purchaseOrderItemID": line_id,
                    "quantityNowReceiving": quantity,
                    "quantityPreviouslyReceived": before,
                    "quantityBackOrdered": line["quantity"] - before - quantity,
                    "receiveDate": receive_date or self._now(),
                    "receivedByResourceID": SYSTEM_RESOURCE_ID,
                    "serialNumber": serial_number,
                    "vendorInvoiceNumber": vendor_invoice_number,
                },
            )
            self._add_stock(line["productID"], line["inventoryLocationID"], quantity)
            self._refresh_status(order["id"])
            return record_id

    def receive_all(self, order_id: int, **kwargs: Any) -> list[int]:
        """Receive what is still due on every line of a PO; returns the new receiving ids."""
        with self.lock:
            lines = sorted(self._lines(order_id), key=lambda r: r["id"])
            due = [(r["id"], r["quantity"] - self._received(r["id"])) for r in lines]
            return [self.receive(line, units, **kwargs) for line, units in due if units > 0]

    def cancel_receipt(self, receiving_id: int) -> None:
        """Undo a receipt ("Receive/Cancel Receipt" in the UI, 7.3): the row is removed, the
        units leave on-hand and the PO status follows. Later receipts of the line keep their
        ``quantityPreviouslyReceived``, as history does."""
        with self.lock:
            receipt = self._row("PurchaseOrderItemReceiving", receiving_id)
            line = self._row("PurchaseOrderItems", receipt["purchaseOrderItemID"])
            self._remove(ENTITIES["PurchaseOrderItemReceiving"], receiving_id)
            self._add_stock(
                line["productID"], line["inventoryLocationID"], -receipt["quantityNowReceiving"]
            )
            self._refresh_status(line["orderID"])

    def unreceive(
        self, line_id: int, quantity: int, *, receive_date: datetime | None = None
    ) -> int:
        """Take ``quantity`` received units of a PO line back as a **negative** receiving row
        (the other way Autotask may show "Receive/Cancel Receipt": whether it removes the row,
        :meth:`cancel_receipt`, or adds a negative one is not documented, reference/autotask.md
        7.3 and 7.10, so the simulator offers both and atqb must handle both). Returns the row's
        id; the units leave on-hand and the PO status follows."""
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            raise ValueError(f"take back at least one unit, not {quantity!r}")
        with self.lock:
            line = self._row("PurchaseOrderItems", line_id)
            order = self._row("PurchaseOrders", line["orderID"])
            before = self._received(line_id)
            if quantity > before:
                raise ValueError(
                    f"line {line_id} has {before} received; {quantity} cannot be taken back"
                )
            record_id = self._insert(
                "PurchaseOrderItemReceiving",
                {
                    "purchaseOrderItemID": line_id,
                    "quantityNowReceiving": -quantity,
                    "quantityPreviouslyReceived": before,
                    "quantityBackOrdered": line["quantity"] - before + quantity,
                    "receiveDate": receive_date or self._now(),
                    "receivedByResourceID": SYSTEM_RESOURCE_ID,
                },
            )
            self._add_stock(line["productID"], line["inventoryLocationID"], -quantity)
            self._refresh_status(order["id"])
            return record_id

    def _refresh_status(self, order_id: int) -> None:
        order = self._records["PurchaseOrders"][order_id]
        label = self._status_label(order["status"])
        if label in _RECEIVABLE:
            lines = self._lines(order_id)
            received = [self._received(r["id"]) for r in lines]
            if lines and all(got >= r["quantity"] for got, r in zip(received, lines, strict=True)):
                label = "Received Full"
            elif any(received):
                label = "Received Partial"
            else:
                label = "Submitted"
            order["status"] = self.po_status(label)
        self._on_order_stale = True
