"""A first simulated run: atqb, the simulated Web Connector and the simulated QuickBooks.

``scripts/simulate`` runs this against the atqb that ``scripts/serve`` is serving, on the same
database (``ATQB_DATABASE_URL`` or ``./atqb.db``):

1. adds the Web Connector user (``demo`` unless ``--user``) when it does not exist yet;
2. enqueues ``--jobs`` company checks (CompanyQuery: the smallest request atqb sends, and a
   check that the link works). Until the Autotask poller ships, nothing else puts work in the
   queue;
3. runs one Web Connector session over HTTP, exactly as the real Web Connector would, with a
   simulated QuickBooks company file answering;
4. prints what happened and where to look: ``/admin``, ``/metrics``, ``atqb jobs``.
"""

from __future__ import annotations

import argparse
import sys
from urllib.parse import urlsplit, urlunsplit

import httpx

from service.db import Database
from service.exchange import utcnow
from service.jobstore import JobStore, NewJob
from service.migrate import is_current
from service.sessions import Sessions, UserError, verify_password
from service.settings import SettingsError, load_settings
from service.simulators.quickbooks import HostInfo, SimulatedQuickBooks
from service.simulators.webconnector import SessionReport, SimulatedWebConnector


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
    """atqb answers at ``url`` and its database is current."""
    try:
        health = httpx.get(base_of(url) + "/healthz", timeout=10)
    except httpx.TransportError as exc:
        raise Stop(
            f"nothing answers at {base_of(url)} ({exc.__class__.__name__}): start atqb first "
            "with `scripts/serve` in another terminal, or pass --url"
        ) from None
    if health.status_code != 200:
        raise Stop(f"{base_of(url)}/healthz answers {health.status_code}: {health.text.strip()}")


def ensure_user(database: Database, name: str, password: str) -> None:
    """The Web Connector user exists and ``password`` is its password."""
    with database.transaction() as conn:
        user = Sessions(conn, utcnow()).find_user(name)
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


def enqueue(database: Database, user: str, count: int) -> list[int]:
    """``count`` company checks for ``user``."""
    with database.transaction() as conn:
        store = JobStore(conn, utcnow())
        ids = [
            store.enqueue(
                NewJob(
                    kind="company_query",
                    qbwc_user=user,
                    payload={},
                    subject=f"check the link to QuickBooks ({n} of {count})",
                )
            )[0].id
            for n in range(1, count + 1)
        ]
    say(f"enqueued {count} job(s): {', '.join(f'#{i}' for i in ids)}")
    return ids


def describe_session(report: SessionReport) -> None:
    """What the simulated Web Connector saw, as its log would show it."""
    say(f"Web Connector session: {report.outcome}")
    say(f"  calls:       {' -> '.join(report.methods)}")
    say(f"  round trips: {report.round_trips}; progress {list(report.percents)}")
    if report.close_result:
        say(f"  atqb said:   {report.close_result}")
    for error in report.errors:
        say(f"  error:       {error}")


def show_jobs(database: Database, ids: list[int]) -> None:
    """The jobs this run enqueued, as they stand now."""
    with database.transaction() as conn:
        store = JobStore(conn, utcnow())
        jobs = store.get_many(ids)
    for job_id in ids:
        job = jobs[job_id]
        outcome = job.result if job.result else (job.error or "")
        say(f"  job #{job.id}  {job.kind}  {job.status}  {outcome}")


def main(argv: list[str] | None = None) -> int:
    """Run the simulation; 0 when every job ended done."""
    parser = argparse.ArgumentParser(
        prog="scripts/simulate",
        description="Run one simulated Web Connector session against a running atqb.",
    )
    parser.add_argument(
        "--url", default="http://localhost:8080/qbwc", help="atqb's SOAP endpoint (%(default)s)"
    )
    parser.add_argument("--user", default="demo", help="Web Connector user (%(default)s)")
    parser.add_argument("--password", default="demo-password", help="its password")
    parser.add_argument("--jobs", type=int, default=3, help="company checks to enqueue (3)")
    parser.add_argument(
        "--company", default="Simulated Company, Inc.", help="the simulated company's name"
    )
    args = parser.parse_args(argv)
    if not 0 <= args.jobs <= 500:
        parser.error("--jobs must be between 0 and 500")
    try:
        settings = load_settings()
        database = Database.from_url(settings.database_url)
        check_service(args.url)
        if not is_current(database):
            raise Stop("the database is not migrated: run `.venv/bin/atqb db upgrade`")
        shown = database.engine.url.render_as_string(hide_password=True)
        say(f"atqb answers at {args.url}; database {shown}")
        ensure_user(database, args.user, args.password)
        ids = enqueue(database, args.user, args.jobs)
        quickbooks = SimulatedQuickBooks(host=HostInfo(company_name=args.company))
        with SimulatedWebConnector(
            args.url, quickbooks, username=args.user, password=args.password, noop_wait=1
        ) as connector:
            report = connector.run_session()
    except (Stop, SettingsError) as exc:
        say(f"simulate: error: {exc}")
        return 1
    describe_session(report)
    say("jobs:")
    show_jobs(database, ids)
    base = base_of(args.url)
    say()
    say(f"See it all on {base}/admin (ATQB_ADMIN_USER / ATQB_ADMIN_PASSWORD), the counters on")
    say(f"{base}/metrics, or with `.venv/bin/atqb jobs list` and `.venv/bin/atqb jobs show ID`.")
    with database.transaction() as conn:
        done = all(job.status == "done" for job in JobStore(conn, utcnow()).get_many(ids).values())
    database.dispose()
    return 0 if done else 1


if __name__ == "__main__":
    sys.exit(main())
