"""Helpers of the poller tests: a small simulated tenant and the CLI pointed at it."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from service.cli import main
from service.db import Database
from service.exchange import utcnow
from service.jobstore import Job, JobStore
from service.simulators.autotask import SimulatedAutotask


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
