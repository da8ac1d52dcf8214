"""Queries, paging, ``in`` chunking, counts, single records, child URLs and the PATCH write."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest
from pytest_httpx import HTTPXMock

from service.autotask import (
    AutotaskClient,
    Company,
    MalformedResponse,
    NotFound,
    PurchaseOrder,
    PurchaseOrderItem,
    PurchaseOrderItemReceiving,
    RecordError,
)
from service.autotask import filters as f
from service.autotask.client import MAX_PAGES
from tests.autotask.autotask_fakes import (
    BASE,
    CODE,
    SECRET,
    USER,
    next_page_url,
    page,
    purchase_order,
    purchase_order_item,
    sample,
    swagger_item,
)

AUTH_HEADERS = {
    "ApiIntegrationCode": CODE,
    "UserName": USER,
    "Secret": SECRET,
    "Content-Type": "application/json",
}


def test_a_query_follows_next_page_url_across_three_pages_reposting_the_same_body(
    client: AutotaskClient, httpx_mock: HTTPXMock
) -> None:
    second = next_page_url("PurchaseOrders", 2)
    third = next_page_url("PurchaseOrders", 3)
    body = {
        "maxRecords": 500,
        "filter": [{"op": "noteq", "field": "status", "value": 5}],
        "includeFields": list(PurchaseOrder.wire_fields()),
    }
    httpx_mock.add_response(
        method="POST",
        url=BASE + "PurchaseOrders/query",
        match_json=body,
        match_headers=AUTH_HEADERS,
        json=page([purchase_order(1), purchase_order(2)], second),
    )
    httpx_mock.add_response(
        method="POST", url=second, match_json=body, json=page([purchase_order(3)], third)
    )
    httpx_mock.add_response(
        method="POST", url=third, match_json=body, json=page([purchase_order(4)])
    )

    orders = list(client.query(PurchaseOrder, f.noteq("status", 5)))

    assert [po.id for po in orders] == [1, 2, 3, 4]
    assert orders[0].freight == Decimal("12.5")
    assert orders[0].ship_to_city == "Salem"
    assert [r.method for r in httpx_mock.get_requests()] == ["POST", "POST", "POST"]
    assert client.requests_made == 3


def test_query_pages_are_fetched_only_as_the_caller_consumes_them(
    client: AutotaskClient, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(json=page([purchase_order(1)], next_page_url("PurchaseOrders", 1)))
    orders = client.query(PurchaseOrder)
    assert client.requests_made == 0
    assert next(orders).id == 1
    assert client.requests_made == 1


def test_a_query_without_filters_asks_for_all_records_and_follows_the_real_next_page_urls(
    make_client: Callable[..., AutotaskClient], httpx_mock: HTTPXMock
) -> None:
    zone15 = "https://webservices15.autotask.net/ATServicesRest/V1.0/"
    client = make_client(base_url=zone15)
    everything = {"maxRecords": 500, "filter": [{"op": "gte", "field": "id", "value": 0}]}
    live = sample("companies-query-page.live-fixture.json")
    real = sample("pageDetails-nextPageUrl-real-example.json")
    httpx_mock.add_response(
        method="POST", url=zone15 + "Companies/query", match_json=everything, json=live
    )
    httpx_mock.add_response(
        method="POST",
        url=live["pageDetails"]["nextPageUrl"],
        match_json=everything,
        json={"items": [{"id": 725, "companyName": "Third"}], **real},
    )
    httpx_mock.add_response(
        method="POST",
        url=real["pageDetails"]["nextPageUrl"],
        match_json=everything,
        json=sample("empty-query-result.json"),
    )

    names = [c["companyName"] for c in client.query_raw("Companies")]

    assert names == ["Pacific Cloud Cyber", "Autotask Corporation", "Third"]


def test_the_live_companies_sample_parses_into_company_records(
    client: AutotaskClient, httpx_mock: HTTPXMock
) -> None:
    live = sample("companies-query-page.live-fixture.json")
    live["pageDetails"]["nextPageUrl"] = None
    httpx_mock.add_response(json=live)
    companies = list(client.query(Company, f.eq("companyType", 8)))
    assert companies[0] == Company(
        id=0,
        company_name="Pacific Cloud Cyber",
        company_type=8,
        company_number="PCC",
        is_active=True,
        parent_company_id=203,
        address1="222 Comercial St",
        address2=None,
        city="Salem",
        state="Oregon",
        postal_code=None,
        phone="5034492009",
        last_tracked_modified_date_time=None,
    )
    assert companies[1].is_active is False


def test_the_empty_sample_page_yields_nothing(
    client: AutotaskClient, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(json=sample("empty-query-result.json"))
    assert list(client.query(PurchaseOrder, f.eq("status", 1))) == []


def test_include_fields_always_contains_id(client: AutotaskClient, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        match_json={
            "maxRecords": 500,
            "filter": [{"op": "exist", "field": "IsActive"}],
            "includeFields": ["id", "companyName"],
        },
        json=page([{"id": 5, "companyName": "Acme"}]),
    )
    rows = list(client.query_raw("Companies", f.exist("IsActive"), include_fields=["companyName"]))
    assert rows == [{"id": 5, "companyName": "Acme"}]


def _answer_in_filter(request: httpx.Request) -> httpx.Response:
    body = json.loads(request.content)
    ids = body["filter"][0]["value"]
    return httpx.Response(200, json=page([purchase_order_item(10_000 + i, i) for i in ids]))


def test_in_lists_are_split_into_requests_of_at_most_500_values(
    client: AutotaskClient, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_callback(
        _answer_in_filter, url=BASE + "PurchaseOrderItems/query", is_reusable=True
    )
    po_ids = [*range(1, 1204), 5, 6, 7]  # duplicates are asked for once

    lines = list(client.query_in(PurchaseOrderItem, "orderID", po_ids, f.gt("quantity", 0)))

    sent = [json.loads(r.content) for r in httpx_mock.get_requests()]
    assert [len(b["filter"][0]["value"]) for b in sent] == [500, 500, 203]
    assert all(b["filter"][0]["op"] == "in" and b["filter"][0]["field"] == "orderID" for b in sent)
    assert all(b["filter"][1] == {"op": "gt", "field": "quantity", "value": 0} for b in sent)
    assert [line.order_id for line in lines] == list(range(1, 1204))


def test_an_empty_in_list_sends_no_request(client: AutotaskClient) -> None:
    assert list(client.query_in(PurchaseOrderItem, "orderID", [])) == []
    assert client.requests_made == 0


def test_count_sends_the_filter_as_search_parameter(
    client: AutotaskClient, httpx_mock: HTTPXMock
) -> None:
    search = json.dumps(
        {"filter": [{"op": "eq", "field": "status", "value": 2}]}, separators=(",", ":")
    )
    httpx_mock.add_response(
        method="GET",
        url=httpx.URL(BASE + "PurchaseOrders/query/count", params={"search": search}),
        match_headers=AUTH_HEADERS,
        json={"queryCount": 42},
    )
    assert client.count(PurchaseOrder, f.eq("status", 2)) == 42


def test_count_posts_a_filter_too_long_for_a_url(
    client: AutotaskClient, httpx_mock: HTTPXMock
) -> None:
    ids = list(range(100_000, 100_400))
    httpx_mock.add_response(
        method="POST",
        url=BASE + "PurchaseOrderItems/query/count",
        match_json={"filter": [{"op": "in", "field": "orderID", "value": ids}]},
        json={"queryCount": 3},
    )
    assert client.count("PurchaseOrderItems", f.in_("orderID", ids)) == 3


def test_count_without_query_count_is_malformed(
    client: AutotaskClient, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(json={"count": 3})
    with pytest.raises(MalformedResponse, match='integer "queryCount"'):
        client.count("PurchaseOrders")


def test_get_reads_one_record_and_reports_a_missing_one(
    client: AutotaskClient, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(
        method="GET", url=BASE + "PurchaseOrders/7", json={"item": purchase_order(7)}
    )
    httpx_mock.add_response(method="GET", url=BASE + "PurchaseOrders/8", json={"item": None})

    assert client.get(PurchaseOrder, 7).purchase_order_number == "PO7"
    with pytest.raises(NotFound) as caught:
        client.get(PurchaseOrder, 8)
    assert (caught.value.entity, caught.value.record_id) == ("PurchaseOrders", 8)
    assert "no PurchaseOrders record 8" in str(caught.value)


def test_get_refuses_ids_and_entities_that_are_not_ids_and_entities(client: AutotaskClient) -> None:
    with pytest.raises(ValueError, match="non-negative integer"):
        client.get(PurchaseOrder, -1)
    with pytest.raises(ValueError, match="not an Autotask entity name"):
        client.get_raw("PurchaseOrders/../Resources", 1)


def test_child_collections_use_the_parent_url_and_follow_pages_by_get(
    client: AutotaskClient, httpx_mock: HTTPXMock
) -> None:
    more = BASE + "PurchaseOrders/7/Items/next?paging=x"
    httpx_mock.add_response(
        method="GET",
        url=BASE + "PurchaseOrders/7/Items",
        json=page([purchase_order_item(70, 7)], more),
    )
    httpx_mock.add_response(method="GET", url=more, json=page([purchase_order_item(71, 7)]))
    receipt = swagger_item(
        "PurchaseOrderItemReceivingModel",
        id=900,
        purchaseOrderItemID=70,
        quantityNowReceiving=2,
        quantityPreviouslyReceived=0,
        quantityBackOrdered=2,
        receiveDate="2024-05-07T00:00:00Z",
        receivedByResourceID=29682922,
        serialNumber=None,
        vendorInvoiceNumber="INV-1",
    )
    httpx_mock.add_response(
        method="GET", url=BASE + "PurchaseOrderItems/70/Receiving", json=page([receipt])
    )

    assert [line.id for line in client.children(PurchaseOrderItem, 7)] == [70, 71]
    receipts = list(client.children(PurchaseOrderItemReceiving, 70))
    assert receipts[0].quantity_now_receiving == 2
    assert receipts[0].receive_date is not None
    assert receipts[0].receive_date.year == 2024
    with pytest.raises(ValueError, match="no parent collection"):
        client.children(PurchaseOrder, 7)


def test_set_external_po_number_patches_only_that_field(
    client: AutotaskClient, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(
        method="PATCH",
        url=BASE + "PurchaseOrders",
        match_json={"id": 7, "externalPONumber": "1042"},
        match_headers=AUTH_HEADERS,
        json={"itemId": 7},
    )
    client.set_external_po_number(7, "1042")


def test_update_without_item_id_is_malformed(client: AutotaskClient, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(method="PATCH", json={"id": 7})
    with pytest.raises(MalformedResponse, match='"itemId"'):
        client.update("PurchaseOrders", 7, {"externalPONumber": "1042"})
    with pytest.raises(ValueError, match="other than id"):
        client.update("PurchaseOrders", 7, {"id": 8})


def test_threshold_information(client: AutotaskClient, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        url=BASE + "ThresholdInformation",
        json={
            "externalRequestThreshold": 10000,
            "requestThresholdTimeframe": 60,
            "currentTimeframeRequestCount": 124,
        },
    )
    info = client.threshold_information()
    assert (info.limit, info.timeframe_minutes, info.current_count) == (10000, 60, 124)


def test_a_bad_record_stops_the_query_unless_the_caller_collects_them(
    client: AutotaskClient, httpx_mock: HTTPXMock
) -> None:
    items = [
        purchase_order(1),
        purchase_order(2, vendorID=None, status="Submitted"),
        purchase_order(3),
    ]
    httpx_mock.add_response(json=page(items), is_reusable=True)

    with pytest.raises(RecordError) as caught:
        list(client.query(PurchaseOrder))
    assert str(caught.value) == (
        "Autotask PurchaseOrders record 2: vendorID is null; "
        "status should be an integer, got 'Submitted'"
    )

    bad: list[RecordError] = []
    assert [po.id for po in client.query(PurchaseOrder, invalid=bad)] == [1, 3]
    assert [(e.entity, e.record_id) for e in bad] == [("PurchaseOrders", 2)]


@pytest.mark.parametrize(
    ("answer", "complaint"),
    [
        ({"item": []}, 'without an "items" array'),
        ([], 'without an "items" array'),
        ({"items": [1]}, "not an object"),
        (page([], "ftp://elsewhere/x"), "unusable nextPageUrl"),
        (page([], 17), "unusable nextPageUrl"),  # type: ignore[arg-type]
    ],
)
def test_pages_not_shaped_like_the_swagger_are_malformed(
    client: AutotaskClient, httpx_mock: HTTPXMock, answer: Any, complaint: str
) -> None:
    httpx_mock.add_response(json=answer)
    with pytest.raises(MalformedResponse, match=complaint):
        list(client.query_raw("PurchaseOrders"))


@pytest.mark.parametrize(
    "next_url",
    [
        "http://webservices5.autotask.net/ATServicesRest/V1.0/PurchaseOrders/query/next",
        "https://webservices5.autotask.net:8443/ATServicesRest/V1.0/PurchaseOrders/query/next",
    ],
)
def test_a_next_page_over_plain_http_or_another_port_is_not_followed(
    client: AutotaskClient, httpx_mock: HTTPXMock, next_url: str
) -> None:
    assert client.base_url.startswith("https://webservices5.autotask.net/")
    httpx_mock.add_response(json=page([], next_url))
    with pytest.raises(MalformedResponse, match="refusing to send credentials"):
        list(client.query_raw("PurchaseOrders"))


def test_a_next_page_on_another_host_is_not_followed(
    client: AutotaskClient, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(json=page([], "https://attacker.example/ATServicesRest/V1.0/x"))
    with pytest.raises(MalformedResponse, match="refusing to send credentials"):
        list(client.query_raw("PurchaseOrders"))
    assert len(httpx_mock.get_requests()) == 1


def test_a_next_page_url_that_repeats_ends_the_query(
    client: AutotaskClient, httpx_mock: HTTPXMock
) -> None:
    loop = next_page_url("PurchaseOrders", 1)
    httpx_mock.add_response(url=BASE + "PurchaseOrders/query", json=page([purchase_order(1)], loop))
    httpx_mock.add_response(url=loop, json=page([purchase_order(2)], loop), is_reusable=True)
    with pytest.raises(MalformedResponse, match="did not end after 2 pages"):
        list(client.query_raw("PurchaseOrders"))


def test_a_next_page_url_that_changes_every_page_ends_after_a_bounded_number_of_pages(
    client: AutotaskClient, httpx_mock: HTTPXMock
) -> None:
    """A cursor that never ends (a new URL every page) is not followed thousands of times."""
    asked = []

    def endless(request: httpx.Request) -> httpx.Response:
        asked.append(request.url)
        return httpx.Response(200, json=page([purchase_order(1)], next_page_url("X", len(asked))))

    httpx_mock.add_callback(endless, is_reusable=True)
    with pytest.raises(MalformedResponse, match=f"did not end after {MAX_PAGES} pages"):
        list(client.query_raw("PurchaseOrders"))
    assert len(asked) == MAX_PAGES <= 200
