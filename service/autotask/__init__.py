"""Autotask PSA REST client: reads purchasing, inventory and companies; writes one PO field.

Usage
=====

::

    from service.autotask import AutotaskClient, PurchaseOrder, PurchaseOrderItem, RecordError
    from service.autotask import filters as f

    with AutotaskClient.from_settings(load_settings()) as client:
        canceled = client.picklist_value("PurchaseOrders", "status", "Canceled", "Cancelled")
        bad: list[RecordError] = []
        orders = list(client.query(PurchaseOrder, f.noteq("status", canceled), invalid=bad))
        lines = client.query_in(PurchaseOrderItem, "orderID", [po.id for po in orders])
        client.set_external_po_number(orders[0].id, "1042")
        print("requests used:", client.requests_made)

* **Base URL.** ``ATQB_AUTOTASK_BASE_URL`` when set; otherwise the zone lookup
  ``GET ATQB_AUTOTASK_ZONE_URL?user=<username>`` (no credentials sent), cached 12 hours. A 401
  makes the client look the zone up again: if the tenant moved zone the request is repeated
  once at the new host; otherwise the error says which setting to check.
* **Authentication.** Headers ``ApiIntegrationCode``, ``UserName``, ``Secret`` and
  ``Content-Type: application/json`` on every API request. The secret and the integration
  code never appear in logs, exception texts or reprs.
* **Queries.** ``query(RecordType, *filters)`` / ``query_raw(entity, *filters,
  include_fields=...)``: ``POST {Entity}/query`` with ``{"maxRecords": 500, "filter": [...],
  "includeFields": [...]}``, then every ``pageDetails.nextPageUrl`` (same method and body).
  Filters are built with :mod:`service.autotask.filters` (several = AND; none = all records).
  ``query_in`` splits long id lists into requests of at most 500 values. ``count``,
  ``get``/``get_raw`` (``GET {Entity}/{id}``), ``children`` (``PurchaseOrders/{id}/Items``,
  ``PurchaseOrderItems/{id}/Receiving``) and ``update`` (``PATCH {Entity}``) complete it.
  Iterators are lazy: requests happen as they are consumed.
* **Typed records** (:mod:`service.autotask.records`): frozen dataclasses with only the fields
  the sync uses; queries fetch just those fields. An item with a missing or ill-typed field
  raises :class:`RecordError` naming entity, id and field, or, with ``invalid=[]``, is set
  aside there so one bad record does not stop the rest. Money is ``Decimal``.
* **Picklists.** ``picklist(entity, field)`` / ``picklist_value(entity, field, *labels)``
  resolve values by label from ``{Entity}/entityInformation/fields`` (cached), because the
  integers differ between tenants.
* **Retries.** Network errors, timeouts, 429, 5xx and the thread-threshold error
  (``Itgenatr005``) are retried up to 5 attempts with capped exponential backoff and jitter,
  honouring ``Retry-After`` up to 120 s (:class:`RequestRetry`). Permanent errors are not.
* **Budget.** :class:`RequestBudget` (default 3,000 per rolling hour of Autotask's 10,000
  shared by all integrations) counts every request. When it is used up the client waits if a
  slot frees within 30 s, else raises :class:`BudgetExhausted` (a :class:`TryLater`) before
  sending. ``client.requests_made`` and ``client.budget.used`` report consumption.
* **Errors** (:mod:`service.autotask.errors`): everything is an :class:`AutotaskError`;
  :class:`TryLater` means "nothing to fix, try in a later cycle" (with ``retry_after``);
  :class:`AuthenticationError` (``suspect`` names the setting), :class:`PermissionDenied`
  (``entity``; Autotask often sends it as HTTP 500), :class:`NotFound`,
  :class:`MalformedResponse`/:class:`RecordError` and :class:`PicklistError` need an operator.

The client is synchronous and not thread-safe; the poller keeps one for its lifetime (so the
zone and picklist caches last) and calls ``close()`` at the end.
"""

from __future__ import annotations

from . import filters
from .budget import DEFAULT_REQUESTS_PER_HOUR, TENANT_REQUESTS_PER_HOUR, RequestBudget
from .client import (
    DEFAULT_TIMEOUT,
    DEFAULT_ZONE_URL,
    MAX_IN_VALUES,
    PAGE_SIZE,
    AutotaskClient,
    ThresholdInfo,
)
from .errors import (
    AuthenticationError,
    AutotaskError,
    BudgetExhausted,
    ConfigurationError,
    MalformedResponse,
    NotFound,
    PermissionDenied,
    PicklistError,
    RateLimited,
    RecordError,
    RequestRejected,
    ResponseError,
    ResponseSummary,
    ServerError,
    ThreadLimitExceeded,
    TransportError,
    TryLater,
    ZoneDiscoveryError,
)
from .picklists import FieldInfo, Picklist, PicklistValue
from .records import (
    Company,
    InventoryItem,
    InventoryLocation,
    InventoryProduct,
    Product,
    Project,
    PurchaseOrder,
    PurchaseOrderItem,
    PurchaseOrderItemReceiving,
    Record,
    Ticket,
    clean_text,
    on_hand_totals,
)
from .retry import RequestRetry
from .zones import ZoneInfo

__all__ = [
    "DEFAULT_REQUESTS_PER_HOUR",
    "DEFAULT_TIMEOUT",
    "DEFAULT_ZONE_URL",
    "MAX_IN_VALUES",
    "PAGE_SIZE",
    "TENANT_REQUESTS_PER_HOUR",
    "AuthenticationError",
    "AutotaskClient",
    "AutotaskError",
    "BudgetExhausted",
    "Company",
    "ConfigurationError",
    "FieldInfo",
    "InventoryItem",
    "InventoryLocation",
    "InventoryProduct",
    "MalformedResponse",
    "NotFound",
    "PermissionDenied",
    "Picklist",
    "PicklistError",
    "PicklistValue",
    "Product",
    "Project",
    "PurchaseOrder",
    "PurchaseOrderItem",
    "PurchaseOrderItemReceiving",
    "RateLimited",
    "Record",
    "RecordError",
    "RequestBudget",
    "RequestRejected",
    "RequestRetry",
    "ResponseError",
    "ResponseSummary",
    "ServerError",
    "ThreadLimitExceeded",
    "ThresholdInfo",
    "Ticket",
    "TransportError",
    "TryLater",
    "ZoneDiscoveryError",
    "ZoneInfo",
    "clean_text",
    "filters",
    "on_hand_totals",
]
