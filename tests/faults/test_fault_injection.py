"""Fault injection end to end, on PostgreSQL: see :mod:`tests.faults.scenario` for the run.

The seed is ``ATQB_TEST_FAULT_SEED`` (default: a fixed one, so CI repeats the same run); a failure
names it. ``ATQB_TEST_FAULT_SEED=random`` draws one.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from tests.faults.scenario import FaultRun, check, seeded

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

DEFAULT_SEED = 20261123


def _seed() -> int:
    chosen = os.environ.get("ATQB_TEST_FAULT_SEED", "")
    if chosen == "random":
        return random.SystemRandom().randrange(2**32)
    return int(chosen) if chosen else DEFAULT_SEED


@pytest.mark.timeout(600)
def test_200_orders_reach_quickbooks_exactly_once_whatever_fails(tmp_path: Path) -> None:
    seed = _seed()
    print(f"\nfault-injection seed {seed}")
    with seeded(seed), FaultRun(seed, tmp_path) as run:
        tally = run.run()
        print("\n".join(tally.lines))
        print(
            f"{tally.rounds} rounds; sessions {dict(tally.sessions)}; "
            f"{tally.web_connector_crashes} Web Connector crash(es), "
            f"{tally.connections_cut} cut connection(s), {tally.service_kills} service kill(s), "
            f"{tally.postgres_crashes} PostgreSQL crash(es); poll cycles "
            f"{tally.poll_cycles_ok} ok, {tally.poll_cycles_failed} failed; "
            f"{tally.autotask_errors} Autotask 429/500 answers"
        )
        # Every planned fault struck (a run where one did not would prove nothing about it).
        planned = tally.planned
        assert (tally.service_kills, tally.postgres_crashes) == (1, 1)
        assert tally.web_connector_crashes == planned["crash"]
        assert tally.connections_cut == planned["cut"]
        assert tally.autotask_errors > 0
        assert tally.poll_cycles_failed >= 1
        check(run)
