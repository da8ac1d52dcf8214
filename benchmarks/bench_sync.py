"""Round trips of a whole transfer: 100 POs of 3 lines across 10 vendors, received mode.

Enqueues the POs through the sync's enqueue API, runs a real ``atqb serve`` process on a
throwaway PostgreSQL database (or SQLite) against the simulated Web Connector and QuickBooks, and
prints the Web Connector round trips used and the qbXML requests QuickBooks processed, beside the
round trips a design without batching would need (one request per round trip, the same requests).

    .venv/bin/python benchmarks/bench_sync.py [--pos 100] [--batch-size 50] [--engine postgres]
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from throwaway import ENGINES, database_url

from service.db import Database
from service.migrate import upgrade
from service.settings import load_settings
from service.simulators.quickbooks import SimulatedQuickBooks
from service.simulators.webconnector import SimulatedWebConnector
from service.sync.enqueue import enqueue_purchase_orders
from service.sync.model import (
    Company,
    Product,
    PurchaseOrder,
    PurchaseOrderLine,
    StockLevel,
)
from service.xmlsafe import parse_text
from tests.support import add_user, run_service

VENDORS = 10
CUSTOMERS = 20
PRODUCTS = 30


def workload(pos: int) -> tuple[list[PurchaseOrder], list[StockLevel]]:
    """``pos`` POs of 3 lines across 10 vendors; Autotask counts one more of every 5th product
    than the POs receive (so some inventory adjustments are needed)."""
    vendors = [Company(1 + n, f"Vendor {n + 1} & Sons") for n in range(VENDORS)]
    customers = [Company(100 + n, f"Customer {n + 1}") for n in range(CUSTOMERS)]
    products = [
        Product(1000 + n, f"Product {n + 1:02}", unit_cost=Decimal(n + 1) + Decimal("0.25"))
        for n in range(PRODUCTS)
    ]
    orders = []
    received: Counter[int] = Counter()
    for n in range(pos):
        lines = []
        for k in range(3):
            product = products[(3 * n + k) % PRODUCTS]
            quantity = 1 + (n + k) % 4
            received[product.id] += quantity
            lines.append(
                PurchaseOrderLine(10 * (n + 1) + k, product, quantity, unit_cost=product.unit_cost)
            )
        orders.append(
            PurchaseOrder(
                5000 + n,
                vendors[n % VENDORS],
                tuple(lines),
                number=f"PO-{n + 1:04}",
                ship_to=customers[n % CUSTOMERS],
            )
        )
    stock = [
        StockLevel(pid, 1, units + (1 if pid % 5 == 0 else 0)) for pid, units in received.items()
    ]
    return orders, stock


def run(database_url: str, workdir: Path, pos: int, batch_size: int) -> None:
    database = Database.from_url(database_url)
    upgrade(database)
    add_user(database, "bench", "pw")
    orders, stock = workload(pos)
    report = enqueue_purchase_orders(database, load_settings(), "bench", orders, stock)
    database.dispose()
    jobs = len(report.created)
    qb = SimulatedQuickBooks(log_limit=None)
    started = time.perf_counter()
    with (
        run_service(database_url, workdir, {"ATQB_BATCH_SIZE": str(batch_size)}) as service,
        SimulatedWebConnector(
            service.soap_url,
            qb,
            username="bench",
            password="pw",
            noop_wait=0,
            max_round_trips=10_000,
        ) as connector,
    ):
        reports = connector.run_until_idle()
    elapsed = time.perf_counter() - started
    round_trips = sum(r.round_trips for r in reports)
    requests: Counter[str] = Counter()
    for entry in qb.log:
        messages = parse_text(entry.request_xml).find("QBXMLMsgsRq")
        requests.update(str(rq.tag) for rq in (messages if messages is not None else []))
    processed = sum(requests.values())
    counts = qb.counts()
    print(f"jobs enqueued                      {jobs:>6}  {dict(sorted(report.kinds().items()))}")
    print(f"Web Connector sessions             {len(reports):>6}")
    print(f"Web Connector round trips          {round_trips:>6}   (batch size {batch_size})")
    print(f"qbXML requests processed           {processed:>6}   (QuickBooks counted "
          f"{qb.requests_processed})")  # fmt: skip
    print(f"round trips without batching       {processed:>6}   (one request per round trip)")
    print(f"requests by kind                   {dict(sorted(requests.items()))}")
    print(
        "QuickBooks now holds               "
        + ", ".join(
            f"{counts[k]} {k}"
            for k in ("Vendor", "Customer", "ItemInventory", "PurchaseOrder", "ItemReceipt")
        )
        + f", {counts['InventoryAdjustment']} InventoryAdjustment"
    )
    print(f"wall time                          {elapsed:6.1f} s (service, database, simulators)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pos", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--engine", choices=ENGINES, default="postgres")
    args = parser.parse_args()
    print(
        f"atqb sync benchmark  {datetime.now(UTC):%Y-%m-%d %H:%M} UTC  "
        f"{platform.machine()} {platform.python_version()}  {args.engine}  "
        f"{args.pos} POs x 3 lines, {VENDORS} vendors, received mode"
    )
    with tempfile.TemporaryDirectory() as tmp, database_url(args.engine, Path(tmp)) as url:
        run(url, Path(tmp), args.pos, args.batch_size)


if __name__ == "__main__":
    main()
