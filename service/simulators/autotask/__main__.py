"""``python -m service.simulators.autotask``: serve a simulated Autotask tenant until Ctrl-C.

Prints the address and the ``ATQB_AUTOTASK_*`` settings that point ``atqb`` at it. The server
is plain HTTP on 127.0.0.1: the client accepts that as a configured base URL, which is enough
for the demo's data (one page per query; see :mod:`.server` for what needs the routing
transport instead).
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from collections.abc import Sequence

from .demo import demo_tenant
from .server import SimulatedAutotask


def main(argv: Sequence[str] | None = None) -> int:
    """Run the server; returns the exit status (0 after Ctrl-C or SIGTERM)."""
    parser = argparse.ArgumentParser(
        prog="python -m service.simulators.autotask",
        description="Serve a simulated Autotask PSA tenant on 127.0.0.1 until Ctrl-C.",
    )
    parser.add_argument("--port", type=int, default=0, help="TCP port (default: a free one)")
    parser.add_argument(
        "--empty", action="store_true", help="no demo data: only the tenant's own company"
    )
    args = parser.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    tenant = SimulatedAutotask(port=args.port) if args.empty else demo_tenant(port=args.port)
    with tenant:
        sys.stdout.write(
            f"Simulated Autotask tenant at {tenant.local_base_url}\n"
            f"ATQB_AUTOTASK_BASE_URL={tenant.local_base_url}\n"
            f"ATQB_AUTOTASK_ZONE_URL={tenant.local_zone_lookup_url}\n"
            f"ATQB_AUTOTASK_USERNAME={tenant.username}\n"
            f"ATQB_AUTOTASK_SECRET={tenant.secret}\n"
            f"ATQB_AUTOTASK_INTEGRATION_CODE={tenant.integration_code}\n"
            "Press Ctrl-C to stop.\n"
        )
        sys.stdout.flush()
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
        sys.stdout.write(f"Stopped after {tenant.request_count} requests.\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
