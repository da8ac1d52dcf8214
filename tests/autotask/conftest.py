"""Fixtures of the Autotask client tests: clients on fake time (helpers: autotask_fakes.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from service.autotask import AutotaskClient
from tests.autotask.autotask_fakes import BASE, CODE, SECRET, USER, FakeTime


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def make_client(fake_time: FakeTime) -> Iterator[Callable[..., AutotaskClient]]:
    """Builds clients on fake time with jitter fixed at 0.5 (backoff = 0.75 x the cap)."""
    clients: list[AutotaskClient] = []

    def make(**kwargs: Any) -> AutotaskClient:
        kwargs.setdefault("base_url", BASE)
        kwargs.setdefault("sleep", fake_time.sleep)
        kwargs.setdefault("clock", fake_time.clock)
        kwargs.setdefault("rand", lambda: 0.5)
        client = AutotaskClient(USER, SECRET, CODE, **kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def client(make_client: Callable[..., AutotaskClient]) -> AutotaskClient:
    """A client with the base URL configured (no zone lookup)."""
    return make_client()
