"""``atqb demo``: the whole product on simulated neighbours, with a readable summary.

Runs, in one process and a temporary directory, with nothing configured:

* the real service (:func:`service.web.create_app` under waitress, on a free local port) on a
  fresh SQLite database migrated to the newest schema, with one Web Connector user;
* the real poller (:class:`~service.poller.Poller`) against the simulated Autotask tenant's demo
  dataset (:mod:`service.simulators.autotask.demo`) over HTTP;
* the simulated Web Connector and the simulated QuickBooks company file, which already holds a
  *non-inventory* part named like one Autotask product, so that PO fails as real ones do.

Then Autotask changes (the rest of a partly received PO arrives), and a second round carries it.
"""

from __future__ import annotations

import tempfile
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from service.db import Database
from service.exchange import utcnow
from service.jobstore import Job, JobStore
from service.migrate import upgrade
from service.sessions import Sessions
from service.settings import Settings, load_settings
from service.simulators.autotask import COLLIDING_PRODUCT, DemoTenant, demo_tenant
from service.simulators.quickbooks import SimulatedQuickBooks
from service.simulators.webconnector import SimulatedWebConnector

from .core import CycleOutcome, Poller

USER = "demo"
PASSWORD = "demo-password"  # noqa: S105 - the throwaway demo user's


@contextmanager
def serve_in_thread(settings: Settings, database: Database) -> Iterator[str]:
    """The real WSGI application under waitress on 127.0.0.1 (a free port); yields its URL."""
    from waitress.server import create_server

    from service.web import create_app

    app = create_app(settings, database)
    server: Any = create_server(app, host="127.0.0.1", port=0, threads=2, ident="atqb-demo")
    thread = threading.Thread(target=server.run, daemon=True, name="atqb-demo-server")
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        # Empty waitress' map first: its loop ends by itself, then the sockets are closed.
        channels = list(server._map.values())
        for channel in channels:
            channel.del_channel()
        thread.join(timeout=5)
        for channel in channels:
            if channel.socket is not None:
                channel.socket.close()
        server.task_dispatcher.shutdown()


def run_demo(out: Callable[[str], None] = print) -> int:
    """Run the demo; returns the exit status (0 when it ran as designed)."""
    with tempfile.TemporaryDirectory(prefix="atqb-demo-") as folder:
        return _run(Path(folder), out)


def _run(folder: Path, out: Callable[[str], None]) -> int:
    url = f"sqlite:///{folder / 'demo.db'}"
    out("atqb demo: a complete run against a simulated Autotask, Web Connector and QuickBooks")
    out(f"  database: {url} (temporary)")
    database = Database.from_url(url)
    try:
        upgrade(database)
        with database.transaction() as conn:
            Sessions(conn, utcnow()).add_user(USER, PASSWORD, "")
        qb = SimulatedQuickBooks()
        qb.add_item(COLLIDING_PRODUCT, "NonInventory")
        with demo_tenant() as tenant:
            settings = load_settings(
                database_url=url,
                qbwc_user=USER,
                autotask_username=tenant.username,
                autotask_secret=tenant.secret,
                autotask_integration_code=tenant.integration_code,
                autotask_base_url=tenant.base_url,
                transfer_selection="all",
                write_back_po_number=True,
            )
            out(
                f"  Autotask: simulated tenant with {len(tenant.records('PurchaseOrders'))} "
                "purchase orders, "
                f"{len(tenant.records('Products'))} products, "
                f"{len(tenant.records('InventoryLocations'))} locations"
            )
            out(
                f"  QuickBooks: simulated company file; it already has a non-inventory part "
                f"named {COLLIDING_PRODUCT!r}"
            )
            with serve_in_thread(settings, database) as base, tenant.client() as client:
                poller = Poller(database, settings, client, qbwc_user=USER)
                out("")
                out("1. Poll Autotask, then let the Web Connector run:")
                _round(poller, tenant, qb, base, out)
                out("")
                out("2. In Autotask a quantity changes and a new PO is submitted; poll again:")
                _change(tenant)
                _round(poller, tenant, qb, base, out)
                out("")
                _summary(database, tenant, qb, out)
    finally:
        database.dispose()
    return 0


def _round(
    poller: Poller,
    tenant: DemoTenant,
    qb: SimulatedQuickBooks,
    base: str,
    out: Callable[[str], None],
) -> None:
    first = poller.run_cycle()
    out(f"   {_short(first)}")
    with SimulatedWebConnector(
        base + "/qbwc", qb, username=USER, password=PASSWORD, noop_wait=0
    ) as connector:
        reports = connector.run_until_idle(max_sessions=10)
    trips = sum(r.round_trips for r in reports)
    out(f"   Web Connector: {len(reports)} session(s), {trips} round trip(s) with QuickBooks")
    second = poller.run_cycle()  # writes the QuickBooks PO numbers back
    out(f"   {_short(second)}")


def _short(outcome: CycleOutcome) -> str:
    return outcome.line().split("; ", 1)[1] if outcome.ok else outcome.line()


def _change(tenant: DemoTenant) -> None:
    order = tenant.orders.submitted_with_ticket_line
    line = min(tenant.find("PurchaseOrderItems", orderID=order), key=lambda r: r["id"])
    tenant.change("PurchaseOrderItems", line["id"], quantity=line["quantity"] + 2)
    vendor = tenant.find_id("Companies", companyName="TD SYNNEX")
    product = tenant.find_id("Products", name="APC Back-UPS Pro 1500VA")
    new = tenant.add_purchase_order(vendor, status="Submitted", generalMemo="Spare UPS")
    tenant.add_line(new, product, 3, "219.00")


def _summary(
    database: Database, tenant: DemoTenant, qb: SimulatedQuickBooks, out: Callable[[str], None]
) -> None:
    with database.transaction() as conn:
        jobs = JobStore(conn, utcnow()).find()
    out("Summary")
    done = [j for j in jobs if j.status == "done"]
    how: Counter[str] = Counter()
    for job in done:
        verb = str((job.result or {}).get("how") or "done")
        label = {
            "account_check": "account checks",
            "vendor": "vendors",
            "customer": "customers",
            "item": "inventory parts",
            "purchase_order": "purchase orders",
            "purchase_order_update": "purchase order updates",
            "item_receipt": "item receipts",
            "item_receipt_correction": "receipt corrections",
            "inventory_adjustment": "inventory adjustments",
        }.get(job.kind, job.kind)
        kind = "matched" if verb.startswith("matched") or verb.startswith("found") else "created"
        if job.kind in ("purchase_order_update", "item_receipt_correction", "inventory_adjustment"):
            kind = "applied"
        if job.kind == "account_check":
            kind = "passed"
        how[f"{label} {kind}"] += 1
    for what, number in sorted(how.items()):
        out(f"  {number:3d}  {what}")
    counts = qb.counts()
    shown = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()) if v)
    out(f"  QuickBooks now holds: {shown}")
    written = [
        f"{po['id']} -> {po['externalPONumber']}"
        for po in tenant.records("PurchaseOrders")
        if po.get("externalPONumber")
    ]
    out(f"  Autotask External P.O. # written back: {', '.join(written) or 'none'}")
    failed = [j for j in jobs if j.status == "failed"]
    causes = [j for j in failed if not (j.error or "").startswith("prerequisite job")]
    out(f"  Failed: {len(causes)} job(s) QuickBooks refused; unrelated work went on")
    for job in sorted(causes, key=lambda j: j.id):
        out(f"    #{job.id} {job.subject}")
        out(f"        {_first_line(job)}")
    if len(failed) > len(causes):
        out(f"    and {len(failed) - len(causes)} job(s) waiting on them (same reason)")
    out("")
    out("What to do next")
    out("  * Look at a failed job and the QuickBooks messages: atqb jobs show ID")
    out("    (here: convert or rename the QuickBooks part, then: atqb jobs retry ID)")
    out("  * Use it for real: set ATQB_AUTOTASK_USERNAME, ATQB_AUTOTASK_SECRET and")
    out("    ATQB_AUTOTASK_INTEGRATION_CODE in .env, then: atqb db upgrade;")
    out("    atqb users add office --company-file 'C:\\Books\\Company.QBW';")
    out("    atqb qwc office --url https://YOUR-HOST/qbwc > atqb.qwc; atqb serve; atqb poll")


def _first_line(job: Job) -> str:
    return (job.error or "").splitlines()[0] if job.error else "(no reason recorded)"
