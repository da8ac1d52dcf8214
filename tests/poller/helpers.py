"""Helpers of the poller tests: a small simulated tenant and the CLI pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal

import pytest

from service.cli import main
from service.db import Database
from service.exchange import utcnow
from service.jobstore import Job, JobStore
from service.simulators.autotask import SimulatedAutotask
from tests.sync.helpers import Harness, harness


@dataclass
class Shop:
    """Ids of the small tenant's records."""

    acme: int
    contoso: int
    widget: int
    cable: int
    main: int
    po1: int
    po1_widgets: int
    po1_cables: int
    po2: int


def populate(tenant: SimulatedAutotask) -> Shop:
    """Acme sells widgets and cables to us for Contoso: PO 1 submitted and partly received,
    PO 2 still New."""
    acme = tenant.add_vendor("Acme Supply")
    contoso = tenant.add_customer("Contoso Ltd")
    main_location = tenant.add_location("Main Warehouse", is_default=True)
    widget = tenant.add_product("Widget", unit_cost="19.99", unit_price="29.00")
    cable = tenant.add_product("Cable Cat6", unit_cost="3.00", unit_price="6.00")
    tenant.set_on_hand(widget, main_location, 1)
    po1 = tenant.add_purchase_order(acme, status="Submitted", purchase_for_company_id=contoso)
    widgets = tenant.add_line(po1, widget, 4, "19.99")
    cables = tenant.add_line(po1, cable, 3, "3.00")
    tenant.receive(widgets, 2)
    po2 = tenant.add_purchase_order(acme, generalMemo="Spares")
    tenant.add_line(po2, widget, 1, "19.99")
    return Shop(acme, contoso, widget, cable, main_location, po1, widgets, cables, po2)


def point_cli_at(
    monkeypatch: pytest.MonkeyPatch, tenant: SimulatedAutotask, database_url: str, **more: str
) -> None:
    """Environment of an `atqb` run against ``tenant`` (over HTTP, at its local address)."""
    values = {
        "ATQB_DATABASE_URL": database_url,
        "ATQB_AUTOTASK_USERNAME": tenant.username,
        "ATQB_AUTOTASK_SECRET": tenant.secret,
        "ATQB_AUTOTASK_INTEGRATION_CODE": tenant.integration_code,
        "ATQB_AUTOTASK_BASE_URL": tenant.local_base_url,
        **more,
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)


def atqb(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run the CLI in this process: (exit status, stdout, stderr)."""
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def all_jobs(db: Database) -> list[Job]:
    """Every job, oldest first."""
    with db.transaction() as conn:
        return sorted(JobStore(conn, utcnow()).find(), key=lambda j: j.id)


def po_lines(h: Harness, ref: str) -> list[tuple[str, Decimal | None, Decimal]]:
    """(item, quantity, received) of each line of the QuickBooks PO numbered ``ref``."""
    (po,) = h.qb.purchase_orders(ref)
    return [
        (ln.item.full_name if ln.item else "", ln.quantity, ln.received_quantity) for ln in po.lines
    ]


@dataclass
class World:
    """A tenant, a PostgreSQL database and the CLI pointed at both, for one test."""

    tenant: SimulatedAutotask
    database_url: str
    db: Database
    monkeypatch: pytest.MonkeyPatch
    capsys: pytest.CaptureFixture[str]

    def settings(self, **more: str) -> None:
        """Point `atqb` at the tenant and the database, with these settings too."""
        point_cli_at(self.monkeypatch, self.tenant, self.database_url, **more)

    @contextmanager
    def connected(self, mode: str) -> Iterator[Harness]:
        """`atqb` pointed at the tenant in this transfer mode, and the QuickBooks side."""
        self.settings(ATQB_TRANSFER_MODE=mode)
        with harness(self.database_url, self.db, transfer_mode=mode) as h:
            yield h

    def run(self, *argv: str) -> tuple[int, str, str]:
        """Run an `atqb` command: (exit status, stdout, stderr)."""
        return atqb(self.capsys, *argv)

    def atqb(self, *argv: str) -> str:
        """Run an `atqb` command that must succeed; its output."""
        status, out, err = self.run(*argv)
        assert status == 0, (argv, out, err)
        return out

    def poll(self) -> str:
        """One poll cycle (`atqb poll --once`); its output."""
        return self.atqb("poll", "--once")

    def jobs(self) -> list[Job]:
        """Every job, oldest first."""
        return all_jobs(self.db)
