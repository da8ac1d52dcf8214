"""Typed records: the fields match the Swagger, and bad items are reported precisely."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from pytest_httpx import HTTPXMock

from service.autotask import (
    AutotaskClient,
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
    RecordError,
    Ticket,
    clean_text,
    on_hand_totals,
)
from tests.autotask.autotask_fakes import page, purchase_order_item, swagger, swagger_item

MODELS: dict[type[Record], str] = {
    PurchaseOrder: "PurchaseOrderModel",
    PurchaseOrderItem: "PurchaseOrderItemModel",
    PurchaseOrderItemReceiving: "PurchaseOrderItemReceivingModel",
    Product: "ProductModel",
    InventoryItem: "InventoryItemModel",
    InventoryProduct: "InventoryProductModel",
    InventoryLocation: "InventoryLocationModel",
    Company: "CompanyModel",
    Ticket: "TicketModel",
    Project: "ProjectModel",
}
SWAGGER_KIND = {"integer": int, "string": str, "number": Decimal, "boolean": bool}


@pytest.mark.parametrize("record_type", list(MODELS), ids=lambda t: t.__name__)
def test_every_record_field_exists_in_the_swagger_with_that_type(record_type: type[Record]) -> None:
    properties = swagger()["definitions"][MODELS[record_type]]["properties"]
    for spec in record_type._spec():
        assert spec.wire in properties, f"{record_type.ENTITY} has no field {spec.wire}"
        prop = properties[spec.wire]
        expected = datetime if prop.get("format") == "date-time" else SWAGGER_KIND[prop["type"]]
        assert spec.kind is expected, spec.wire
    assert f"/V1.0/{record_type.ENTITY}/query" in swagger()["paths"]
    if record_type.PARENT:
        parent, child = record_type.PARENT
        assert f"/V1.0/{parent}/{{parentId}}/{child}" in swagger()["paths"]


def test_a_swagger_shaped_item_becomes_a_typed_record() -> None:
    line = PurchaseOrderItem.from_api(purchase_order_item(5, 7, ticketID=4411, memo="rush"))
    assert line == PurchaseOrderItem(
        id=5,
        order_id=7,
        quantity=4,
        product_id=232,
        inventory_location_id=3,
        unit_cost=Decimal("19.99"),
        memo="rush",
        estimated_arrival_date=datetime(2024, 5, 6, tzinfo=UTC),
        ticket_id=4411,
        project_id=None,
        contract_id=None,
        sales_order_id=None,
        charge_id=None,
    )


def test_money_keeps_the_exact_decimal_text_autotask_sent(
    client: AutotaskClient, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(
        content=b'{"items": [{"id": 1, "orderID": 2, "quantity": 3, "unitCost": 0.1}],'
        b' "pageDetails": {"count": 1, "requestCount": 500, "prevPageUrl": null,'
        b' "nextPageUrl": null}}'
    )
    (line,) = client.query(PurchaseOrderItem)
    assert line.unit_cost == Decimal("0.1")


def test_a_date_time_without_zone_is_read_as_utc() -> None:
    item = swagger_item(
        "PurchaseOrderItemReceivingModel",
        id=1,
        purchaseOrderItemID=2,
        quantityNowReceiving=1,
        receiveDate="2024-05-07T09:30:00",
    )
    receipt = PurchaseOrderItemReceiving.from_api(item)
    assert receipt.receive_date == datetime(2024, 5, 7, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("item", "problems"),
    [
        ({"id": 5, "quantity": 2}, ("orderID is missing",)),
        ({"id": 5, "orderID": None, "quantity": 2}, ("orderID is null",)),
        ({"id": 5, "orderID": 1, "quantity": "2"}, ("quantity should be an integer, got '2'",)),
        (
            {"id": 5, "orderID": 1, "quantity": Decimal("2.5")},
            ("quantity should be an integer, got 2.5",),
        ),
        ({"id": 5, "orderID": True, "quantity": 1}, ("orderID should be an integer, got True",)),
        (
            {"id": 5, "orderID": 1, "quantity": 1, "unitCost": "cheap", "memo": 3},
            ("unitCost should be a number, got 'cheap'", "memo should be a string, got 3"),
        ),
        (
            {"id": 5, "orderID": 1, "quantity": 1, "estimatedArrivalDate": "next week"},
            ("estimatedArrivalDate should be an ISO-8601 date-time, got 'next week'",),
        ),
        (
            {"id": 5, "orderID": 1, "quantity": 1, "unitCost": Decimal("NaN")},
            ("unitCost should be a number, got NaN",),
        ),
    ],
)
def test_missing_and_ill_typed_fields_are_all_reported_with_entity_and_id(
    item: dict[str, Any], problems: tuple[str, ...]
) -> None:
    with pytest.raises(RecordError) as caught:
        PurchaseOrderItem.from_api(item)
    assert (caught.value.entity, caught.value.record_id, caught.value.problems) == (
        "PurchaseOrderItems",
        5,
        problems,
    )
    assert str(caught.value).startswith("Autotask PurchaseOrderItems record 5: ")


def test_an_item_without_a_usable_id_says_so() -> None:
    with pytest.raises(RecordError, match="a record without a usable id: id is missing"):
        Product.from_api({"name": "Cable"})
    with pytest.raises(RecordError, match="expected an object, got 'x'"):
        Product.from_api("x")


def test_a_bad_item_in_a_query_page_is_a_record_error_not_a_key_error(
    client: AutotaskClient, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(json=page([{"id": 3, "productID": 1, "inventoryLocationID": 2}]))
    with pytest.raises(RecordError, match="InventoryItems record 3: quantityOnHand is missing"):
        list(client.query(InventoryItem))


def test_on_hand_is_totalled_per_product_across_locations() -> None:
    rows = [
        InventoryItem(1, 232, 3, 5, None, None, None),
        InventoryItem(2, 232, 4, 2, None, None, None),
        InventoryItem(3, 500, 3, 0, None, None, None),
    ]
    assert on_hand_totals(rows) == {232: 7, 500: 0}
    assert on_hand_totals([InventoryProduct(9, 232, 3, 6, 6, 0, 0)]) == {232: 6}


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("rush\x00 order", "rush order"),  # NUL: PostgreSQL refuses it in text and JSONB
        ("bell\x07 esc\x1b[0m del\x7f c1\x85", "bell esc[0m del c1"),
        ("\u202eevil\u202c \u2066iso\u2069", "evil iso"),  # bidi overrides and isolates
        ("lone \ud800 surrogate \uffff", "lone  surrogate "),
        ("tab\tline\nreturn\r", "tab\tline\nreturn\r"),  # XML 1.0 allows these three
        ("Café Ünïcode 日本 — 👍 \u200d", "Café Ünïcode 日本 — 👍 \u200d"),
    ],
)
def test_text_from_autotask_is_cleaned_where_it_enters(sent: str, kept: str) -> None:
    assert clean_text(sent) == kept
    line = PurchaseOrderItem.from_api(purchase_order_item(5, 7, memo=sent))
    assert line.memo == kept
    product = Product.from_api(swagger_item("ProductModel", id=9, name=sent))
    assert product.name == kept
    kept.encode("utf-8")  # what is kept can be stored and sent
