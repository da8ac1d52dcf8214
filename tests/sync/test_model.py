"""The Autotask-shaped input: what is accepted, and the clear error for what is not."""

from __future__ import annotations

from decimal import Decimal

import pytest

from service.sync.common import external_guid, po_ref_number, receipt_ref_number, same_guid
from service.sync.model import (
    Company,
    Product,
    PurchaseOrder,
    PurchaseOrderLine,
    Receiving,
    StockLevel,
    SyncInputError,
    on_hand_totals,
)

CABLE = Product(1, "Cable")


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda: Company(0, "Acme"), "company id: an Autotask id is a positive int"),
        (lambda: Company(True, "Acme"), "company id"),
        (lambda: Company(1, "   "), "company 1 name: a name is needed"),
        (lambda: Product(2, None), "product 2 name"),  # type: ignore[arg-type]
        (lambda: Product(2, "X", unit_cost=-1), "product 2 unit_cost: -1 is negative"),
        (lambda: Product(2, "X", unit_cost=1.5), "expected a Decimal or int, got 1.5"),  # type: ignore[arg-type]
        (lambda: PurchaseOrderLine(5, CABLE, -2), "PO line 5 quantity: -2 is negative"),
        (lambda: PurchaseOrderLine(5, CABLE, Decimal("NaN")), "not a finite number"),
        (lambda: PurchaseOrderLine(5, "Cable", 1), "product must be a Product"),  # type: ignore[arg-type]
        (lambda: Receiving(7, 5, 0), "receiving 7 quantity: 0 received nothing"),
        (lambda: StockLevel(1, 0, 3), "location id"),
        (
            lambda: PurchaseOrder(9, Company(1, "A"), (PurchaseOrderLine(5, CABLE, 1),) * 2),
            "PO 9: a line id appears twice",
        ),
        (
            lambda: PurchaseOrder(
                9,
                Company(1, "A"),
                (PurchaseOrderLine(5, CABLE, 1),),
                receivings=(Receiving(7, 6, 1),),
            ),
            "receiving 7 is for line 6, which is not on the PO",
        ),
        (lambda: PurchaseOrder(9, "Acme", ()), "PO 9: vendor must be a Company"),  # type: ignore[arg-type]
    ],
)
def test_bad_input_is_refused_naming_the_record(make: object, words: str) -> None:
    with pytest.raises(SyncInputError, match=None) as caught:
        make()  # type: ignore[operator]
    assert words in str(caught.value)


def test_canceled_is_read_from_the_status_label_in_either_spelling() -> None:
    for label, canceled in (("Canceled", True), (" cancelled ", True), ("Submitted", False)):
        po = PurchaseOrder(1, Company(1, "A"), (), status=label)
        assert po.canceled is canceled


def test_customers_and_products_are_listed_once() -> None:
    contoso = Company(2, "Contoso")
    po = PurchaseOrder(
        1,
        Company(1, "A"),
        (
            PurchaseOrderLine(1, CABLE, 1, customer=contoso),
            PurchaseOrderLine(2, CABLE, 2, customer=Company(3, "Fabrikam")),
        ),
        ship_to=contoso,
    )
    assert [c.id for c in po.customers()] == [2, 3]
    assert [p.id for p in po.products()] == [1]
    assert po.label == "1"


def test_on_hand_is_the_total_over_locations() -> None:
    rows = [StockLevel(1, 1, 4), StockLevel(1, 2, Decimal("2.5")), StockLevel(2, 1, -1)]
    assert on_hand_totals(rows) == {1: Decimal("6.5"), 2: Decimal(-1)}


def test_markers_are_stable_and_fit_quickbooks_limits() -> None:
    assert po_ref_number(123456789) == "AT123456789"
    assert po_ref_number(2147483647) == "A2147483647"  # the largest Autotask id: 11 characters
    assert receipt_ref_number(line_id=2147483647) == "ATL2147483647"
    assert receipt_ref_number(receiving_id=5) == "ATR5"
    guid = external_guid("purchase_order", 1)
    assert guid == external_guid("purchase_order", 1) != external_guid("purchase_order", 2)
    assert guid.startswith("{")
    assert len(guid) == 38
    assert same_guid(guid, guid.lower().strip("{}"))
    assert not same_guid(guid, None)
