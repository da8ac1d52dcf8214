"""The qbXML layer driving the simulated QuickBooks through the workflow users expect.

Each test is a short conversation: requests built by service.qbxml.build, answered by
service.simulators.quickbooks (an independent model that rejects what QuickBooks rejects),
read by service.qbxml.parse and classified by service.qbxml.status.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal as D

import pytest

from service.qbxml import build as b
from service.qbxml.parse import hresult_responses, pair_responses, parse_response
from service.qbxml.status import Outcome
from service.qbxml.types import (
    InventoryAdjustment,
    InventoryAdjustmentLine,
    InventoryItem,
    ItemReceipt,
    ItemReceiptLine,
    ListRecord,
    NameFilter,
    PurchaseOrder,
    PurchaseOrderChange,
    PurchaseOrderLine,
    PurchaseOrderLineMod,
    PurchaseOrderRecord,
    Ref,
    Response,
)
from service.simulators.processor import QuickBooksHResultError
from service.simulators.quickbooks import SimulatedQuickBooks


def name(value: str) -> Ref:
    return Ref(full_name=value)


def send(
    qb: SimulatedQuickBooks, *requests: b.Request, on_error: str = "continueOnError"
) -> list[Response]:
    answers = parse_response(qb.process(b.message(requests, on_error=on_error)))
    return pair_responses([r.request_id for r in requests], answers)


CABLE = InventoryItem(
    "Cable Cat6",
    income_account=name("Autotask Income from PO"),
    cogs_account=name("Cost of Goods Sold"),
    asset_account=name("Inventory Asset"),
)


def test_received_mode_purchase_order_raises_on_hand_and_sync_sets_it() -> None:
    qb = SimulatedQuickBooks()
    lookups = send(
        qb,
        b.vendor_query("1:vendor", full_names=["Acme Supply"]),
        b.customer_query("2:customer", full_names=["Contoso"]),
        b.item_query("3:item", full_names=["Cable Cat6"]),
    )
    assert [r.outcome for r in lookups] == [Outcome.NOT_FOUND] * 3
    created = send(
        qb,
        b.vendor_add("4:vendor", "Acme Supply"),
        b.customer_add("5:customer", "Contoso"),
        b.item_inventory_add("6:item", CABLE),
    )
    assert [r.outcome for r in created] == [Outcome.OK] * 3
    (added,) = send(
        qb,
        b.purchase_order_add(
            "7:po",
            PurchaseOrder(
                name("Acme Supply"),
                (
                    PurchaseOrderLine(
                        name("Cable Cat6"), D(5), D("3.125"), customer=name("Contoso")
                    ),
                ),
                ref_number="4711",
                ship_to=name("Contoso"),
            ),
        ),
    )
    (po,) = added.records_of(PurchaseOrderRecord)
    (line,) = po.lines
    (received,) = send(
        qb,
        b.item_receipt_add(
            "8:receipt",
            ItemReceipt(
                name("Acme Supply"),
                (
                    ItemReceiptLine(
                        po.txn_id, line.txn_line_id, D(5), item=line.item, cost=line.rate
                    ),
                ),
            ),
        ),
    )
    assert received.outcome is Outcome.OK
    (after,) = send(
        qb, b.purchase_order_query("9:po", txn_ids=[po.txn_id], include_linked_txns=True)
    )
    (po_after,) = after.records_of(PurchaseOrderRecord)
    assert po_after.lines[0].received_quantity == D(5)
    assert po_after.is_fully_received is True
    assert [link.txn_type for link in po_after.linked_txns] == ["ItemReceipt"]
    (sync,) = send(
        qb,
        b.inventory_adjustment_add(
            "10:sync",
            InventoryAdjustment(
                name("Inventory Adjustment"),
                (InventoryAdjustmentLine(name("Cable Cat6"), new_quantity=D(12)),),
            ),
        ),
    )
    assert sync.outcome is Outcome.OK
    (counted,) = send(qb, b.item_inventory_query("11:count", full_names=["Cable Cat6"]))
    (item,) = counted.records_of(ListRecord)
    assert item.quantity_on_hand == D(12)


def test_an_inactive_record_keeps_its_name_and_the_filter_lookup_finds_it() -> None:
    qb = SimulatedQuickBooks()
    qb.add_item("Old Cable", "NonInventory", is_active=False)
    by_name, by_filter = send(
        qb,
        b.item_query("1", full_names=["old cable"]),
        b.item_query("2", name_filter=NameFilter("StartsWith", "Old Cable"), active_status="All"),
    )
    found = by_filter.find_names(["Old Cable"])["Old Cable"]
    assert found is not None
    assert found.type == "ItemNonInventoryRet"
    assert found.is_active is False
    # Whatever the exact lookup says about inactive records, the Add is refused with 3100,
    # and the status table tells the operator what to do.
    assert by_name.outcome in (Outcome.OK, Outcome.NOT_FOUND)
    (add,) = send(qb, b.item_inventory_add("3", InventoryItem("Old Cable", *_accounts())))
    assert add.outcome is Outcome.NAME_IN_USE
    assert "non-inventory" in add.explain()


def _accounts() -> tuple[Ref, Ref, Ref]:
    return CABLE.income_account, CABLE.cogs_account, CABLE.asset_account


def test_a_stale_edit_sequence_is_recognised_and_a_fresh_one_works() -> None:
    qb = SimulatedQuickBooks()
    qb.add_vendor("Acme Supply")
    qb.add_item("Cable Cat6")
    (added,) = send(
        qb,
        b.purchase_order_add(
            "1", PurchaseOrder(name("Acme Supply"), (PurchaseOrderLine(name("Cable Cat6"), 1),))
        ),
    )
    (po,) = added.records_of(PurchaseOrderRecord)
    qb.simulate_ui_edit(po.txn_id)
    change = PurchaseOrderChange(
        po.txn_id,
        po.edit_sequence,
        memo="quantities changed in Autotask",
        lines=(
            PurchaseOrderLineMod(po.lines[0].txn_line_id, quantity=D(3)),
            PurchaseOrderLineMod.new(PurchaseOrderLine(name("Cable Cat6"), D(2))),
        ),
    )
    (stale,) = send(qb, b.purchase_order_mod("2", change))
    assert stale.outcome is Outcome.STALE_EDIT_SEQUENCE
    (fresh,) = send(qb, b.purchase_order_query("3", txn_ids=[po.txn_id]))
    (current,) = fresh.records_of(PurchaseOrderRecord)
    (modified,) = send(
        qb, b.purchase_order_mod("4", replace(change, edit_sequence=current.edit_sequence))
    )
    assert modified.outcome is Outcome.OK
    (result,) = modified.records_of(PurchaseOrderRecord)
    assert [line.quantity for line in result.lines] == [D(3), D(2)]
    assert result.memo == "quantities changed in Autotask"


def test_stop_on_error_leaves_later_requests_unprocessed_and_retryable() -> None:
    qb = SimulatedQuickBooks()
    answers = send(
        qb,
        b.purchase_order_add(
            "1", PurchaseOrder(name("Nobody"), (PurchaseOrderLine(name("Nothing"), 1),))
        ),
        b.vendor_add("2", "Acme Supply"),
        on_error="stopOnError",
    )
    assert [(r.status_code, r.outcome) for r in answers] == [
        (3140, Outcome.INVALID_REFERENCE),
        (3231, Outcome.RETRY_LATER),
    ]
    assert qb.vendor("Acme Supply") is None


@pytest.mark.parametrize("code", [3170, 3175, 3176, 3180])
def test_lock_errors_from_quickbooks_are_retried_later(code: int) -> None:
    qb = SimulatedQuickBooks()
    qb.busy(status_code=code)
    (locked,) = send(qb, b.vendor_add("1", "Acme Supply"))
    assert (locked.status_code, locked.outcome) == (code, Outcome.RETRY_LATER)
    (later,) = send(qb, b.vendor_add("2", "Acme Supply"))
    assert later.outcome is Outcome.OK


def test_a_lost_answer_maps_the_hresult_onto_every_request_in_flight() -> None:
    qb = SimulatedQuickBooks()
    qb.raise_hresult(hresult="0x80040408")
    requests = [b.vendor_add("1", "Acme Supply"), b.customer_add("2", "Contoso")]
    with pytest.raises(QuickBooksHResultError) as caught:
        qb.process(b.message(requests))
    responses = hresult_responses(
        [r.request_id for r in requests], caught.value.hresult, caught.value.message
    )
    assert [(r.request_id, r.outcome, r.uncertain) for r in responses] == [
        ("1", Outcome.RETRY_LATER, False),
        ("2", Outcome.RETRY_LATER, False),
    ]
