"""Error answers: what is retried, how long the client waits, what the operator is told."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from pytest_httpx import HTTPXMock

from service.autotask import (
    AuthenticationError,
    AutotaskClient,
    MalformedResponse,
    NotFound,
    PermissionDenied,
    PurchaseOrder,
    RateLimited,
    RequestRejected,
    RequestRetry,
    ResponseError,
    ServerError,
    ThreadLimitExceeded,
    TransportError,
    TryLater,
)
from service.autotask import filters as f
from tests.autotask.autotask_fakes import BASE, FakeTime, page, purchase_order, sample

QUERY = BASE + "PurchaseOrders/query"
THREAD_LIMIT = {
    "errors": [
        "Itgenatr005: Thread Threshold Exceeded. The thread threshold of 3 threads has been "
        "exceeded for this integration and endpoint."
    ]
}


def _orders(client: AutotaskClient) -> list[int]:
    return [po.id for po in client.query(PurchaseOrder, f.eq("status", 2))]


def test_the_permission_error_sent_as_500_names_the_entity_and_is_not_retried(
    client: AutotaskClient, httpx_mock: HTTPXMock, fake_time: FakeTime
) -> None:
    httpx_mock.add_response(status_code=500, json=sample("error-permission-500.json"))
    with pytest.raises(PermissionDenied) as caught:
        _orders(client)
    error = caught.value
    assert error.entity == "PurchaseOrders"
    assert error.status_code == 500
    assert error.messages == (
        "The logged in Resource does not have the adequate permissions to query this entity type.",
    )
    assert "may not query PurchaseOrders" in str(error)
    assert "Security Levels" in str(error)
    assert fake_time.sleeps == []
    assert client.requests_made == 1


def test_403_is_a_permission_error(client: AutotaskClient, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(method="GET", status_code=403)
    with pytest.raises(PermissionDenied, match="may not read Products 12 \\(HTTP 403\\)"):
        client.get_raw("Products", 12)


def test_404_names_what_was_not_found(client: AutotaskClient, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        method="GET", status_code=404, html="<html><body><h1>404 - Not Found</h1></body></html>"
    )
    with pytest.raises(NotFound) as caught:
        client.get_raw("PurchaseOrders", 99)
    assert (caught.value.entity, caught.value.record_id) == ("PurchaseOrders", 99)
    assert "read PurchaseOrders 99 (HTTP 404: <html><body><h1>404 - Not Found" in str(caught.value)


def test_no_matching_records_sent_as_500_is_not_found(
    client: AutotaskClient, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(
        method="GET", status_code=500, json={"errors": ["No matching records found."]}
    )
    with pytest.raises(NotFound):
        client.get_raw("PurchaseOrders", 99)
    assert client.requests_made == 1


def test_429_waits_exactly_the_retry_after_seconds(
    client: AutotaskClient, httpx_mock: HTTPXMock, fake_time: FakeTime
) -> None:
    httpx_mock.add_response(url=QUERY, status_code=429, headers={"Retry-After": "7"})
    httpx_mock.add_response(url=QUERY, json=page([purchase_order(1)]))
    assert _orders(client) == [1]
    assert fake_time.sleeps == [7.0]


def test_429_retry_after_as_http_date_is_measured_from_the_date_header(
    client: AutotaskClient, httpx_mock: HTTPXMock, fake_time: FakeTime
) -> None:
    httpx_mock.add_response(
        status_code=429,
        headers={
            "Date": "Wed, 01 May 2024 12:00:00 GMT",
            "Retry-After": "Wed, 01 May 2024 12:00:45 GMT",
        },
    )
    httpx_mock.add_response(json=page([]))
    assert _orders(client) == []
    assert fake_time.sleeps == [45.0]


def test_429_asking_for_a_long_wait_is_raised_at_once_for_the_poller(
    client: AutotaskClient, httpx_mock: HTTPXMock, fake_time: FakeTime
) -> None:
    httpx_mock.add_response(status_code=429, headers={"Retry-After": "1800"})
    with pytest.raises(RateLimited) as caught:
        _orders(client)
    assert isinstance(caught.value, TryLater)
    assert caught.value.retry_after == 1800.0
    assert "hourly request limit" in str(caught.value)
    assert "retry in 1800 s" in str(caught.value)
    assert fake_time.sleeps == []


def test_429_without_retry_after_backs_off_exponentially_then_gives_up(
    client: AutotaskClient, httpx_mock: HTTPXMock, fake_time: FakeTime
) -> None:
    httpx_mock.add_response(status_code=429, is_reusable=True)
    with pytest.raises(RateLimited) as caught:
        _orders(client)
    assert caught.value.retry_after is None
    # jitter fixed at 0.5: d/2 + 0.5 * d/2 with d = 1, 2, 4, 8
    assert fake_time.sleeps == [0.75, 1.5, 3.0, 6.0]
    assert client.requests_made == 5


def test_backoff_is_capped(
    make_client: Callable[..., AutotaskClient], httpx_mock: HTTPXMock, fake_time: FakeTime
) -> None:
    client = make_client(retry=RequestRetry(max_attempts=6, base_delay=10, max_delay=30))
    httpx_mock.add_response(status_code=503, is_reusable=True)
    with pytest.raises(ServerError):
        _orders(client)
    assert fake_time.sleeps == [7.5, 15.0, 22.5, 22.5, 22.5]


def test_500_then_success_is_retried_once(
    client: AutotaskClient, httpx_mock: HTTPXMock, fake_time: FakeTime
) -> None:
    httpx_mock.add_response(status_code=500, json={"errors": ["An unexpected error occurred."]})
    httpx_mock.add_response(json=page([purchase_order(3)]))
    assert _orders(client) == [3]
    assert fake_time.sleeps == [0.75]
    assert client.requests_made == 2


def test_a_500_that_persists_is_a_server_error_with_autotasks_text(
    client: AutotaskClient, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(
        status_code=500, json={"errors": ["Database unavailable."]}, is_reusable=True
    )
    with pytest.raises(ServerError) as caught:
        _orders(client)
    assert caught.value.messages == ("Database unavailable.",)
    assert isinstance(caught.value, TryLater)
    assert isinstance(caught.value, ResponseError)
    assert client.requests_made == 5
    assert str(caught.value) == (
        "Autotask failed to query PurchaseOrders (HTTP 500: Database unavailable.)"
    )


@pytest.mark.parametrize("status", [500, 429, 400, 405])
def test_the_thread_threshold_error_is_retried_whatever_its_status(
    client: AutotaskClient, httpx_mock: HTTPXMock, fake_time: FakeTime, status: int
) -> None:
    httpx_mock.add_response(status_code=status, json=THREAD_LIMIT)
    httpx_mock.add_response(json=page([purchase_order(4)]))
    assert _orders(client) == [4]
    assert fake_time.sleeps == [0.75]


def test_a_thread_threshold_error_that_persists_says_so(
    client: AutotaskClient, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(status_code=500, json=THREAD_LIMIT, is_reusable=True)
    with pytest.raises(ThreadLimitExceeded, match="Itgenatr005"):
        _orders(client)
    assert client.requests_made == 5


def test_other_client_errors_are_rejected_without_retry(
    client: AutotaskClient, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(
        status_code=405,
        json={"Message": "The requested resource does not support http method 'GET'."},
    )
    with pytest.raises(RequestRejected, match="does not support http method 'GET'"):
        _orders(client)
    assert client.requests_made == 1


def test_an_integration_code_complaint_sent_as_500_points_at_the_integration_code(
    client: AutotaskClient, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(
        status_code=500, json={"errors": ["The integration code provided is not valid."]}
    )
    with pytest.raises(AuthenticationError) as caught:
        _orders(client)
    assert caught.value.suspect == "integration_code"
    assert "ATQB_AUTOTASK_INTEGRATION_CODE" in str(caught.value)


@pytest.mark.parametrize(
    ("content", "headers"),
    [
        (b'{"items": [', {"Content-Type": "application/json"}),
        (b"<html>Service Unavailable</html>", {"Content-Type": "text/html"}),
        (b"", {}),
        (b"\xff\xfe\x00garbage", {}),
        (b'{"items": [], "x": NaN}', {}),
    ],
)
def test_a_success_whose_body_is_not_json_is_malformed(
    client: AutotaskClient, httpx_mock: HTTPXMock, content: bytes, headers: dict[str, str]
) -> None:
    httpx_mock.add_response(content=content, headers=headers)
    with pytest.raises(MalformedResponse) as caught:
        _orders(client)
    assert "Autotask answered the request to query PurchaseOrders with HTTP 200" in str(
        caught.value
    )
    assert caught.value.path == "/ATServicesRest/V1.0/PurchaseOrders/query"


def test_network_failures_are_retried_then_reported(
    client: AutotaskClient, httpx_mock: HTTPXMock, fake_time: FakeTime
) -> None:
    httpx_mock.add_exception(httpx.ConnectError("[Errno 111] Connection refused"), is_reusable=True)
    with pytest.raises(TransportError) as caught:
        _orders(client)
    assert str(caught.value) == (
        "could not query PurchaseOrders in Autotask: network error "
        "(ConnectError: [Errno 111] Connection refused), 5 attempts"
    )
    assert caught.value.__context__ is None
    assert caught.value.__cause__ is None
    assert len(fake_time.sleeps) == 4


def test_a_timeout_then_an_answer_succeeds(
    client: AutotaskClient, httpx_mock: HTTPXMock, fake_time: FakeTime
) -> None:
    httpx_mock.add_exception(httpx.ReadTimeout("timed out"))
    httpx_mock.add_response(json=page([purchase_order(5)]))
    assert _orders(client) == [5]
    assert fake_time.sleeps == [0.75]
