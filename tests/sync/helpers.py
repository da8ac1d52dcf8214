"""Helpers for the sync's end-to-end tests: Autotask-shaped data, a whole Web Connector run.

``Harness`` runs the real WSGI application (``serve_in_thread``) on a test database, the
simulated Web Connector and the simulated QuickBooks; after every run, each qbXML message
QuickBooks received is validated against the reference XSD (the simulator already validates with
the packaged copy, and refuses what fails it).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from lxml import etree

from service.clock import utcnow
from service.db import Database
from service.jobstore import Job, JobStore
from service.settings import load_settings
from service.simulators.quickbooks import SimulatedQuickBooks
from service.simulators.quickbooks.model import Ref as QbRef
from service.simulators.webconnector import Faults, SessionReport, SimulatedWebConnector
from service.sync.enqueue import EnqueueReport, enqueue_full_inventory_sync, enqueue_purchase_orders
from service.sync.model import (
    Company,
    Product,
    PurchaseOrder,
    PurchaseOrderLine,
    StockLevel,
)
from service.xmlsafe import parse_text
from tests.support import add_user, reference_schema, serve_in_thread

SCHEMA = reference_schema()
ACTIVE = ("pending", "waiting", "in_flight")
USER = "office"
PASSWORD = "pw"

ACME = Company(1, "Acme Supply")
CONTOSO = Company(2, "Contoso Ltd")
CABLE = Product(101, "Cable Cat6", description="Patch cable", unit_cost=Decimal("3.125"))
SWITCH = Product(102, "Switch 24 port", unit_cost=Decimal("120"))
MOUSE = Product(103, "Mouse", unit_cost=Decimal("9.99"))


def line(line_id: int, product: Product, quantity: int, **more: Any) -> PurchaseOrderLine:
    """A PO line at the product's cost."""
    return PurchaseOrderLine(line_id, product, quantity, unit_cost=product.unit_cost, **more)


def order(po_id: int, *lines: PurchaseOrderLine, **more: Any) -> PurchaseOrder:
    """A PO of Acme for Contoso unless said otherwise."""
    more.setdefault("vendor", ACME)
    more.setdefault("ship_to", CONTOSO)
    more.setdefault("number", f"P{po_id}")
    return PurchaseOrder(po_id, lines=tuple(lines), **more)


def stock(**counts: int | tuple[int, ...]) -> list[StockLevel]:
    """``stock(p101=5, p102=(2, 3))``: on-hand per product id, one location or several."""
    rows = []
    for key, value in counts.items():
        product_id = int(key.removeprefix("p"))
        for location, units in enumerate(value if isinstance(value, tuple) else (value,), 1):
            rows.append(StockLevel(product_id, location, units))
    return rows


@dataclass
class Harness:
    """A database with a Web Connector user, a simulated QuickBooks, and settings."""

    database_url: str
    db: Database
    qb: SimulatedQuickBooks = field(default_factory=SimulatedQuickBooks)
    settings: dict[str, object] = field(default_factory=dict)
    reports: list[SessionReport] = field(default_factory=list)
    #: Messages of ``qb.log`` already checked against the reference XSD.
    validated: int = 0

    def enqueue(
        self, orders: Iterable[PurchaseOrder], on_hand: Iterable[StockLevel] = ()
    ) -> EnqueueReport:
        """The enqueue API, as the poller calls it."""
        return enqueue_purchase_orders(
            self.db, load_settings(**self.settings), USER, list(orders), list(on_hand)
        )

    def full_sync(
        self, products: Iterable[Product], on_hand: Iterable[StockLevel]
    ) -> EnqueueReport:
        """A full inventory sync, as `atqb inventory-sync --full` asks for it."""
        return enqueue_full_inventory_sync(
            self.db, load_settings(**self.settings), USER, list(products), list(on_hand)
        )

    def run(self, faults: Faults | None = None, sessions: int = 10) -> list[SessionReport]:
        """Web Connector sessions until no job is left to run (or a fault ends one)."""
        with (
            serve_in_thread(self.database_url, **self.settings) as url,
            SimulatedWebConnector(
                url + "/qbwc",
                self.qb,
                username=USER,
                password=PASSWORD,
                noop_wait=0,
                faults=faults,
            ) as connector,
        ):
            reports = [connector.run_session()]
            crash = faults is not None and faults.crash_after_message is not None
            # Another session only while work is left (each one costs a password check).
            while not crash and self._work_left() and len(reports) < sessions:
                reports.append(connector.run_session())
        self.reports.extend(reports)
        self.assert_requests_valid()
        return reports

    def _work_left(self) -> bool:
        with self.db.transaction() as conn:
            store = JobStore(conn, utcnow())
            return any(store.find(status=status, qbwc_user=USER, limit=1) for status in ACTIVE)

    def jobs(self, kind: str | None = None) -> list[Job]:
        """Jobs, oldest first."""
        with self.db.transaction() as conn:
            return sorted(JobStore(conn, utcnow()).find(kind=kind), key=lambda j: j.id)

    def store_state(self, kind: str, state: object) -> None:
        """Store ``state`` as the step state of the one unfinished job of ``kind`` (any JSON,
        malformed too, as a hand edit or another version might leave it)."""
        (job,) = [j for j in self.jobs(kind) if j.status != "done"]
        with self.db.transaction() as conn:
            JobStore(conn, utcnow()).advance(job.id, state)  # type: ignore[arg-type]

    def assert_failed_on_state(self, kind: str, why: str) -> None:
        """The unfinished job of ``kind`` failed on its malformed state, saying ``why``."""
        (job,) = [j for j in self.jobs(kind) if j.status != "done"]
        assert job.status == "failed"
        assert job.error == (
            f"atqb could not build the request: the {kind} job's state is malformed: {why}"
        )

    def statuses(self) -> dict[str, list[str]]:
        """Job statuses by kind."""
        found: dict[str, list[str]] = {}
        for job in self.jobs():
            found.setdefault(job.kind, []).append(job.status)
        return found

    def assert_all_done(self) -> None:
        """Every job done, with its error if not."""
        trouble = [(j.id, j.kind, j.status, j.error) for j in self.jobs() if j.status != "done"]
        assert not trouble, trouble

    def assert_requests_valid(self) -> None:
        """Every message QuickBooks received passes the reference XSD (checked after each run)."""
        for entry in self.qb.log[self.validated :]:
            document = parse_text(entry.request_xml)
            assert SCHEMA.validate(document), (SCHEMA.error_log, entry.request_xml[:2000])
        self.validated = len(self.qb.log)

    def request_names(self) -> list[str]:
        """The name of every request QuickBooks processed, in order."""
        names = []
        for entry in self.qb.log:
            messages = parse_text(entry.request_xml).find("QBXMLMsgsRq")
            names += [str(rq.tag) for rq in (messages if messages is not None else [])]
        return names


@contextmanager
def harness(database_url: str, db: Database, **settings: object) -> Iterator[Harness]:
    """A :class:`Harness` with the Web Connector user added."""
    add_user(db, USER, PASSWORD)
    yield Harness(database_url, db, settings=settings)


def assert_same_json(written: dict[str, Any], stored: dict[str, Any]) -> None:
    """``written`` is ``stored``, key for key and in the same order: the same stored JSON."""
    assert written == stored
    assert list(written) == list(stored)
    assert json.dumps(written) == json.dumps(stored)


def element_texts(xml: str, path: str) -> list[str]:
    """Texts of the elements at ``path`` (XPath) in a qbXML document."""
    return [str(e.text) for e in parse_text(xml).iterfind(path) if isinstance(e, etree._Element)]


def name_of(ref: QbRef | None) -> str | None:
    """The FullName a simulated QuickBooks reference names (None when there is no reference)."""
    return ref.full_name if ref is not None else None
