"""Enqueueing a first poll's purchase orders: the sync's work for N new POs in one transaction.

    .venv/bin/python benchmarks/bench_enqueue.py [--pos 1000] [--engine postgres|sqlite|both]

What ``atqb poll`` does after reading Autotask on its first cycle, without the Autotask part:
N purchase orders of 2 lines each (10 vendors, 300 products, none known to QuickBooks yet) go
through :func:`service.sync.enqueue.enqueue_purchase_orders` on an empty throwaway database.
Prints the time per PO, the jobs made and the SQL statements run.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import event
from throwaway import database_url, engines

from service.db import Database
from service.migrate import upgrade
from service.settings import load_settings
from service.sync.enqueue import enqueue_purchase_orders
from service.sync.model import Company, Product, PurchaseOrder
from tests.support import add_user
from tests.sync.helpers import line, order


def orders(count: int) -> list[PurchaseOrder]:
    """``count`` POs of 2 lines over 10 vendors and 300 products."""
    vendors = [Company(1000 + v, f"Vendor {v}") for v in range(10)]
    products = [Product(5000 + p, f"Part {p}", unit_cost=Decimal("2.5")) for p in range(300)]
    return [
        order(
            10_000 + n,
            line(100_000 + 2 * n, products[n % 300], 3),
            line(100_001 + 2 * n, products[(n * 7) % 300], 1),
            vendor=vendors[n % 10],
        )
        for n in range(count)
    ]


def measure(url: str, count: int) -> tuple[float, int, int]:
    """Seconds, jobs made and statements run to enqueue ``count`` POs."""
    database = Database.from_url(url)
    upgrade(database)
    add_user(database, "office", "pw")
    pos = orders(count)
    statements = [0]

    def counted(*_: Any) -> None:
        statements[0] += 1

    event.listen(database.engine, "before_cursor_execute", counted)
    start = time.perf_counter()
    report = enqueue_purchase_orders(database, load_settings(database_url=url), "office", pos)
    seconds = time.perf_counter() - start
    database.dispose()
    return seconds, len(report.created), statements[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pos", type=int, default=1000)
    parser.add_argument("--engine", choices=("postgres", "sqlite", "both"), default="both")
    args = parser.parse_args()
    for engine in engines(args.engine):
        with tempfile.TemporaryDirectory() as folder, database_url(engine, Path(folder)) as url:
            seconds, jobs, statements = measure(url, args.pos)
        print(
            f"{engine:<10} {args.pos} POs enqueued in {seconds:.2f} s "
            f"({1000 * seconds / args.pos:.1f} ms per PO): {jobs} jobs, {statements} statements"
        )


if __name__ == "__main__":
    main()
