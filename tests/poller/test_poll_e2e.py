"""`atqb poll --once` end to end, on PostgreSQL: the CLI reads the simulated Autotask over HTTP,
the real service hands the jobs to the simulated Web Connector and QuickBooks; then Autotask
changes and the next cycle carries exactly those changes."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from service.clock import utcnow
from service.db import Database
from service.poller.cycles import PollCycles
from service.simulators.autotask import SimulatedAutotask
from tests.poller.helpers import all_jobs, atqb, po_lines, point_cli_at, populate
from tests.sync.helpers import harness

pytestmark = pytest.mark.postgres


def test_poll_once_then_changes_in_autotask_reach_quickbooks_and_nothing_else(
    postgres_database_url: str,
    postgres_db: Database,
    tenant: SimulatedAutotask,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    shop = populate(tenant)
    point_cli_at(monkeypatch, tenant, postgres_database_url, ATQB_TRANSFER_MODE="unreceived")
    with harness(postgres_database_url, postgres_db, transfer_mode="unreceived") as h:
        status, out, err = atqb(capsys, "poll", "--once")
        assert status == 0, err
        assert "2 new" in out
        assert "purchase_order 2" in out
        assert "Autotask request" in out
        h.run()
        h.assert_all_done()
        h.assert_requests_valid()
        po1, po2 = f"AT{shop.po1}", f"AT{shop.po2}"
        assert po_lines(h, po1) == [
            ("Widget", Decimal(4), Decimal(2)),
            ("Cable Cat6", Decimal(3), Decimal(0)),
        ]
        assert po_lines(h, po2) == [("Widget", Decimal(1), Decimal(0))]
        assert h.qb.counts()["Vendor"] == 1
        assert h.qb.counts()["ItemReceipt"] == 1
        # Autotask's on-hand (1 before, 2 received) is QuickBooks' too.
        assert h.qb.quantity_on_hand("Widget") == 3

        # The next cycle writes the PO numbers back and enqueues nothing.
        made = len(all_jobs(postgres_db))
        status, out, _ = atqb(capsys, "poll", "--once")
        assert status == 0
        assert "enqueued nothing new" in out
        assert "wrote 2" in out
        assert len(all_jobs(postgres_db)) == made
        assert tenant.get("PurchaseOrders", shop.po1)["externalPONumber"] == po1
        assert tenant.get("PurchaseOrders", shop.po2)["externalPONumber"] == po2
        status, out, _ = atqb(capsys, "poll", "--once")
        assert "enqueued nothing new" in out
        assert "wrote" not in out
        assert len(all_jobs(postgres_db)) == made

        # Autotask changes: a receipt, a quantity, a new PO.
        receipt = tenant.receive(shop.po1_cables, 1)
        tenant.change("PurchaseOrderItems", shop.po1_widgets, quantity=6)
        po3 = tenant.add_purchase_order(shop.acme, status="Submitted")
        tenant.add_line(po3, shop.cable, 5, "3.00")
        status, out, _ = atqb(capsys, "poll", "--once")
        assert status == 0, out
        fresh = all_jobs(postgres_db)[made:]
        about = sorted((j.kind, j.autotask_id) for j in fresh if j.kind != "inventory_adjustment")
        assert about == sorted(
            [
                ("item_receipt", shop.po1_cables),
                ("purchase_order", po3),
                ("purchase_order_update", shop.po1),
            ]
        )
        assert {j.autotask_id for j in fresh if j.kind == "inventory_adjustment"} <= {
            shop.po1,
            po3,
        }
        h.run()
        h.assert_all_done()
        h.assert_requests_valid()
        assert po_lines(h, po1) == [
            ("Widget", Decimal(6), Decimal(2)),
            ("Cable Cat6", Decimal(3), Decimal(1)),
        ]
        assert po_lines(h, f"AT{po3}") == [("Cable Cat6", Decimal(5), Decimal(0))]
        assert [r.ref_number for r in h.qb.item_receipts()][-1] == f"ATR{receipt}"
        assert h.qb.quantity_on_hand("Cable Cat6") == 1

        # And once more: nothing new, and every cycle is on record for /admin.
        status, out, _ = atqb(capsys, "poll", "--once")
        assert "enqueued nothing new" in out
        with postgres_db.transaction() as conn:
            cycles = PollCycles(conn, utcnow()).recent()
        assert [c.outcome for c in cycles] == ["ok"] * 5
        assert all(c.autotask_requests > 0 for c in cycles)
