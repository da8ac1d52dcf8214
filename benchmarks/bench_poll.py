"""Autotask requests per poll cycle: the first cycle, and an idle one, with 10, 100 and 1,000
open POs (Submitted, two lines each, one line partly received) in the simulated tenant.

    .venv/bin/python benchmarks/bench_poll.py [--sizes 10,100,1000]

Each size runs on a fresh temporary SQLite database with the real poller and the real Autotask
client talking HTTP to :class:`~service.simulators.autotask.SimulatedAutotask`. Printed: requests
and seconds of the first cycle (reads everything, enqueues every PO), of the second (nothing
changed), and of a cycle after one new receipt.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from service.clock import utcnow
from service.db import Database
from service.migrate import upgrade
from service.poller.core import Poller
from service.settings import load_settings
from service.simulators.autotask import SimulatedAutotask
from service.webconnector.sessions import Sessions


def measure(size: int, folder: Path) -> tuple[tuple[int, float], ...]:
    """(requests, seconds) of the first, an idle, and a one-receipt cycle."""
    url = f"sqlite:///{folder / f'bench-{size}.db'}"
    database = Database.from_url(url)
    upgrade(database)
    with database.transaction() as conn:
        Sessions(conn, utcnow()).add_user("office", "pw", "")
    with SimulatedAutotask(log_limit=100) as tenant:
        vendor = tenant.add_vendor("Acme Supply")
        customer = tenant.add_customer("Contoso Ltd")
        tenant.add_location("Main Warehouse", is_default=True)
        products = [tenant.add_product(f"Part {n:03d}", unit_cost="5.00") for n in range(50)]
        first_lines = []
        for number in range(size):
            po = tenant.add_purchase_order(
                vendor, status="Submitted", purchase_for_company_id=customer
            )
            first_lines.append(tenant.add_line(po, products[number % 50], 4, "5.00"))
            tenant.add_line(po, products[(number + 7) % 50], 2, "5.00")
            tenant.receive(first_lines[-1], 1)
        settings = load_settings(database_url=url, transfer_mode="unreceived")
        with tenant.client() as client:
            poller = Poller(database, settings, client)
            results = []
            for step in ("first", "idle", "receipt"):
                if step == "receipt":
                    tenant.receive(first_lines[size // 2], 1)
                started = time.perf_counter()
                outcome = poller.run_cycle()
                assert outcome.ok, outcome.error
                results.append((outcome.requests, time.perf_counter() - started))
    database.dispose()
    return tuple(results)


def main() -> None:
    """Print one line per size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,1000")
    sizes = [int(s) for s in parser.parse_args().sizes.split(",")]
    logging.basicConfig(level=logging.WARNING)
    print(f"{'open POs':>9}  {'first cycle':>20}  {'idle cycle':>18}  {'after 1 receipt':>18}")
    with tempfile.TemporaryDirectory() as folder:
        for size in sizes:
            (r1, s1), (r2, s2), (r3, s3) = measure(size, Path(folder))
            print(
                f"{size:>9}  {r1:>6} requests {s1:5.1f} s  {r2:>4} requests {s2:5.2f} s  "
                f"{r3:>4} requests {s3:5.2f} s"
            )


if __name__ == "__main__":
    main()
