"""The fault-injection run (see scenario.py)."""

from __future__ import annotations

import pytest

# The checks live in scenario.py, which is not a test module: let pytest explain its asserts.
pytest.register_assert_rewrite("tests.faults.scenario")
