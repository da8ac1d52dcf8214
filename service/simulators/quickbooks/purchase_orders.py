"""PurchaseOrderAdd, PurchaseOrderMod and PurchaseOrderQuery (reference/qbxml.md 4.8-4.10).

* Add: VendorRef, ShipToEntityRef (any name: customer, vendor, employee, other name), line items
  and line CustomerRefs must exist (3140). Lines get a TxnLineID, ``ReceivedQuantity`` 0 and
  ``IsManuallyClosed`` false. RefNumber need not be unique (QuickBooks only warns in its UI);
  without one, the next number after the highest numeric RefNumber is used, as QuickBooks
  numbers purchase orders. A line without Rate takes the item's PurchaseCost; Amount is
  Quantity x Rate, and a given Amount wins over Rate (Rate becomes Amount / Quantity).
* Mod: TxnID and EditSequence are required; an unknown TxnID is 3120, a stale EditSequence 3200.
  When the Mod has any line aggregate, every existing line it does not name is **deleted**, a
  ``TxnLineID`` of ``-1`` adds a line, named lines change only in the fields sent (S7 "Modify,
  delete and void requests"; InvoiceMod). An unknown TxnLineID is 3120.
* **Deleting a line that has been received against is refused** with 3180 "There was an error
  when saving a PurchaseOrder.  QuickBooks error message: A line that has been received against
  cannot be deleted." QuickBooks' UI refuses this (received lines are tied to their item
  receipts); the SDK's code and wording are not public, 3180 is the code QuickBooks uses for
  refusals at save time (reference/qbxml.md 7). Nothing is changed when any check fails.
* **What was received stays received.** A Mod that lowers a line's Quantity below its
  ReceivedQuantity, changes the ItemRef of a line with a ReceivedQuantity, or changes the
  VendorRef of a PO with any received line is refused with 3180 (simulator wording), and nothing
  changes. Source: QuickBooks ties received lines to their item receipts (the receipt's
  LinkedTxn and the PO line's ReceivedQuantity, OSR PurchaseOrderRet), and its PO form refuses
  these edits once items are received; the atqb issue "QuickBooks as it really is" reports the
  SDK refusing them at a customer's site. Code and text: not public (3180 is QuickBooks'
  save-time refusal). Confidence: medium for the rule, low for code and text; the stricter side.
* **Closing date**: a Mod of a PO dated on or before the company's closing date, or moving it
  there, is 3171 (see ``errors.closing_date``); so is an Add dated there.
* ``IsManuallyClosed`` on the header closes (true) or reopens (false) every line; on a line it
  closes that line. Closed lines take no receipts (status 570, see :mod:`.receipts`).
* Receiving against a PO changes it (ReceivedQuantity, IsFullyReceived), so it gets a new
  EditSequence then (inference: QuickBooks stores the received quantities on the PO).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal

from lxml import etree

from service.simulators.quickbooks import errors
from service.simulators.quickbooks.context import (
    Answer,
    Context,
    QueryOutcome,
    check_closing_date,
    check_txn_mod,
    mod_txn_header,
    replace_fields,
    text,
    txn_header,
)
from service.simulators.quickbooks.model import Company, PurchaseOrder, PurchaseOrderLine
from service.simulators.quickbooks.queries import select_txns
from service.simulators.quickbooks.render import RetOptions, purchase_order_ret
from service.simulators.quickbooks.values import (
    format_quantity,
    money,
    parse_bool,
    parse_decimal,
)

WHERE = "PurchaseOrder"
LINE_WHERE = "PurchaseOrder line"
_HEADER_HANDLED = (
    "TxnID",
    "EditSequence",
    "VendorRef",
    "ShipToEntityRef",
    "InventorySiteRef",
    "TxnDate",
    "RefNumber",
    "Memo",
    "IsManuallyClosed",
    "PurchaseOrderLineAdd",
    "PurchaseOrderLineMod",
)
_LINE_HANDLED = (
    "TxnLineID",
    "ItemRef",
    "Desc",
    "Quantity",
    "Rate",
    "Amount",
    "CustomerRef",
    "IsManuallyClosed",
)


def _reject_sites(element: etree._Element) -> None:
    if element.find("InventorySiteRef") is not None:
        raise errors.feature_not_enabled()


def _apply_line(ctx: Context, line: PurchaseOrderLine, source: etree._Element) -> None:
    """Set what ``source`` (a LineAdd or LineMod) sends; recompute Amount as QuickBooks does."""
    company = ctx.company
    item_el = source.find("ItemRef")
    if item_el is not None:
        line.item = ctx.resolve(item_el, LINE_WHERE).ref
    customer_el = source.find("CustomerRef")
    if customer_el is not None:
        line.customer = ctx.resolve(customer_el, LINE_WHERE).ref
    if source.find("Desc") is not None:
        line.desc = text(source, "Desc")
    elif item_el is not None and line.item is not None:
        line.desc = company.items[line.item.list_id].purchase_desc
    _apply_amounts(company, line, source)
    closed = parse_bool(text(source, "IsManuallyClosed"))
    if closed is not None:
        line.is_manually_closed = closed
    line.fields = replace_fields(
        line.fields, ctx.echo(source, "PurchaseOrderLineRet", _LINE_HANDLED, LINE_WHERE)
    )


def _apply_amounts(company: Company, line: PurchaseOrderLine, source: etree._Element) -> None:
    """Set Quantity, Rate and Amount from ``source``: a Rate missing on a new line is the item's
    purchase cost, an Amount sent sets the Rate, else the Amount is Quantity times Rate."""
    quantity = parse_decimal(text(source, "Quantity"))
    rate = parse_decimal(text(source, "Rate"))
    amount = parse_decimal(text(source, "Amount"))
    if quantity is not None:
        line.quantity = quantity
    if rate is not None:
        line.rate = rate
    elif line.rate is None and line.item is not None:
        line.rate = company.items[line.item.list_id].purchase_cost
    if amount is not None:
        line.amount = money(amount)
        if line.quantity:
            line.rate = amount / line.quantity
    elif line.rate is not None:
        line.amount = money(line.rate * (line.quantity if line.quantity is not None else 1))
    elif line.amount is None:
        line.amount = Decimal(0)


def _next_ref_number(company: Company) -> str:
    refs = [p.ref_number or "" for p in company.purchase_orders.values()]
    numbers = [int(ref) for ref in refs if ref.isdigit()]
    return str(max(numbers, default=0) + 1)


def purchase_order_add(ctx: Context, rq: etree._Element) -> Answer:
    add = rq[0]
    _reject_sites(add)
    company = ctx.company
    vendor = ctx.optional_ref(add, "VendorRef", WHERE)
    ship_to = ctx.optional_ref(add, "ShipToEntityRef", WHERE)
    lines = []
    for source in add.findall("PurchaseOrderLineAdd"):
        line = PurchaseOrderLine(txn_line_id="")
        _apply_line(ctx, line, source)
        lines.append(line)
    fields = ctx.echo(add, "PurchaseOrderRet", _HEADER_HANDLED, WHERE)
    header = txn_header(company, add)
    check_closing_date(company, header["txn_date"], WHERE)
    if header["ref_number"] is None:
        header["ref_number"] = _next_ref_number(company)
    po = PurchaseOrder(
        **company.txn_core(),
        **header,
        vendor=vendor,
        ship_to=ship_to,
        lines=lines,
        fields=fields,
    )
    for line in lines:
        line.txn_line_id = company.new_txn_id(po.time_created)
    company.purchase_orders[po.txn_id] = po
    ctx.define_macro(add, po.txn_id)
    return Answer([purchase_order_ret(company, po, RetOptions(include=ctx.include))])


def purchase_order_mod(ctx: Context, rq: etree._Element) -> Answer:
    mod = rq[0]
    _reject_sites(mod)
    company = ctx.company
    txn_id = ctx.txn_id(text(mod, "TxnID") or "")
    po = company.purchase_orders.get(txn_id)
    if po is None:
        raise errors.object_not_found(txn_id)
    check_txn_mod(company, po, mod, WHERE)

    # Work on copies so that a refused Mod changes nothing.
    vendor = po.vendor
    if mod.find("VendorRef") is not None:
        vendor = ctx.optional_ref(mod, "VendorRef", WHERE)
        if vendor != po.vendor and any(line.received_quantity for line in po.lines):
            raise errors.received_line_change(
                "The vendor of a purchase order that has been received against cannot be changed."
            )
    ship_to = po.ship_to
    if mod.find("ShipToEntityRef") is not None:
        ship_to = ctx.optional_ref(mod, "ShipToEntityRef", WHERE)
    header_closed = parse_bool(text(mod, "IsManuallyClosed"))
    lines = po.lines
    line_mods = mod.findall("PurchaseOrderLineMod")
    if line_mods:
        lines = _modified_lines(ctx, po, line_mods)
    fields = replace_fields(po.fields, ctx.echo(mod, "PurchaseOrderRet", _HEADER_HANDLED, WHERE))

    po.vendor, po.ship_to, po.lines, po.fields = vendor, ship_to, lines, fields
    mod_txn_header(po, mod)
    if header_closed is not None:
        po.is_manually_closed = header_closed
        for line in po.lines:
            line.is_manually_closed = header_closed
    for line in po.lines:
        if not line.txn_line_id:
            line.txn_line_id = company.new_txn_id(company.now())
    company.touch(po)
    return Answer([purchase_order_ret(company, po, RetOptions(include=ctx.include))])


def _modified_lines(
    ctx: Context, po: PurchaseOrder, line_mods: list[etree._Element]
) -> list[PurchaseOrderLine]:
    """The PO's lines after a line Mod: named ones changed, ``-1`` added, the rest deleted."""
    kept: list[PurchaseOrderLine] = []
    for source in line_mods:
        line_id = text(source, "TxnLineID") or ""
        if line_id == "-1":
            line = PurchaseOrderLine(txn_line_id="")
        else:
            existing = po.line(line_id)
            if existing is None:
                raise errors.object_not_found(line_id)
            line = replace(existing, fields=list(existing.fields))
        _apply_line(ctx, line, source)
        kept.append(line)
    named = {line.txn_line_id for line in kept}
    for line in po.lines:
        if line.txn_line_id not in named and line.received_quantity:
            raise errors.received_line_change(
                "A line that has been received against cannot be deleted."
            )
    for line in kept:
        before = po.line(line.txn_line_id) if line.txn_line_id else None
        if before is None or not before.received_quantity:
            continue
        if line.quantity is not None and line.quantity < before.received_quantity:
            raise errors.received_line_change(
                f"The quantity {format_quantity(line.quantity)} is less than the quantity "
                f"already received ({format_quantity(before.received_quantity)})."
            )
        if line.item != before.item:
            raise errors.received_line_change(
                "The item of a line that has been received against cannot be changed."
            )
    return kept


def purchase_order_query(ctx: Context, rq: etree._Element) -> QueryOutcome:
    found, status = select_txns(
        ctx.company, rq, ctx.company.purchase_orders.values(), entity_of=lambda p: p.vendor
    )
    options = RetOptions.for_query(rq, ctx.include)
    return QueryOutcome(found, lambda po: purchase_order_ret(ctx.company, po, options), status)


HANDLERS: dict[str, Callable[[Context, etree._Element], Answer | QueryOutcome]] = {
    "PurchaseOrderAddRq": purchase_order_add,
    "PurchaseOrderModRq": purchase_order_mod,
    "PurchaseOrderQueryRq": purchase_order_query,
}
