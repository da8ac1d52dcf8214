"""Zone discovery: lookup, caching, re-discovery after 401 and zone moves, and bad answers."""

from __future__ import annotations

import logging
from collections.abc import Callable

import httpx
import pytest
from pytest_httpx import HTTPXMock

from service.autotask import (
    AuthenticationError,
    AutotaskClient,
    ConfigurationError,
    PurchaseOrder,
    ZoneDiscoveryError,
)
from tests.autotask.autotask_fakes import USER, ZONE_LOOKUP, FakeTime, page, purchase_order

ZONE14 = "https://webservices14.autotask.net/ATServicesRest/"
BASE14 = ZONE14 + "V1.0/"
ZONE5 = "https://webservices5.autotask.net/ATServicesRest/"
BASE5 = ZONE5 + "V1.0/"
LOOKUP = httpx.URL(ZONE_LOOKUP, params={"user": USER})

MakeClient = Callable[..., AutotaskClient]


def zone_answer(url: str = ZONE14, name: str = "AE02") -> dict[str, object]:
    """A ``ZoneInformationResultModel``."""
    return {"zoneName": name, "url": url, "webUrl": "https://ww14.autotask.net/", "ci": 14}


def _ids(client: AutotaskClient) -> list[int]:
    return [po.id for po in client.query(PurchaseOrder)]


def test_the_zone_is_looked_up_once_without_credentials_and_cached(
    make_client: MakeClient, httpx_mock: HTTPXMock
) -> None:
    client = make_client(base_url=None)
    httpx_mock.add_response(method="GET", url=LOOKUP, json=zone_answer())
    httpx_mock.add_response(
        method="POST",
        url=BASE14 + "PurchaseOrders/query",
        json=page([purchase_order(1)]),
        is_reusable=True,
    )

    assert _ids(client) == [1]
    assert _ids(client) == [1]

    lookup, *queries = httpx_mock.get_requests()
    assert lookup.url == LOOKUP
    assert "Secret" not in lookup.headers
    assert "ApiIntegrationCode" not in lookup.headers
    assert len(queries) == 2
    assert client.base_url == BASE14
    assert client.zone().zone_name == "AE02"
    assert client.requests_made == 3


def test_the_cached_zone_is_looked_up_again_after_12_hours(
    make_client: MakeClient, httpx_mock: HTTPXMock, fake_time: FakeTime
) -> None:
    client = make_client(base_url=None)
    httpx_mock.add_response(url=LOOKUP, json=zone_answer(), is_reusable=True)
    assert client.base_url == BASE14
    fake_time.now += 11 * 3600
    assert client.base_url == BASE14
    fake_time.now += 3600 + 1
    assert client.base_url == BASE14
    assert len(httpx_mock.get_requests()) == 2


def test_a_configured_base_url_skips_the_lookup(
    make_client: MakeClient, httpx_mock: HTTPXMock
) -> None:
    client = make_client(base_url="https://webservices5.autotask.net/ATServicesRest")
    httpx_mock.add_response(url=BASE5 + "PurchaseOrders/query", json=page([]))
    assert _ids(client) == []
    assert client.base_url == BASE5


def test_after_a_401_the_zone_is_looked_up_again_and_a_moved_tenant_is_followed(
    make_client: MakeClient, httpx_mock: HTTPXMock, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client(base_url=None)
    httpx_mock.add_response(url=LOOKUP, json=zone_answer(ZONE5, "US2"))
    httpx_mock.add_response(url=BASE5 + "PurchaseOrders/query", status_code=401)
    httpx_mock.add_response(url=LOOKUP, json=zone_answer(ZONE14, "AE02"))
    httpx_mock.add_response(url=BASE14 + "PurchaseOrders/query", json=page([purchase_order(9)]))

    with caplog.at_level(logging.WARNING, logger="service.autotask"):
        assert _ids(client) == [9]

    assert client.base_url == BASE14
    assert "moved user atqb-api@example-msp.com to zone AE02" in caplog.text


def test_a_next_page_url_is_moved_to_the_new_zone_too(
    make_client: MakeClient, httpx_mock: HTTPXMock
) -> None:
    client = make_client(base_url=None)
    httpx_mock.add_response(url=LOOKUP, json=zone_answer(ZONE5))
    httpx_mock.add_response(
        url=BASE5 + "PurchaseOrders/query",
        json=page([purchase_order(1)], BASE5 + "PurchaseOrders/query/next?paging=p2"),
    )
    httpx_mock.add_response(url=BASE5 + "PurchaseOrders/query/next?paging=p2", status_code=401)
    httpx_mock.add_response(url=LOOKUP, json=zone_answer(ZONE14))
    httpx_mock.add_response(
        url=BASE14 + "PurchaseOrders/query/next?paging=p2", json=page([purchase_order(2)])
    )
    assert _ids(client) == [1, 2]


def test_a_401_in_the_same_zone_blames_the_secret_or_integration_code(
    make_client: MakeClient, httpx_mock: HTTPXMock
) -> None:
    client = make_client(base_url=None)
    httpx_mock.add_response(url=LOOKUP, json=zone_answer(), is_reusable=True)
    httpx_mock.add_response(url=BASE14 + "PurchaseOrders/query", status_code=401)

    with pytest.raises(AuthenticationError) as caught:
        _ids(client)

    error = caught.value
    assert error.suspect == "secret_or_integration_code"
    assert error.status_code == 401
    assert "ATQB_AUTOTASK_SECRET or ATQB_AUTOTASK_INTEGRATION_CODE is wrong" in str(error)
    assert "found it in zone AE02" in str(error)
    assert len(httpx_mock.get_requests()) == 3  # lookup, query, lookup again; no second query


def test_a_401_with_a_configured_base_in_the_right_zone_blames_the_credentials(
    make_client: MakeClient, httpx_mock: HTTPXMock
) -> None:
    client = make_client(base_url=BASE14)
    httpx_mock.add_response(url=BASE14 + "PurchaseOrders/query", status_code=401)
    httpx_mock.add_response(url=LOOKUP, json=zone_answer())
    with pytest.raises(AuthenticationError) as caught:
        _ids(client)
    assert caught.value.suspect == "secret_or_integration_code"


def test_a_401_with_a_configured_base_in_another_zone_blames_the_base_url(
    make_client: MakeClient, httpx_mock: HTTPXMock
) -> None:
    client = make_client(base_url=BASE5)
    httpx_mock.add_response(url=BASE5 + "PurchaseOrders/query", status_code=401)
    httpx_mock.add_response(url=LOOKUP, json=zone_answer(ZONE14, "AE02"))
    with pytest.raises(AuthenticationError) as caught:
        _ids(client)
    assert caught.value.suspect == "base_url"
    assert "set ATQB_AUTOTASK_BASE_URL to that address" in str(caught.value)
    assert BASE14 in str(caught.value)


def test_a_second_401_after_a_zone_move_is_a_credentials_error(
    make_client: MakeClient, httpx_mock: HTTPXMock
) -> None:
    client = make_client(base_url=None)
    httpx_mock.add_response(url=LOOKUP, json=zone_answer(ZONE5))
    httpx_mock.add_response(url=BASE5 + "PurchaseOrders/query", status_code=401)
    httpx_mock.add_response(url=LOOKUP, json=zone_answer(ZONE14))
    httpx_mock.add_response(
        url=BASE14 + "PurchaseOrders/query", status_code=401, json={"errors": ["Unauthorized"]}
    )
    with pytest.raises(AuthenticationError) as caught:
        _ids(client)
    assert caught.value.suspect == "secret_or_integration_code"
    assert "Autotask said: Unauthorized" in str(caught.value)


def test_an_unknown_user_name_is_reported_from_the_lookups_500_without_retry(
    make_client: MakeClient, httpx_mock: HTTPXMock, fake_time: FakeTime
) -> None:
    client = make_client(base_url=None)
    httpx_mock.add_response(url=LOOKUP, status_code=500)
    with pytest.raises(AuthenticationError) as caught:
        _ids(client)
    assert caught.value.suspect == "username"
    assert "check ATQB_AUTOTASK_USERNAME" in str(caught.value)
    assert fake_time.sleeps == []


def test_a_busy_zone_lookup_is_retried(
    make_client: MakeClient, httpx_mock: HTTPXMock, fake_time: FakeTime
) -> None:
    client = make_client(base_url=None)
    httpx_mock.add_response(url=LOOKUP, status_code=503)
    httpx_mock.add_response(url=LOOKUP, json=zone_answer())
    assert client.base_url == BASE14
    assert fake_time.sleeps == [0.75]


@pytest.mark.parametrize(
    ("answer", "complaint"),
    [
        ({"zoneName": "X"}, "without an API url"),
        ([], "instead of an object"),
        (zone_answer("https://evil.example.net/ATServicesRest/"), "refusing to send credentials"),
        (zone_answer("http://webservices14.autotask.net/ATServicesRest/"), "not an https"),
        (zone_answer("https://webservices14.autotask.net/ATServicesRest/?x=1"), "query string"),
    ],
)
def test_an_unusable_zone_answer_is_a_zone_discovery_error(
    make_client: MakeClient, httpx_mock: HTTPXMock, answer: object, complaint: str
) -> None:
    client = make_client(base_url=None)
    httpx_mock.add_response(url=LOOKUP, json=answer)
    with pytest.raises(ZoneDiscoveryError, match=complaint):
        _ids(client)
    assert len(httpx_mock.get_requests()) == 1


def test_a_zone_lookup_that_is_not_json_or_not_200_is_a_zone_discovery_error(
    make_client: MakeClient, httpx_mock: HTTPXMock
) -> None:
    client = make_client(base_url=None)
    httpx_mock.add_response(url=LOOKUP, text="<html>maintenance</html>")
    with pytest.raises(ZoneDiscoveryError, match="not JSON"):
        client.zone()
    httpx_mock.add_response(url=LOOKUP, status_code=404, json={"errors": ["gone"]})
    with pytest.raises(ZoneDiscoveryError, match="answered HTTP 404: gone"):
        client.zone()


@pytest.mark.parametrize("bad", ["webservices5.autotask.net", "ftp://x/", "https://x/?a=1"])
def test_a_base_url_that_is_not_an_http_url_is_a_configuration_error(
    make_client: MakeClient, bad: str
) -> None:
    with pytest.raises(ConfigurationError, match="ATQB_AUTOTASK_BASE_URL"):
        make_client(base_url=bad)
