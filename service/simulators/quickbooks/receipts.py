"""ItemReceiptAdd/Mod/Query, TxnDel of an item receipt and InventoryAdjustmentAdd/Query
(reference/qbxml.md 4.11, 4.12).

Item receipts:

* ``VendorRef`` must exist (3140). ``APAccountRef`` defaults to "Accounts Payable".
* A line with ``LinkToTxn(TxnID, TxnLineID)`` receives against that PO line: the line's
  ``ReceivedQuantity`` rises by the line's Quantity (the line's open quantity when Quantity is
  left out; over-receiving is allowed, as in QuickBooks). Cost defaults to the PO line's Rate.
* **Every ItemLineAdd names its item** (ItemRef), linked or not: without one, 3140 "There is an
  invalid reference to QuickBooks Item in the ItemReceipt line." The OSR lists ItemRef first in
  ItemLineAdd and Intuit's samples always send it beside LinkToTxn; whether QuickBooks fills it
  in from the PO line is not established, so the simulator takes the stricter side (confidence:
  low). An ItemRef naming another item than the linked line's is 3210.
* A header ``LinkToTxnID`` receives every open line of that PO in full.
* A missing PO or PO line is **3120** "Object "X" specified in the request cannot be found…"
  (the not-found status QuickBooks uses for an ID it cannot find, reference/qbxml.md 7; the real
  status for a bad link is not public). A PO of another vendor is 3180 (simulator wording).
  Linking the same PO both in the header and on a line is 3180 (reference/qbxml.md 4.11 says the
  two forms may not link the same transaction).
* A closed line (fully received or manually closed) or a manually closed PO takes no link:
  the receipt is saved, the line is **not** linked and the status is **570 Warn** "Unable to link
  to transaction … because it has already been closed" (Intuit's status table; Warn means the
  request was carried out). The quantity still reaches QuantityOnHand.
* Dated on or before the company's closing date: 3171 (``errors.closing_date``).
* A receipt with no lines at all is refused with 3180 "… Transaction is empty." (assumed).
* Every inventory-part line raises the item's QuantityOnHand (and its value, for AverageCost).

Correcting a receipt (``ItemReceiptModRq``, ``TxnDelRq`` with ``TxnDelType`` ItemReceipt; shapes
from the qbXML 13.0 XSD):

* Mod: an unknown TxnID is 3120, a stale EditSequence 3200 (as every Mod, reference/qbxml.md
  4.9). When the Mod has any ``ItemLineMod``, every line it does not name is **deleted**, a
  ``TxnLineID`` of ``-1`` adds an unlinked line, named lines change only in the fields sent (S7
  "Modify, delete and void requests"; sure for PO and invoice Mods, assumed the same here). A
  Mod cannot link (S7 ItemReceiptAdd: "You can do this linking only in the item receipt add, not
  in the mod"): a line keeps the link it had. A changed quantity moves the linked PO line's
  ``ReceivedQuantity`` and the item's QuantityOnHand by the difference (inference: the receipt is
  where QuickBooks takes both from). An ItemRef naming another item on a linked line is 3210, as
  in the Add. A negative Quantity is 3210 (assumed: an item receipt cannot take items back).
  Nothing changes when a check fails.
* Del: the receipt goes; its linked PO lines lose what it received and its items' QuantityOnHand
  falls by its quantities (S7 "To delete a transaction object, including transaction body and all
  line items. TxnDelRq"; the effect on the PO is an inference from the UI, where deleting a
  receipt reopens the PO lines). An unknown TxnID is 3120. The answer carries ``TxnDelType``,
  ``TxnID``, ``TimeDeleted`` and ``RefNumber`` (XSD ``TxnDelRet``).
* Both move the linked POs to a new EditSequence (their received quantities changed).
* Both are refused with 3171 for a receipt dated on or before the company's closing date (a Mod
  also for a new TxnDate there), as every change of a transaction in a closed period
  (``errors.closing_date``).

Inventory adjustments: ``AccountRef`` must exist and may not be A/P, A/R or non-posting (3140);
every line's item must be an inventory part (3140 otherwise); ``NewQuantity`` sets QuantityOnHand
(the answer reports the difference, as QuickBooks does), ``QuantityDifference`` adds to it.
Serial/lot numbers, sites and bins need Advanced Inventory: 3250.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal

from lxml import etree

from service.simulators.quickbooks import errors
from service.simulators.quickbooks.context import (
    Answer,
    Context,
    QueryOutcome,
    UnsupportedRequestError,
    check_closing_date,
    check_txn_mod,
    mod_txn_header,
    replace_fields,
    text,
    texts,
    txn_header,
)
from service.simulators.quickbooks.model import (
    Company,
    ExpenseLine,
    InventoryAdjustment,
    InventoryAdjustmentLine,
    ItemReceipt,
    ItemReceiptLine,
    PurchaseOrder,
    PurchaseOrderLine,
    Ref,
)
from service.simulators.quickbooks.queries import select_txns
from service.simulators.quickbooks.render import (
    RetOptions,
    inventory_adjustment_ret,
    item_receipt_ret,
)
from service.simulators.quickbooks.values import format_datetime, money, parse_decimal

RECEIPT = "ItemReceipt"
RECEIPT_LINE = "ItemReceipt line"
ADJUSTMENT = "InventoryAdjustment"
ADJUSTMENT_LINE = "InventoryAdjustment line"
_ITEM_LINE_HANDLED = ("ItemRef", "Desc", "Quantity", "Cost", "Amount", "CustomerRef", "LinkToTxn")


#: Account types an inventory adjustment may not post to. Rule: QuickBooks' Adjust Quantity
#: form does not offer Accounts Payable/Receivable (they need a name) or non-posting accounts.
#: Source: QuickBooks Desktop help on inventory adjustments; the SDK's status is not public, 3140
#: is the simulator's choice. Confidence: low; the stricter side.
_NOT_ADJUSTMENT_TYPES = frozenset({"AccountsPayable", "AccountsReceivable", "NonPosting"})


@dataclass
class _Draft:
    """A receipt line before the receipt is saved, with the PO line it receives against."""

    line: ItemReceiptLine
    po_line: PurchaseOrderLine | None = None
    po: PurchaseOrder | None = None


def _linked_po(ctx: Context, txn_id: str, vendor: Ref) -> PurchaseOrder:
    po = ctx.company.purchase_orders.get(txn_id)
    if po is None:
        raise errors.object_not_found(txn_id)
    if po.vendor is None or po.vendor.list_id != vendor.list_id:
        raise errors.error_when_saving(
            RECEIPT, f'The transaction "{txn_id}" cannot be linked: it is for another vendor.'
        )
    return po


def _receipt_line(
    ctx: Context,
    source: etree._Element,
    po_line: PurchaseOrderLine | None,
) -> ItemReceiptLine:
    company = ctx.company
    item_el = source.find("ItemRef")
    item = ctx.resolve(item_el, RECEIPT_LINE).ref if item_el is not None else None
    if po_line is not None:
        if item is not None and po_line.item is not None and item != po_line.item:
            raise errors.invalid_field_value(
                "ItemRef", item.full_name, "The item does not match the linked purchase order line."
            )
        item = item or po_line.item
    if item is None:
        raise errors.invalid_reference("Item", None, RECEIPT_LINE)
    quantity = parse_decimal(text(source, "Quantity"))
    if quantity is None:
        quantity = po_line.open_quantity if po_line is not None else Decimal(0)
    cost = parse_decimal(text(source, "Cost"))
    if cost is None:
        cost = po_line.rate if po_line is not None else company.items[item.list_id].purchase_cost
    amount = parse_decimal(text(source, "Amount"))
    if amount is None:
        amount = money(quantity * (cost or Decimal(0)))
    desc = text(source, "Desc")
    if desc is None and po_line is not None:
        desc = po_line.desc
    return ItemReceiptLine(
        txn_line_id="",
        item=item,
        desc=desc,
        quantity=quantity,
        cost=cost,
        amount=money(amount),
        customer=ctx.optional_ref(source, "CustomerRef", RECEIPT_LINE),
        fields=ctx.echo(source, "ItemLineRet", _ITEM_LINE_HANDLED, RECEIPT_LINE),
    )


def item_receipt_add(ctx: Context, rq: etree._Element) -> Answer:
    add = rq[0]
    company = ctx.company
    vendor = ctx.optional_ref(add, "VendorRef", RECEIPT)
    assert vendor is not None  # the schema requires VendorRef
    ap_account = ctx.optional_ref(add, "APAccountRef", RECEIPT) or _payables(ctx)
    warning: errors.StatusError | None = None
    drafts: list[_Draft] = []

    header_links = [ctx.txn_id(t) for t in texts(add, "LinkToTxnID")]
    for txn_id in header_links:
        po = _linked_po(ctx, txn_id, vendor)
        open_lines = [ln for ln in po.lines if not ln.is_closed and ln.item is not None]
        if po.is_manually_closed or not open_lines:
            warning = warning or errors.link_to_closed(txn_id)
            continue
        for po_line in open_lines:
            source = etree.Element("ItemLineAdd")
            drafts.append(_Draft(_receipt_line(ctx, source, po_line), po_line, po))

    for source in add.findall("ItemLineAdd"):
        if source.find("ItemRef") is None:
            raise errors.invalid_reference("Item", None, RECEIPT_LINE)
        linked_po, linked_line, closed = _line_link(ctx, source, vendor, header_links)
        line = _receipt_line(ctx, source, linked_line)
        if closed is not None:  # received all the same, but not linked
            warning = warning or closed
            linked_po, linked_line = None, None
        drafts.append(_Draft(line, linked_line, linked_po))

    expenses = [
        ExpenseLine(
            txn_line_id="",
            account=ctx.optional_ref(source, "AccountRef", RECEIPT),
            amount=parse_decimal(text(source, "Amount")),
            fields=ctx.echo(source, "ExpenseLineRet", ("AccountRef", "Amount", "DataExt"), RECEIPT),
        )
        for source in add.findall("ExpenseLineAdd")
    ]
    if not drafts and not expenses:
        raise errors.error_when_saving(RECEIPT, "Transaction is empty.")
    fields = ctx.echo(
        add,
        "ItemReceiptRet",
        ("VendorRef", "APAccountRef", "TxnDate", "RefNumber", "Memo", "LinkToTxnID"),
        RECEIPT,
    )

    header = txn_header(company, add)
    check_closing_date(company, header["txn_date"], RECEIPT)
    receipt = ItemReceipt(
        **company.txn_core(),
        **header,
        vendor=vendor,
        ap_account=ap_account,
        lines=[d.line for d in drafts],
        expense_lines=expenses,
        fields=fields,
    )
    for expense in expenses:
        expense.txn_line_id = company.new_txn_id(receipt.time_created)
    _receive(company, receipt, drafts)
    company.item_receipts[receipt.txn_id] = receipt
    ctx.define_macro(add, receipt.txn_id)
    return Answer([item_receipt_ret(company, receipt, RetOptions(include=ctx.include))], warning)


def _receive(company: Company, receipt: ItemReceipt, drafts: list[_Draft]) -> None:
    """Give the new receipt's lines their IDs and links, and receive them: the linked PO lines'
    received quantities, the inventory items' On Hand and value."""
    touched: dict[str, PurchaseOrder] = {}
    for draft in drafts:
        draft.line.txn_line_id = company.new_txn_id(receipt.time_created)
        if draft.po is not None and draft.po_line is not None:
            draft.line.link = (draft.po.txn_id, draft.po_line.txn_line_id)
            draft.po_line.received_quantity += draft.line.quantity
            touched[draft.po.txn_id] = draft.po
        item = company.items[draft.line.item.list_id]
        if item.item_type == "Inventory":
            item.quantity_on_hand += draft.line.quantity
            item.total_value += draft.line.amount
    for po in touched.values():
        company.touch(po)


def _line_link(
    ctx: Context, source: etree._Element, vendor: Ref, header_links: list[str]
) -> tuple[PurchaseOrder | None, PurchaseOrderLine | None, errors.StatusError | None]:
    """The PO and line an ItemLineAdd links to, and a 570 warning when the line is closed."""
    link = source.find("LinkToTxn")
    if link is None:
        return None, None, None
    txn_id = ctx.txn_id(text(link, "TxnID") or "")
    if txn_id in header_links:
        raise errors.error_when_saving(
            RECEIPT, f'The transaction "{txn_id}" is linked twice in one item receipt.'
        )
    po = _linked_po(ctx, txn_id, vendor)
    line_id = text(link, "TxnLineID") or ""
    po_line = po.line(line_id)
    if po_line is None:
        raise errors.object_not_found(line_id)
    if po.is_manually_closed or po_line.is_closed:
        return po, po_line, errors.link_to_closed(txn_id)
    return po, po_line, None


_LINE_MOD_HANDLED = ("TxnLineID", "ItemRef", "Desc", "Quantity", "Cost", "Amount", "CustomerRef")


def _po_line_of(company: Company, line: ItemReceiptLine) -> PurchaseOrderLine | None:
    if line.link is None:
        return None
    po = company.purchase_orders.get(line.link[0])
    return po.line(line.link[1]) if po is not None else None


def _line_to_modify(ctx: Context, receipt: ItemReceipt, source: etree._Element) -> ItemReceiptLine:
    """The receipt line an ItemLineMod names by TxnLineID, or a new unlinked one for ``-1``."""
    line_id = text(source, "TxnLineID") or ""
    if line_id == "-1":
        item_el = source.find("ItemRef")
        if item_el is None:
            raise errors.invalid_reference("Item", None, RECEIPT_LINE)
        return ItemReceiptLine(txn_line_id="", item=ctx.resolve(item_el, RECEIPT_LINE).ref)
    found = next((ln for ln in receipt.lines if ln.txn_line_id == line_id), None)
    if found is None:
        raise errors.object_not_found(line_id)
    return found


def _modified_receipt_line(
    ctx: Context, receipt: ItemReceipt, source: etree._Element
) -> ItemReceiptLine:
    """A copy of the receipt line ``source`` names (or a new unlinked one for ``-1``), changed."""
    existing = _line_to_modify(ctx, receipt, source)
    line = replace(existing, fields=list(existing.fields))
    item_el = source.find("ItemRef")
    if item_el is not None:
        item = ctx.resolve(item_el, RECEIPT_LINE).ref
        if line.link is not None and item != line.item:
            raise errors.invalid_field_value(
                "ItemRef", item.full_name, "The item does not match the linked purchase order line."
            )
        line.item = item
    quantity = parse_decimal(text(source, "Quantity"))
    cost = parse_decimal(text(source, "Cost"))
    amount = parse_decimal(text(source, "Amount"))
    if quantity is not None:
        if quantity < 0:
            raise errors.invalid_field_value(
                "Quantity",
                text(source, "Quantity") or "",
                "An item receipt cannot take items back.",
            )
        line.quantity = quantity
    if cost is not None:
        line.cost = cost
    if amount is not None:
        line.amount = money(amount)
    elif quantity is not None or cost is not None:
        line.amount = money(line.quantity * (line.cost or Decimal(0)))
    if source.find("Desc") is not None:
        line.desc = text(source, "Desc")
    if source.find("CustomerRef") is not None:
        line.customer = ctx.optional_ref(source, "CustomerRef", RECEIPT_LINE)
    line.fields = replace_fields(
        line.fields, ctx.echo(source, "ItemLineRet", _LINE_MOD_HANDLED, RECEIPT_LINE)
    )
    return line


def _move_stock(company: Company, lines: list[ItemReceiptLine], sign: int) -> set[str]:
    """Add (sign 1) or take back (-1) what ``lines`` received: On Hand, PO lines. Returns the
    TxnIDs of the POs touched."""
    touched: set[str] = set()
    for line in lines:
        po_line = _po_line_of(company, line)
        if po_line is not None and line.link is not None:
            po_line.received_quantity += sign * line.quantity
            touched.add(line.link[0])
        item = company.items.get(line.item.list_id)
        if item is not None and item.item_type == "Inventory":
            item.quantity_on_hand += sign * line.quantity
            item.total_value += sign * line.amount
    return touched


def _receipt_to_change(ctx: Context, txn_id: str) -> ItemReceipt:
    receipt = ctx.company.item_receipts.get(ctx.txn_id(txn_id))
    if receipt is None:
        raise errors.object_not_found(txn_id)
    return receipt


def item_receipt_mod(ctx: Context, rq: etree._Element) -> Answer:
    mod = rq[0]
    company = ctx.company
    receipt = _receipt_to_change(ctx, text(mod, "TxnID") or "")
    check_txn_mod(company, receipt, mod, RECEIPT)
    for unmodelled in ("VendorRef", "ExpenseLineMod", "ClearExpenseLines", "ClearItemLines"):
        if mod.find(unmodelled) is not None:
            raise UnsupportedRequestError(f"ItemReceiptModRq: {unmodelled} is not modelled")
    line_mods = mod.findall("ItemLineMod")
    lines = receipt.lines
    if line_mods:
        lines = [_modified_receipt_line(ctx, receipt, source) for source in line_mods]
    fields = replace_fields(
        receipt.fields,
        ctx.echo(mod, "ItemReceiptRet", ("TxnID", "EditSequence", "ItemLineMod"), RECEIPT),
    )
    # Every check passed: apply.
    touched = _move_stock(company, receipt.lines, -1) | _move_stock(company, lines, 1)
    receipt.lines, receipt.fields = lines, fields
    mod_txn_header(receipt, mod)
    for line in receipt.lines:
        if not line.txn_line_id:
            line.txn_line_id = company.new_txn_id(company.now())
    company.touch(receipt)
    for po_txn_id in touched:
        company.touch(company.purchase_orders[po_txn_id])
    return Answer([item_receipt_ret(company, receipt, RetOptions(include=ctx.include))])


def txn_del(ctx: Context, rq: etree._Element) -> Answer:
    company = ctx.company
    kind = text(rq, "TxnDelType") or ""
    if kind != "ItemReceipt":
        raise UnsupportedRequestError(f"TxnDelRq: deleting a {kind} is not modelled")
    receipt = _receipt_to_change(ctx, text(rq, "TxnID") or "")
    check_closing_date(company, receipt.txn_date, RECEIPT)
    for po_txn_id in _move_stock(company, receipt.lines, -1):
        company.touch(company.purchase_orders[po_txn_id])
    del company.item_receipts[receipt.txn_id]
    company.touch(receipt)  # derived quantities are recomputed
    answer = [
        _leaf("TxnDelType", kind),
        _leaf("TxnID", receipt.txn_id),
        _leaf("TimeDeleted", format_datetime(company.now())),
    ]
    if receipt.ref_number:
        answer.append(_leaf("RefNumber", receipt.ref_number))
    return Answer(answer)


def _leaf(tag: str, value: str) -> etree._Element:
    element = etree.Element(tag)
    element.text = value
    return element


def _payables(ctx: Context) -> Ref:
    account = ctx.company.account_by_name("Accounts Payable")
    if account is None:
        raise errors.invalid_reference("Account", "Accounts Payable", RECEIPT)
    return account.ref


def item_receipt_query(ctx: Context, rq: etree._Element) -> QueryOutcome:
    found, status = select_txns(
        ctx.company,
        rq,
        ctx.company.item_receipts.values(),
        entity_of=lambda r: r.vendor,
        accounts_of=lambda r: [r.ap_account],
    )
    options = RetOptions.for_query(rq, ctx.include)
    return QueryOutcome(found, lambda r: item_receipt_ret(ctx.company, r, options), status)


def _quantity_difference(adjustment: etree._Element, on_hand: Decimal) -> Decimal:
    if adjustment.tag != "QuantityAdjustment":  # serial and lot number adjustments
        raise errors.feature_not_enabled()
    for tag in ("SerialNumber", "LotNumber", "InventorySiteLocationRef"):
        if adjustment.find(tag) is not None:
            raise errors.feature_not_enabled()
    new_quantity = parse_decimal(text(adjustment, "NewQuantity"))
    if new_quantity is not None:
        return new_quantity - on_hand
    return parse_decimal(text(adjustment, "QuantityDifference")) or Decimal(0)


def inventory_adjustment_add(ctx: Context, rq: etree._Element) -> Answer:
    add = rq[0]
    if add.find("InventorySiteRef") is not None:
        raise errors.feature_not_enabled()
    company = ctx.company
    account = ctx.optional_ref(add, "AccountRef", ADJUSTMENT)
    assert account is not None  # the schema requires AccountRef
    if company.accounts[account.list_id].account_type in _NOT_ADJUSTMENT_TYPES:
        raise errors.invalid_reference("Account", account.full_name, ADJUSTMENT)
    customer = ctx.optional_ref(add, "CustomerRef", ADJUSTMENT)
    on_hand: dict[str, Decimal] = {}
    value: dict[str, Decimal] = {}
    lines: list[InventoryAdjustmentLine] = []
    for source in add.findall("InventoryAdjustmentLineAdd"):
        item_el = source.find("ItemRef")
        assert item_el is not None  # the schema requires ItemRef
        item = company.items[ctx.resolve(item_el, ADJUSTMENT_LINE).list_id]
        if item.item_type != "Inventory":
            raise errors.invalid_reference("Item", item.full_name, ADJUSTMENT_LINE)
        current = on_hand.get(item.list_id, item.quantity_on_hand)
        difference = _quantity_difference(source[1], current)
        value_difference = money(difference * item.average_cost)
        on_hand[item.list_id] = current + difference
        value[item.list_id] = value.get(item.list_id, item.total_value) + value_difference
        lines.append(
            InventoryAdjustmentLine(
                txn_line_id="",
                item=item.ref,
                quantity_difference=difference,
                value_difference=value_difference,
            )
        )
    fields = ctx.echo(
        add,
        "InventoryAdjustmentRet",
        ("AccountRef", "TxnDate", "RefNumber", "Memo", "CustomerRef"),
        ADJUSTMENT,
    )
    header = txn_header(company, add)
    check_closing_date(company, header["txn_date"], ADJUSTMENT)
    adjustment = InventoryAdjustment(
        **company.txn_core(),
        **header,
        account=account,
        customer=customer,
        lines=lines,
        fields=fields,
    )
    for line in lines:
        line.txn_line_id = company.new_txn_id(adjustment.time_created)
    for item_id, quantity in on_hand.items():
        company.items[item_id].quantity_on_hand = quantity
        company.items[item_id].total_value = value[item_id]
    company.inventory_adjustments[adjustment.txn_id] = adjustment
    return Answer([inventory_adjustment_ret(adjustment, RetOptions(include=ctx.include))])


def inventory_adjustment_query(ctx: Context, rq: etree._Element) -> QueryOutcome:
    found, status = select_txns(
        ctx.company,
        rq,
        ctx.company.inventory_adjustments.values(),
        entity_of=lambda a: a.customer,
        accounts_of=lambda a: [a.account],
        items_of=lambda a: [line.item for line in a.lines],
    )
    options = RetOptions.for_query(rq, ctx.include)
    return QueryOutcome(found, lambda a: inventory_adjustment_ret(a, options), status)


HANDLERS: dict[str, Callable[[Context, etree._Element], Answer | QueryOutcome]] = {
    "ItemReceiptAddRq": item_receipt_add,
    "ItemReceiptModRq": item_receipt_mod,
    "ItemReceiptQueryRq": item_receipt_query,
    "TxnDelRq": txn_del,
    "InventoryAdjustmentAddRq": inventory_adjustment_add,
    "InventoryAdjustmentQueryRq": inventory_adjustment_query,
}
