"""Building the ``…Ret`` aggregates of answers, in schema order.

Shapes follow the real answers in ``reference/qbxml/samples/qbwc-qbxml-spec`` (CustomerRet,
ItemInventoryRet, PurchaseOrderRet with lines) and Intuit's skeletons in
``osr-sdk-sample-data``; the order of children comes from the schema (:mod:`.xsdorder`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from lxml import etree

from service.simulators.quickbooks.context import make_ref, text
from service.simulators.quickbooks.model import (
    Account,
    Company,
    Entity,
    InventoryAdjustment,
    Item,
    ItemReceipt,
    ItemReceiptLine,
    ListRecord,
    PurchaseOrder,
    PurchaseOrderLine,
    Ref,
    Txn,
)
from service.simulators.quickbooks.values import (
    format_amount,
    format_bool,
    format_datetime,
    format_price,
    format_quantity,
    parse_bool,
)
from service.simulators.quickbooks.xsdorder import child_order

ITEM_RET_TAGS = {
    "Inventory": "ItemInventoryRet",
    "NonInventory": "ItemNonInventoryRet",
    "Service": "ItemServiceRet",
    "OtherCharge": "ItemOtherChargeRet",
}


@dataclass(frozen=True)
class RetOptions:
    """What a transaction's ``…Ret`` carries: lines, linked transactions, IncludeRetElement."""

    lines: bool = True
    linked: bool = False
    include: frozenset[str] = frozenset()
    #: Whether ExternalGUID is shown: always in Add/Mod answers, in queries only with OwnerID 0.
    external_guid: bool = True

    @classmethod
    def for_query(cls, rq: etree._Element, include: frozenset[str]) -> RetOptions:
        """Queries return lines and links only when asked (reference/qbxml.md 4.10), and the
        ExternalGUID only with ``OwnerID`` 0 (:func:`shows_external_guid`)."""
        return cls(
            lines=parse_bool(text(rq, "IncludeLineItems")) is True,
            linked=parse_bool(text(rq, "IncludeLinkedTxns")) is True,
            include=include,
            external_guid=shows_external_guid(rq),
        )


def shows_external_guid(rq: etree._Element) -> bool:
    """Whether a query's answer carries ExternalGUID: only when it lists ``OwnerID`` 0.

    Rule: QuickBooks returns an object's ExternalGUID in a query answer only when the query
    names OwnerID 0, the switch that also returns the public custom fields (DataExtRet); Add and
    Mod answers always carry it. Source: developers' reports on Intuit's QuickBooks Desktop SDK
    forum and the atqb issue that found it at a customer's site (the OSR's OwnerID text only says
    "0 returns custom fields"). Confidence: medium. Where unsure the simulator takes the stricter
    side: no OwnerID 0, no GUID, so atqb must find its objects without it.
    """
    return any((o.text or "").strip() == "0" for o in rq.findall("OwnerID"))


def _hide_guid(fields: Iterable[etree._Element], show: bool) -> list[etree._Element]:
    return [f for f in fields if show or f.tag != "ExternalGUID"]


class RetBuilder:
    """Collects the children of one aggregate and emits them in schema order."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.order = child_order(tag)
        self.children: list[etree._Element] = []
        self.defaults: list[etree._Element] = []

    def text(self, name: str, value: str | None) -> RetBuilder:
        if value is not None:
            element = etree.Element(name)
            element.text = value
            self.children.append(element)
        return self

    def amount(self, name: str, value: Decimal | None) -> RetBuilder:
        return self.text(name, None if value is None else format_amount(value))

    def price(self, name: str, value: Decimal | None) -> RetBuilder:
        return self.text(name, None if value is None else format_price(value))

    def quantity(self, name: str, value: Decimal | None) -> RetBuilder:
        return self.text(name, None if value is None else format_quantity(value))

    def flag(self, name: str, value: bool | None) -> RetBuilder:
        return self.text(name, None if value is None else format_bool(value))

    def ref(self, name: str, value: Ref | None) -> RetBuilder:
        if value is not None:
            self.children.append(make_ref(name, value))
        return self

    def add(self, elements: Iterable[etree._Element]) -> RetBuilder:
        self.children.extend(elements)
        return self

    def default(self, build: Callable[[RetBuilder], object]) -> RetBuilder:
        """Children ``build`` adds are kept only where the record has no child of that name:
        what QuickBooks fills in when a request leaves a field out."""
        scratch = RetBuilder(self.tag)
        build(scratch)
        self.defaults.extend(scratch.children)
        return self

    def build(self, include: frozenset[str] = frozenset()) -> etree._Element:
        """The aggregate; with ``include`` (IncludeRetElement) only those children are kept."""
        present = {c.tag for c in self.children}
        children = self.children + [d for d in self.defaults if d.tag not in present]
        unknown = [c.tag for c in children if c.tag not in self.order]
        if unknown:
            raise ValueError(f"{self.tag} has no child {unknown[0]} in qbXML 13.0")
        element = etree.Element(self.tag)
        for item in sorted(children, key=lambda c: self.order[c.tag]):
            if not include or item.tag in include:
                element.append(item)
        return element


def _list_core(tag: str, record: ListRecord, guid: bool = True) -> RetBuilder:
    ret = RetBuilder(tag)
    ret.text("ListID", record.list_id)
    ret.text("TimeCreated", format_datetime(record.time_created))
    ret.text("TimeModified", format_datetime(record.time_modified))
    ret.text("EditSequence", record.edit_sequence)
    ret.text("Name", record.name)
    if "FullName" in ret.order:
        ret.text("FullName", record.full_name)
    ret.flag("IsActive", record.is_active)
    if "Sublevel" in ret.order:
        ret.ref("ParentRef", record.parent)
        ret.text("Sublevel", str(record.sublevel))
    ret.add(_hide_guid(record.fields, guid))
    return ret


def _txn_core(tag: str, txn: Txn, guid: bool = True) -> RetBuilder:
    ret = RetBuilder(tag)
    ret.text("TxnID", txn.txn_id)
    ret.text("TimeCreated", format_datetime(txn.time_created))
    ret.text("TimeModified", format_datetime(txn.time_modified))
    ret.text("EditSequence", txn.edit_sequence)
    ret.text("TxnNumber", str(txn.txn_number))
    ret.text("TxnDate", txn.txn_date.isoformat())
    ret.text("RefNumber", txn.ref_number)
    ret.text("Memo", txn.memo)
    ret.add(_hide_guid(txn.fields, guid))
    return ret


def entity_ret(
    entity: Entity, include: frozenset[str] = frozenset(), *, guid: bool = True
) -> etree._Element:
    """VendorRet or CustomerRet (employees and other names are never queried); ``guid``: see
    :func:`shows_external_guid`."""
    ret = _list_core(f"{entity.kind}Ret", entity, guid)
    ret.amount("Balance", entity.balance)
    if entity.kind == "Customer":
        ret.amount("TotalBalance", entity.balance)
        ret.default(lambda d: d.text("JobStatus", "None"))
    return ret.build(include)


def account_ret(account: Account, include: frozenset[str] = frozenset()) -> etree._Element:
    ret = _list_core("AccountRet", account)
    ret.text("AccountType", account.account_type)
    ret.amount("Balance", Decimal(0))
    ret.amount("TotalBalance", Decimal(0))
    return ret.build(include)


def item_ret(
    company: Company, item: Item, include: frozenset[str] = frozenset(), *, guid: bool = True
) -> etree._Element:
    """The ``…Ret`` of the item's own type: the element name tells the type (qbxml.md 4.5)."""
    ret = _list_core(ITEM_RET_TAGS[item.item_type], item, guid)
    if item.item_type == "Inventory":
        tax = company.simple_ref("SalesTaxCode", "Tax")
        ret.default(lambda d: d.ref("SalesTaxCodeRef", tax))  # the real answer's default
        ret.ref("IncomeAccountRef", item.income_account)
        ret.ref("COGSAccountRef", item.cogs_account)
        ret.ref("AssetAccountRef", item.asset_account)
        ret.price("PurchaseCost", item.purchase_cost or Decimal(0))
        ret.quantity("QuantityOnHand", item.quantity_on_hand)
        ret.price("AverageCost", item.average_cost)
        ret.quantity("QuantityOnOrder", company.quantity_on_order(item.list_id))
        ret.quantity("QuantityOnSalesOrder", Decimal(0))
    return ret.build(include)


def purchase_order_ret(
    company: Company,
    po: PurchaseOrder,
    options: RetOptions = RetOptions(),
) -> etree._Element:
    ret = _txn_core("PurchaseOrderRet", po, options.external_guid)
    ret.ref("VendorRef", po.vendor)
    ret.ref("ShipToEntityRef", po.ship_to)
    ret.amount("TotalAmount", po.total_amount)
    ret.flag("IsManuallyClosed", po.is_manually_closed)
    ret.flag("IsFullyReceived", po.is_fully_received)
    template = company.simple_ref("Template", "Custom Purchase Order")
    ret.default(lambda d: d.ref("TemplateRef", template).flag("IsToBePrinted", False))
    ret.default(lambda d: d.flag("IsToBeEmailed", False))
    if options.linked:
        for receipt in company.receipts_linked_to(po.txn_id):
            amount = _linked_amount(receipt, po.txn_id)
            ret.add([_linked_txn(receipt, "ItemReceipt", amount)])
    if options.lines:
        for line in po.lines:
            row = _item_line("PurchaseOrderLineRet", line)
            row.price("Rate", line.rate)
            row.quantity("ReceivedQuantity", line.received_quantity)
            row.quantity("UnbilledQuantity", line.quantity)
            row.flag("IsBilled", False)
            row.flag("IsManuallyClosed", line.is_manually_closed)
            ret.add([row.build()])
    return ret.build(options.include)


def _item_line(tag: str, line: PurchaseOrderLine | ItemReceiptLine) -> RetBuilder:
    """What purchase-order and receipt lines share: ID, item, text, quantity, amount, customer."""
    row = RetBuilder(tag)
    row.text("TxnLineID", line.txn_line_id)
    row.ref("ItemRef", line.item)
    row.text("Desc", line.desc)
    row.quantity("Quantity", line.quantity)
    row.amount("Amount", line.amount)
    row.ref("CustomerRef", line.customer)
    row.add(line.fields)
    return row


def _linked_amount(receipt: ItemReceipt, po_txn_id: str) -> Decimal:
    """What the receipt's lines linked to that purchase order amount to."""
    linked = (ln.amount for ln in receipt.lines if ln.link and ln.link[0] == po_txn_id)
    return sum(linked, Decimal(0))


def _linked_txn(txn: Txn, txn_type: str, amount: Decimal) -> etree._Element:
    link = RetBuilder("LinkedTxn")
    link.text("TxnID", txn.txn_id)
    link.text("TxnType", txn_type)
    link.text("TxnDate", txn.txn_date.isoformat())
    link.text("RefNumber", txn.ref_number)
    link.text("LinkType", "QUANTYPE")
    link.amount("Amount", amount)
    return link.build()


def item_receipt_ret(
    company: Company,
    receipt: ItemReceipt,
    options: RetOptions = RetOptions(),
) -> etree._Element:
    ret = _txn_core("ItemReceiptRet", receipt, options.external_guid)
    ret.ref("VendorRef", receipt.vendor)
    ret.ref("APAccountRef", receipt.ap_account)
    ret.amount("TotalAmount", receipt.total_amount)
    if options.linked:
        for po_id in receipt.linked_txn_ids:
            po = company.purchase_orders[po_id]
            ret.add([_linked_txn(po, "PurchaseOrder", _linked_amount(receipt, po_id))])
    if options.lines:
        for expense in receipt.expense_lines:
            row = RetBuilder("ExpenseLineRet")
            row.text("TxnLineID", expense.txn_line_id)
            row.ref("AccountRef", expense.account)
            row.amount("Amount", expense.amount)
            row.add(expense.fields)
            ret.add([row.build()])
        for line in receipt.lines:
            row = _item_line("ItemLineRet", line)
            row.price("Cost", line.cost)
            ret.add([row.build()])
    return ret.build(options.include)


def inventory_adjustment_ret(
    adjustment: InventoryAdjustment,
    options: RetOptions = RetOptions(),
) -> etree._Element:
    ret = _txn_core("InventoryAdjustmentRet", adjustment, options.external_guid)
    ret.ref("AccountRef", adjustment.account)
    ret.ref("CustomerRef", adjustment.customer)
    if options.lines:
        for line in adjustment.lines:
            row = RetBuilder("InventoryAdjustmentLineRet")
            row.text("TxnLineID", line.txn_line_id)
            row.ref("ItemRef", line.item)
            row.quantity("QuantityDifference", line.quantity_difference)
            row.amount("ValueDifference", line.value_difference)
            ret.add([row.build()])
    return ret.build(options.include)
