"""Fixtures for the simulated-QuickBooks tests."""

from __future__ import annotations

import pytest

from service.simulators.quickbooks import SimulatedQuickBooks
from tests.simulators.helpers import Clock


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def qb(clock: Clock) -> SimulatedQuickBooks:
    """A fresh company file with the default chart of accounts, on a clock the test controls."""
    return SimulatedQuickBooks(clock=clock)
