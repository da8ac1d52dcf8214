"""A simulated Autotask PSA tenant: an HTTP server that answers like Autotask's REST API.

For tests, benchmarks and ``atqb demo``: the project's real
:class:`~service.autotask.AutotaskClient` talks to it over HTTP, unchanged::

    from service.simulators.autotask import SimulatedAutotask, demo_tenant

    with SimulatedAutotask() as tenant:           # empty tenant (its own company, id 0)
        vendor = tenant.add_vendor("Ingram Micro")
        po = tenant.add_purchase_order(vendor, status="Submitted")
        line = tenant.add_line(po, tenant.add_product("Widget"), 4, "19.99")
        client = tenant.client(sleep=lambda s: None)      # real client, no real waiting
        ...
        tenant.receive(line, 2)                   # change data between two poll cycles
        tenant.rate_limit_next(2, retry_after=5)  # fault hooks
        assert tenant.count_requests(action="query", entity="PurchaseOrderItems") == 1

* :mod:`.server`: :class:`SimulatedAutotask` (lifecycle, addresses, routes, authentication,
  fault hooks, request log) and :class:`RoutingTransport`.
* :mod:`.data`: :class:`TenantData`, the records and the mutation API (POs, lines, receipts,
  products, on-hand, companies, tickets, projects).
* :mod:`.query`: the filter language, ``includeFields``, ``maxRecords`` and keyset paging.
* :mod:`.schema`: entities, wire field names and types (checked against the Swagger by the
  tests), picklist labels and this tenant's integers.
* :mod:`.demo`: :func:`demo_tenant`, a small realistic dataset, and :func:`add_open_orders`
  for benchmarks with many open POs.

``python -m service.simulators.autotask`` serves the demo tenant until Ctrl-C and prints the
settings that point ``atqb`` at it.
"""

from __future__ import annotations

from .data import LOCAL_COMPANY_ID, SYSTEM_RESOURCE_ID, TenantData
from .demo import (
    COLLIDING_PRODUCT,
    LONG_CUSTOMER,
    LONG_PRODUCT,
    VENDOR_AND_CUSTOMER,
    DemoOrders,
    DemoTenant,
    add_open_orders,
    demo_tenant,
    populate_demo,
)
from .query import MAX_OR_CONDITIONS, MAX_PAGE_SIZE, QueryError
from .schema import COMPANY_TYPES, ENTITIES, PO_STATUSES, EntityDef, FieldDef
from .server import (
    DEFAULT_INTEGRATION_CODE,
    DEFAULT_SECRET,
    DEFAULT_USERNAME,
    DEFAULT_ZONE_HOST,
    THREAD_LIMIT_MESSAGE,
    LoggedRequest,
    RoutingTransport,
    SimulatedAutotask,
)

__all__ = [
    "COLLIDING_PRODUCT",
    "COMPANY_TYPES",
    "DEFAULT_INTEGRATION_CODE",
    "DEFAULT_SECRET",
    "DEFAULT_USERNAME",
    "DEFAULT_ZONE_HOST",
    "ENTITIES",
    "LOCAL_COMPANY_ID",
    "LONG_CUSTOMER",
    "LONG_PRODUCT",
    "MAX_OR_CONDITIONS",
    "MAX_PAGE_SIZE",
    "PO_STATUSES",
    "SYSTEM_RESOURCE_ID",
    "THREAD_LIMIT_MESSAGE",
    "VENDOR_AND_CUSTOMER",
    "DemoOrders",
    "DemoTenant",
    "EntityDef",
    "FieldDef",
    "LoggedRequest",
    "QueryError",
    "RoutingTransport",
    "SimulatedAutotask",
    "TenantData",
    "add_open_orders",
    "demo_tenant",
    "populate_demo",
]
