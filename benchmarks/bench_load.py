"""Load: 50 Web Connector sessions for 50 company files at once, 200 jobs each, against 2
``atqb serve`` processes on one PostgreSQL database.

    .venv/bin/python benchmarks/bench_load.py [--sessions 50] [--jobs 200] [--processes 2]
                                              [--batch-size 50]

The full size of the CI load test (tests/load/test_load.py runs 50 sessions of 20 jobs): the
same harness (tests/load/harness.py) and the same checks (every job sent once, to its own
company file, answered and done), on a throwaway database. Prints the wall time, jobs per
second, and per method the p50, p99 and maximum time per call, as the Web Connectors saw it and
inside the service (the ``ms=`` of each call's log line).
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from throwaway import database_url

from service.db import Database
from service.migrate import upgrade
from tests.load.harness import check_every_job_once, run_load


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--jobs", type=int, default=200, help="jobs per session")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=50)
    args = parser.parse_args()
    print(
        f"atqb load  {datetime.now(UTC):%Y-%m-%d %H:%M} UTC  "
        f"{platform.machine()} Python {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory() as folder, database_url("postgres", Path(folder)) as url:
        database = Database.from_url(url)
        try:
            upgrade(database)
            report, connectors = run_load(
                url,
                Path(folder),
                sessions=args.sessions,
                jobs_per_session=args.jobs,
                processes=args.processes,
                batch_size=args.batch_size,
            )
            check_every_job_once(database, connectors)
        finally:
            database.dispose()
    print("\n".join(report.lines()))
    print("every job sent once, to its own company file, answered and done")


if __name__ == "__main__":
    main()
