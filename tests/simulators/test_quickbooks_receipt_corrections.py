"""The simulated QuickBooks corrects item receipts: ItemReceiptMod and TxnDel (ItemReceipt)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from lxml import etree

from service.simulators.quickbooks import SimulatedQuickBooks
from tests.simulators.helpers import one, po_line, ret, status, value
from tests.simulators.test_quickbooks_purchasing import (
    add_po,
    query_po,
    receipt,
    receive,
    received,
)


@pytest.fixture
def received_po(qb: SimulatedQuickBooks) -> tuple[etree._Element, etree._Element]:
    """A PO of 5 widgets, 4 of them received on one receipt."""
    qb.add_vendor("Acme Supply")
    qb.add_item("Widget", purchase_cost=10)
    po = add_po(qb, po_line("Widget", "5", "10.00"))
    rs = one(qb, receipt(receive(po, 0, "4")))
    assert status(rs)[0] == 0, status(rs)
    return po, ret(rs)


def receipt_mod(receipt_ret: etree._Element, lines: str, edit_sequence: str | None = None) -> str:
    sequence = edit_sequence or value(receipt_ret, "EditSequence")
    return (
        f'<ItemReceiptModRq requestID="m"><ItemReceiptMod><TxnID>{value(receipt_ret, "TxnID")}'
        f"</TxnID><EditSequence>{sequence}</EditSequence>{lines}</ItemReceiptMod>"
        "</ItemReceiptModRq>"
    )


def line_mod(receipt_ret: etree._Element, quantity: str) -> str:
    line_id = value(receipt_ret, "ItemLineRet/TxnLineID")
    return (
        f"<ItemLineMod><TxnLineID>{line_id}</TxnLineID><Quantity>{quantity}</Quantity>"
        "</ItemLineMod>"
    )


def txn_del(txn_id: str) -> str:
    return (
        f'<TxnDelRq requestID="d"><TxnDelType>ItemReceipt</TxnDelType><TxnID>{txn_id}</TxnID>'
        "</TxnDelRq>"
    )


def test_lowering_a_receipt_lowers_the_po_line_received_and_on_hand(
    qb: SimulatedQuickBooks, received_po: tuple[etree._Element, etree._Element]
) -> None:
    po, rcv = received_po
    assert received(query_po(qb, po)) == ["4"]
    assert qb.quantity_on_hand("Widget") == 4
    rs = one(qb, receipt_mod(rcv, line_mod(rcv, "1")))
    assert status(rs)[0] == 0, status(rs)
    changed = ret(rs)
    assert value(changed, "ItemLineRet/Quantity") == "1"
    assert value(changed, "EditSequence") != value(rcv, "EditSequence")
    assert received(query_po(qb, po)) == ["1"]
    assert qb.quantity_on_hand("Widget") == 1
    # The link stays: the receipt is still found from the PO.
    (linked,) = qb.item_receipts(linked_to=value(po, "TxnID"))
    assert linked.lines[0].quantity == Decimal(1)


def test_a_stale_edit_sequence_or_a_negative_quantity_changes_nothing(
    qb: SimulatedQuickBooks, received_po: tuple[etree._Element, etree._Element]
) -> None:
    po, rcv = received_po
    stale = one(qb, receipt_mod(rcv, line_mod(rcv, "1"), edit_sequence="1"))
    assert status(stale)[0] == 3200
    negative = one(qb, receipt_mod(rcv, line_mod(rcv, "-1")))
    assert status(negative)[0] == 3210
    missing = one(qb, receipt_mod(rcv, line_mod(rcv, "1")).replace(value(rcv, "TxnID"), "1-1"))
    assert status(missing)[0] == 3120
    assert received(query_po(qb, po)) == ["4"]
    assert qb.quantity_on_hand("Widget") == 4


def test_deleting_a_receipt_takes_back_what_it_received(
    qb: SimulatedQuickBooks, received_po: tuple[etree._Element, etree._Element]
) -> None:
    po, rcv = received_po
    rs = one(qb, txn_del(value(rcv, "TxnID")))
    assert status(rs)[0] == 0, status(rs)
    assert value(rs, "TxnDelType") == "ItemReceipt"
    assert value(rs, "TxnID") == value(rcv, "TxnID")
    assert value(rs, "RefNumber") == "RCV-1"
    assert received(query_po(qb, po)) == ["0"]
    assert qb.quantity_on_hand("Widget") == 0
    assert qb.item_receipts() == []
    again = one(qb, txn_del(value(rcv, "TxnID")))
    assert status(again)[0] == 3120


def test_a_receipt_in_a_closed_period_is_neither_changed_nor_deleted(
    qb: SimulatedQuickBooks, received_po: tuple[etree._Element, etree._Element]
) -> None:
    po, rcv = received_po  # dated today (2024-03-01 on the test clock)
    qb.set_closing_date(date(2024, 3, 1))
    assert status(one(qb, receipt_mod(rcv, line_mod(rcv, "1"))))[0] == 3171
    assert status(one(qb, txn_del(value(rcv, "TxnID"))))[0] == 3171
    assert received(query_po(qb, po)) == ["4"]
    assert qb.quantity_on_hand("Widget") == 4
    qb.set_closing_date(date(2024, 2, 1))
    into_closed = receipt_mod(rcv, "<TxnDate>2024-01-15</TxnDate>")
    assert status(one(qb, into_closed))[0] == 3171
    assert status(one(qb, receipt_mod(rcv, line_mod(rcv, "1"))))[0] == 0


def test_a_line_mod_that_leaves_a_line_out_deletes_it(qb: SimulatedQuickBooks) -> None:
    qb.add_vendor("Acme Supply")
    qb.add_item("Widget", purchase_cost=10)
    qb.add_item("Gadget", purchase_cost=2)
    po = add_po(qb, po_line("Widget", "5", "10.00"), po_line("Gadget", "3", "2.00"))
    rcv = ret(one(qb, receipt(receive(po, 0, "5") + receive(po, 1, "3"))))
    first = rcv.findall("ItemLineRet")[0]
    kept = f"<ItemLineMod><TxnLineID>{value(first, 'TxnLineID')}</TxnLineID></ItemLineMod>"
    rs = one(qb, receipt_mod(rcv, kept))
    assert status(rs)[0] == 0, status(rs)
    assert len(ret(rs).findall("ItemLineRet")) == 1
    assert received(query_po(qb, po)) == ["5", "0"]
    assert qb.quantity_on_hand("Gadget") == 0
    assert qb.quantity_on_hand("Widget") == 5
