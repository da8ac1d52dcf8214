"""Service time per Web Connector round trip (sendRequestXML + receiveResponseXML) over HTTP,
against bare spyne measured in the same run.

Starts a real ``atqb serve`` process on a throwaway PostgreSQL database (and, for comparison,
SQLite), enqueues CompanyQuery jobs, drives it with the simulated Web Connector and prints the
median, p90 and p99 of the time the service took per round trip, measured at the client
(loopback HTTP included, QuickBooks' own time excluded). Scenarios:

* **bare spyne** (``bare_spyne.py``): the same eight methods in spyne under waitress, no
  persistence: the floor atqb's figures are read against (the ratio column);
* **durable floor** (PostgreSQL): bare spyne committing one one-row write per call, durably,
  without an ORM: the least a round trip can cost that keeps the request before it goes and the
  answer before it is acknowledged. What it adds to bare spyne is what durability alone costs on
  this machine, before atqb does any work of its own;
* **1 job** per round trip (batch size 1): every round trip claims, builds, records, parses and
  completes one job;
* **history** (PostgreSQL): the same with ``--history`` answered transmissions and a tenth as
  many pending jobs of 100 other users already in the database (made with generate_series);
* **50 jobs** per round trip (batch size 50): sendRequestXML and receiveResponseXML apart.

    .venv/bin/python benchmarks/bench_roundtrip.py [--round-trips N] [--engine ENGINE]
        [--history TRANSMISSIONS]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from throwaway import database_url, engines

from service.db import Database
from service.migrate import upgrade
from service.simulators.webconnector import SimulatedWebConnector
from tests.conftest import POSTGRES_ADMIN_URL
from tests.support import (
    CompanyFile,
    add_user,
    enqueue_company_queries,
    fill_history,
    free_port,
    run_service,
)

HERE = Path(__file__).resolve().parent
BATCH = 50


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def drive(url: str, jobs: int, batch: int) -> tuple[list[float], list[float]]:
    """One Web Connector session over ``jobs`` jobs: (sendRequestXML, receiveResponseXML) times."""
    round_trips = -(-jobs // batch)
    with SimulatedWebConnector(
        url,
        CompanyFile(),
        username="bench",
        password="pw",
        noop_wait=0,
        max_round_trips=round_trips + 10,
    ) as connector:
        report = connector.run_session()
    if report.round_trips != round_trips:
        raise SystemExit(f"expected {round_trips} round trips, got {report.round_trips}")
    sends = [c.elapsed for c in report.calls_to("sendRequestXML")][:round_trips]
    receives = [c.elapsed for c in report.calls_to("receiveResponseXML")]
    return sends, receives


@contextmanager
def bare_spyne(jobs: int, batch: int, durable: str | None = None) -> Iterator[str]:
    """``bare_spyne.py`` serving ``jobs`` requests (committing to ``durable``, a SQLAlchemy
    PostgreSQL URL, when given); yields its SOAP URL."""
    port = free_port()
    command = [sys.executable, str(HERE / "bare_spyne.py"), "--port", str(port)]
    command += ["--jobs", str(jobs), "--batch", str(batch)]
    if durable is not None:
        command += [
            "--durable",
            make_url(durable).set(drivername="postgresql").render_as_string(False),
        ]
    process = subprocess.Popen(command)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url + "?wsdl", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise SystemExit("bare spyne did not come up") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait()


def atqb(
    url: str, workdir: Path, jobs: int, batch: int, history: int = 0
) -> tuple[list[float], list[float]]:
    database = Database.from_url(url)
    upgrade(database)
    if history:
        started = time.perf_counter()
        fill_history(database, transmissions=history, pending_jobs=history // 10)
        print(
            f"           (filled {history:,} transmissions and {history // 10:,} pending jobs "
            f"of other users in {time.perf_counter() - started:.0f} s)"
        )
    add_user(database, "bench", "pw")
    enqueue_company_queries(database, "bench", jobs)
    database.dispose()
    with run_service(url, workdir, {"ATQB_BATCH_SIZE": str(batch)}) as service:
        return drive(service.soap_url, jobs, batch)


def report(name: str, times: list[float], baseline: float | None = None) -> float:
    ms = [t * 1000 for t in times]
    median = statistics.median(ms)
    ratio = f"   {median / baseline:5.1f}x bare spyne" if baseline else ""
    print(
        f"{name:<36} n {len(ms):>5}   median {median:6.2f} ms   "
        f"p90 {percentile(ms, 0.90):6.2f} ms   p99 {percentile(ms, 0.99):6.2f} ms   "
        f"mean {statistics.fmean(ms):6.2f} ms{ratio}"
    )
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--round-trips", type=int, default=1000)
    parser.add_argument("--engine", choices=("postgres", "sqlite", "both"), default="both")
    parser.add_argument(
        "--history", type=int, default=0, help="answered transmissions already stored (PostgreSQL)"
    )
    args = parser.parse_args()
    n = args.round_trips
    batched = max(BATCH * 5, n // 2 // BATCH * BATCH)
    print(
        f"atqb round-trip benchmark  {datetime.now(UTC):%Y-%m-%d %H:%M} UTC  "
        f"{platform.machine()} {platform.python_version()}  "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    with bare_spyne(n, 1) as url:
        sends, receives = drive(url, n, 1)
    floor = report("bare spyne, 1 job", [s + r for s, r in zip(sends, receives, strict=True)])
    if "postgres" in engines(args.engine):
        with (
            tempfile.TemporaryDirectory() as folder,
            database_url("postgres", Path(folder)) as u,
            bare_spyne(n, 1, durable=u) as url,
        ):
            sends, receives = drive(url, n, 1)
        both = [s + r for s, r in zip(sends, receives, strict=True)]
        durable = report("durable floor (PostgreSQL), 1 job", both, floor)
        print(
            f"{'':<36} durability alone adds {durable - floor:.2f} ms; "
            f"2.5x bare spyne leaves atqb {2.5 * floor - durable:.2f} ms for its own work"
        )
    with bare_spyne(batched, BATCH) as url:
        sends, receives = drive(url, batched, BATCH)
    floor_send = report(f"bare spyne, {BATCH} jobs: sendRequestXML", sends)
    floor_receive = report(f"bare spyne, {BATCH} jobs: receiveResponseXML", receives)
    for engine in engines(args.engine):
        scenarios = [("1 job", 1, 0)]
        if engine == "postgres" and args.history:
            scenarios.append((f"1 job, {args.history:,} transmissions", 1, args.history))
        for name, batch, history in scenarios:
            with tempfile.TemporaryDirectory() as folder, database_url(engine, Path(folder)) as u:
                sends, receives = atqb(u, Path(folder), n, batch, history)
            both = [s + r for s, r in zip(sends, receives, strict=True)]
            report(f"{engine}: {name}", both, floor)
        with tempfile.TemporaryDirectory() as folder, database_url(engine, Path(folder)) as u:
            sends, receives = atqb(u, Path(folder), batched, BATCH)
        report(f"{engine}: {BATCH} jobs: sendRequestXML", sends, floor_send)
        report(f"{engine}: {BATCH} jobs: receiveResponseXML", receives, floor_receive)
    print(f"(PostgreSQL server: {POSTGRES_ADMIN_URL.rsplit('@', 1)[-1]})")


if __name__ == "__main__":
    main()
