"""The pause of a full garbage collection in an ``atqb serve`` process, with and without
``gc.freeze()`` (what :func:`service.server.quiet_garbage_collector` does at start-up).

    .venv/bin/python benchmarks/bench_gc.py

Builds the whole WSGI application as ``atqb serve`` does (spyne's interface, the SQLAlchemy
metadata, the qbXML schema, the admin pages) on a throwaway SQLite file, then times
``gc.collect()`` (a full collection: what CPython runs by itself every so often, inside
whichever call is being served) before and after freezing what start-up made.
"""

from __future__ import annotations

import gc
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from service.settings import load_settings
from service.web import create_app


def pause(rounds: int = 20) -> float:
    """Median milliseconds of a full collection."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        gc.collect()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        app = create_app(load_settings(database_url=f"sqlite:///{Path(folder) / 'gc.db'}"))
        tracked = len(gc.get_objects())
        before = pause()
        gc.freeze()
        after = pause()
        print(f"objects tracked after start-up     {tracked:>9,}")
        print(f"full collection, as started        {before:9.2f} ms")
        print(
            f"full collection after gc.freeze()  {after:9.2f} ms  "
            f"({gc.get_freeze_count():,} frozen)"
        )
        app.db.dispose()


if __name__ == "__main__":
    main()
