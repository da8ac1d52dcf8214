"""The ``atqb`` command line (CONTRACT.md). Exit codes: 0 success, 1 failure, 2 usage error."""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import shlex
import sys
import uuid
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TextIO, TypeVar

from sqlalchemy.exc import OperationalError, SQLAlchemyError

from service import __version__, logsafe
from service.clock import utcnow
from service.db import Database
from service.jobstatus import JobStatus
from service.jobstore import Job, JobStore, JobStoreError
from service.migrate import is_current, upgrade
from service.retention import prune
from service.settings import Settings, SettingsError, load_settings
from service.sync.explain import job_story
from service.webconnector.qwc_file import QwcError, render_qwc
from service.webconnector.sessions import Sessions, User, UserError

if TYPE_CHECKING:
    from service.autotask import AutotaskClient
    from service.poller.core import Poller


class CommandError(Exception):
    """A failure the user can act on; printed as one line, exit status 1."""


Handler = Callable[[argparse.Namespace, Settings], int]
_Done = TypeVar("_Done")


#: Databases the running command opened; :func:`main` closes their connections at the end.
_opened: list[Database] = []


def _database(settings: Settings, *, must_be_current: bool = True) -> Database:
    database = Database.from_url(settings.database_url)
    _opened.append(database)
    if must_be_current:
        try:
            current = is_current(database)
        except OperationalError as exc:
            raise CommandError(f"cannot open the database: {exc.orig}") from None
        if not current:
            raise CommandError("the database schema is not current: run `atqb db upgrade` first")
    return database


# -- db, users, qwc, serve -------------------------------------------------------------------


def cmd_db_upgrade(_args: argparse.Namespace, settings: Settings) -> int:
    """Migrate the database to the newest schema."""
    database = _database(settings, must_be_current=False)
    upgrade(database)
    url = database.engine.url.render_as_string(hide_password=True)
    print(f"database is at the newest schema: {url}")
    return 0


def cmd_db_prune(args: argparse.Namespace, settings: Settings) -> int:
    """Remove finished jobs' transmissions and ended sessions older than --older-than days."""
    database = _database(settings)
    pruned = prune(database, timedelta(days=args.older_than), utcnow())
    print(
        f"removed {pruned.transmissions} transmission(s) of done or cancelled jobs and "
        f"{pruned.sessions} ended session(s) older than {args.older_than} day(s)"
    )
    return 0


def _whole_number(minimum: int, unit: str = "") -> Callable[[str], int]:
    """An argument type: a whole number of at least ``minimum``; ``unit`` (e.g. "days") names
    what it counts in the error an operator reads."""
    of_unit, in_unit = (f" of {unit}", f" {unit}") if unit else ("", "")

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number{of_unit}: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be {minimum} or more{in_unit}, got {value}")
        return value

    return parse


_days = _whole_number(0, "days")
_positive_int = _whole_number(1)


def _read_password(args: argparse.Namespace, stdin: TextIO) -> str:
    """The password of ``users add`` and ``users passwd``: the first line of standard input
    with --password-stdin, else asked twice on the terminal (refused when there is none)."""
    if args.password_stdin:
        password = stdin.readline().rstrip("\r\n")
    else:
        if not stdin.isatty():
            words = ["atqb", "users", args.users_command, args.name]
            if args.users_command == "add":
                words += ["--company-file", args.company_file]
            command = shlex.join([*words, "--password-stdin"])
            raise CommandError(
                "no terminal to ask for the password on: give it on the first line of standard "
                f"input with --password-stdin (e.g. `printf '%s\\n' \"$PW\" | {command}`)"
            )
        password = getpass.getpass(f"Password for Web Connector user {args.name!r}: ")
        if getpass.getpass("Again: ") != password:
            raise CommandError("the two passwords differ")
    if not password:
        raise CommandError("the password must not be empty")
    return password


def _change_users(settings: Settings, change: Callable[[Sessions], User]) -> User:
    """Run ``change`` on the Web Connector users in one transaction; a :class:`UserError` it
    raises becomes the command's error."""
    try:
        with _database(settings).transaction() as conn:
            return change(Sessions(conn, utcnow()))
    except UserError as exc:
        raise CommandError(str(exc)) from None


def cmd_users_add(args: argparse.Namespace, settings: Settings) -> int:
    """Add a Web Connector user."""
    password = _read_password(args, sys.stdin)
    user = _change_users(settings, lambda s: s.add_user(args.name, password, args.company_file))
    company = user.company_file or "the company file open in QuickBooks"
    print(f"added Web Connector user {user.name!r} for {company}")
    print(f"next: atqb qwc {user.name} --url https://YOUR-HOST/qbwc > atqb.qwc")
    return 0


def cmd_users_passwd(args: argparse.Namespace, settings: Settings) -> int:
    """Change a Web Connector user's password."""
    password = _read_password(args, sys.stdin)
    user = _change_users(settings, lambda s: s.set_password(args.name, password))
    print(f"changed the password of Web Connector user {user.name!r}")
    print("next: type the same password in the Web Connector's Password column")
    return 0


def cmd_users_remove(args: argparse.Namespace, settings: Settings) -> int:
    """Remove a Web Connector user that has no unfinished job."""

    def remove(sessions: Sessions) -> User:
        user = sessions.existing_user(args.name)
        unfinished = JobStore(sessions.conn, sessions.now).unfinished_of(user.name)
        if unfinished:
            raise CommandError(_unfinished_refusal(user.name, unfinished))
        return sessions.remove_user(user.name)

    user = _change_users(settings, remove)
    print(f"removed Web Connector user {user.name!r}; its finished jobs stay in `atqb jobs list`")
    print(
        "next: remove its application from the Web Connector on the QuickBooks machine, and "
        "restart a running `atqb poll`: it makes jobs for the user it started with"
    )
    if settings.qbwc_user == user.name:
        print(f"note: ATQB_QBWC_USER is {user.name!r}: change it before `atqb poll` runs again")
    return 0


def _unfinished_refusal(name: str, unfinished: Sequence[tuple[int, str]]) -> str:
    """Why ``users remove`` refuses: the user's unfinished jobs and what to do with them."""
    by_status: dict[str, int] = {}
    for _, status in unfinished:
        by_status[status] = by_status.get(status, 0) + 1
    counts = ", ".join(f"{number} {status}" for status, number in by_status.items())
    shown = ", ".join(f"#{job_id}" for job_id, _ in unfinished[:10])
    more = f" and {len(unfinished) - 10} more" if len(unfinished) > 10 else ""
    return (
        f"Web Connector user {name!r} still has {len(unfinished)} unfinished job(s) ({counts}: "
        f"{shown}{more}); removing it would strand them: finish them (the Web Connector runs "
        "the pending ones; `atqb jobs retry ID` a failed one) or cancel them (`atqb jobs "
        "cancel ID`), then remove the user"
    )


def cmd_users_list(_args: argparse.Namespace, settings: Settings) -> int:
    """List the Web Connector users and their company files."""
    database = _database(settings)
    with database.transaction() as conn:
        users = Sessions(conn, utcnow()).users()
    if not users:
        print("no Web Connector users: add one with `atqb users add NAME --company-file PATH`")
        return 0
    width = max(len(user.name) for user in users)
    for user in users:
        company = user.company_file or "(the company file open in QuickBooks)"
        print(f"{user.name:<{width}}  {company}")
    return 0


def cmd_qwc(args: argparse.Namespace, settings: Settings) -> int:
    """Print the .qwc file of a user."""
    database = _database(settings)
    with database.transaction() as conn:
        sessions = Sessions(conn, utcnow())
        user = sessions.find_user(args.name)
        if user is None:
            raise CommandError(
                f"no Web Connector user {args.name!r}: add one with "
                f"`atqb users add {args.name} --company-file PATH`"
            )
        owner_id = sessions.owner_id()
    try:
        text = render_qwc(
            user_name=user.name,
            app_url=args.url,
            owner_id=uuid.UUID(owner_id.strip("{}")),
            file_id=uuid.UUID(user.file_id.strip("{}")),
        )
    except QwcError as exc:
        raise CommandError(str(exc)) from None
    sys.stdout.write(text)
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """Serve the Web Connector endpoint."""
    from service.server import NotMigrated, serve

    try:
        serve(settings, args.host, args.port)
    except NotMigrated as exc:
        raise CommandError(str(exc)) from None
    except OSError as exc:
        raise CommandError(f"cannot listen on {args.host}:{args.port}: {exc.strerror}") from None
    return 0


# -- poller ----------------------------------------------------------------------------------


#: Longest wait, in seconds, between two checks of ``atqb poll`` waiting for its configuration.
READY_CHECK_SECONDS = 60


def cmd_poll(args: argparse.Namespace, settings: Settings) -> int:
    """Poll Autotask: one cycle with --once, else every ATQB_POLL_INTERVAL seconds until
    SIGTERM or Ctrl-C. Without Autotask credentials or a Web Connector user, --once and
    --dry-run fail; the loop waits for them, saying what is missing."""
    import signal
    import threading

    database = _database(settings)
    if args.dry_run or args.once:
        client, poller = _ready_poller(database, settings)
        with client:
            if args.dry_run:
                _print_dry_run(poller, settings)
                return 0
            outcome = poller.run_cycle()
            print(outcome.line(), flush=True)
            if not outcome.ok:
                raise CommandError(f"the poll cycle failed: {outcome.error}")
            return 0
    stop = threading.Event()

    def request_stop(_signum: int, _frame: object) -> None:
        if stop.is_set():  # a second Ctrl-C: stop now
            raise KeyboardInterrupt
        print("atqb poll: stopping after this cycle", file=sys.stderr, flush=True)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    every = min(settings.poll_interval, READY_CHECK_SECONDS)
    while True:
        try:
            client, poller = _ready_poller(database, settings)
            break
        except CommandError as exc:
            # Exiting would make a container or service manager restart it in a loop.
            print(f"atqb poll: waiting: {exc}; checking again in {every} s", flush=True)
        if stop.wait(every):
            print("atqb poll: stopped", flush=True)
            return 0
    with client:
        print(
            f"atqb poll: polling Autotask every {settings.poll_interval} s for Web Connector "
            f"user {poller.user!r}; Ctrl-C or SIGTERM stops it",
            flush=True,
        )
        poller.run(stop, out=lambda line: print(line, flush=True))
    print("atqb poll: stopped", flush=True)
    return 0


def _ready_poller(database: Database, settings: Settings) -> tuple[AutotaskClient, Poller]:
    """The Autotask client and the poller; :class:`CommandError` naming everything missing
    (the Autotask credentials, the Web Connector user) and how to set it."""
    from service.autotask import AutotaskClient, AutotaskError
    from service.poller.core import Poller, PollerError, resolve_qbwc_user

    missing = []
    client: AutotaskClient | None = None
    user: str | None = None
    try:
        client = AutotaskClient.from_settings(settings)
    except AutotaskError as exc:
        missing.append(
            f"{exc} (set them in .env or the environment, then start atqb poll again; with "
            "Docker Compose: docker compose up -d)"
        )
    try:
        user = resolve_qbwc_user(database, settings)
    except PollerError as exc:
        missing.append(str(exc))
    if client is None or user is None:
        if client is not None:
            client.close()
        raise CommandError("; and ".join(missing))
    return client, Poller(database, settings, client, qbwc_user=user)


def _print_dry_run(poller: Poller, settings: Settings) -> None:
    """What the next poll cycle would enqueue, PO by PO, and why; nothing is changed."""
    from service.autotask import AutotaskError

    try:
        outcome = poller.dry_run()
        vendors = poller.vendor_names(outcome)
    except AutotaskError as exc:
        raise CommandError(f"the dry run could not read Autotask: {exc}") from None
    print("dry run: nothing is enqueued, recorded or written to Autotask")
    if settings.transfer_since is not None:
        source = "ATQB_TRANSFER_SINCE"
    elif outcome.cutoff_recorded:
        source = "not set: the first real poll cycle records today's date"
    else:
        source = "recorded by the first poll cycle; ATQB_TRANSFER_SINCE overrides it"
    print(f"transfer cutoff: {outcome.cutoff} ({source})")
    for d in outcome.decisions:
        vendor = vendors.get(d.vendor_id, f"vendor {d.vendor_id}") if d.vendor_id else "no vendor"
        print(f"PO {d.number} · {vendor} (id {d.po_id}): {d.verdict}: {d.why}")
    left_out = sum(
        1 for d in outcome.decisions if d.verdict == "out" and d.po_id not in outcome.skipped
    )
    if outcome.checked - left_out:
        print(f"{outcome.checked - left_out} PO(s) read and unchanged since their transfer")
    if outcome.enqueued:
        kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(outcome.enqueued.items()))
        print(f"would enqueue {outcome.jobs_enqueued} job(s): {kinds}")
    else:
        print("would enqueue nothing")
    for problem in outcome.problems:
        print(f"problem: {problem}")
    print(f"{outcome.requests} Autotask request(s)")


def cmd_transfer(args: argparse.Namespace, settings: Settings) -> int:
    """Select POs for transfer (manual selection)."""
    from service.poller.core import select_for_transfer
    from service.settings import TransferSelection

    fresh = set(select_for_transfer(_database(settings), list(args.po_ids)))
    for po_id in args.po_ids:
        state = "selected" if po_id in fresh else "already selected"
        print(f"PO {po_id}: {state}; the next poll cycle reads it")
    if settings.transfer_selection is TransferSelection.ALL:
        print(
            "note: ATQB_TRANSFER_SELECTION is all, so every PO that is not Canceled and not "
            "older than the transfer cutoff is transferred anyway; the selection brings in "
            "older POs, adds a PO whose External P.O. # was set outside atqb when QuickBooks "
            "has no PO with that number and vendor, and keeps every selected one once "
            "ATQB_TRANSFER_SELECTION is manual"
        )
    return 0


def cmd_inventory_sync(_args: argparse.Namespace, settings: Settings) -> int:
    """Ask for a full inventory sync in the next poll cycle."""
    from service.poller.core import request_full_sync

    asked = request_full_sync(_database(settings))
    if asked:
        print("full inventory sync requested: the next poll cycle enqueues it")
    else:
        print("a full inventory sync is already requested for the next poll cycle")
    return 0


def cmd_demo(args: argparse.Namespace, _settings: Settings) -> int:
    """A complete simulated run on a temporary database, or one kept in --keep DIR."""
    from service.poller.demo import DATABASE_FILE, run_demo

    keep: Path | None = None
    if args.keep is not None:
        keep = Path(args.keep).expanduser().resolve()
        if (keep / DATABASE_FILE).exists():
            raise CommandError(
                f"{keep / DATABASE_FILE} exists already (from an earlier demo?): remove it or "
                "give --keep another folder"
            )
        try:
            keep.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CommandError(f"cannot make the folder {keep}: {exc.strerror}") from None
    return run_demo(lambda line: print(line, flush=True), keep=keep)


# -- jobs ------------------------------------------------------------------------------------


def cmd_jobs_list(args: argparse.Namespace, settings: Settings) -> int:
    """The job table."""
    database = _database(settings)
    with database.transaction() as conn:
        jobs = JobStore(conn, utcnow()).find(status=args.status, limit=args.limit)
    if args.json:
        print(json.dumps([job.summary() for job in jobs], indent=2))
        return 0
    if not jobs:
        print("no jobs" + (f" with status {args.status}" if args.status else ""))
        return 0
    rows = [
        (
            str(job.id),
            job.status,
            job.kind,
            _clip(job.qbwc_user, 20),
            str(job.attempts),
            job.updated_at.strftime("%Y-%m-%d %H:%M"),
            _clip(job.subject, 40),
            _clip(job.error or "", 60),
        )
        for job in jobs
    ]
    _print_table(("ID", "STATUS", "KIND", "USER", "TRIES", "UPDATED", "SUBJECT", "ERROR"), rows)
    return 0


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _print_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())


def _job_or_error(store: JobStore, job_id: int) -> Job:
    try:
        return store.get(job_id)
    except JobStoreError as exc:
        raise CommandError(str(exc)) from None


def cmd_jobs_show(args: argparse.Namespace, settings: Settings) -> int:
    """One job with its transmission details."""
    with _database(settings).transaction() as conn:
        store = JobStore(conn, utcnow())
        job = _job_or_error(store, args.id)
        related = store.get_many([*store.prerequisites(job.id), *store.dependents(job.id)])
        prerequisites = [related[i] for i in store.prerequisites(job.id)]
        dependents = [related[i] for i in store.dependents(job.id)]
        transmissions = store.transmissions(job.id)
    if args.json:
        data = job.summary()
        data.update(
            depends_on=[j.id for j in prerequisites],
            dependents=[j.id for j in dependents],
            payload=job.payload,
            result=job.result,
            transmissions=[t.as_json() for t in transmissions],
        )
        print(json.dumps(data, indent=2))
        return 0
    print("\n".join(job_story(job, prerequisites, dependents, transmissions)))
    if job.status == JobStatus.PENDING and job.run_after > utcnow():
        print(f"  next try: {job.run_after:%Y-%m-%d %H:%M:%S} UTC")
    return 0


def _operator_action(
    args: argparse.Namespace, settings: Settings, action: Callable[[JobStore, int], _Done]
) -> _Done:
    try:
        with _database(settings).transaction() as conn:
            return action(JobStore(conn, utcnow()), args.id)
    except JobStoreError as exc:
        raise CommandError(str(exc)) from None


def cmd_jobs_retry(args: argparse.Namespace, settings: Settings) -> int:
    """Operator retry; names the other jobs it made run again."""
    retried = _operator_action(args, settings, JobStore.retry)
    print(f"job #{retried.job.id} is now {retried.job.status}")
    if retried.requeued:
        others = ", ".join(f"#{j.id} {j.kind} ({j.status})" for j in retried.requeued)
        print(f"also re-queued {len(retried.requeued)} other job(s): {others}")
    return 0


def cmd_jobs_cancel(args: argparse.Namespace, settings: Settings) -> int:
    """Operator cancel."""
    job = _operator_action(args, settings, JobStore.cancel)
    print(f"job #{job.id} is now {job.status}")
    return 0


# -- parser ----------------------------------------------------------------------------------


def _password_stdin(parser: argparse.ArgumentParser) -> None:
    """The ``--password-stdin`` option of a command that sets a password."""
    parser.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input instead of prompting "
        "(needed where there is no terminal, e.g. in scripts and `docker compose run -T`)",
    )


def _port(text: str) -> int:
    value = _positive_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"not a TCP port: {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``atqb`` (also used by tests of the deployment files)."""
    parser = argparse.ArgumentParser(
        prog="atqb",
        description=(
            "Carries purchase orders, receipts, vendors, customers, inventory parts and on-hand "
            "counts from Autotask PSA into QuickBooks Desktop through the Web Connector. "
            "Settings come from ATQB_* environment variables and a .env file."
        ),
    )
    parser.add_argument("--version", action="version", version=f"atqb {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    db = commands.add_parser("db", help="database schema")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_commands.add_parser(
        "upgrade", help="migrate the database to the newest schema"
    ).set_defaults(handler=cmd_db_upgrade)
    prune_parser = db_commands.add_parser(
        "prune",
        help="remove old history: finished jobs' transmissions and ended sessions",
        description=(
            "Remove the transmissions (qbXML requests and answers) of jobs that ended done or "
            "cancelled more than DAYS days ago, and Web Connector sessions that ended more than "
            "DAYS days ago. Job rows stay (atqb jobs list keeps its history); nothing of a "
            "pending, waiting, in-flight or failed job is removed. ATQB_PRUNE_AFTER_DAYS makes "
            "atqb serve do this every hour."
        ),
    )
    prune_parser.add_argument(
        "--older-than", type=_days, required=True, metavar="DAYS", help="age in days (0 or more)"
    )
    prune_parser.set_defaults(handler=cmd_db_prune)

    users = commands.add_parser("users", help="Web Connector users")
    user_commands = users.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    add = user_commands.add_parser(
        "add",
        help="add a Web Connector user",
        description="Add the user the Web Connector logs in as (one per company file).",
    )
    add.add_argument("name", help="user name, as it will appear in the .qwc file")
    add.add_argument(
        "--company-file",
        required=True,
        help='full path of the QuickBooks company file (.QBW); "" means whichever file is open',
    )
    _password_stdin(add)
    add.set_defaults(handler=cmd_users_add)
    user_commands.add_parser(
        "list", help="list the Web Connector users and their company files"
    ).set_defaults(handler=cmd_users_list)
    passwd = user_commands.add_parser(
        "passwd",
        help="change a Web Connector user's password",
        description="Change the password the Web Connector logs in with (prompts twice).",
    )
    passwd.add_argument("name", help="the user's name")
    _password_stdin(passwd)
    passwd.set_defaults(handler=cmd_users_passwd)
    remove = user_commands.add_parser(
        "remove",
        help="remove a Web Connector user that has no unfinished job",
        description=(
            "Remove a Web Connector user and its sessions. Refused (exit 1, naming the jobs) "
            "while jobs for its company file are pending, waiting, in flight or failed: let "
            "the Web Connector finish them, or cancel them with `atqb jobs cancel ID`. Its "
            "finished jobs stay in `atqb jobs list`, and what atqb learnt of its company "
            "file's records stays under its name: add a user of the same name again only for "
            "the same company file."
        ),
    )
    remove.add_argument("name", help="the user's name")
    remove.set_defaults(handler=cmd_users_remove)

    serve = commands.add_parser("serve", help="serve the Web Connector SOAP endpoint")
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default %(default)s)"
    )
    serve.add_argument("--port", type=_port, default=8080, help="TCP port (default %(default)s)")
    serve.set_defaults(handler=cmd_serve)

    qwc = commands.add_parser("qwc", help="print the .qwc file for a user")
    qwc.add_argument("name", help="the Web Connector user")
    qwc.add_argument("--url", required=True, help="public URL of /qbwc, e.g. https://host/qbwc")
    qwc.set_defaults(handler=cmd_qwc)

    poll = commands.add_parser(
        "poll",
        help="poll Autotask and enqueue jobs",
        description=(
            "Poll Autotask every ATQB_POLL_INTERVAL seconds until SIGTERM or Ctrl-C, one line "
            "per cycle. Until the Autotask credentials are set and a Web Connector user exists "
            "(the one ATQB_QBWC_USER names, when there are several), it waits, printing what "
            "is missing and how to set it once a minute (or every ATQB_POLL_INTERVAL seconds, "
            "if shorter)."
        ),
    )
    poll.add_argument(
        "--once", action="store_true", help="run one cycle and exit (1 if it failed or cannot run)"
    )
    poll.add_argument(
        "--dry-run",
        action="store_true",
        help="print what one cycle would enqueue (each PO by number and vendor, in or out and "
        "why) and change nothing: no jobs, no poller state, no write-back to Autotask",
    )
    poll.set_defaults(handler=cmd_poll)
    transfer = commands.add_parser("transfer", help="select Autotask POs for transfer")
    transfer.add_argument("po_ids", nargs="+", type=_positive_int, metavar="PO_ID")
    transfer.set_defaults(handler=cmd_transfer)
    sync = commands.add_parser("inventory-sync", help="ask for a full inventory sync")
    sync.add_argument("--full", action="store_true", required=True)
    sync.set_defaults(handler=cmd_inventory_sync)
    demo = commands.add_parser(
        "demo",
        help="a complete simulated run",
        description=(
            "A complete run against a simulated Autotask, Web Connector and QuickBooks on a "
            "fresh SQLite database, with a summary: what was created, matched and adjusted, "
            "what QuickBooks refused, which POs the poller held back and why. Nothing needs to "
            "be configured (.env and ATQB_* variables do not change it), and nothing outside "
            "the database is touched."
        ),
    )
    demo.add_argument(
        "--keep",
        metavar="DIR",
        help="leave the database in DIR/demo.db (DIR is made if missing) and print the "
        "commands that open it; default: a temporary database, removed at the end",
    )
    demo.set_defaults(handler=cmd_demo)

    jobs = commands.add_parser("jobs", help="the job table and operator actions")
    job_commands = jobs.add_subparsers(dest="jobs_command", required=True, metavar="ACTION")
    listing = job_commands.add_parser(
        "list",
        help="list jobs, newest first",
        description=(
            "The job table, newest first: number, status, kind, the Web Connector user (company "
            "file) the job is for, attempts, last change, what it is about, the last error."
        ),
    )
    # The values, not the members: argparse names wrong choices by their repr.
    listing.add_argument(
        "--status", choices=[s.value for s in JobStatus], help="only jobs with this status"
    )
    listing.add_argument("--limit", type=_positive_int, default=None, help="at most this many jobs")
    listing.add_argument(
        "--json",
        action="store_true",
        help="a JSON array, for scripts: the fields of the contract, and qbwc_user and run_after",
    )
    listing.set_defaults(handler=cmd_jobs_list)
    show = job_commands.add_parser("show", help="one job with its transmission details")
    show.add_argument("id", type=_positive_int, help="the job's number (atqb jobs list)")
    show.add_argument("--json", action="store_true", help="a JSON object, for scripts")
    show.set_defaults(handler=cmd_jobs_show)
    for name, handler, text, description in (
        (
            "retry",
            cmd_jobs_retry,
            "make a failed or cancelled job run again",
            "Make a failed or cancelled job run again with fresh attempts. If it failed because "
            "a job it waits for failed, that job is retried and this one waits for it again; "
            "every other job made to run again is named, by number, kind and status.",
        ),
        (
            "cancel",
            cmd_jobs_cancel,
            "cancel a job (jobs waiting on it fail)",
            "Cancel a job that is not done: it will not run, and the jobs waiting for it fail, "
            "naming it.",
        ),
    ):
        action = job_commands.add_parser(name, help=text, description=description)
        action.add_argument("id", type=_positive_int, help="the job's number (atqb jobs list)")
        action.set_defaults(handler=handler)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``atqb``; return the exit status."""
    args = build_parser().parse_args(argv)
    # Commands print what they did; only the long-running ones log their progress.
    logging.basicConfig(
        level=logging.INFO if args.command in ("serve", "poll") else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    logsafe.install()
    try:
        settings = load_settings()
        handler: Handler = args.handler
        return handler(args, settings)
    except (CommandError, SettingsError) as exc:
        print(f"atqb: error: {exc}", file=sys.stderr)
        return 1
    except SQLAlchemyError as exc:
        print(
            f"atqb: error: database: {exc.__class__.__name__}: {exc}".splitlines()[0],
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        while _opened:
            _opened.pop().dispose()


if __name__ == "__main__":
    sys.exit(main())
