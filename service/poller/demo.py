"""``atqb demo``: the whole product on simulated neighbours, with a readable summary.

Runs, in one process and a temporary directory, with nothing configured:

* the real service (:func:`service.web.create_app` under waitress, on a free local port) on a
  fresh SQLite database migrated to the newest schema, with one Web Connector user;
* the real poller (:class:`~service.poller.Poller`) against the simulated Autotask tenant's demo
  dataset (:mod:`service.simulators.autotask.demo`) over HTTP;
* the simulated Web Connector and the simulated QuickBooks company file, which already holds a
  *non-inventory* part named like one Autotask product, so that PO fails as real ones do.

Then Autotask changes (the rest of a partly received PO arrives), and a second round carries it.
The summary names what was done, what QuickBooks refused, and each PO the poller held back and
why. With ``keep``, the database stays in that folder and the summary's commands open it.
"""

from __future__ import annotations

import shlex
import tempfile
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from service.clock import utcnow
from service.db import Database
from service.jobstatus import JobStatus
from service.jobstore import Job, JobStore
from service.migrate import upgrade
from service.settings import Settings, TransferSelection
from service.simulators.autotask import COLLIDING_PRODUCT, DemoTenant, demo_tenant
from service.simulators.quickbooks import SimulatedQuickBooks
from service.simulators.webconnector import SimulatedWebConnector
from service.webconnector.sessions import Sessions

from .core import CycleOutcome, Decision, Poller

USER = "demo"
#: The database's file in the demo's folder.
DATABASE_FILE = "demo.db"
PASSWORD = "demo-password"  # noqa: S105 - the throwaway demo user's


class DemoSettings(Settings):
    """The demo's settings: the defaults and what the demo sets, never the operator's
    environment or ``.env`` (their accounts, cutoff or mode would change the story)."""

    @classmethod
    def settings_customise_sources(
        cls,
        # pydantic-settings passes the sources by name: they keep their names though unused
        _settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,  # noqa: ARG003
        dotenv_settings: PydanticBaseSettingsSource,  # noqa: ARG003
        file_secret_settings: PydanticBaseSettingsSource,  # noqa: ARG003
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Only the values given to the constructor (and the defaults)."""
        return (init_settings,)


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


def run_demo(out: Callable[[str], None] = print, *, keep: Path | None = None) -> int:
    """Run the demo; returns the exit status (0 when it ran as designed). ``keep``: the folder
    (absolute, without a :data:`DATABASE_FILE`) to leave the database in; None: a temporary one,
    removed at the end."""
    if keep is not None:
        return _run(keep, out, kept=True)
    with tempfile.TemporaryDirectory(prefix="atqb-demo-") as folder:
        return _run(Path(folder), out, kept=False)


def _run(folder: Path, out: Callable[[str], None], *, kept: bool) -> int:
    url = f"sqlite:///{folder / DATABASE_FILE}"
    out("atqb demo: a complete run against a simulated Autotask, Web Connector and QuickBooks")
    out(f"  database: {url} ({'kept' if kept else 'temporary'})")
    database = Database.from_url(url)
    try:
        upgrade(database)
        with database.transaction() as conn:
            Sessions(conn, utcnow()).add_user(USER, PASSWORD, "")
        qb = SimulatedQuickBooks()
        qb.add_item(COLLIDING_PRODUCT, "NonInventory")
        with demo_tenant() as tenant:
            settings = DemoSettings(
                database_url=url,
                qbwc_user=USER,
                autotask_username=tenant.username,
                autotask_secret=SecretStr(tenant.secret),
                autotask_integration_code=SecretStr(tenant.integration_code),
                autotask_base_url=tenant.base_url,
                transfer_selection=TransferSelection.ALL,
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
            _last_month(tenant)
            with serve_in_thread(settings, database) as base, tenant.client() as client:
                poller = Poller(database, settings, client, qbwc_user=USER)
                out("")
                out("1. Poll Autotask, then let the Web Connector run:")
                outcomes = _round(poller, qb, base, out)
                out("")
                out("2. In Autotask a quantity changes and a new PO is submitted; poll again:")
                _change(tenant)
                outcomes += _round(poller, qb, base, out)
                out("")
                failed = _summary(database, tenant, qb, outcomes, out)
                _next_steps(url, folder if kept else None, failed, out)
    finally:
        database.dispose()
    return 0


def _round(
    poller: Poller,
    qb: SimulatedQuickBooks,
    base: str,
    out: Callable[[str], None],
) -> list[CycleOutcome]:
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
    return [first, second]


def _short(outcome: CycleOutcome) -> str:
    return outcome.line().split("; ", 1)[1] if outcome.ok else outcome.line()


def _last_month(tenant: DemoTenant) -> None:
    """A PO submitted a month ago: older than the transfer cutoff the first cycle records, so
    the poller leaves it alone (it is in QuickBooks already, or never meant to go there)."""
    vendor = tenant.find_id("Companies", companyName="Ingram Micro")
    product = tenant.find_id("Products", name="Logitech MK270 Wireless Combo")
    month_ago = datetime.now(UTC) - timedelta(days=30)
    order = tenant.add_purchase_order(
        vendor,
        status="Submitted",
        createDateTime=month_ago - timedelta(days=1),
        submitDateTime=month_ago,
        generalMemo="Last month's keyboards, entered in QuickBooks by hand",
    )
    tenant.add_line(order, product, 10, "24.99")


def _change(tenant: DemoTenant) -> None:
    order = tenant.orders.submitted_with_ticket_line
    line = min(tenant.find("PurchaseOrderItems", orderID=order), key=lambda r: r["id"])
    tenant.change("PurchaseOrderItems", line["id"], quantity=line["quantity"] + 2)
    vendor = tenant.find_id("Companies", companyName="TD SYNNEX")
    product = tenant.find_id("Products", name="APC Back-UPS Pro 1500VA")
    new = tenant.add_purchase_order(vendor, status="Submitted", generalMemo="Spare UPS")
    tenant.add_line(new, product, 3, "219.00")


def _summary(
    database: Database,
    tenant: DemoTenant,
    qb: SimulatedQuickBooks,
    outcomes: Sequence[CycleOutcome],
    out: Callable[[str], None],
) -> list[Job]:
    """Print what was done and held back; return the failed jobs QuickBooks' refusals caused."""
    with database.transaction() as conn:
        jobs = JobStore(conn, utcnow()).find()
    out("Summary")
    done = [j for j in jobs if j.status == JobStatus.DONE]
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
    failed = [j for j in jobs if j.status == JobStatus.FAILED]
    causes = [j for j in failed if not (j.error or "").startswith("prerequisite job")]
    out(f"  Failed: {len(causes)} job(s) QuickBooks refused; unrelated work went on")
    for job in sorted(causes, key=lambda j: j.id):
        out(f"    #{job.id} {job.subject}")
        out(f"        {_first_line(job)}")
    if len(failed) > len(causes):
        out(f"    and {len(failed) - len(causes)} job(s) waiting on them (same reason)")
    held = _held_back(outcomes)
    out(f"  Held back by the poller: {len(held)} PO(s), not sent to QuickBooks")
    vendors = {int(c["id"]): str(c["companyName"]) for c in tenant.records("Companies")}
    for decision in held:
        vendor = vendors.get(decision.vendor_id or 0, "no vendor")
        out(f"    PO {decision.number} · {vendor} (Autotask id {decision.po_id}): {decision.why}")
    return sorted(causes, key=lambda j: j.id)


def _held_back(outcomes: Sequence[CycleOutcome]) -> list[Decision]:
    """The POs whose last decision in ``outcomes`` was to leave them out, by id."""
    last: dict[int, Decision] = {}
    for outcome in outcomes:
        for decision in outcome.decisions:
            last[decision.po_id] = decision
    return [d for _, d in sorted(last.items()) if d.verdict == "out"]


def _next_steps(
    url: str, kept: Path | None, failed: Sequence[Job], out: Callable[[str], None]
) -> None:
    """What to do next; with a kept database, commands that open it as they are printed."""
    out("")
    out("What to do next")
    example = str(failed[0].id) if failed else "ID"
    if kept is None:
        out("  * The demo's database was temporary and is gone. To look into it with")
        out("    atqb jobs list / atqb jobs show ID, run: atqb demo --keep DIR")
    else:
        out(f"  * Look into the demo's database, kept in {kept}:")
        out(f"      export ATQB_DATABASE_URL={shlex.quote(url)}")
        out("      atqb jobs list --status failed")
        out(f"      atqb jobs show {example}")
        out("      atqb users list")
        out("    Once the cause is fixed in QuickBooks (here: rename or convert the record there),")
        out(f"      atqb jobs retry {example}")
        out(
            "    queues it again with the jobs that wait for it (the demo's Web Connector is gone)."
        )
    out("  * Use it for real: set ATQB_AUTOTASK_USERNAME, ATQB_AUTOTASK_SECRET and")
    out("    ATQB_AUTOTASK_INTEGRATION_CODE in .env, then: atqb db upgrade;")
    out("    atqb users add office --company-file 'C:\\Books\\Company.QBW';")
    out("    atqb qwc office --url https://YOUR-HOST/qbwc > atqb.qwc; atqb serve; atqb poll")


def _first_line(job: Job) -> str:
    return (job.error or "").splitlines()[0] if job.error else "(no reason recorded)"
