"""Helpers of the Autotask client tests: fake time, Swagger-shaped answers, the samples.

Every answer the tests serve is shaped like the Autotask Swagger document
(``reference/autotask/autotask-rest-v1.swagger.json``): :func:`swagger_item` refuses a record
with a field its ``*Model`` definition does not have, and the samples in
``reference/autotask/samples/`` are served verbatim where they fit.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any
from urllib.parse import quote

from tests.conftest import REFERENCE, SWAGGER

AUTOTASK_REFERENCE = REFERENCE / "autotask"
SAMPLES = AUTOTASK_REFERENCE / "samples"

USER = "atqb-api@example-msp.com"
SECRET = "Xy9!secretValue-77"
CODE = "INTEGRATIONCODE4QB7X"
BASE = "https://webservices5.autotask.net/ATServicesRest/V1.0/"
ZONE_LOOKUP = "https://webservices.autotask.net/atservicesrest/v1.0/zoneInformation"


def sample(name: str) -> Any:
    """A file of reference/autotask/samples, parsed."""
    return json.loads((SAMPLES / name).read_text(encoding="utf-8"))


@cache
def swagger() -> dict[str, Any]:
    """The Swagger document (read once)."""
    path = SWAGGER
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def swagger_item(model: str, **fields: Any) -> dict[str, Any]:
    """A record of Swagger definition ``model``; fails the test on a field the model lacks."""
    known = swagger()["definitions"][model]["properties"]
    unknown = sorted(set(fields) - set(known))
    assert not unknown, f"{model} has no field(s) {unknown}"
    return fields


def page(items: list[dict[str, Any]], next_url: str | None = None) -> dict[str, Any]:
    """A ``QueryActionResult``: items and ``pageDetails`` (``PagingModel``)."""
    return {
        "items": items,
        "pageDetails": {
            "count": len(items),
            "requestCount": 500,
            "prevPageUrl": None,
            "nextPageUrl": next_url,
        },
    }


def next_page_url(entity: str, last_id: int, search: str = "") -> str:
    """A keyset ``nextPageUrl`` of the real form (samples/pageDetails-nextPageUrl-real-example)."""
    paging = json.dumps({"pageSize": 500, "previousIds": [-1], "nextIds": [last_id]})
    return (
        f"{BASE}{entity}/query/next?paging={quote(paging, safe='')}"
        f"&search={quote(search or '{}', safe='')}"
    )


def purchase_order(record_id: int, **overrides: Any) -> dict[str, Any]:
    """A PurchaseOrders record as the API returns it."""
    fields: dict[str, Any] = {
        "id": record_id,
        "vendorID": 29683,
        "status": 2,
        "purchaseForCompanyID": 174,
        "purchaseOrderNumber": f"PO{record_id}",
        "externalPONumber": None,
        "vendorInvoiceNumber": None,
        "generalMemo": "Deliver to the back door",
        "shipToName": "Pacific Cloud Cyber",
        "shipToAddress1": "222 Comercial St",
        "shipToAddress2": None,
        "shipToCity": "Salem",
        "shipToState": "Oregon",
        "shipToPostalCode": "97301",
        "shippingType": 1,
        "shippingDate": "2024-05-02T00:00:00Z",
        "freight": 12.5,
        "createDateTime": "2024-04-30T17:22:05.483Z",
        "submitDateTime": "2024-04-30T17:25:00Z",
        "cancelDateTime": None,
    }
    fields.update(overrides)
    return swagger_item("PurchaseOrderModel", **fields)


def purchase_order_item(record_id: int, order_id: int, **overrides: Any) -> dict[str, Any]:
    """A PurchaseOrderItems record as the API returns it."""
    fields: dict[str, Any] = {
        "id": record_id,
        "orderID": order_id,
        "productID": 232,
        "inventoryLocationID": 3,
        "quantity": 4,
        "unitCost": 19.99,
        "memo": None,
        "estimatedArrivalDate": "2024-05-06T00:00:00Z",
        "ticketID": None,
        "projectID": None,
        "contractID": None,
        "salesOrderID": None,
        "chargeID": None,
    }
    fields.update(overrides)
    return swagger_item("PurchaseOrderItemModel", **fields)


class FakeTime:
    """A monotonic clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 10_000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
