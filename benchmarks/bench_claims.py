"""Job-store claims per second on PostgreSQL and SQLite.

    .venv/bin/python benchmarks/bench_claims.py [--jobs 2000] [--engine postgres|sqlite|both]

On a throwaway database of each engine (PostgreSQL: a new database on the test server; SQLite: a
file in a temporary folder, WAL mode as atqb runs it), measured through :class:`JobStore` in
transactions of :class:`Database`, as the exchange does:

* enqueue: one job per transaction;
* claim 1: one job per transaction (the smallest round trip);
* claim 50: 50 jobs per transaction (the default batch size), as jobs per second;
* claim + complete: claim one job and complete it in the next transaction (a round trip's
  two writes, without the SOAP and qbXML work);
* 4 claimers at once: four threads, each with its own session, claiming one job per
  transaction from the same user's queue. PostgreSQL's ``FOR UPDATE SKIP LOCKED`` lets them
  pass each other; SQLite serialises them. The claimed ids are checked to be disjoint.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from throwaway import database_url, engines

from service.clock import utcnow
from service.db import Database
from service.jobstore import JobStore, NewJob
from service.migrate import upgrade
from service.webconnector.sessions import Sessions


def enqueue(database: Database, user: str, count: int) -> float:
    """Enqueue ``count`` jobs for ``user``, one per transaction; return jobs per second."""
    start = time.perf_counter()
    for n in range(count):
        with database.transaction() as conn:
            JobStore(conn, utcnow()).enqueue(
                NewJob(kind="company_query", qbwc_user=user, payload={}, subject=f"bench {n}")
            )
    return count / (time.perf_counter() - start)


def open_session(database: Database, user: str) -> int:
    with database.transaction() as conn:
        sessions = Sessions(conn, utcnow())
        found = sessions.find_user(user) or sessions.add_user(user, "pw", "")
        return sessions.open(found, idle_seconds=3600, work_at_start=0)[1]


def claim_loop(database: Database, user: str, session_id: int, limit: int) -> list[int]:
    """Claim until the user's queue is empty; return the ids claimed, in order."""
    claimed: list[int] = []
    while True:
        with database.transaction() as conn:
            got = JobStore(conn, utcnow()).claim(
                session_id=session_id, qbwc_user=user, limit=limit, lease_seconds=600
            )
        if not got:
            return claimed
        claimed.extend(job.id for job in got)


def claim_and_complete(database: Database, user: str, session_id: int) -> int:
    done = 0
    while True:
        with database.transaction() as conn:
            got = JobStore(conn, utcnow()).claim(
                session_id=session_id, qbwc_user=user, limit=1, lease_seconds=600
            )
        if not got:
            return done
        with database.transaction() as conn:
            JobStore(conn, utcnow()).complete(got[0].id, {"ok": True})
        done += 1


def timed(work: Callable[[], int]) -> tuple[int, float]:
    start = time.perf_counter()
    count = work()
    return count, time.perf_counter() - start


def measure(database: Database, engine: str, jobs: int) -> None:
    upgrade(database)
    rate = enqueue(database, "one", jobs)
    for user in ("fifty", "cycle", "four"):
        enqueue(database, user, jobs if user != "four" else 2 * jobs)
    print(f"{engine:<10} enqueue (1 per transaction)        {rate:>9,.0f} jobs/s")

    session = open_session(database, "one")
    count, seconds = timed(lambda: len(claim_loop(database, "one", session, 1)))
    print(f"{engine:<10} claim 1 per transaction            {count / seconds:>9,.0f} claims/s")

    session = open_session(database, "fifty")
    count, seconds = timed(lambda: len(claim_loop(database, "fifty", session, 50)))
    print(
        f"{engine:<10} claim 50 per transaction           {count / seconds:>9,.0f} jobs/s "
        f"({count / 50 / seconds:,.0f} transactions/s)"
    )

    session = open_session(database, "cycle")
    count, seconds = timed(lambda: claim_and_complete(database, "cycle", session))
    print(f"{engine:<10} claim 1 + complete it             {count / seconds:>9,.0f} jobs/s")

    results: list[list[int]] = [[] for _ in range(4)]
    sessions = [open_session(database, "four") for _ in range(4)]

    def worker(index: int) -> None:
        results[index] = claim_loop(database, "four", sessions[index], 1)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - start
    claimed = [job_id for ids in results for job_id in ids]
    if len(claimed) != len(set(claimed)) or len(claimed) != 2 * jobs:
        raise SystemExit(f"{engine}: {len(claimed)} claims, {len(set(claimed))} distinct jobs")
    shares = "/".join(str(len(ids)) for ids in results)
    print(
        f"{engine:<10} 4 claimers at once, 1 per tx      {len(claimed) / seconds:>9,.0f} claims/s "
        f"(each job once; shares {shares})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=2000, help="jobs per measurement")
    parser.add_argument("--engine", choices=("postgres", "sqlite", "both"), default="both")
    args = parser.parse_args()
    print(
        f"atqb job-store claims  {datetime.now(UTC):%Y-%m-%d %H:%M} UTC  "
        f"{platform.machine()} Python {platform.python_version()}  {args.jobs} jobs each"
    )
    for engine in engines(args.engine):
        with tempfile.TemporaryDirectory() as folder, database_url(engine, Path(folder)) as url:
            database = Database.from_url(url)
            try:
                measure(database, engine, args.jobs)
            finally:
                database.dispose()


if __name__ == "__main__":
    main()
