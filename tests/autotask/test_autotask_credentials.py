"""Credentials: the headers sent, settings that are missing, and secrets that never leak."""

from __future__ import annotations

import logging
from collections.abc import Callable

import httpx
import pytest
from pytest_httpx import HTTPXMock

from service.autotask import (
    AutotaskClient,
    AutotaskError,
    ConfigurationError,
    PurchaseOrder,
)
from service.settings import load_settings
from tests.autotask.autotask_fakes import BASE, CODE, SECRET, USER, ZONE_LOOKUP, page, sample

LOOKUP = httpx.URL(ZONE_LOOKUP, params={"user": USER})


def test_every_api_request_carries_the_three_headers_and_json_content_type(
    client: AutotaskClient, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(method="GET", json={"item": None})
    with pytest.raises(AutotaskError):
        client.get(PurchaseOrder, 1)
    (request,) = httpx_mock.get_requests()
    assert request.headers["ApiIntegrationCode"] == CODE
    assert request.headers["UserName"] == USER
    assert request.headers["Secret"] == SECRET
    assert request.headers["Content-Type"] == "application/json"


def test_the_client_is_built_from_settings(httpx_mock: HTTPXMock) -> None:
    settings = load_settings(
        _env_file=None,
        autotask_username=USER,
        autotask_secret=SECRET,
        autotask_integration_code=CODE,
        autotask_base_url=BASE,
    )
    httpx_mock.add_response(url=BASE + "PurchaseOrders/query", json=page([]))
    with AutotaskClient.from_settings(settings) as client:
        assert list(client.query(PurchaseOrder)) == []


def test_missing_settings_are_named() -> None:
    settings = load_settings(_env_file=None, autotask_username=USER)
    with pytest.raises(ConfigurationError) as caught:
        AutotaskClient.from_settings(settings)
    assert str(caught.value) == (
        "ATQB_AUTOTASK_SECRET, ATQB_AUTOTASK_INTEGRATION_CODE are not set; the Autotask API "
        "user's name, secret and integration code are all needed"
    )
    with pytest.raises(ConfigurationError, match="ATQB_AUTOTASK_INTEGRATION_CODE is not set"):
        AutotaskClient(USER, SECRET, "  ")
    with pytest.raises(ConfigurationError, match="ATQB_AUTOTASK_USERNAME is not set"):
        AutotaskClient("", SECRET, CODE)


def test_secrets_appear_in_no_log_exception_or_repr(
    make_client: Callable[..., AutotaskClient],
    httpx_mock: HTTPXMock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = make_client(base_url=None)
    httpx_mock.add_response(url=LOOKUP, json={"zoneName": "US2", "url": BASE[:-5]})
    httpx_mock.add_response(url=BASE + "PurchaseOrders/query", status_code=503)
    httpx_mock.add_response(url=BASE + "PurchaseOrders/query", json=page([]))
    httpx_mock.add_response(
        url=BASE + "Products/query", status_code=500, json=sample("error-permission-500.json")
    )
    httpx_mock.add_response(url=BASE + "Companies/query", status_code=401)
    httpx_mock.add_response(url=LOOKUP, json={"zoneName": "US2", "url": BASE[:-5]})
    httpx_mock.add_exception(
        httpx.ConnectError("refused"), url=BASE + "Tickets/query", is_reusable=True
    )
    failures: list[AutotaskError] = []

    with caplog.at_level(logging.DEBUG):
        list(client.query(PurchaseOrder))
        for entity in ("Products", "Companies", "Tickets"):
            try:
                list(client.query_raw(entity))
            except AutotaskError as exc:
                failures.append(exc)

    assert [type(e).__name__ for e in failures] == [
        "PermissionDenied",
        "AuthenticationError",
        "TransportError",
    ]
    shown = caplog.text + repr(client) + "".join(str(e) + repr(e) + repr(vars(e)) for e in failures)
    assert "/PurchaseOrders/query -> 200" in caplog.text  # the requests were logged
    assert SECRET not in shown
    assert CODE not in shown
