"""qbXML for correcting item receipts: ItemReceiptModRq and TxnDelRq, valid against 13.0."""

from __future__ import annotations

from decimal import Decimal

import pytest

from service.qbxml import build
from service.qbxml.types import ItemReceiptChange, ItemReceiptLineMod, Ref
from tests.qbxml.helpers import assert_valid


def test_an_item_receipt_mod_lowers_a_line_and_is_valid() -> None:
    change = ItemReceiptChange(
        "1A-1700000000",
        "1700000001",
        (ItemReceiptLineMod("1B-1700000000", Ref(list_id="80000001-1"), Decimal("2.5")),),
    )
    document = assert_valid(build.item_receipt_mod("7", change))
    assert "<ItemLineMod><TxnLineID>1B-1700000000</TxnLineID>" in document
    assert "<Quantity>2.5</Quantity>" in document


def test_a_txn_del_of_an_item_receipt_is_valid() -> None:
    document = assert_valid(build.txn_del("8", "ItemReceipt", "1A-1700000000"))
    assert "<TxnDelType>ItemReceipt</TxnDelType><TxnID>1A-1700000000</TxnID>" in document


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda: build.txn_del("1", "Invoice", "1A-1"), "cannot delete a 'Invoice'"),
        (lambda: ItemReceiptChange("1A-1", "1", ()), "delete the receipt instead"),
        (
            lambda: build.item_receipt_mod(
                "1",
                ItemReceiptChange("1A-1", "1", (ItemReceiptLineMod("2"), ItemReceiptLineMod("2"))),
            ),
            "listed twice",
        ),
    ],
)
def test_bad_corrections_are_refused_before_sending(make: object, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        make()  # type: ignore[operator]
