"""POs whose External P.O. # someone else set (keyed into QuickBooks by hand, or by Autotask's
own extension), end to end on PostgreSQL: `atqb poll --once` against the simulated Autotask over
HTTP, jobs carried by the simulated Web Connector to the simulated QuickBooks."""

from __future__ import annotations

from decimal import Decimal

import pytest

from service.qbxml import build
from service.qbxml.types import PurchaseOrder, PurchaseOrderLine, Ref
from tests.poller.helpers import World, populate
from tests.sync.helpers import Harness

pytestmark = pytest.mark.postgres


def _key_in_by_hand(h: Harness, vendor: str, ref_number: str, *lines: tuple[str, int]) -> str:
    """A PO a bookkeeper entered in QuickBooks; returns its TxnID."""
    request = build.purchase_order_add(
        "1",
        PurchaseOrder(
            Ref(full_name=vendor),
            tuple(PurchaseOrderLine(Ref(full_name=item), n, Decimal("1.00")) for item, n in lines),
            ref_number=ref_number,
        ),
    )
    h.qb.process(build.message([request]))
    (po,) = [
        p for p in h.qb.purchase_orders(ref_number) if p.vendor and p.vendor.full_name == vendor
    ]
    return po.txn_id


def test_a_foreign_external_po_number_links_to_its_twin_or_waits_for_atqb_transfer(
    world: World,
) -> None:
    tenant = world.tenant
    shop = populate(tenant)
    # Keyed into QuickBooks before atqb came: PO 1 as "1042"; PO 2 claims "Q-77", which
    # QuickBooks does not have. Another vendor's "1042" must not be taken for PO 1.
    tenant.change("PurchaseOrders", shop.po1, externalPONumber="1042")
    tenant.change("PurchaseOrders", shop.po2, externalPONumber="Q-77")
    with world.connected("received") as h:
        h.qb.add_vendor("Acme Supply")
        h.qb.add_vendor("Globex")
        h.qb.add_item("Widget", purchase_cost=Decimal("19.99"))
        h.qb.add_item("Cable Cat6", purchase_cost=3)
        twin = _key_in_by_hand(h, "Acme Supply", "1042", ("Widget", 4), ("Cable Cat6", 3))
        other = _key_in_by_hand(h, "Globex", "1042", ("Widget", 9))

        dry = world.atqb("poll", "--dry-run")
        assert f"(id {shop.po1}): in: new (External P.O. # '1042' set outside atqb: linked" in dry
        assert f"(id {shop.po2}): in: new (External P.O. # 'Q-77' set outside atqb" in dry
        assert "without one, reported and left for `atqb transfer`" in dry
        assert world.jobs() == []

        out = world.poll()
        h.run()
        transfers = {j.autotask_id: j for j in world.jobs() if j.kind == "purchase_order"}
        linked, reported = transfers[shop.po1], transfers[shop.po2]
        assert linked.status == "done", linked.error
        assert linked.result is not None
        assert linked.result["txn_id"] == twin
        assert linked.result["linked"] is True
        assert reported.status == "failed"
        assert reported.error is not None
        assert "'Q-77'" in reported.error
        assert f"atqb transfer {shop.po2}" in reported.error
        # Not added again: QuickBooks holds only the two POs keyed by hand.
        assert sorted(p.txn_id for p in h.qb.purchase_orders()) == sorted([twin, other])
        (po,) = [p for p in h.qb.purchase_orders() if p.txn_id == twin]
        assert [(ln.quantity, ln.received_quantity) for ln in po.lines] == [
            (Decimal(4), Decimal(4)),
            (Decimal(3), Decimal(3)),
        ]  # received mode: received on the twin, linked to its lines
        assert {r.txn_id for r in h.qb.item_receipts(linked_to=twin)} == {
            r.txn_id for r in h.qb.item_receipts()
        }
        assert po.memo == f"Autotask PO {shop.po1}"  # Autotask is the master from now on

        # The numbers atqb did not write stay as they are.
        out = world.poll()
        assert "wrote" not in out
        assert tenant.get("PurchaseOrders", shop.po1)["externalPONumber"] == "1042"
        assert tenant.get("PurchaseOrders", shop.po2)["externalPONumber"] == "Q-77"
        assert "enqueued nothing new" in world.poll()

        # Later updates and receipts go to the twin.
        tenant.change("PurchaseOrderItems", shop.po1_widgets, quantity=6)
        world.poll()
        h.run()
        (po,) = [p for p in h.qb.purchase_orders() if p.txn_id == twin]
        widgets = po.lines[0]
        assert (widgets.quantity, widgets.received_quantity) == (Decimal(6), Decimal(6))
        assert len(h.qb.purchase_orders()) == 2

        # `atqb transfer` takes the PO without a twin: added, its number still left alone.
        world.atqb("transfer", str(shop.po2))
        world.poll()
        h.run()
        (added,) = h.qb.purchase_orders(f"AT{shop.po2}")
        assert [ln.quantity for ln in added.lines] == [1]
        assert len(h.qb.purchase_orders()) == 3
        statuses = {j.status for j in world.jobs() if j.autotask_id == shop.po2}
        assert "cancelled" in statuses  # the reported transfer gave way to the new one
        world.poll()
        assert tenant.get("PurchaseOrders", shop.po2)["externalPONumber"] == "Q-77"
        unfinished = [
            (j.kind, j.status, j.error)
            for j in world.jobs()
            if j.status not in ("done", "cancelled")
        ]
        assert unfinished == []
