"""The simulated Autotask tenant, driven over HTTP by the project's real AutotaskClient.

Nothing is mocked: every test starts the tenant's HTTP server on 127.0.0.1 and talks to it
with :class:`service.autotask.AutotaskClient` (through the tenant's routing transport, so the
client sees Autotask's own host names) or with plain httpx where the client cannot say what
the test needs to say. Waiting is recorded instead of slept.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from service.autotask import (
    AuthenticationError,
    AutotaskClient,
    AutotaskError,
    Company,
    InventoryItem,
    InventoryLocation,
    InventoryProduct,
    MalformedResponse,
    NotFound,
    PermissionDenied,
    PicklistError,
    Product,
    Project,
    PurchaseOrder,
    PurchaseOrderItem,
    PurchaseOrderItemReceiving,
    RateLimited,
    RecordError,
    RequestRejected,
    ServerError,
    ThreadLimitExceeded,
    Ticket,
    TransportError,
    ZoneDiscoveryError,
    on_hand_totals,
)
from service.autotask import filters as f
from service.simulators.autotask import (
    COLLIDING_PRODUCT,
    ENTITIES,
    LONG_CUSTOMER,
    LONG_PRODUCT,
    VENDOR_AND_CUSTOMER,
    EntityDef,
    SimulatedAutotask,
    add_open_orders,
    demo_tenant,
)
from tests.conftest import SWAGGER

SWAGGER_TYPES = {
    ("integer", "int64"): "long",
    ("integer", "int32"): "integer",
    ("number", "double"): "double",
    ("string", None): "string",
    ("string", "date-time"): "datetime",
    ("boolean", None): "boolean",
    ("array", None): "udf",
}
RECORDS = (
    PurchaseOrder,
    PurchaseOrderItem,
    PurchaseOrderItemReceiving,
    Product,
    InventoryItem,
    InventoryProduct,
    InventoryLocation,
    Company,
    Ticket,
    Project,
)


@cache
def swagger() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SWAGGER.read_text(encoding="utf-8"))
    return data


def model_fields(entity: EntityDef) -> dict[str, str]:
    """The wire fields of the entity's Swagger model and their types (the SOAP-only
    ``soapParentPropertyId`` expression is not a field)."""
    properties = swagger()["definitions"][entity.model]["properties"]
    return {
        name: SWAGGER_TYPES[(spec.get("type"), spec.get("format"))]
        for name, spec in properties.items()
        if name != "soapParentPropertyId"
    }


class Waits(list[float]):
    """What the client would have slept."""


@pytest.fixture
def tenant() -> Iterator[SimulatedAutotask]:
    with SimulatedAutotask() as started:
        yield started


@pytest.fixture
def waits() -> Waits:
    return Waits()


@pytest.fixture
def connect(waits: Waits) -> Callable[..., AutotaskClient]:
    """A real client for a tenant, with waits recorded and jitter fixed at 0.5."""

    def make(tenant: SimulatedAutotask, **kwargs: Any) -> AutotaskClient:
        kwargs.setdefault("sleep", waits.append)
        kwargs.setdefault("rand", lambda: 0.5)
        return tenant.client(**kwargs)

    return make


@pytest.fixture
def client(tenant: SimulatedAutotask, connect: Callable[..., AutotaskClient]) -> AutotaskClient:
    return connect(tenant)


def auth(tenant: SimulatedAutotask) -> dict[str, str]:
    return {
        "UserName": tenant.username,
        "Secret": tenant.secret,
        "ApiIntegrationCode": tenant.integration_code,
    }


def one_po(tenant: SimulatedAutotask, *, lines: int = 1, status: str = "Submitted") -> int:
    vendor = tenant.add_vendor(f"Vendor {len(tenant.records('Companies'))}")
    product = tenant.add_product(f"Product {len(tenant.records('Products'))}", unit_cost="5")
    if tenant.default_location() is None:
        tenant.add_location("Main Warehouse", is_default=True)
    order = tenant.add_purchase_order(vendor, status=status)
    for n in range(lines):
        tenant.add_line(order, product, n + 2, "19.99")
    return order


# -- shapes: the Swagger --------------------------------------------------------------------


@pytest.mark.parametrize("entity", ENTITIES.values(), ids=lambda e: e.name)
def test_each_entity_has_exactly_the_fields_and_types_of_its_swagger_model(
    entity: EntityDef,
) -> None:
    assert {fd.name: fd.type for fd in entity.fields} == model_fields(entity)
    paths = swagger()["paths"]
    assert {"get", "post"} <= set(paths[f"/V1.0/{entity.name}/query"])
    assert "get" in paths[f"/V1.0/{entity.name}/{{id}}"]
    assert entity.patchable == ("patch" in paths.get(f"/V1.0/{entity.name}", {}))
    if entity.parent:
        parent, child, _ = entity.parent
        assert "get" in paths[f"/V1.0/{parent}/{{parentId}}/{child}"]


def _wire_type_ok(kind: str, value: object) -> bool:
    if value is None:
        return True
    if kind in ("long", "integer"):
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "double":
        return isinstance(value, int | float | Decimal) and not isinstance(value, bool)
    if kind == "datetime":
        return isinstance(value, str) and datetime.fromisoformat(value).tzinfo is not None
    if kind == "udf":
        return isinstance(value, list)
    return isinstance(value, {"string": str, "boolean": bool}[kind])


def test_every_record_served_has_its_models_fields_with_their_wire_types() -> None:
    with demo_tenant() as tenant:
        client = tenant.client()
        for entity in ENTITIES.values():
            expected = model_fields(entity)
            rows = list(client.query_raw(entity.name))
            assert rows, entity.name
            for row in rows:
                assert set(row) == set(expected), entity.name
                wrong = {k: v for k, v in row.items() if not _wire_type_ok(expected[k], v)}
                assert not wrong, (entity.name, wrong)


def test_the_demo_tenant_reads_into_every_typed_record_without_a_bad_one() -> None:
    with demo_tenant() as tenant:
        client = tenant.client()
        bad: list[RecordError] = []
        counts = {r.ENTITY: len(list(client.query(r, invalid=bad))) for r in RECORDS}
    assert bad == []
    assert counts == {
        "PurchaseOrders": 6,
        "PurchaseOrderItems": 10,
        "PurchaseOrderItemReceiving": 6,
        "Products": 7,
        "InventoryItems": 14,
        "InventoryProducts": 14,
        "InventoryLocations": 4,
        "Companies": 11,
        "Tickets": 2,
        "Projects": 1,
    }


# -- queries and paging ----------------------------------------------------------------------


def test_1203_records_take_three_pages_each_posting_the_same_body(
    tenant: SimulatedAutotask, client: AutotaskClient
) -> None:
    vendor = tenant.add_vendor("Ingram Micro")
    created = [tenant.add_purchase_order(vendor) for _ in range(1203)]

    ids = [po.id for po in client.query(PurchaseOrder, f.noteq("status", 7))]

    assert ids == created
    log = tenant.requests
    assert [(r.method, r.action, r.page, r.status) for r in log] == [
        ("POST", "query", 1, 200),
        ("POST", "query", 2, 200),
        ("POST", "query", 3, 200),
    ]
    assert log[0].path == "/ATServicesRest/V1.0/PurchaseOrders/query"
    assert log[1].path == log[2].path == "/ATServicesRest/V1.0/PurchaseOrders/query/next"
    assert log[0].body == log[1].body == log[2].body
    assert client.requests_made == tenant.request_count == 3


def test_page_details_are_keyset_next_page_urls_on_the_host_asked(
    tenant: SimulatedAutotask,
) -> None:
    vendor = tenant.add_vendor("Ingram Micro")
    ids = [tenant.add_purchase_order(vendor) for _ in range(5)]
    http = tenant.http_client(headers=auth(tenant))
    query = {"filter": [{"op": "gte", "field": "id", "value": 0}], "maxRecords": 2}

    first = http.post(tenant.base_url + "PurchaseOrders/query", json=query).json()
    second = http.post(first["pageDetails"]["nextPageUrl"], json=query).json()
    third = http.post(second["pageDetails"]["nextPageUrl"], json=query).json()

    details = first["pageDetails"]
    assert (details["count"], details["requestCount"], details["prevPageUrl"]) == (2, 2, None)
    url = urlsplit(details["nextPageUrl"])
    assert (url.scheme, url.netloc, url.path) == (
        "https",
        "webservices5.autotask.net",
        "/ATServicesRest/V1.0/PurchaseOrders/query/next",
    )
    params = parse_qs(url.query)
    assert json.loads(params["paging"][0]) == {
        "pageSize": 2,
        "previousIds": [-1],
        "nextIds": [ids[1]],
    }
    assert json.loads(params["search"][0]) == query
    assert [row["id"] for row in second["items"]] == ids[2:4]
    assert second["pageDetails"]["prevPageUrl"] is not None
    assert [row["id"] for row in third["items"]] == ids[4:]
    assert third["pageDetails"]["nextPageUrl"] is None
    assert [r.page for r in tenant.requests] == [1, 2, 3]


def test_a_get_query_with_search_in_the_url_pages_by_get(tenant: SimulatedAutotask) -> None:
    vendor = tenant.add_vendor("Ingram Micro")
    ids = [tenant.add_purchase_order(vendor) for _ in range(3)]
    http = tenant.http_client(headers=auth(tenant))
    search = json.dumps({"filter": [{"op": "exist", "field": "id"}], "MaxRecords": 2})
    first = http.get(tenant.base_url + "PurchaseOrders/query", params={"search": search}).json()
    second = http.get(first["pageDetails"]["nextPageUrl"]).json()
    assert [r["id"] for r in first["items"] + second["items"]] == ids


@pytest.fixture
def catalogue(tenant: SimulatedAutotask) -> dict[str, int]:
    """Four products that differ in name, cost, SKU, activity and a UDF."""
    return {
        "laptop": tenant.add_product(
            "Dell Latitude 5440 Laptop",
            unit_cost="899.00",
            sku="LAT-1",
            userDefinedFields=[{"name": "Warranty", "value": "3 years"}],
        ),
        "ap": tenant.add_product("Ubiquiti UniFi AP", unit_cost="99.00"),
        "cable": tenant.add_product("Cat6 Patch Cable", unit_cost="2.49", isActive=False),
        "monitor": tenant.add_product("dell monitor", unit_cost="179.99", sku="MON-2"),
    }


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ([f.eq("name", "DELL LATITUDE 5440 LAPTOP")], ["laptop"]),
        ([f.eq("ISACTIVE", False)], ["cable"]),
        ([f.noteq("isActive", True)], ["cable"]),
        ([f.gt("unitCost", 99)], ["laptop", "monitor"]),
        ([f.gte("unitCost", 99)], ["laptop", "ap", "monitor"]),
        ([f.lt("unitCost", "99")], ["cable"]),
        ([f.lte("unitCost", 99)], ["ap", "cable"]),
        ([f.exist("sku")], ["laptop", "monitor"]),
        ([f.not_exist("sku")], ["ap", "cable"]),
        ([f.noteq("sku", "lat-1")], ["monitor"]),  # a null matches no comparison
        ([f.begins_with("name", "dell")], ["laptop", "monitor"]),
        ([f.ends_with("name", "CABLE")], ["cable"]),
        ([f.contains("name", "unifi")], ["ap"]),
        ([f.in_("name", ["Ubiquiti UniFi AP", "dell monitor", "nothing"])], ["ap", "monitor"]),
        ([f.not_in("sku", ["MON-2"])], ["laptop"]),
        ([f.eq("Warranty", "3 YEARS", udf=True)], ["laptop"]),
        ([f.begins_with("name", "dell"), f.gt("unitCost", 500)], ["laptop"]),
        ([f.or_(f.eq("name", "dell monitor"), f.contains("name", "cat6"))], ["cable", "monitor"]),
        (
            [
                f.or_(
                    f.and_(f.begins_with("name", "dell"), f.gt("unitCost", 500)),
                    f.eq("isActive", False),
                )
            ],
            ["laptop", "cable"],
        ),
    ],
)
def test_filters_select_what_autotask_would(
    client: AutotaskClient,
    catalogue: dict[str, int],
    filters: list[f.Filter],
    expected: list[str],
) -> None:
    names = {record_id: key for key, record_id in catalogue.items()}
    rows = list(client.query_raw("Products", *filters, include_fields=["name"]))
    assert [names[row["id"]] for row in rows] == sorted(expected, key=catalogue.__getitem__)


def test_date_time_filters_compare_instants(
    tenant: SimulatedAutotask, client: AutotaskClient
) -> None:
    vendor = tenant.add_vendor("Ingram Micro")
    early, late = (
        tenant.add_purchase_order(vendor, createDateTime=datetime(2024, 5, day, 17, tzinfo=UTC))
        for day in (1, 2)
    )
    since = datetime(2024, 5, 1, 18, tzinfo=UTC)
    assert [po.id for po in client.query(PurchaseOrder, f.gte("createDateTime", since))] == [late]
    assert [po.id for po in client.query(PurchaseOrder, f.lt("createDateTime", since))] == [early]
    record = client.get(PurchaseOrder, early)
    assert record.create_date_time == datetime(2024, 5, 1, 17, tzinfo=UTC)


def test_include_fields_returns_only_those_fields(
    tenant: SimulatedAutotask, catalogue: dict[str, int]
) -> None:
    http = tenant.http_client(headers=auth(tenant))
    answer = http.post(
        tenant.base_url + "Products/query",
        json={
            "Filter": [{"op": "eq", "field": "sku", "value": "MON-2"}],
            "IncludeFields": ["NAME", "id"],
        },
    ).json()
    assert answer["items"] == [{"name": "dell monitor", "id": catalogue["monitor"]}]


@pytest.mark.parametrize(
    ("query", "complaint"),
    [
        ({"filter": []}, "at least one filter"),
        ({"filter": [{"op": "eq", "field": "colour", "value": "red"}]}, "'colour'"),
        ({"filter": [{"op": "like", "field": "name", "value": "x"}]}, "Unknown filter operator"),
        ({"filter": [{"op": "eq", "field": "isActive", "value": None}]}, "needs a value"),
        ({"filter": [{"op": "eq", "field": "isActive", "value": "yes"}]}, "not true or false"),
        ({"filter": [{"op": "in", "field": "id", "value": []}]}, "non-empty array"),
        ({"filter": [{"op": "gt", "field": "unitCost", "value": "cheap"}]}, "not a number"),
        ({"filter": [{"op": "contains", "field": "unitCost", "value": "9"}]}, "text field"),
        ({"filter": [{"op": "or", "items": []}]}, "non-empty items"),
        ({"filter": [{"op": "exist", "field": "id"}], "maxRecords": 501}, "between 1 and 500"),
        ({"filter": [{"op": "exist", "field": "id"}], "includeFields": ["x"]}, "'x'"),
        (
            {"filter": [{"op": "in", "field": "id", "value": list(range(501))}]},
            "limited to 500 or fewer 'OR' conditions",
        ),
        (
            {
                "filter": [
                    {
                        "op": "or",
                        "items": [{"op": "eq", "field": "id", "value": i} for i in range(501)],
                    }
                ]
            },
            "limited to 500 or fewer 'OR' conditions",
        ),
    ],
)
def test_queries_autotask_refuses_get_500_with_a_message(
    tenant: SimulatedAutotask, query: dict[str, Any], complaint: str
) -> None:
    http = tenant.http_client(headers=auth(tenant))
    answer = http.post(tenant.base_url + "Products/query", json=query)
    assert answer.status_code == 500
    (message,) = answer.json()["errors"]
    assert complaint in message


def test_in_lists_of_1203_ids_cost_three_requests_of_at_most_500(
    tenant: SimulatedAutotask, client: AutotaskClient
) -> None:
    vendor = tenant.add_vendor("Ingram Micro")
    product = tenant.add_product("Widget")
    orders = [tenant.add_purchase_order(vendor) for _ in range(1203)]
    lines = [tenant.add_line(order, product, 1, "1.00") for order in orders[::2]]

    found = [line.id for line in client.query_in(PurchaseOrderItem, "orderID", orders)]

    assert found == lines
    sent = [r.body["filter"][0]["value"] for r in tenant.requests]
    assert [len(values) for values in sent] == [500, 500, 203]


def test_count_answers_by_get_and_by_post_for_long_filters(
    tenant: SimulatedAutotask, client: AutotaskClient
) -> None:
    vendor = tenant.add_vendor("Ingram Micro")
    orders = [tenant.add_purchase_order(vendor, status="Submitted") for _ in range(3)]
    tenant.add_purchase_order(vendor)
    submitted = tenant.po_status("Submitted")
    assert client.count(PurchaseOrder, f.eq("status", submitted)) == 3
    assert client.count("PurchaseOrders", f.in_("id", [*orders, *range(90_000, 90_400)])) == 3
    assert [(r.method, r.action) for r in tenant.requests] == [("GET", "count"), ("POST", "count")]


def test_get_reads_one_record_and_a_missing_one_is_not_found(
    tenant: SimulatedAutotask, client: AutotaskClient
) -> None:
    order = one_po(tenant)
    assert (
        client.get(PurchaseOrder, order).vendor_id
        == tenant.get("PurchaseOrders", order)["vendorID"]
    )
    with pytest.raises(NotFound) as caught:
        client.get(PurchaseOrder, 999_999)
    assert caught.value.record_id == 999_999


def test_child_urls_list_lines_and_receipts_of_their_parent(
    tenant: SimulatedAutotask, client: AutotaskClient
) -> None:
    order = one_po(tenant, lines=2)
    one_po(tenant, lines=3)  # another PO's lines are not listed
    first, second = (r["id"] for r in tenant.find("PurchaseOrderItems", orderID=order))
    receipt = tenant.receive(first, 1, vendor_invoice_number="INV-7")

    lines = list(client.children(PurchaseOrderItem, order))
    receipts = list(client.children(PurchaseOrderItemReceiving, first))

    assert [line.id for line in lines] == [first, second]
    assert [(r.id, r.quantity_now_receiving, r.vendor_invoice_number) for r in receipts] == [
        (receipt, 1, "INV-7")
    ]
    assert list(client.children(PurchaseOrderItemReceiving, second)) == []
    assert [r.path for r in tenant.requests] == [
        f"/ATServicesRest/V1.0/PurchaseOrders/{order}/Items",
        f"/ATServicesRest/V1.0/PurchaseOrderItems/{first}/Receiving",
        f"/ATServicesRest/V1.0/PurchaseOrderItems/{second}/Receiving",
    ]
    http = tenant.http_client(headers=auth(tenant))
    one = http.get(f"{tenant.base_url}PurchaseOrders/{order}/Items/{second}").json()
    assert one["item"]["id"] == second
    assert http.get(f"{tenant.base_url}PurchaseOrders/1/Items/{second}").json() == {"item": None}


# -- picklists and metadata -------------------------------------------------------------------


def test_picklists_give_this_tenants_integers_by_label(
    connect: Callable[..., AutotaskClient],
) -> None:
    statuses = {"New": 10, "Submitted": 11, "Received Partial": 12, "Received Full": 13}
    with SimulatedAutotask(po_statuses={**statuses, "Canceled": 23}) as tenant:
        client = connect(tenant)
        assert client.picklist_value("PurchaseOrders", "status", "Cancelled", "Canceled") == 23
        assert client.picklist_value("Companies", "companyType", "Vendor") == 7
        assert client.picklist("PurchaseOrders", "status").label_of(12) == "Received Partial"
        with pytest.raises(PicklistError, match="not a picklist field"):
            client.picklist("PurchaseOrders", "externalPONumber")
        assert [r.action for r in tenant.requests] == ["fields", "fields"]


def test_field_definitions_describe_every_field(
    tenant: SimulatedAutotask, client: AutotaskClient
) -> None:
    fields = {fd.name: fd for fd in client.field_definitions("PurchaseOrders")}
    assert set(fields) == set(ENTITIES["PurchaseOrders"].names)
    assert fields["vendorID"].is_required
    assert fields["vendorID"].reference_entity_type == "Company"
    assert fields["purchaseOrderNumber"].is_read_only
    assert fields["freight"].data_type == "double"
    assert fields["status"].is_picklist
    assert {v.label: v.value for v in fields["status"].picklist_values}["Canceled"] == "7"
    http = tenant.http_client(headers=auth(tenant))
    info = http.get(tenant.base_url + "PurchaseOrders/entityInformation").json()["info"]
    assert (info["name"], info["canQuery"], info["canUpdate"]) == ("PurchaseOrder", True, True)
    udfs = http.get(tenant.base_url + "Products/entityInformation/userDefinedFields").json()
    assert udfs == {"fields": []}


# -- writes ---------------------------------------------------------------------------------


def test_the_external_po_number_write_back_is_visible_in_the_next_read(
    tenant: SimulatedAutotask, client: AutotaskClient
) -> None:
    order = one_po(tenant)
    assert client.get(PurchaseOrder, order).external_po_number is None

    client.set_external_po_number(order, "QB-1042")

    assert client.get(PurchaseOrder, order).external_po_number == "QB-1042"
    assert tenant.get("PurchaseOrders", order)["externalPONumber"] == "QB-1042"
    patch = tenant.requests[1]
    assert (patch.method, patch.path, patch.body) == (
        "PATCH",
        "/ATServicesRest/V1.0/PurchaseOrders",
        {"id": order, "externalPONumber": "QB-1042"},
    )
    client.update("PurchaseOrders", order, {"externalPONumber": ""})
    assert tenant.get("PurchaseOrders", order)["externalPONumber"] is None


def test_a_patch_of_a_missing_record_is_not_found_at_once(
    tenant: SimulatedAutotask, client: AutotaskClient
) -> None:
    with pytest.raises(NotFound):
        client.set_external_po_number(4242, "QB-1")
    assert tenant.request_count == 1


@pytest.mark.parametrize(
    ("fields", "complaint"),
    [
        ({"purchaseOrderNumber": "X"}, "read only"),
        ({"colour": "red"}, "'colour'"),
        ({"freight": "lots"}, "freight is not a number"),
        ({"vendorID": None}, "needs vendorID"),
    ],
)
def test_patches_autotask_refuses_get_500_and_change_nothing(
    tenant: SimulatedAutotask, fields: dict[str, Any], complaint: str
) -> None:
    order = one_po(tenant)
    before = tenant.get("PurchaseOrders", order)
    http = tenant.http_client(headers=auth(tenant))
    answer = http.patch(tenant.base_url + "PurchaseOrders", json={"id": order, **fields})
    assert answer.status_code == 500
    assert complaint in " ".join(answer.json()["errors"])
    assert tenant.get("PurchaseOrders", order) == before


def test_lines_are_patched_through_their_po_not_at_the_root(
    tenant: SimulatedAutotask, client: AutotaskClient
) -> None:
    order = one_po(tenant)
    (line,) = (r["id"] for r in tenant.find("PurchaseOrderItems", orderID=order))
    with pytest.raises(RequestRejected, match="does not support http method 'PATCH'"):
        client.update("PurchaseOrderItems", line, {"memo": "x"})
    http = tenant.http_client(headers=auth(tenant))
    answer = http.patch(
        f"{tenant.base_url}PurchaseOrders/{order}/Items", json={"id": line, "memo": "Rush"}
    )
    assert answer.json() == {"itemId": line}
    assert tenant.get("PurchaseOrderItems", line)["memo"] == "Rush"


# -- authentication and zones ---------------------------------------------------------------


def test_a_wrong_secret_is_a_401_that_the_client_blames_on_the_secret(
    tenant: SimulatedAutotask, connect: Callable[..., AutotaskClient]
) -> None:
    client = connect(tenant, secret="not-the-secret")
    with pytest.raises(AuthenticationError) as caught:
        list(client.query(PurchaseOrder))
    assert caught.value.suspect == "secret_or_integration_code"
    assert [(r.action, r.status) for r in tenant.requests] == [("query", 401), ("zone", 200)]


def test_a_wrong_integration_code_is_a_500_naming_it(
    tenant: SimulatedAutotask, connect: Callable[..., AutotaskClient]
) -> None:
    client = connect(tenant, integration_code="WRONGCODE")
    with pytest.raises(AuthenticationError) as caught:
        list(client.query(PurchaseOrder))
    assert caught.value.suspect == "integration_code"
    assert caught.value.status_code == 500
    assert tenant.request_count == 1


def test_an_unknown_user_fails_the_zone_lookup_with_500(
    tenant: SimulatedAutotask, connect: Callable[..., AutotaskClient]
) -> None:
    client = connect(tenant, discover=True, username="someone@else.example")
    with pytest.raises(AuthenticationError) as caught:
        list(client.query(PurchaseOrder))
    assert caught.value.suspect == "username"
    assert [(r.action, r.status) for r in tenant.requests] == [("zone", 500)]


def test_an_unknown_user_on_an_api_request_is_a_500_the_client_retries(
    tenant: SimulatedAutotask, connect: Callable[..., AutotaskClient], waits: Waits
) -> None:
    # Autotask answers 500, not 401, to an unknown user name (apigrate/autotask-restapi#19);
    # the client cannot tell it from a server fault.
    client = connect(tenant, username="someone@else.example")
    with pytest.raises(ServerError, match="Invalid user name"):
        list(client.query(PurchaseOrder))
    assert tenant.request_count == 5
    assert len(waits) == 4


def test_missing_headers_are_401(tenant: SimulatedAutotask) -> None:
    http = tenant.http_client()
    answer = http.post(
        tenant.base_url + "Products/query", json={"filter": [{"op": "exist", "field": "id"}]}
    )
    assert answer.status_code == 401


def test_the_zone_is_discovered_and_a_zone_move_is_followed(
    tenant: SimulatedAutotask, connect: Callable[..., AutotaskClient]
) -> None:
    order = one_po(tenant)
    client = connect(tenant, discover=True)
    assert [po.id for po in client.query(PurchaseOrder)] == [order]
    assert client.zone().zone_name == "US2"
    assert client.base_url == "https://webservices5.autotask.net/ATServicesRest/V1.0/"

    tenant.move_zone("webservices14.autotask.net", "AE02")
    assert [po.id for po in client.query(PurchaseOrder)] == [order]

    assert client.base_url == "https://webservices14.autotask.net/ATServicesRest/V1.0/"
    assert [(r.action, r.status) for r in tenant.requests] == [
        ("zone", 200),
        ("query", 200),
        ("query", 401),
        ("zone", 200),
        ("query", 200),
    ]


def test_the_zone_lookup_reached_directly_announces_the_local_address_which_the_client_refuses(
    tenant: SimulatedAutotask,
) -> None:
    answer = httpx.get(tenant.local_zone_lookup_url, params={"user": tenant.username}).json()
    assert answer["url"] == f"http://127.0.0.1:{tenant.port}/ATServicesRest/"
    client = AutotaskClient(
        tenant.username,
        tenant.secret,
        tenant.integration_code,
        zone_url=tenant.local_zone_lookup_url,
    )
    with client, pytest.raises(ZoneDiscoveryError, match="refusing to send credentials"):
        client.zone()


def test_a_401_at_the_local_address_looks_the_zone_up_locally_and_goes_nowhere_else(
    tenant: SimulatedAutotask,
) -> None:
    client = AutotaskClient(
        tenant.username,
        "not-the-secret",
        tenant.integration_code,
        base_url=tenant.local_base_url,
        zone_url=tenant.local_zone_lookup_url,
    )
    with client, pytest.raises(AutotaskError):
        list(client.query(PurchaseOrder))
    assert [(r.action, r.status) for r in tenant.requests] == [("query", 401), ("zone", 200)]


def test_the_local_address_serves_the_client_as_a_configured_base_url() -> None:
    with demo_tenant() as tenant:
        base = tenant.local_base_url
        with AutotaskClient(
            tenant.username, tenant.secret, tenant.integration_code, base_url=base
        ) as client:
            assert len(list(client.query(PurchaseOrder))) == 6


def test_through_the_local_address_the_client_pages_on_the_same_origin(
    tenant: SimulatedAutotask,
) -> None:
    vendor = tenant.add_vendor("Ingram Micro")
    for _ in range(501):
        tenant.add_purchase_order(vendor)
    base = tenant.local_base_url
    client = AutotaskClient(tenant.username, tenant.secret, tenant.integration_code, base_url=base)
    with client:
        orders = list(client.query(PurchaseOrder))
    assert len(orders) == 501
    assert tenant.count_requests(action="query", entity="PurchaseOrders") == 2


def test_the_routing_transport_reaches_no_other_host(tenant: SimulatedAutotask) -> None:
    http = tenant.http_client()
    with pytest.raises(httpx.ConnectError, match=r"no host 'example\.com'"):
        http.get("https://example.com/")
    assert tenant.request_count == 0


# -- faults ---------------------------------------------------------------------------------


def test_429_with_retry_after_is_waited_exactly_then_the_query_succeeds(
    tenant: SimulatedAutotask, client: AutotaskClient, waits: Waits
) -> None:
    order = one_po(tenant)
    tenant.rate_limit_next(2, retry_after=7)
    assert [po.id for po in client.query(PurchaseOrder)] == [order]
    assert waits == [7.0, 7.0]
    assert [r.status for r in tenant.requests] == [429, 429, 200]
    assert client.requests_made == tenant.request_count == 3


def test_429_without_retry_after_backs_off_and_then_gives_up(
    tenant: SimulatedAutotask, client: AutotaskClient, waits: Waits
) -> None:
    tenant.rate_limit_next(6, retry_after=None)
    with pytest.raises(RateLimited):
        list(client.query(PurchaseOrder))
    assert waits == [0.75, 1.5, 3.0, 6.0]
    assert tenant.pending_faults == 1


def test_a_long_retry_after_is_raised_for_the_poller_without_waiting(
    tenant: SimulatedAutotask, client: AutotaskClient, waits: Waits
) -> None:
    tenant.rate_limit_next(retry_after=1800)
    with pytest.raises(RateLimited) as caught:
        list(client.query(PurchaseOrder))
    assert caught.value.retry_after == 1800
    assert waits == []


def test_a_500_is_retried_and_one_that_persists_is_a_server_error(
    tenant: SimulatedAutotask, client: AutotaskClient, waits: Waits
) -> None:
    tenant.server_error_next()
    assert list(client.query(PurchaseOrder)) == []
    assert waits == [0.75]
    tenant.server_error_next(5, message="Database unavailable.")
    with pytest.raises(ServerError) as caught:
        list(client.query(PurchaseOrder))
    assert caught.value.messages == ("Database unavailable.",)


@pytest.mark.parametrize("status", [500, 429, 400])
def test_the_thread_threshold_error_is_retried_whatever_its_status(
    tenant: SimulatedAutotask, client: AutotaskClient, waits: Waits, status: int
) -> None:
    tenant.thread_limit_next(status=status)
    assert list(client.query(PurchaseOrder)) == []
    assert waits == [0.75]
    tenant.thread_limit_next(5, status=status)
    with pytest.raises(ThreadLimitExceeded, match="Itgenatr005"):
        list(client.query(PurchaseOrder))


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"items": [{"id": 1', "application/json"),
        (b"<html><body>Service Unavailable</body></html>", "text/html"),
        (b"", "application/json"),
    ],
)
def test_a_malformed_body_is_a_malformed_response(
    tenant: SimulatedAutotask, client: AutotaskClient, body: bytes, content_type: str
) -> None:
    tenant.malformed_next(body=body, content_type=content_type)
    with pytest.raises(MalformedResponse) as caught:
        list(client.query(PurchaseOrder))
    assert caught.value.path == "/ATServicesRest/V1.0/PurchaseOrders/query"
    assert tenant.request_count == 1


def test_a_dropped_connection_is_retried(
    tenant: SimulatedAutotask, client: AutotaskClient, waits: Waits
) -> None:
    order = one_po(tenant)
    tenant.disconnect_next()
    assert [po.id for po in client.query(PurchaseOrder)] == [order]
    assert waits == [0.75]
    tenant.disconnect_next(5)
    with pytest.raises(TransportError):
        client.get(PurchaseOrder, order)


def test_a_fault_for_a_path_leaves_other_requests_alone(
    tenant: SimulatedAutotask, client: AutotaskClient
) -> None:
    order = one_po(tenant, lines=2)
    tenant.server_error_next(path="PurchaseOrderItems")
    orders = [po.id for po in client.query(PurchaseOrder)]
    lines = list(client.query_in(PurchaseOrderItem, "orderID", orders))
    assert (orders, len(lines)) == ([order], 2)
    assert [(r.entity, r.status) for r in tenant.requests] == [
        ("PurchaseOrders", 200),
        ("PurchaseOrderItems", 500),
        ("PurchaseOrderItems", 200),
    ]
    tenant.server_error_next(3)
    tenant.clear_faults()
    assert tenant.pending_faults == 0


def test_random_faults_answer_a_seeded_share_and_repeat_with_the_seed(
    tenant: SimulatedAutotask,
) -> None:
    def statuses(seed: int) -> list[int]:
        tenant.fail_at_random(random.Random(seed), rate_limited=0.25, server_error=0.25)
        with httpx.Client() as http:
            answers = [
                http.get(tenant.local_base_url + "PurchaseOrders/1", headers=auth(tenant))
                for _ in range(40)
            ]
        tenant.clear_faults()
        for answer in answers:
            if answer.status_code == 429:
                assert answer.headers["Retry-After"] == "1"
        return [answer.status_code for answer in answers]

    first = statuses(7)
    assert statuses(7) == first != statuses(8)
    assert {429, 500, 200} <= set(first)
    assert tenant.random_faults_answered == 0  # cleared with the other faults
    with pytest.raises(ValueError, match="at most 1"):
        tenant.fail_at_random(random.Random(1), rate_limited=0.7, server_error=0.5)


def test_fault_counts_must_be_positive(tenant: SimulatedAutotask) -> None:
    for times in (0, -1, True):
        with pytest.raises(ValueError, match="positive"):
            tenant.server_error_next(times)


def test_the_hourly_threshold_counts_requests_and_refuses_above_it(
    connect: Callable[..., AutotaskClient],
) -> None:
    now = [1000.0]
    with SimulatedAutotask(hourly_limit=3, clock=lambda: now[0]) as tenant:
        client = connect(tenant)
        assert [client.threshold_information().current_count for _ in range(3)] == [1, 2, 3]
        with pytest.raises(RateLimited):
            client.threshold_information()
        now[0] += 3600
        info = client.threshold_information()
        assert (info.limit, info.timeframe_minutes, info.current_count) == (3, 60, 1)


# -- routes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "Widgets/query", 404),
        ("GET", "PurchaseOrders/abc", 404),
        ("GET", "PurchaseOrders/1/Receiving", 404),
        ("GET", "PurchaseOrders", 405),
        ("DELETE", "PurchaseOrders/1", 405),
        ("PUT", "PurchaseOrders/query", 405),
        ("GET", "PurchaseOrders/query/next", 404),
    ],
)
def test_unknown_routes_and_methods_get_aspnet_answers(
    tenant: SimulatedAutotask, method: str, path: str, status: int
) -> None:
    http = tenant.http_client(headers=auth(tenant))
    answer = http.request(method, tenant.base_url + path)
    assert answer.status_code == status
    assert "Message" in answer.json()


def test_version_information_and_paths_ignore_case(tenant: SimulatedAutotask) -> None:
    http = tenant.http_client(headers=auth(tenant))
    host = "https://webservices5.autotask.net"
    assert http.get(host + "/ATServicesRest/VersionInformation").json() == {"apiVersions": ["1.0"]}
    answer = http.post(
        host + "/atservicesrest/v1.0/purchaseorders/query/COUNT",
        json={"filter": [{"op": "exist", "field": "ID"}]},
    )
    assert answer.json() == {"queryCount": 0}


# -- changing data between poll cycles --------------------------------------------------------


def test_receipts_move_status_and_on_hand_and_can_be_cancelled(tenant: SimulatedAutotask) -> None:
    vendor = tenant.add_vendor("Ingram Micro")
    main = tenant.add_location("Main Warehouse", is_default=True)
    van = tenant.add_location("Service Van 2")
    product = tenant.add_product("Widget")
    tenant.set_on_hand(product, main, 5)
    order = tenant.add_purchase_order(vendor, status="Submitted")
    line = tenant.add_line(order, product, 4, "10.00", location_id=van)
    assert (
        tenant.get("InventoryItems", tenant.find_id("InventoryItems", inventoryLocationID=main))[
            "quantityOnOrder"
        ]
        == 0
    )

    first = tenant.receive(line, 3)
    assert tenant.get("PurchaseOrders", order)["status"] == tenant.po_status("Received Partial")
    assert (tenant.on_hand(product, van), tenant.on_hand(product)) == (3, 8)
    row = tenant.get("PurchaseOrderItemReceiving", first)
    assert (row["quantityPreviouslyReceived"], row["quantityBackOrdered"]) == (0, 1)
    van_stock = tenant.find("InventoryProducts", productID=product, inventoryLocationID=van)[0]
    assert (van_stock["onHandUnits"], van_stock["availableUnits"], van_stock["unitsOnOrder"]) == (
        3,
        3,
        1,
    )

    last = tenant.receive(line, 1)
    assert tenant.get("PurchaseOrders", order)["status"] == tenant.po_status("Received Full")
    assert tenant.get("PurchaseOrderItemReceiving", last)["quantityPreviouslyReceived"] == 3
    with pytest.raises(ValueError, match="too many"):
        tenant.receive(line, 1)

    tenant.cancel_receipt(first)
    assert tenant.get("PurchaseOrders", order)["status"] == tenant.po_status("Received Partial")
    assert (tenant.received(line), tenant.on_hand(product)) == (1, 6)


def test_data_autotask_would_refuse_is_refused(tenant: SimulatedAutotask) -> None:
    customer = tenant.add_customer("Northwind Traders")
    with pytest.raises(ValueError, match="not a vendor"):
        tenant.add_purchase_order(customer)
    new = one_po(tenant, status="New")
    (line,) = (r["id"] for r in tenant.find("PurchaseOrderItems", orderID=new))
    with pytest.raises(ValueError, match="only a submitted PO is received"):
        tenant.receive(line, 1)
    tenant.submit(new)
    tenant.receive(line, 1)
    with pytest.raises(ValueError, match="cannot be canceled"):
        tenant.cancel_purchase_order(new)
    with pytest.raises(ValueError, match="1 received"):
        tenant.change("PurchaseOrderItems", line, quantity=0)
    with pytest.raises(ValueError, match="at least 1"):
        tenant.add_line(new, tenant.get("PurchaseOrderItems", line)["productID"], 0, "1")
    with pytest.raises(ValueError, match="a product or a charge"):
        tenant.add_line(new, None, 1, "1")
    with pytest.raises(ValueError, match="has no field"):
        tenant.change("PurchaseOrders", new, colour="red")
    with pytest.raises(ValueError, match="orderID of a PurchaseOrderItems record cannot change"):
        tenant.change("PurchaseOrderItems", line, orderID=new + 1)
    with pytest.raises(ValueError, match="quantity is not an integer"):
        tenant.change("PurchaseOrderItems", line, quantity="3")
    with pytest.raises(ValueError, match="receipts"):
        tenant.delete("PurchaseOrderItems", line)
    with pytest.raises(ValueError, match="must be >="):
        tenant.set_on_hand(tenant.add_product("X"), tenant.default_location() or 0, 1, reserved=2)


def test_a_change_between_two_reads_shows_in_the_second(
    tenant: SimulatedAutotask, client: AutotaskClient
) -> None:
    order = one_po(tenant, lines=2)
    first, second = (r["id"] for r in tenant.find("PurchaseOrderItems", orderID=order))
    before = {line.id: line.quantity for line in client.children(PurchaseOrderItem, order)}

    tenant.change("PurchaseOrderItems", first, quantity=9, memo="Bumped")
    tenant.receive(second, 1)
    newer = tenant.add_purchase_order(tenant.get("PurchaseOrders", order)["vendorID"])
    tenant.cancel_purchase_order(newer)

    after = {line.id: line.quantity for line in client.children(PurchaseOrderItem, order)}
    receipts = list(
        client.query_in(PurchaseOrderItemReceiving, "purchaseOrderItemID", [first, second])
    )
    canceled = client.picklist_value("PurchaseOrders", "status", "Canceled")
    statuses = {po.id: po.status for po in client.query(PurchaseOrder)}
    assert (before, after) == ({first: 2, second: 3}, {first: 9, second: 3})
    assert [(r.purchase_order_item_id, r.quantity_now_receiving) for r in receipts] == [(second, 1)]
    assert statuses == {order: tenant.po_status("Received Partial"), newer: canceled}


def test_a_poll_like_cycle_costs_one_request_per_read(
    connect: Callable[..., AutotaskClient],
) -> None:
    with demo_tenant() as tenant:
        client = connect(tenant)
        canceled = client.picklist_value("PurchaseOrders", "status", "Canceled")
        orders = [po.id for po in client.query(PurchaseOrder, f.noteq("status", canceled))]
        lines = list(client.query_in(PurchaseOrderItem, "orderID", orders))
        receipts = list(
            client.query_in(
                PurchaseOrderItemReceiving, "purchaseOrderItemID", [line.id for line in lines]
            )
        )
        products = {line.product_id for line in lines if line.product_id is not None}
        totals = on_hand_totals(client.query_in(InventoryProduct, "productID", products))

        assert (len(orders), len(lines), len(receipts)) == (5, 9, 6)
        assert totals[tenant.find_id("Products", name=LONG_PRODUCT)] == 9
        assert client.requests_made == tenant.request_count == 5
        assert tenant.count_requests(action="query", entity="PurchaseOrderItems") == 1
        assert tenant.count_requests(method="POST") == 4
        tenant.reset_requests()
        assert (tenant.request_count, tenant.requests) == (0, [])


# -- the demo dataset -----------------------------------------------------------------------


def test_the_demo_dataset_has_the_cases_the_workflow_must_handle() -> None:
    tenant = demo_tenant()
    orders = tenant.orders
    status = {po["id"]: po["status"] for po in tenant.records("PurchaseOrders")}
    assert status[orders.received_full] == tenant.po_status("Received Full")
    assert status[orders.received_partial] == tenant.po_status("Received Partial")
    assert status[orders.canceled] == tenant.po_status("Canceled")
    assert status[orders.new] == tenant.po_status("New")

    companies = tenant.records("Companies")
    names = [c["companyName"] for c in companies]
    assert any("&" in n for n in names)
    assert any(not n.isascii() for n in names)
    assert len(LONG_CUSTOMER) > 41
    assert LONG_CUSTOMER in names
    twins = {c["companyType"] for c in companies if c["companyName"] == VENDOR_AND_CUSTOMER}
    assert twins == {tenant.company_type("Vendor"), tenant.company_type("Customer")}
    products = [p["name"] for p in tenant.records("Products")]
    assert len(LONG_PRODUCT) > 31
    assert LONG_PRODUCT in products
    assert len(COLLIDING_PRODUCT) <= 31
    assert COLLIDING_PRODUCT in products

    lines = tenant.records("PurchaseOrderItems")
    assert any(line["ticketID"] for line in lines)
    assert any(line["projectID"] for line in lines)
    assert any(
        tenant.get("Tickets", line["ticketID"])["companyID"]
        != tenant.get("PurchaseOrders", line["orderID"])["purchaseForCompanyID"]
        for line in lines
        if line["ticketID"]
    )
    places: dict[int, set[int]] = {}
    for row in tenant.records("InventoryItems"):
        places.setdefault(row["productID"], set()).add(row["inventoryLocationID"])
    assert max(len(p) for p in places.values()) >= 3
    assert not all(loc["isActive"] for loc in tenant.records("InventoryLocations"))


def test_open_orders_for_benchmarks_reuse_their_vendor_and_products(
    tenant: SimulatedAutotask, client: AutotaskClient
) -> None:
    first = add_open_orders(tenant, 1000)
    companies = len(tenant.records("Companies"))
    second = add_open_orders(tenant, 3, lines_per_order=4)

    assert len(tenant.records("Companies")) == companies
    assert len(tenant.records("Products")) == 10
    submitted = tenant.po_status("Submitted")
    assert client.count(PurchaseOrder, f.eq("status", submitted)) == 1003
    assert client.count(PurchaseOrderItem, f.in_("orderID", second)) == 12
    assert len(list(client.query_in(PurchaseOrderItem, "orderID", first))) == 2000
    assert tenant.request_count == 2 + 2 * 2  # two counts, two chunks of 500 POs, 2 pages each


def test_python_m_serves_the_demo_tenant_until_stopped() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "service.simulators.autotask"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert process.stdout is not None
        settings = {}
        for line in process.stdout:
            if "=" in line:
                key, value = line.strip().split("=", 1)
                settings[key] = value
            if line.startswith("Press Ctrl-C"):
                break
        with AutotaskClient(
            settings["ATQB_AUTOTASK_USERNAME"],
            settings["ATQB_AUTOTASK_SECRET"],
            settings["ATQB_AUTOTASK_INTEGRATION_CODE"],
            base_url=settings["ATQB_AUTOTASK_BASE_URL"],
            zone_url=settings["ATQB_AUTOTASK_ZONE_URL"],
        ) as client:
            assert len(list(client.query(PurchaseOrder))) == 6
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0
    assert "Stopped after 1 requests." in out


# -- standing refusals and odd data ---------------------------------------------------------


def test_a_refused_update_is_refused_every_time_and_only_for_that_record(
    tenant: SimulatedAutotask, client: AutotaskClient
) -> None:
    refused, other = one_po(tenant), one_po(tenant)
    tenant.refuse_update("PurchaseOrders", refused, "externalPONumber: value is not valid.")
    for _ in range(2):
        with pytest.raises(RequestRejected, match="externalPONumber: value is not valid"):
            client.set_external_po_number(refused, "AT1")
    client.set_external_po_number(other, "AT2")
    assert tenant.get("PurchaseOrders", refused)["externalPONumber"] is None
    assert tenant.get("PurchaseOrders", other)["externalPONumber"] == "AT2"
    # A write is not repeated by the client: one request per refusal.
    assert [r.status for r in tenant.requests if r.method == "PATCH"] == [500, 500, 200]
    tenant.clear_faults()
    # A 500 that explains nothing is a server failure: repeated, as any transient answer.
    tenant.server_error_next(1)
    client.set_external_po_number(refused, "AT1")
    assert tenant.get("PurchaseOrders", refused)["externalPONumber"] == "AT1"
    assert [r.status for r in tenant.requests if r.method == "PATCH"][-2:] == [500, 200]


def test_denied_queries_answer_the_permission_error_and_other_entities_still_answer(
    tenant: SimulatedAutotask, client: AutotaskClient
) -> None:
    order = one_po(tenant)
    tenant.deny_queries("Tickets")
    with pytest.raises(PermissionDenied, match="security level"):
        list(client.query_in(Ticket, "id", [1]))
    with pytest.raises(PermissionDenied):
        client.count("Tickets")
    assert client.get(PurchaseOrder, order).id == order
    assert tenant.requests[0].status == 500


def test_corrupt_data_reaches_the_client_as_stored(
    tenant: SimulatedAutotask, client: AutotaskClient
) -> None:
    order = one_po(tenant)
    (line,) = tenant.find("PurchaseOrderItems", orderID=order)
    tenant.corrupt("PurchaseOrderItems", line["id"], quantity=None, memo="a\x00b")
    (raw,) = client.query_raw("PurchaseOrderItems", f.eq("orderID", order))
    assert raw["quantity"] is None
    assert raw["memo"] == "a\x00b"
    with pytest.raises(RecordError, match="quantity is null"):
        PurchaseOrderItem.from_api(raw)
    with pytest.raises(ValueError, match="no field"):
        tenant.corrupt("PurchaseOrderItems", line["id"], quantityy=1)
