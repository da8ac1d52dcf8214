"""Day one at a real company, end to end on PostgreSQL: `atqb poll` reads the simulated Autotask
tenant over HTTP, the real service hands the jobs to the simulated Web Connector and QuickBooks.

The tenant has years of history, odd records, an API user with limited rights and a PO whose
write-back Autotask refuses; what is old stays out unless asked for, and one bad record never
holds back the others."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import func, select, update

from service.clock import utcnow
from service.db import Database
from service.models import jobs, poll_cycles, poller_orders, poller_state
from service.poller.state import PollerStore
from service.simulators.autotask import SimulatedAutotask
from tests.poller.helpers import World, all_jobs
from tests.support import serve_in_thread
from tests.sync.helpers import Harness, harness

pytestmark = pytest.mark.postgres

LONG_AGO = datetime(2023, 5, 17, 15, 0, tzinfo=UTC)
ADMIN = ("admin", "admin-password-1")
CHICAGO = ZoneInfo("America/Chicago")


class History:
    """A tenant with three years of purchasing: old POs (submitted, received, never
    submitted, canceled) from Acme."""

    def __init__(self, tenant: SimulatedAutotask) -> None:
        self.tenant = tenant
        self.acme = tenant.add_vendor("Acme Supply")
        tenant.add_location("Main Warehouse", is_default=True)
        self.widget = tenant.add_product("Widget", unit_cost="19.99")
        self.old_submitted = self.old_po("Submitted", 2)
        self.old_received = self.old_po("Submitted", 3)
        (line,) = tenant.find("PurchaseOrderItems", orderID=self.old_received)
        tenant.receive(line["id"], 3, receive_date=LONG_AGO + timedelta(days=3))
        self.old_new = self.old_po("New", 1)
        self.old_canceled = self.old_po("New", 1)
        tenant.cancel_purchase_order(self.old_canceled)
        self.old = [self.old_submitted, self.old_received, self.old_new]

    def old_po(self, status: str, quantity: int) -> int:
        submitted = LONG_AGO if status == "Submitted" else None
        po = self.tenant.add_purchase_order(
            self.acme, status=status, createDateTime=LONG_AGO, submitDateTime=submitted
        )
        self.tenant.add_line(po, self.widget, quantity, "19.99")
        return po

    def fresh_po(self, quantity: int = 1, **fields: Any) -> int:
        po = self.tenant.add_purchase_order(self.acme, status="Submitted", **fields)
        self.tenant.add_line(po, self.widget, quantity, "19.99")
        return po


def _rows(db: Database) -> dict[str, int]:
    with db.transaction() as conn:
        return {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (jobs, poll_cycles, poller_orders, poller_state)
        }


def _po_refs(h: Harness) -> list[str]:
    return sorted(str(po.ref_number) for po in h.qb.purchase_orders())


def _patches(tenant: SimulatedAutotask, po_id: int) -> int:
    return sum(
        1
        for r in tenant.requests
        if r.method == "PATCH" and isinstance(r.body, dict) and r.body.get("id") == po_id
    )


def _admin(base: str, path: str = "/admin") -> str:
    answer = httpx.get(base + path, auth=ADMIN)
    assert answer.status_code == 200
    return answer.text


def _metric(base: str, name: str) -> float:
    for row in httpx.get(base + "/metrics").text.splitlines():
        if row.startswith(name + " "):
            return float(row.split()[1])
    raise AssertionError(f"{name} not in /metrics")


def test_a_fresh_database_leaves_history_alone_and_transfers_what_comes_after(world: World) -> None:
    tenant = world.tenant
    shop = History(tenant)
    world.settings(ATQB_TIMEZONE="UTC")
    today = utcnow().date()
    with harness(world.database_url, world.db) as h:
        # See before you send: every old PO is listed, out, with why; nothing changes.
        before = _rows(world.db)
        status, out, err = world.run("poll", "--dry-run")
        assert status == 0, err
        assert f"transfer cutoff: {today} (not set: the first real poll cycle records" in out
        for po in shop.old:
            verb = "created" if po == shop.old_new else "submitted"
            assert (
                f"PO {po} · Acme Supply (id {po}): out: {verb} 2023-05-17, before the "
                f"transfer cutoff {today}"
            ) in out
        assert f"(id {shop.old_canceled}): out: Canceled and never transferred" in out
        assert "would enqueue nothing" in out
        assert _rows(world.db) == before
        assert not any(r.method == "PATCH" for r in tenant.requests)

        # The first real cycle records its date as the cutoff and says so.
        status, out, err = world.run("poll", "--once")
        assert status == 0, err
        assert "transfer cutoff recorded: POs submitted (created, when never submitted) " in out
        assert f"before {today} are left alone" in out
        assert "ATQB_TRANSFER_SINCE" in out
        assert all_jobs(world.db) == []
        with world.db.transaction() as conn:
            assert PollerStore(conn, utcnow()).mark("transfer_since") == {"date": today.isoformat()}

        # A PO made afterwards goes to QuickBooks; the old ones never do.
        fresh = shop.fresh_po(2)
        status, out, _ = world.run("poll", "--once")
        assert "transfer cutoff recorded" not in out
        assert "purchase_order 1" in out
        h.run()
        h.assert_all_done()
        assert _po_refs(h) == [f"AT{fresh}"]
        # A new receipt on an old PO does not bring it in either.
        (line,) = tenant.find("PurchaseOrderItems", orderID=shop.old_submitted)
        tenant.receive(line["id"], 1, receive_date=LONG_AGO + timedelta(days=30))
        status, out, _ = world.run("poll", "--once")
        assert "enqueued nothing new" in out
        # Asked for by name, an old PO goes, as old as it is.
        status, out, _ = world.run("transfer", str(shop.old_received))
        status, out, _ = world.run("poll", "--once")
        assert "purchase_order 1" in out
        h.run()
        h.assert_all_done()
        assert _po_refs(h) == sorted([f"AT{fresh}", f"AT{shop.old_received}"])
        (old,) = h.qb.purchase_orders(f"AT{shop.old_received}")
        assert old.txn_date == date(2023, 5, 17)

        with serve_in_thread(
            world.database_url, admin_user=ADMIN[0], admin_password=ADMIN[1]
        ) as base:
            page = _admin(base)
            assert f"before <strong>{today}</strong> are not transferred automatically" in page
            assert "the first poll cycle recorded its date" in page


def test_transfer_since_set_earlier_brings_history_in(world: World) -> None:
    tenant = world.tenant
    shop = History(tenant)
    with harness(world.database_url, world.db) as h:
        # A first cycle without it leaves history out; setting it afterwards brings it in.
        world.settings(ATQB_TIMEZONE="UTC")
        status, out, _ = world.run("poll", "--once")
        assert status == 0
        assert "transfer cutoff recorded" in out
        assert "enqueued nothing" in out
        world.settings(ATQB_TRANSFER_SINCE="2023-05-17", ATQB_TIMEZONE="UTC")
        status, out, _ = world.run("poll", "--dry-run")
        assert "transfer cutoff: 2023-05-17 (ATQB_TRANSFER_SINCE)" in out
        for po in shop.old:
            assert f"(id {po}): in: new" in out
        assert "would enqueue" in out
        assert "purchase_order 3" in out
        status, out, _ = world.run("poll", "--once")
        assert status == 0
        assert "purchase_order 3" in out
        assert "cutoff recorded" not in out
        h.run()
        h.assert_all_done()
        assert _po_refs(h) == sorted(f"AT{po}" for po in shop.old)
        # The POs that were left out are transferred once, not again.
        status, out, _ = world.run("poll", "--once")
        assert "enqueued nothing new" in out


def test_an_evening_po_keeps_its_date_in_a_us_time_zone(world: World) -> None:
    tenant = world.tenant
    shop = History(tenant)
    # 21:30 in Chicago on 9 March 2026 (CDT, UTC-5) is 02:30 UTC on the 10th.
    evening = datetime(2026, 3, 10, 2, 30, tzinfo=UTC)
    po = shop.fresh_po(4, createDateTime=evening, submitDateTime=evening)
    (line,) = tenant.find("PurchaseOrderItems", orderID=po)
    tenant.receive(line["id"], 2, receive_date=datetime(2026, 3, 11, 1, 0, tzinfo=UTC))
    chicago = {"ATQB_TIMEZONE": "America/Chicago", "ATQB_TRANSFER_MODE": "unreceived"}

    with harness(world.database_url, world.db, transfer_mode="unreceived") as h:
        # The cutoff is a Chicago date too: on the 10th, this PO of the 9th is out.
        world.settings(ATQB_TRANSFER_SINCE="2026-03-10", **chicago)
        status, out, err = world.run("poll", "--dry-run")
        assert status == 0, err
        assert f"(id {po}): out: submitted 2026-03-09, before the transfer cutoff 2026-03-10" in out

        world.settings(ATQB_TRANSFER_SINCE="2026-03-09", **chicago)
        status, out, _ = world.run("poll", "--once")
        assert status == 0, out
        assert "purchase_order 1" in out, out
        h.run()
        h.assert_all_done()
        (qb_po,) = h.qb.purchase_orders(f"AT{po}")
        assert qb_po.txn_date == date(2026, 3, 9)
        (receipt,) = h.qb.item_receipts()
        assert receipt.txn_date == date(2026, 3, 10)
        # The On Hand adjustment is dated today in Chicago (the run's own date there).
        adjustments = h.qb.inventory_adjustments()
        assert adjustments
        assert {a.txn_date for a in adjustments} == {datetime.now(CHICAGO).date()}


def test_control_characters_are_cleaned_and_the_other_pos_are_unaffected(world: World) -> None:
    tenant = world.tenant
    shop = History(tenant)
    dirty = shop.fresh_po(2)
    clean = shop.fresh_po(1)
    odd = tenant.add_product("Gadget", unit_cost="5.00")
    tenant.add_line(dirty, odd, 1, "5.00")
    tenant.corrupt("PurchaseOrders", dirty, generalMemo="Rack\x00 spares\x1b[0m\u202e")
    (first, _) = tenant.find("PurchaseOrderItems", orderID=dirty)
    tenant.corrupt("PurchaseOrderItems", first["id"], memo="for\x07 the\x00 lab")
    tenant.corrupt("Products", odd, name="Gadget\x00 Pro\u2066")
    world.settings()
    with harness(world.database_url, world.db) as h:
        status, out, err = world.run("poll", "--once")
        assert status == 0, err
        assert "purchase_order 2" in out, out
        h.run()
        h.assert_all_done()
        assert _po_refs(h) == sorted([f"AT{dirty}", f"AT{clean}"])
        (po,) = h.qb.purchase_orders(f"AT{dirty}")
        assert po.memo is not None
        assert "Rack spares[0m" in po.memo
        assert "\x00" not in po.memo
        assert [ln.desc for ln in po.lines if ln.desc and "lab" in ln.desc] == ["for the lab"]
        assert h.qb.item("Gadget Pro") is not None


def test_a_po_that_cannot_be_built_is_skipped_shown_and_tried_again(world: World) -> None:
    tenant = world.tenant
    shop = History(tenant)
    broken, good = shop.fresh_po(2), shop.fresh_po(1)
    (line,) = tenant.find("PurchaseOrderItems", orderID=broken)
    tenant.corrupt("PurchaseOrderItems", line["id"], quantity=None)
    world.settings()
    with (
        harness(world.database_url, world.db) as h,
        serve_in_thread(world.database_url, admin_user=ADMIN[0], admin_password=ADMIN[1]) as base,
    ):
        status, out, _ = world.run("poll", "--once")
        assert status == 0
        assert "purchase_order 1" in out
        assert f"1 PO(s) skipped, tried again next cycle (PO {broken}: " in out
        assert "quantity is null" in out
        assert f'data-skipped="{broken}"' in _admin(base)
        assert "quantity is null" in _admin(base, "/admin/poll")
        assert _metric(base, "atqb_poll_purchase_orders_skipped") == 1
        h.run()
        assert _po_refs(h) == [f"AT{good}"]

        # Read again next cycle, still skipped (since the first time); once repaired, it goes.
        with world.db.transaction() as conn:
            ((_, _, since),) = PollerStore(conn, utcnow()).skipped_orders()
        status, out, _ = world.run("poll", "--once")
        assert f"PO {broken}: " in out
        assert "skipped" in out
        with world.db.transaction() as conn:
            assert PollerStore(conn, utcnow()).skipped_orders()[0][::2] == (broken, since)
        tenant.corrupt("PurchaseOrderItems", line["id"], quantity=2)
        status, out, _ = world.run("poll", "--once")
        assert "purchase_order 1" in out
        assert "skipped" not in out
        h.run()
        h.assert_all_done()
        assert _po_refs(h) == sorted([f"AT{good}", f"AT{broken}"])
        assert _metric(base, "atqb_poll_purchase_orders_skipped") == 0


def test_an_api_user_refused_on_tickets_and_projects_still_gets_its_pos_through(
    world: World,
) -> None:
    tenant = world.tenant
    shop = History(tenant)
    contoso = tenant.add_customer("Contoso Ltd")
    ticket = tenant.add_ticket(contoso, "Rack for Contoso")
    project = tenant.add_project(contoso, "Office move")
    po = shop.fresh_po(1)
    tenant.add_line(po, shop.widget, 2, "19.99", ticket_id=ticket)
    tenant.add_line(po, shop.widget, 3, "19.99", project_id=project)
    tenant.deny_queries("Tickets")
    tenant.deny_queries("Projects")
    world.settings()
    with harness(world.database_url, world.db) as h:
        status, out, err = world.run("poll", "--once")
        assert status == 0, err
        assert "purchase_order 1" in out
        assert "problem(s)" in out
        assert "Tickets" in out
        h.run()
        h.assert_all_done()
        (qb_po,) = h.qb.purchase_orders(f"AT{po}")
        assert len(qb_po.lines) == 3
        assert all(ln.customer is None for ln in qb_po.lines)


def test_a_refused_write_back_holds_back_no_other_po_and_is_tried_once_per_cycle(
    world: World,
) -> None:
    tenant = world.tenant
    shop = History(tenant)
    first, refused, last = shop.fresh_po(1), shop.fresh_po(2), shop.fresh_po(3)
    message = "The field externalPONumber does not accept this value."
    tenant.refuse_update("PurchaseOrders", refused, message)
    world.settings()
    with (
        harness(world.database_url, world.db) as h,
        serve_in_thread(world.database_url, admin_user=ADMIN[0], admin_password=ADMIN[1]) as base,
    ):
        world.run("poll", "--once")
        h.run()
        h.assert_all_done()

        status, out, _ = world.run("poll", "--once")
        assert status == 0, out
        assert "wrote 2 QuickBooks PO number(s)" in out, out
        assert f"PO {refused}: Autotask refused the External P.O. #" in out
        assert message in out
        assert tenant.get("PurchaseOrders", first)["externalPONumber"] == f"AT{first}"
        assert tenant.get("PurchaseOrders", last)["externalPONumber"] == f"AT{last}"
        assert tenant.get("PurchaseOrders", refused)["externalPONumber"] is None
        assert _patches(tenant, refused) == 1
        assert f'data-refused="{refused}"' in _admin(base)
        assert message in _admin(base)
        assert _metric(base, "atqb_poll_write_backs_refused") == 1

        # Backoff: the next cycle does not try again.
        world.run("poll", "--once")
        assert _patches(tenant, refused) == 1
        # Its time come, once per cycle, and the refusals are counted.
        with world.db.transaction() as conn:
            conn.execute(update(poller_orders).values(write_back_after=utcnow()))
        status, out, _ = world.run("poll", "--once")
        assert _patches(tenant, refused) == 2
        assert "refusal 2" in out
        # Autotask accepts it once the cause is gone.
        tenant.clear_faults()
        with world.db.transaction() as conn:
            conn.execute(update(poller_orders).values(write_back_after=utcnow()))
        status, out, _ = world.run("poll", "--once")
        assert "wrote 1 QuickBooks PO number(s)" in out
        assert tenant.get("PurchaseOrders", refused)["externalPONumber"] == f"AT{refused}"
        assert _metric(base, "atqb_poll_write_backs_refused") == 0


def test_a_dry_run_that_cannot_read_autotask_says_so_and_changes_nothing(world: World) -> None:
    tenant = world.tenant
    History(tenant)
    tenant.deny_queries("PurchaseOrders")
    world.settings()
    with harness(world.database_url, world.db):
        before = _rows(world.db)
        status, out, err = world.run("poll", "--dry-run")
        assert status == 1
        assert out == ""
        assert "the dry run could not read Autotask" in err
        assert "PurchaseOrders" in err
        assert _rows(world.db) == before


def test_products_the_api_user_may_not_read_skip_their_pos_with_the_reason(world: World) -> None:
    tenant = world.tenant
    shop = History(tenant)
    po = shop.fresh_po(1)
    tenant.deny_queries("Products")
    world.settings()
    with harness(world.database_url, world.db):
        status, out, _ = world.run("poll", "--once")
        assert status == 0
        assert "enqueued nothing new" in out
        assert f"PO {po}: the product {shop.widget} of line" in out
        with world.db.transaction() as conn:
            ((skipped, why, _),) = PollerStore(conn, utcnow()).skipped_orders()
        assert skipped == po
        assert "adequate permissions" in why
        # Given the right, the next cycle carries it.
        tenant.clear_faults()
        status, out, _ = world.run("poll", "--once")
        assert "purchase_order 1" in out
        assert "skipped" not in out
