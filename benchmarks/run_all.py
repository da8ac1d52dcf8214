"""Run every benchmark, one after the other, with a header that says what machine ran them.

    .venv/bin/python benchmarks/run_all.py [--quick] [--only NAME ...] [--output FILE]

Needs the PostgreSQL server the tests use (``scripts/test`` starts it; ``ATQB_TEST_POSTGRES_URL``
points elsewhere). Each benchmark runs in its own process and prints its own figures; this
script adds the machine (CPU, cores, memory, load average at the start, Python, PostgreSQL) and
the time each one took. ``--quick`` runs smaller sizes (a smoke test of the scripts, not figures
to publish). ``--output`` also writes everything to a file. Benchmarks of other parts
(``bench_sync.py``, ``bench_poll.py``) run when they are present.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

#: name: (arguments for the published figures, arguments for --quick)
BENCHMARKS: dict[str, tuple[list[str], list[str]]] = {
    "bench_roundtrip.py": (
        ["--round-trips", "1000", "--history", "1000000"],
        ["--round-trips", "50", "--history", "20000"],
    ),
    "bench_enqueue.py": (["--pos", "1000"], ["--pos", "20"]),
    "bench_gc.py": ([], []),
    "bench_memory.py": (["--jobs", "1000"], ["--jobs", "50"]),
    "bench_qbxml.py": ([], []),
    "bench_claims.py": (["--jobs", "2000"], ["--jobs", "100"]),
    "bench_load.py": (["--sessions", "50", "--jobs", "200"], ["--sessions", "10", "--jobs", "10"]),
    "bench_sync.py": ([], ["--pos", "10"]),
    "bench_poll.py": ([], ["--sizes", "10"]),
}


def machine() -> list[str]:
    """What ran the benchmarks."""
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in _read("/proc/cpuinfo").splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown CPU",
    )
    memory = next(
        (
            f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
            for line in _read("/proc/meminfo").splitlines()
            if line.startswith("MemTotal:")
        ),
        "unknown",
    )
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return [
        f"date         {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"machine      {cpu}, {os.cpu_count()} cores, {memory} memory, load average {load}",
        f"system       {platform.platform()}",
        f"Python       {platform.python_version()}",
        f"PostgreSQL   {_postgres_version()}",
    ]


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _postgres_version() -> str:
    try:
        from sqlalchemy import create_engine, text

        from tests.conftest import POSTGRES_ADMIN_URL

        engine = create_engine(POSTGRES_ADMIN_URL)
        try:
            with engine.connect() as connection:
                return str(connection.execute(text("SHOW server_version")).scalar())
        finally:
            engine.dispose()
    except Exception as exc:  # the header says so; the benchmarks that need it will fail
        return f"not reachable ({type(exc).__name__})"


def run(name: str, arguments: list[str], out: list[TextIO]) -> bool:
    """Run one benchmark, copying its output to ``out``; whether it succeeded."""
    command = [sys.executable, str(HERE / name), *arguments]
    _write(out, f"\n== {name} {' '.join(arguments)}\n")
    start = time.perf_counter()
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=HERE.parent
    )
    assert process.stdout is not None
    for line in process.stdout:
        _write(out, line)
    code = process.wait()
    verdict = "ok" if code == 0 else f"FAILED ({code})"
    _write(out, f"-- {name}: {verdict} in {time.perf_counter() - start:.0f} s\n")
    return code == 0


def _write(out: list[TextIO], text: str) -> None:
    for stream in out:
        stream.write(text)
        stream.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: check the scripts run")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="e.g. bench_claims.py")
    parser.add_argument("--output", type=Path, help="also write everything to this file")
    args = parser.parse_args()
    out: list[TextIO] = [sys.stdout]
    if args.output:
        out.append(args.output.open("w"))
    _write(out, "\n".join(machine()) + "\n")
    failed = []
    for name, (full, quick) in BENCHMARKS.items():
        if args.only and name not in args.only:
            continue
        if not (HERE / name).exists():
            _write(out, f"\n== {name}: not in this version\n")
            continue
        if not run(name, quick if args.quick else full, out):
            failed.append(name)
    if failed:
        _write(out, f"\nfailed: {', '.join(failed)}\n")
        sys.exit(1)


if __name__ == "__main__":
    main()
