"""The hourly request budget: counting, logging, waiting and refusing."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from pytest_httpx import HTTPXMock

from service.autotask import (
    AutotaskClient,
    BudgetExhausted,
    ConfigurationError,
    PurchaseOrder,
    RequestBudget,
    TryLater,
)
from tests.autotask.autotask_fakes import BASE, FakeTime, page, purchase_order

MakeClient = Callable[..., AutotaskClient]


def _budget(fake_time: FakeTime, per_hour: int, max_wait: float = 0.0) -> RequestBudget:
    return RequestBudget(per_hour, max_wait=max_wait, clock=fake_time.clock, sleep=fake_time.sleep)


def test_every_request_is_counted_retries_and_pages_included(
    client: AutotaskClient, httpx_mock: HTTPXMock
) -> None:
    more = BASE + "PurchaseOrders/query/next?paging=2"
    httpx_mock.add_response(status_code=503)
    httpx_mock.add_response(json=page([purchase_order(1)], more))
    httpx_mock.add_response(url=more, json=page([purchase_order(2)]))
    before = client.requests_made

    assert len(list(client.query(PurchaseOrder))) == 2

    assert client.requests_made - before == 3
    assert client.budget.used == 3
    assert client.budget.remaining == 2997
    assert client.budget.limit == 3000


def test_a_used_up_budget_raises_before_sending(
    make_client: MakeClient, httpx_mock: HTTPXMock, fake_time: FakeTime
) -> None:
    client = make_client(budget=_budget(fake_time, 3))
    httpx_mock.add_response(method="GET", json={"item": purchase_order(1)}, is_reusable=True)
    for _ in range(3):
        client.get(PurchaseOrder, 1)
        fake_time.now += 600

    with pytest.raises(BudgetExhausted) as caught:
        client.get(PurchaseOrder, 1)

    error = caught.value
    assert isinstance(error, TryLater)
    assert (error.used, error.limit) == (3, 3)
    assert error.retry_after == pytest.approx(1800.0)  # the first request leaves the hour then
    assert "used up: 3 requests in the last hour" in str(error)
    assert "not sent: GET /ATServicesRest/V1.0/PurchaseOrders/1" in str(error)
    assert len(httpx_mock.get_requests()) == 3
    assert fake_time.sleeps == []


def test_requests_are_allowed_again_as_the_rolling_hour_moves(
    make_client: MakeClient, httpx_mock: HTTPXMock, fake_time: FakeTime
) -> None:
    client = make_client(budget=_budget(fake_time, 2))
    httpx_mock.add_response(method="GET", json={"item": purchase_order(1)}, is_reusable=True)
    client.get(PurchaseOrder, 1)
    fake_time.now += 100
    client.get(PurchaseOrder, 1)
    fake_time.now += 3500  # the first request is now an hour old
    client.get(PurchaseOrder, 1)
    assert client.budget.used == 2
    assert client.budget.total == 3


def test_a_short_wait_for_a_free_slot_is_slept_instead_of_raised(
    make_client: MakeClient, httpx_mock: HTTPXMock, fake_time: FakeTime
) -> None:
    client = make_client(budget=_budget(fake_time, 2, max_wait=30))
    httpx_mock.add_response(method="GET", json={"item": purchase_order(1)}, is_reusable=True)
    client.get(PurchaseOrder, 1)
    fake_time.now += 3580
    client.get(PurchaseOrder, 1)

    client.get(PurchaseOrder, 1)

    assert fake_time.sleeps == [pytest.approx(20.0)]
    assert client.requests_made == 3


def test_the_budget_warns_once_at_80_percent(
    make_client: MakeClient,
    httpx_mock: HTTPXMock,
    fake_time: FakeTime,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = make_client(budget=_budget(fake_time, 10))
    httpx_mock.add_response(method="GET", json={"item": purchase_order(1)}, is_reusable=True)
    with caplog.at_level(logging.WARNING, logger="service.autotask"):
        for _ in range(9):
            client.get(PurchaseOrder, 1)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == ["atqb has used 8 of its 10 Autotask requests for this hour"]


@pytest.mark.parametrize("per_hour", [0, -5, 10_001, True])
def test_a_budget_outside_autotasks_limit_is_a_configuration_error(per_hour: int) -> None:
    with pytest.raises(ConfigurationError, match="between 1 and 10000"):
        RequestBudget(per_hour)
