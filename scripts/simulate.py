"""A first simulated transfer: atqb, the simulated Web Connector and a simulated QuickBooks.

``scripts/simulate`` runs this against the atqb that ``scripts/serve`` is serving, on the same
database (``ATQB_DATABASE_URL`` or ``./atqb.db``) and settings (``.env``):

1. adds a Web Connector user for a new simulated company file (``demo-1``, ``demo-2``… unless
   ``--user``): each run's QuickBooks starts empty, so each gets its own user, as each real
   company file does;
2. hands atqb what a poll cycle reads from Autotask for one purchase order (vendor Acme Supply,
   two products, one line for customer Contoso Ltd, on-hand counts), through the same enqueue
   API the poller uses: atqb makes the jobs and their dependencies;
3. runs Web Connector sessions over HTTP, exactly as the real Web Connector would, with a
   simulated QuickBooks company file answering, until atqb has nothing more to send;
4. prints what happened, what QuickBooks now holds, and where to look: ``/admin``, ``/metrics``,
   ``atqb jobs``.

``--conflict`` puts a non-inventory part named like one of the products in QuickBooks first, to
show what a job that needs an operator looks like (QuickBooks status 3100).
"""

from __future__ import annotations

import argparse
import sys
from decimal import Decimal
from urllib.parse import urlsplit, urlunsplit

import httpx

from service.clock import utcnow
from service.db import Database
from service.jobstore import Job, JobStore
from service.migrate import is_current
from service.settings import Settings, SettingsError, load_settings
from service.simulators.quickbooks import HostInfo, SimulatedQuickBooks
from service.simulators.webconnector import SessionReport, SimulatedWebConnector
from service.sync.enqueue import enqueue_purchase_orders
from service.sync.model import Company, Product, PurchaseOrder, PurchaseOrderLine, StockLevel
from service.webconnector.sessions import Sessions, UserError, verify_password

ACME = Company(29683, "Acme Supply")
CONTOSO = Company(30012, "Contoso Ltd")
CABLE = Product(101, "Cable Cat6 3ft", description="Patch cable, blue", unit_cost=Decimal("3.25"))
SWITCH = Product(102, "Switch 24 port", unit_cost=Decimal("120.00"))
ORDER = PurchaseOrder(
    1001,
    vendor=ACME,
    ship_to=CONTOSO,
    number="1001",
    memo="First transfer",
    lines=(
        PurchaseOrderLine(5001, CABLE, 10, unit_cost=CABLE.unit_cost, customer=CONTOSO),
        PurchaseOrderLine(5002, SWITCH, 2, unit_cost=SWITCH.unit_cost),
    ),
)
#: On-hand in Autotask after the order was received (two locations for the cable).
STOCK = (StockLevel(101, 1, 20), StockLevel(101, 2, 5), StockLevel(102, 1, 2))


class Stop(Exception):
    """Something the person running the script must fix; printed as one line."""


def say(text: str = "") -> None:
    """One line on standard output."""
    sys.stdout.write(text + "\n")


def base_of(url: str) -> str:
    """``http://host:port`` of the SOAP endpoint's URL."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "", "", ""))


def check_service(url: str) -> None:
    """atqb answers at ``url`` and says it is healthy."""
    try:
        health = httpx.get(base_of(url) + "/healthz", timeout=10)
    except httpx.TransportError as exc:
        raise Stop(
            f"nothing answers at {base_of(url)} ({exc.__class__.__name__}): start atqb first "
            "with `scripts/serve` in another terminal, or pass --url"
        ) from None
    if health.status_code != 200:
        raise Stop(f"{base_of(url)}/healthz answers {health.status_code}: {health.text.strip()}")


def choose_user(database: Database, name: str | None, password: str) -> str:
    """The Web Connector user of this run: made when new, its password checked when not."""
    with database.transaction() as conn:
        sessions = Sessions(conn, utcnow())
        taken = {user.name for user in sessions.users()}
        if name is None:
            name = next(f"demo-{n}" for n in range(1, len(taken) + 2) if f"demo-{n}" not in taken)
        user = sessions.find_user(name)
    if user is None:
        try:
            with database.transaction() as conn:
                Sessions(conn, utcnow()).add_user(name, password, company_file="")
        except UserError as exc:
            raise Stop(str(exc)) from None
        say(f"added Web Connector user {name!r} (password {password!r}; any company file)")
    elif not verify_password(user, password):
        raise Stop(f"user {name!r} exists with another password: pass it with --password")
    else:
        say(f"using Web Connector user {name!r}")
    return name


def enqueue(database: Database, settings: Settings, user: str) -> list[int]:
    """What a poll cycle hands over for ORDER; the ids of the jobs made."""
    report = enqueue_purchase_orders(database, settings, user, [ORDER], STOCK)
    jobs = [*report.created, *report.reused]
    say(
        f"Autotask PO {ORDER.number} ({ORDER.vendor.name}, {len(ORDER.lines)} lines) gave "
        f"{len(jobs)} job(s) in {settings.transfer_mode} mode"
    )
    return sorted(job.id for job in jobs)


def describe_sessions(reports: list[SessionReport]) -> None:
    """What the simulated Web Connector saw, as its log would show it."""
    for report in reports:
        trips = f"{report.round_trips} round trip(s)"
        say(f"Web Connector session {report.number}: {report.outcome}, {trips}")
        if report.close_result:
            say(f"  atqb said: {report.close_result}")
        for error in report.errors:
            say(f"  error: {error}")


def outcome(job: Job) -> str:
    """A job's result for people: how it ended, or its error."""
    if job.status == "done" and job.result:
        how = job.result.get("how")
        return str(how) if how else "done"
    return job.error or job.status


def show_jobs(database: Database, ids: list[int]) -> bool:
    """The jobs of this run as they stand now; whether all are done."""
    with database.transaction() as conn:
        jobs = JobStore(conn, utcnow()).get_many(ids)
    say("jobs:")
    for job_id in ids:
        job = jobs[job_id]
        line = f"  #{job.id:<4} {job.status:<9} {job.kind:<21} {job.subject} — {outcome(job)}"
        say(line if len(line) <= 160 else line[:159] + "…")
    return all(job.status == "done" for job in jobs.values())


def main(argv: list[str] | None = None) -> int:
    """Run the simulation; 0 when the sessions ran (jobs that need an operator are shown)."""
    parser = argparse.ArgumentParser(
        prog="scripts/simulate",
        description="Transfer one simulated Autotask purchase order through a running atqb.",
    )
    parser.add_argument(
        "--url", default="http://localhost:8080/qbwc", help="atqb's SOAP endpoint (%(default)s)"
    )
    parser.add_argument("--user", help="Web Connector user (default: a new demo-N)")
    parser.add_argument("--password", default="demo-password", help="its password")
    parser.add_argument(
        "--company", default="Simulated Company, Inc.", help="the simulated company's name"
    )
    parser.add_argument(
        "--conflict",
        action="store_true",
        help="put a non-inventory part named like a product in QuickBooks first (status 3100)",
    )
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        database = Database.from_url(settings.database_url)
        check_service(args.url)
        if not is_current(database):
            raise Stop("the database is not migrated: run `.venv/bin/atqb db upgrade`")
        shown = database.engine.url.render_as_string(hide_password=True)
        say(f"atqb answers at {args.url}; database {shown}")
        user = choose_user(database, args.user, args.password)
        ids = enqueue(database, settings, user)
        quickbooks = SimulatedQuickBooks(host=HostInfo(company_name=args.company))
        if args.conflict:
            quickbooks.add_item(SWITCH.name, "NonInventory")
            say(f"QuickBooks already has a non-inventory part named {SWITCH.name!r}")
        with SimulatedWebConnector(
            args.url, quickbooks, username=user, password=args.password, noop_wait=1
        ) as connector:
            reports = connector.run_until_idle(max_sessions=5)
    except (Stop, SettingsError) as exc:
        say(f"simulate: error: {exc}")
        return 1
    describe_sessions(reports)
    all_done = show_jobs(database, ids)
    held = {kind: n for kind, n in quickbooks.counts().items() if n and kind != "Account"}
    say(f"QuickBooks now holds: {', '.join(f'{n} {kind}' for kind, n in held.items())}")
    base = base_of(args.url)
    say()
    if not all_done:
        say("Some jobs need an operator: their page on /admin shows QuickBooks' message and")
        say("what to do (docs/troubleshooting.md).")
    say(f"See it all on {base}/admin (ATQB_ADMIN_USER / ATQB_ADMIN_PASSWORD), the counters on")
    say(f"{base}/metrics, or with `.venv/bin/atqb jobs list` and `.venv/bin/atqb jobs show ID`.")
    database.dispose()
    return 0 if all(r.outcome in ("done", "no_work") for r in reports) else 1


if __name__ == "__main__":
    sys.exit(main())
