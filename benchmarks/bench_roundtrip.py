"""Service time per Web Connector round trip (sendRequestXML + receiveResponseXML) over HTTP.

Starts a real ``atqb serve`` process on a throwaway PostgreSQL database (and, for comparison,
SQLite), enqueues one CompanyQuery job per round trip (batch size 1, so every round trip claims,
builds, records, parses and completes one job), drives it with the simulated Web Connector and
prints the median, p90 and p99 of the time the service took per round trip, measured at the
client (loopback HTTP included, QuickBooks' own time excluded).

    .venv/bin/python benchmarks/bench_roundtrip.py [--round-trips N] [--engine ENGINE]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from throwaway import database_url, engines

from service.db import Database
from service.migrate import upgrade
from service.simulators.webconnector import SimulatedWebConnector
from tests.conftest import POSTGRES_ADMIN_URL
from tests.support import CompanyFile, add_user, enqueue_company_queries, run_service


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def measure(database_url: str, workdir: Path, round_trips: int) -> list[float]:
    database = Database.from_url(database_url)
    upgrade(database)
    add_user(database, "bench", "pw")
    enqueue_company_queries(database, "bench", round_trips)
    database.dispose()
    env = {"ATQB_BATCH_SIZE": "1"}
    with (
        run_service(database_url, workdir, env) as service,
        SimulatedWebConnector(
            service.qbwc_url,
            CompanyFile(),
            username="bench",
            password="pw",
            noop_wait=0,
            max_round_trips=round_trips + 10,
        ) as connector,
    ):
        report = connector.run_session()
    if report.round_trips != round_trips:
        raise SystemExit(f"expected {round_trips} round trips, got {report.round_trips}")
    sends = [c.elapsed for c in report.calls_to("sendRequestXML")]
    receives = [c.elapsed for c in report.calls_to("receiveResponseXML")]
    return [s + r for s, r in zip(sends, receives, strict=False)]


def report(engine: str, times: list[float]) -> None:
    ms = [t * 1000 for t in times]
    print(
        f"{engine:<10} round trips {len(ms):>5}   median {statistics.median(ms):6.2f} ms   "
        f"p90 {percentile(ms, 0.90):6.2f} ms   p99 {percentile(ms, 0.99):6.2f} ms   "
        f"mean {statistics.fmean(ms):6.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--round-trips", type=int, default=1000)
    parser.add_argument("--engine", choices=("postgres", "sqlite", "both"), default="both")
    args = parser.parse_args()
    print(
        f"atqb round-trip benchmark  {datetime.now(UTC):%Y-%m-%d %H:%M} UTC  "
        f"{platform.machine()} {platform.python_version()}  batch size 1"
    )
    for engine in engines(args.engine):
        with tempfile.TemporaryDirectory() as folder, database_url(engine, Path(folder)) as url:
            report(engine, measure(url, Path(folder), args.round_trips))
    print(f"(PostgreSQL server: {POSTGRES_ADMIN_URL.rsplit('@', 1)[-1]})")


if __name__ == "__main__":
    main()
