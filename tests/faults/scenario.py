"""The fault-injection run: 200 Autotask POs reach QuickBooks while everything around them fails.

A seed decides everything random (the tenant's data, which faults strike and where), so a run can
be repeated exactly: ``ATQB_TEST_FAULT_SEED=N pytest tests/faults``. One run:

* a simulated Autotask tenant (over HTTP) with 180 POs of 6 vendors for 10 customers, 24
  products stocked at two locations, some POs received in part or in full, 3 canceled; Autotask
  answers 429 (with ``Retry-After``) or 500 to a fifth of all requests, all along (the poller's
  client tries each request 3 times, so some cycles fail outright);
* PostgreSQL, a server of the run's own (:class:`~tests.faults.postgres.PrivatePostgres`);
* one ``atqb serve`` process on a fixed port (the ``.qwc``'s address), received mode;
* rounds of one poll cycle (the real :class:`~service.poller.Poller`, in this process) and one
  Web Connector session against the simulated QuickBooks. In the first rounds the Web Connector
  crashes right after QuickBooks processed a message, or loses its connection after the service
  answered a call; in one round the service process is killed with SIGKILL (before or after it
  answered a call) and started again; in another PostgreSQL stops at once (a crash) under the
  service and the poller, and comes back after a poll cycle has failed against it;
* while the faults strike, Autotask changes in waves: 20 new POs in all, and more receipts on
  POs already handed over.

Then clean rounds run until nothing is left to do, and :func:`check` compares QuickBooks with
Autotask: exactly one vendor, customer and item per name, one PO per Autotask PO with the same
lines, one Item Receipt per PO line (received mode), On Hand equal to Autotask's total over the
locations for every product, every QuickBooks PO number written back, every job done, and every
qbXML message valid against Intuit's schema.
"""

from __future__ import annotations

import contextlib
import random
import signal
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import httpx
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from service.autotask.retry import RequestRetry
from service.db import Database
from service.migrate import upgrade
from service.models import jobs
from service.poller.core import Poller
from service.settings import load_settings
from service.simulators.autotask import SimulatedAutotask
from service.simulators.quickbooks import SimulatedQuickBooks
from service.simulators.webconnector import Faults, SessionReport, SimulatedWebConnector
from service.xmlsafe import parse_text
from tests.faults.postgres import PrivatePostgres
from tests.support import ServiceProcess, add_user, free_port, reference_schema, run_service

USER = "office"
PASSWORD = "fault-injection"
FIRST_ORDERS = 180
#: Autotask changes in waves while the faults strike: new POs, more receipts on open ones.
WAVES = 4
ORDERS_PER_WAVE = 5
RECEIPTS_PER_WAVE = 5
#: Jobs per qbXML message: smaller than the default 50 so that sessions make more round trips
#: for the faults to strike between.
BATCH_SIZE = 20
CANCELED_ORDERS = 3
#: Faults planned, one per round in order (some of them "none"); a fault that finds no session
#: long enough waits for the next round, and clean rounds follow until nothing is left to do.
FAULTY_ROUNDS = 10
MAX_ROUNDS = 40
#: Share of Autotask requests answered 429 and 500.
RATE_LIMITED = 0.1
SERVER_ERROR = 0.1


@dataclass(frozen=True)
class RoundFaults:
    """What goes wrong in one round's Web Connector session (at most one of these)."""

    #: The Web Connector dies right after QuickBooks processed message N of the session.
    crash_after_message: int | None = None
    #: The connection is cut after the service answered call N of the session.
    drop_connection_on_call: int | None = None
    #: SIGKILL the service at call N of the session: before it answers (False) or after (True).
    kill_service: tuple[int, bool] | None = None
    #: PostgreSQL crashes (immediate stop) just before call N of the session.
    postgres_outage: int | None = None

    @property
    def kind(self) -> str:
        """Which fault this is: crash, cut, kill, outage or none."""
        if self.crash_after_message:
            return "crash"
        if self.drop_connection_on_call:
            return "cut"
        if self.kill_service:
            return "kill"
        return "outage" if self.postgres_outage else "none"

    def sooner(self) -> RoundFaults:
        """The same fault earlier in the session (it did not strike: the session was shorter)."""

        def half(number: int | None, least: int) -> int | None:
            return None if number is None else max(least, number // 2)

        return RoundFaults(
            crash_after_message=half(self.crash_after_message, 1),
            drop_connection_on_call=half(self.drop_connection_on_call, 3),
            kill_service=(
                None
                if self.kill_service is None
                else (max(3, self.kill_service[0] // 2), self.kill_service[1])
            ),
            postgres_outage=half(self.postgres_outage, 3),
        )

    def describe(self) -> str:
        """For the run's log."""
        if self.crash_after_message:
            return f"Web Connector crashes after QuickBooks message {self.crash_after_message}"
        if self.drop_connection_on_call:
            return f"connection cut after the answer to call {self.drop_connection_on_call}"
        if self.kill_service:
            call, answered = self.kill_service
            return f"atqb serve killed {'after' if answered else 'before'} answering call {call}"
        if self.postgres_outage:
            return f"PostgreSQL crashes before call {self.postgres_outage}"
        return "no fault"


def plan_rounds(rng: random.Random) -> list[RoundFaults]:
    """The faulty rounds: the service kill and the PostgreSQL crash in two of the first four
    (where there is work in flight), Web Connector crashes and cuts at random in the others."""
    kill_round, outage_round = rng.sample(range(4), 2)
    rounds = []
    for number in range(FAULTY_ROUNDS):
        if number == kill_round:
            rounds.append(RoundFaults(kill_service=(rng.randint(4, 14), rng.random() < 0.5)))
        elif number == outage_round:
            rounds.append(RoundFaults(postgres_outage=rng.randint(4, 14)))
        else:
            kind = rng.choice(["crash", "crash", "cut", "none"])
            if kind == "crash":
                rounds.append(RoundFaults(crash_after_message=rng.randint(1, 8)))
            elif kind == "cut":
                rounds.append(RoundFaults(drop_connection_on_call=rng.randint(3, 16)))
            else:
                rounds.append(RoundFaults())
    return rounds


@dataclass
class Shop:
    """The tenant's records the checks need."""

    products: dict[int, str] = field(default_factory=dict)
    orders: list[int] = field(default_factory=list)
    canceled: list[int] = field(default_factory=list)
    vendors: list[int] = field(default_factory=list)
    customers: list[int] = field(default_factory=list)


def populate(tenant: SimulatedAutotask, rng: random.Random) -> Shop:
    """Vendors, customers, products on hand at two locations, and the first POs."""
    shop = Shop()
    shop.vendors = [tenant.add_vendor(f"Vendor {n} & Sons") for n in range(6)]
    shop.customers = [tenant.add_customer(f"Client {n} Ltd") for n in range(10)]
    locations = [
        tenant.add_location("Main Warehouse", is_default=True),
        tenant.add_location("Service Van"),
    ]
    for n in range(24):
        name = f"Part {n:02d} Müller"
        product = tenant.add_product(name, unit_cost=f"{rng.randint(1, 300)}.{rng.randint(0, 99)}")
        shop.products[product] = name
        for location in locations:
            tenant.set_on_hand(product, location, rng.randint(0, 20))
    add_orders(tenant, rng, shop, FIRST_ORDERS)
    for _ in range(CANCELED_ORDERS):
        order = tenant.add_purchase_order(rng.choice(shop.vendors), status="Submitted")
        tenant.add_line(order, rng.choice(list(shop.products)), 1, "1.00")
        tenant.cancel_purchase_order(order)
        shop.canceled.append(order)
    return shop


def add_orders(tenant: SimulatedAutotask, rng: random.Random, shop: Shop, count: int) -> None:
    """``count`` POs of 1-3 lines; about half received in part or in full."""
    for _ in range(count):
        order = tenant.add_purchase_order(
            rng.choice(shop.vendors),
            status=rng.choice(["Submitted", "Submitted", "Submitted", "New"]),
            purchase_for_company_id=rng.choice([None, *shop.customers]),
        )
        for product in rng.sample(list(shop.products), rng.randint(1, 3)):
            tenant.add_line(order, product, rng.randint(1, 10), f"{rng.randint(1, 99)}.50")
        shop.orders.append(order)
        if tenant.get("PurchaseOrders", order)["status"] == tenant.po_status("New"):
            continue
        luck = rng.random()
        if luck < 0.3:
            tenant.receive_all(order)
        elif luck < 0.5:
            receive_some(tenant, rng, order)


def receive_some(tenant: SimulatedAutotask, rng: random.Random, order: int) -> None:
    """Receive part of what is due on one line of a submitted PO."""
    due = [
        (line["id"], line["quantity"] - tenant.received(line["id"]))
        for line in tenant.find("PurchaseOrderItems", orderID=order)
    ]
    due = [(line, units) for line, units in due if units > 0]
    if due:
        line, units = rng.choice(due)
        tenant.receive(line, rng.randint(1, units))


def change_autotask(
    tenant: SimulatedAutotask, rng: random.Random, shop: Shop, new_orders: int = ORDERS_PER_WAVE
) -> None:
    """One wave of changes: more receipts on submitted POs, new POs."""
    receivable = {tenant.po_status(s) for s in ("Submitted", "Received Partial")}
    open_orders = [
        o for o in shop.orders if tenant.get("PurchaseOrders", o)["status"] in receivable
    ]
    for order in rng.sample(open_orders, min(RECEIPTS_PER_WAVE, len(open_orders))):
        receive_some(tenant, rng, order)
    add_orders(tenant, rng, shop, new_orders)


class FaultyTransport(httpx.BaseTransport):
    """The Web Connector's HTTP, with the round's service kill or PostgreSQL crash at call N."""

    def __init__(self, run: FaultRun, faults: RoundFaults) -> None:
        self.run = run
        self.faults = faults
        self.inner = httpx.HTTPTransport()
        self.calls = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        if self.faults.postgres_outage == self.calls:
            self.run.crash_postgres()
        kill = self.faults.kill_service
        if kill is not None and kill[0] == self.calls:
            if not kill[1]:
                self.run.kill_service()
                return self.inner.handle_request(request)  # refused: nobody listens
            response = self.inner.handle_request(request)
            response.read()
            self.run.kill_service()
            raise httpx.RemoteProtocolError("the server died before its answer arrived")
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


@dataclass
class Tally:
    """What actually happened, for the log and for the checks that each fault struck."""

    rounds: int = 0
    #: Faults planned, by kind (crash, cut, kill, outage, none).
    planned: Counter[str] = field(default_factory=Counter)
    sessions: Counter[str] = field(default_factory=Counter)
    web_connector_crashes: int = 0
    connections_cut: int = 0
    service_kills: int = 0
    postgres_crashes: int = 0
    poll_cycles_ok: int = 0
    poll_cycles_failed: int = 0
    autotask_errors: int = 0
    lines: list[str] = field(default_factory=list)

    def struck(self) -> tuple[int, int, int, int]:
        """The counts of faults that struck so far."""
        return (
            self.web_connector_crashes,
            self.connections_cut,
            self.service_kills,
            self.postgres_crashes,
        )

    def say(self, line: str) -> None:
        """Keep a line of the run's log (printed by the test)."""
        self.lines.append(line)


class FaultRun:
    """One seeded run. Use as a context manager; :meth:`run` does the rounds."""

    def __init__(self, seed: int, workdir: Path) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.workdir = workdir
        self.tally = Tally()
        self.qb = SimulatedQuickBooks()
        self._stack = contextlib.ExitStack()
        self.postgres = PrivatePostgres()
        self._stack.callback(self.postgres.remove)
        self.port = free_port()
        self.service: ServiceProcess | None = None
        self._service_stack = contextlib.ExitStack()
        self.postgres_down = False

    def __enter__(self) -> FaultRun:
        try:
            self._set_up()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _set_up(self) -> None:
        self.postgres.start()
        self.database_url = self.postgres.url()
        self.database = Database.from_url(self.database_url)
        self._stack.callback(self.database.dispose)
        upgrade(self.database)
        add_user(self.database, USER, PASSWORD)
        self.tenant = self._stack.enter_context(SimulatedAutotask())
        self.shop = populate(self.tenant, self.rng)
        # The client as `atqb poll` makes it, but with 3 attempts per request instead of 5, so
        # that some cycles fail outright, and without real waiting.
        self.client = self._stack.enter_context(
            self.tenant.client(sleep=lambda _seconds: None, retry=RequestRetry(max_attempts=3))
        )
        self.poller = Poller(
            self.database, load_settings(database_url=self.database_url), self.client
        )
        self._start_service()

    def __exit__(self, *exc: object) -> None:
        self._service_stack.close()
        self._stack.close()

    # -- faults ------------------------------------------------------------------------------

    def _start_service(self) -> None:
        self._service_stack.close()
        self.service = self._service_stack.enter_context(
            run_service(
                self.database_url,
                self.workdir,
                {"ATQB_BATCH_SIZE": str(BATCH_SIZE)},
                port=self.port,
            )
        )

    def kill_service(self) -> None:
        """SIGKILL the service process (no clean-up of any kind), as a crash or OOM kill does."""
        assert self.service is not None
        self.service.process.send_signal(signal.SIGKILL)
        self.service.process.wait()
        self.tally.service_kills += 1

    def crash_postgres(self) -> None:
        """Stop PostgreSQL at once, as a crash does: open transactions are lost."""
        self.postgres.stop("immediate")
        self.postgres_down = True
        self.tally.postgres_crashes += 1

    # -- rounds ------------------------------------------------------------------------------

    def run(self) -> Tally:
        """Rounds until every planned fault has struck and nothing is left to do."""
        due = plan_rounds(self.rng)  # in order; a fault that did not strike waits for the next
        self.tally.planned = Counter(f.kind for f in due)
        waves = set(self.rng.sample(range(1, FAULTY_ROUNDS), WAVES))
        chaos = random.Random(self.rng.random())
        self.tenant.fail_at_random(chaos, rate_limited=RATE_LIMITED, server_error=SERVER_ERROR)
        starved = False  # the last session found no work
        for number in range(MAX_ROUNDS):
            self.tally.rounds = number + 1
            if number in waves:
                change_autotask(self.tenant, self.rng, self.shop)
                self.tally.say(f"round {number + 1}: Autotask changed (new POs, receipts)")
            elif due and starved:  # faults left but no work for them to strike: make some
                change_autotask(self.tenant, self.rng, self.shop, new_orders=0)
                self.tally.say(f"round {number + 1}: Autotask changed (receipts)")
            polled = self._poll()
            faults = due[0] if due else RoundFaults()
            before = self.tally.struck()
            report = self._session(faults)
            starved = report.outcome == "no_work"
            struck = self.tally.struck() != before or faults.kind == "none"
            self.tally.say(
                f"round {number + 1}: poll {polled}; session {report.outcome} "
                f"({report.round_trips} round trips; {faults.describe()}"
                f"{'' if struck else ': did not strike'})"
            )
            if due:
                if struck:
                    due.pop(0)
                else:
                    due[0] = faults.sooner()
            if self.postgres_down:
                self.tally.say(f"round {number + 1}: poll while PostgreSQL is down: "
                               f"{self._poll()}")  # fmt: skip
                self.postgres.start()
                self.postgres_down = False
            if self.service is not None and self.service.process.poll() is not None:
                self._start_service()
                self.tally.say(f"round {number + 1}: atqb serve started again on the same port")
            if not due and polled == "ok, nothing new" and self._idle():
                break
        self.tally.autotask_errors = self.tenant.random_faults_answered
        return self.tally

    def _poll(self) -> str:
        try:
            outcome = self.poller.run_cycle()
        except SQLAlchemyError as exc:  # what `atqb poll` logs and survives (Poller.run)
            self.tally.poll_cycles_failed += 1
            return f"failed on the database ({type(exc).__name__})"
        if not outcome.ok:
            self.tally.poll_cycles_failed += 1
            return f"failed: {outcome.error}"
        self.tally.poll_cycles_ok += 1
        if outcome.jobs_enqueued or outcome.written_back or outcome.problems:
            return (
                f"ok, {outcome.jobs_enqueued} job(s), {len(outcome.written_back)} written back, "
                f"{len(outcome.problems)} problem(s)"
            )
        return "ok, nothing new"

    def _session(self, faults: RoundFaults) -> SessionReport:
        assert self.service is not None
        with SimulatedWebConnector(
            self.service.soap_url,
            self.qb,
            username=USER,
            password=PASSWORD,
            noop_wait=0,
            faults=Faults(
                crash_after_message=faults.crash_after_message,
                drop_connection_on_call=faults.drop_connection_on_call,
            ),
            transport=FaultyTransport(self, faults),
        ) as connector:
            report = connector.run_session()
        self.tally.sessions[report.outcome] += 1
        self.tally.web_connector_crashes += report.crashed
        self.tally.connections_cut += any("connection dropped" in i for i in report.injected)
        return report

    def _idle(self) -> bool:
        with self.database.transaction() as conn:
            left = conn.execute(
                select(func.count()).where(jobs.c.status.in_(("pending", "waiting", "in_flight")))
            ).scalar_one()
        return left == 0

    # -- the verdict ---------------------------------------------------------------------------

    def job_statuses(self) -> dict[str, int]:
        """Jobs by status."""
        with self.database.transaction() as conn:
            rows = conn.execute(select(jobs.c.status, func.count()).group_by(jobs.c.status))
            return {status: count for status, count in rows.all()}


def check(run: FaultRun) -> None:
    """QuickBooks holds exactly what Autotask says, once; every job done; every message valid."""
    tenant, qb, shop = run.tenant, run.qb, run.shop
    trouble = run.job_statuses()
    assert set(trouble) == {"done"}, f"jobs not done: {trouble}"

    orders = [tenant.get("PurchaseOrders", o) for o in shop.orders]
    lines = {o: tenant.find("PurchaseOrderItems", orderID=o) for o in shop.orders}
    used = {line["productID"] for found in lines.values() for line in found}
    vendors = {o["vendorID"] for o in orders}
    customers = {o["purchaseForCompanyID"] for o in orders} - {None}
    counts = qb.counts()
    expected = {
        "Vendor": len(vendors),
        "Customer": len(customers),
        "ItemInventory": len(used),
        "PurchaseOrder": len(orders),
        "ItemReceipt": sum(len(found) for found in lines.values()),
    }
    assert {kind: counts[kind] for kind in expected} == expected

    for order in shop.orders:
        ref = f"AT{order}"
        (po,) = qb.purchase_orders(ref)
        assert [(ln.item.full_name if ln.item else "", ln.quantity) for ln in po.lines] == [
            (shop.products[line["productID"]], Decimal(line["quantity"]))
            for line in sorted(lines[order], key=lambda line: line["id"])
        ], ref
        assert po.is_fully_received, f"{ref} is not received in QuickBooks (received mode)"
        assert tenant.get("PurchaseOrders", order)["externalPONumber"] == ref
    for order in shop.canceled:
        assert qb.purchase_orders(f"AT{order}") == []

    wrong = {
        name: (qb.quantity_on_hand(name), tenant.on_hand(product))
        for product, name in shop.products.items()
        if product in used and qb.quantity_on_hand(name) != tenant.on_hand(product)
    }
    assert not wrong, f"On Hand differs (QuickBooks, Autotask): {wrong}"

    schema = reference_schema()
    for entry in qb.log:
        assert schema.validate(parse_text(entry.request_xml)), schema.error_log


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Name the seed in whatever fails inside, so the run can be repeated."""
    try:
        yield
    except BaseException as exc:
        raise AssertionError(
            f"fault-injection run with seed {seed} failed: {exc!r}\n"
            f"repeat it with: ATQB_TEST_FAULT_SEED={seed} .venv/bin/pytest tests/faults -s"
        ) from exc
