"""Memory of an ``atqb serve`` process: idle, after a session of N jobs, and while it takes in a
10 MB answer of QuickBooks.

    .venv/bin/python benchmarks/bench_memory.py [--jobs 1000] [--engine postgres|sqlite]

Starts a real ``atqb serve`` on a throwaway database and reads the process's resident set
(``VmRSS`` in ``/proc/PID/status``): after start-up; around one authenticate, with the peak
(``VmHWM``, reset through ``/proc/PID/clear_refs`` before it: Argon2id takes 64 MiB for each
password check); after the simulated Web Connector ran a session of ``--jobs`` CompanyQuery
jobs (batch size 50); and around one receiveResponseXML carrying a 10 MB qbXML answer (the
company record and 11,000 inventory parts, ~13.5 MB of SOAP envelope), with its peak. Linux only.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from throwaway import database_url, engines

from service.db import Database
from service.migrate import upgrade
from service.simulators.webconnector import (
    SimulatedWebConnector,
    build_envelope,
    parse_answer,
    request_headers,
)
from tests.hostile.wire import receive_params, send_params
from tests.qbxml.helpers import inventory_answer
from tests.support import CompanyFile, add_user, enqueue_company_queries, run_service


def status_mb(pid: int, field: str) -> float:
    """A ``/proc/PID/status`` figure in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} for process {pid}")


class BigAnswers(CompanyFile):
    """Answers each CompanyQueryRq with the company and 11,000 inventory parts (10 MB)."""

    def process(self, request_xml: str) -> str:
        answer = super().process(request_xml)
        parts = inventory_answer(11_000)
        records = parts[parts.index("<ItemInventoryRet>") : parts.rindex("</ItemInventoryQueryRs>")]
        return answer.replace("</CompanyRet>", "</CompanyRet>" + records, 1)


def session(url: str, company: CompanyFile, jobs: int) -> None:
    with SimulatedWebConnector(
        url, company, username="bench", password="pw", noop_wait=0, max_round_trips=jobs + 10
    ) as connector:
        report = connector.run_session()
    if report.outcome != "done":
        raise SystemExit(f"the session ended {report.outcome}: {report.errors}")


def call(url: str, method: str, params: list[tuple[str, str | int]]) -> object:
    """One SOAP call as the Web Connector makes it; its decoded result."""
    answer = httpx.post(
        url, content=build_envelope(method, params), headers=request_headers(method), timeout=300
    )
    return parse_answer(method, answer.status_code, answer.headers["content-type"], answer.content)


def line(engine: str, what: str, figures: str) -> None:
    print(f"{engine:<10} {what:<36} {figures}")


def measure(database_url: str, workdir: Path, jobs: int, engine: str) -> None:
    database = Database.from_url(database_url)
    upgrade(database)
    add_user(database, "bench", "pw")
    with run_service(database_url, workdir) as service:
        pid = service.process.pid
        line(engine, "idle after start-up", f"RSS {status_mb(pid, 'VmRSS'):6.1f} MB")
        reset_peak(pid)
        before = status_mb(pid, "VmRSS")
        call(service.soap_url, "authenticate", [("strUserName", "bench"), ("strPassword", "pw")])
        line(
            engine,
            "one authenticate (Argon2id)",
            f"RSS {before:6.1f} MB, peak {status_mb(pid, 'VmHWM'):6.1f} MB",
        )
        enqueue_company_queries(database, "bench", jobs)
        session(service.soap_url, CompanyFile(), jobs)
        line(engine, f"after a session of {jobs} jobs", f"RSS {status_mb(pid, 'VmRSS'):6.1f} MB")
        (job_id,) = enqueue_company_queries(database, "bench", 1)
        result = call(
            service.soap_url, "authenticate", [("strUserName", "bench"), ("strPassword", "pw")]
        )
        assert isinstance(result, tuple)
        assert result[0]
        ticket = result[0]
        request = call(service.soap_url, "sendRequestXML", send_params(ticket))
        assert isinstance(request, str)
        assert f'requestID="{job_id}"' in request
        answer = BigAnswers().process(request)
        before = status_mb(pid, "VmRSS")
        reset_peak(pid)
        percent = call(service.soap_url, "receiveResponseXML", receive_params(ticket, answer))
        assert percent == 100, percent
        line(
            engine,
            f"taking in a {len(answer) / 1e6:.1f} MB answer",
            f"RSS {before:6.1f} MB, peak {status_mb(pid, 'VmHWM'):6.1f} MB, "
            f"after {status_mb(pid, 'VmRSS'):6.1f} MB",
        )
    database.dispose()


def reset_peak(pid: int) -> None:
    """Start the process's peak resident set (VmHWM) again from its current size."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--engine", choices=("postgres", "sqlite", "both"), default="both")
    args = parser.parse_args()
    print(
        f"atqb service memory  {datetime.now(UTC):%Y-%m-%d %H:%M} UTC  "
        f"{platform.machine()} Python {platform.python_version()}"
    )
    for engine in engines(args.engine):
        with tempfile.TemporaryDirectory() as folder, database_url(engine, Path(folder)) as url:
            measure(url, Path(folder), args.jobs, engine)


if __name__ == "__main__":
    main()
