"""A small, realistic tenant for ``atqb demo``, tests and manual trials.

:func:`populate_demo` fills a tenant with what a managed-service provider's Autotask holds,
chosen to exercise every rule of the workflow (DESIGN.md) and the quirks users hit
(reference/autotask.md 10.8):

* **Vendors** Ingram Micro, ``D&H Distributing`` (an ampersand), TD SYNNEX,
  ``Müller Netzwerktechnik GmbH`` (accents), and Harbor Office Supply, which also exists as a
  *customer* of the same name (QuickBooks wants names unique across lists: error 3100).
* **Customers** Northwind Traders, ``Café Olé Restaurant Group``, ``Johnson & Sons Plumbing``,
  Harbor Office Supply and :data:`LONG_CUSTOMER` (longer than QuickBooks' 41 characters).
* **Products**, one named longer than QuickBooks' 31 characters (:data:`LONG_PRODUCT`) and one,
  :data:`COLLIDING_PRODUCT`, whose name the demo's QuickBooks company file already uses for a
  *non-inventory* part, so creating the inventory part fails as it does for real users.
* **Locations** Main Warehouse (default), Service Van 2, Portland Office, and an inactive one;
  on-hand is split across them.
* **Purchase orders** (:class:`DemoOrders` has their ids): one received in full, one partially
  received with a line on a project, one Canceled, one submitted with a line on a ticket of
  another customer, one from the vendor that is also a customer with the colliding product,
  and one still New.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from .data import TenantData
from .server import SimulatedAutotask

__all__ = [
    "COLLIDING_PRODUCT",
    "LONG_CUSTOMER",
    "LONG_PRODUCT",
    "VENDOR_AND_CUSTOMER",
    "DemoOrders",
    "DemoTenant",
    "add_open_orders",
    "demo_tenant",
    "populate_demo",
]

#: A product whose name is a QuickBooks non-inventory part in the demo company file.
COLLIDING_PRODUCT = "Cat6 Patch Cable 3ft"
#: A product name longer than QuickBooks' 31-character item names.
LONG_PRODUCT = "Samsung 27in Curved Monitor LS27C390EANXZA"
#: A customer name longer than QuickBooks' 41-character customer names.
LONG_CUSTOMER = "Greater Portland Regional Veterinary Hospital Associates"
#: The name of a vendor that is also a customer.
VENDOR_AND_CUSTOMER = "Harbor Office Supply"


@dataclass(frozen=True)
class DemoOrders:
    """Ids of the demo's purchase orders, by what makes each one interesting."""

    received_full: int
    received_partial: int
    canceled: int
    submitted_with_ticket_line: int
    vendor_is_customer: int
    new: int


def _when(day: int, hour: int = 9) -> datetime:
    return datetime(2024, 5, day, hour, 30, tzinfo=UTC)


def populate_demo(tenant: TenantData) -> DemoOrders:
    """Fill ``tenant`` (an empty one) with the demo dataset; returns the POs' ids."""
    ingram = tenant.add_vendor("Ingram Micro", address1="3351 Michelson Dr", city="Irvine")
    dh = tenant.add_vendor("D&H Distributing", address1="909 Mueller Dr", city="Harrisburg")
    synnex = tenant.add_vendor("TD SYNNEX", address1="44201 Nobel Dr", city="Fremont")
    mueller = tenant.add_vendor(
        "Müller Netzwerktechnik GmbH", address1="Königstraße 12", city="Stuttgart"
    )
    harbor_vendor = tenant.add_vendor(VENDOR_AND_CUSTOMER, address1="12 Pier Rd", city="Astoria")

    def customer(name: str, street: str, city: str, **fields: Any) -> int:
        return tenant.add_customer(
            name, address1=street, city=city, state="OR", postalCode="97201", **fields
        )

    northwind = customer("Northwind Traders", "410 SW Alder St", "Portland")
    cafe = customer("Café Olé Restaurant Group", "88 Rue de la Paix", "Beaverton")
    johnson = customer("Johnson & Sons Plumbing", "1500 NE Sandy Blvd", "Portland")
    vets = customer(LONG_CUSTOMER, "2200 SE Hawthorne Blvd", "Portland")
    harbor_customer = customer(VENDOR_AND_CUSTOMER, "12 Pier Rd", "Astoria")

    main = tenant.add_location("Main Warehouse", is_default=True)
    van = tenant.add_location("Service Van 2")
    office = tenant.add_location("Portland Office")
    tenant.add_location("Old Storage Unit", is_active=False)

    laptop = tenant.add_product(
        "Dell Latitude 5440 Laptop",
        unit_cost="899.00",
        unit_price="1199.00",
        sku="LAT5440-I5",
        manufacturerName="Dell",
        manufacturerProductName="N013L544014US",
        defaultVendorID=ingram,
    )
    access_point = tenant.add_product(
        "Ubiquiti UniFi U6-Lite AP", unit_cost="99.00", unit_price="149.00", sku="U6-LITE-US"
    )
    monitor = tenant.add_product(
        LONG_PRODUCT, unit_cost="179.99", unit_price="249.00", sku="LS27C390EANXZA"
    )
    cable = tenant.add_product(COLLIDING_PRODUCT, unit_cost="2.49", unit_price="6.00")
    ups = tenant.add_product("APC Back-UPS Pro 1500VA", unit_cost="219.00", unit_price="299.00")
    keyboard = tenant.add_product(
        "Logitech MK270 Wireless Combo", unit_cost="24.99", unit_price="39.99"
    )
    firewall = tenant.add_product(
        "Fortinet FortiGate 40F Firewall", unit_cost="395.00", unit_price="549.00"
    )

    stock = {
        laptop: {main: 3, van: 1, office: 2},
        access_point: {main: 10, van: 2},
        monitor: {main: 4, office: 1},
        cable: {main: 50, van: 25, office: 10},
        ups: {main: 2},
        keyboard: {main: 6, office: 3},
        firewall: {main: 1},
    }
    for product, places in stock.items():
        for location, units in places.items():
            tenant.set_on_hand(product, location, units)

    outage = tenant.add_ticket(johnson, "Replace failing office firewall")
    vets_ticket = tenant.add_ticket(vets, "Front desk workstation refresh")
    buildout = tenant.add_project(cafe, "Pearl District location network buildout")

    received_full = tenant.add_purchase_order(
        ingram,
        status="Submitted",
        purchase_for_company_id=northwind,
        generalMemo="Deliver to the loading dock; ask for Sam.",
        vendorInvoiceNumber="INV-88412",
        freight=Decimal("12.50"),
        shippingDate=_when(2),
    )
    tenant.add_line(received_full, laptop, 3, "899.00", memo="Sales team refresh")
    tenant.add_line(received_full, monitor, 2, "179.99")
    tenant.receive_all(received_full, receive_date=_when(6), vendor_invoice_number="INV-88412")

    received_partial = tenant.add_purchase_order(
        dh, status="Submitted", purchase_for_company_id=cafe, generalMemo="Café Olé: 2 shipments"
    )
    aps = tenant.add_line(received_partial, access_point, 6, "99.00", project_id=buildout)
    screens = tenant.add_line(received_partial, monitor, 2, "179.99", location_id=office)
    tenant.receive(aps, 4, receive_date=_when(7))
    tenant.receive(screens, 2, receive_date=_when(7))

    canceled = tenant.add_purchase_order(synnex, status="Submitted", purchase_for_company_id=vets)
    tenant.add_line(canceled, ups, 2, "219.00")
    tenant.cancel_purchase_order(canceled)

    with_ticket = tenant.add_purchase_order(
        mueller, status="Submitted", purchase_for_company_id=johnson
    )
    tenant.add_line(with_ticket, firewall, 1, "395.00", ticket_id=outage)
    tenant.add_line(with_ticket, keyboard, 5, "24.99", location_id=van, ticket_id=vets_ticket)

    vendor_is_customer = tenant.add_purchase_order(
        harbor_vendor, status="Submitted", purchase_for_company_id=harbor_customer
    )
    tenant.add_line(vendor_is_customer, cable, 20, "2.49")
    tenant.add_line(vendor_is_customer, keyboard, 2, "24.99")
    tenant.receive_all(vendor_is_customer, receive_date=_when(8))

    new = tenant.add_purchase_order(ingram, generalMemo="Quote 4471: spare UPS units")
    tenant.add_line(new, ups, 4, "219.00")

    return DemoOrders(
        received_full=received_full,
        received_partial=received_partial,
        canceled=canceled,
        submitted_with_ticket_line=with_ticket,
        vendor_is_customer=vendor_is_customer,
        new=new,
    )


def add_open_orders(tenant: TenantData, count: int, *, lines_per_order: int = 2) -> list[int]:
    """Add ``count`` Submitted POs of ``lines_per_order`` lines each, nothing received: the
    open POs a poller keeps re-reading (for benchmarks of first and idle cycles). Their
    vendor, customer, products and location are made once and reused on later calls.
    Returns the new POs' ids. Building 1,000 POs takes a fraction of a second."""

    def company(name: str, kind: str) -> int:
        found = tenant.find("Companies", companyName=name, companyType=tenant.company_type(kind))
        return int(found[0]["id"]) if found else tenant.add_company(name, kind)

    vendor = company("Bulk Supply Co", "Vendor")
    customer = company("Bulk Customer Inc", "Customer")
    products = []
    for n in range(10):
        name = f"Bulk Part {n:02d}"
        found = tenant.find("Products", name=name)
        products.append(int(found[0]["id"]) if found else tenant.add_product(name, unit_cost=n + 1))
    if tenant.default_location() is None:
        tenant.add_location("Main Warehouse", is_default=True)
    orders = []
    for n in range(count):
        order = tenant.add_purchase_order(
            vendor, status="Submitted", purchase_for_company_id=customer
        )
        for k in range(lines_per_order):
            tenant.add_line(order, products[(n + k) % len(products)], k + 1, f"{k + 1}.50")
        orders.append(order)
    return orders


class DemoTenant(SimulatedAutotask):
    """A :class:`SimulatedAutotask` holding the demo dataset; ``orders`` has the POs' ids."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.orders = populate_demo(self)


def demo_tenant(**kwargs: Any) -> DemoTenant:
    """The demo tenant (not started: use it as a context manager); keywords go to
    :class:`SimulatedAutotask`."""
    return DemoTenant(**kwargs)
