"""List requests: vendors, customers, items, accounts, and the host and company queries.

* VendorAdd/CustomerAdd: the name must be free in the one namespace customers, vendors,
  employees and other names share, whatever their activity (reference/qbxml.md 8.2), else 3100.
  A customer with ``ParentRef`` is a job, unique within its parent.
* ItemInventoryAdd/ItemNonInventoryAdd/ItemServiceAdd: the name must be free among items of
  every type (3100). **Accounts are required**: an inventory part without IncomeAccountRef,
  COGSAccountRef or AssetAccountRef, or a non-inventory/service item without the account of its
  SalesOrPurchase/SalesAndPurchase, is refused with 3140 "There is an invalid reference to
  QuickBooks Account in the …" (no name). The 2.0-5.0 annotations mark the inventory refs
  required, and a third-party note reports 3140 when no income account is sent (reference/qbxml.md
  4.7); the exact real text is not established. An account of an unsuitable type (an asset
  account that is not Other Current Asset…) is 3140 naming it (see ``_ACCOUNT_TYPES``).
* VendorMod/CustomerMod/ItemInventoryMod: ``IsActive`` with the current EditSequence (3200 when
  stale, 3120 for an unknown ListID); nothing else is modelled.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal

from lxml import etree

from service.simulators.quickbooks import errors
from service.simulators.quickbooks.context import (
    Answer,
    Context,
    QueryOutcome,
    UnsupportedRequestError,
    text,
)
from service.simulators.quickbooks.model import Entity, EntityKind, Item, ItemType, ListRecord, Ref
from service.simulators.quickbooks.queries import select_list
from service.simulators.quickbooks.render import (
    RetBuilder,
    account_ret,
    entity_ret,
    item_ret,
    shows_external_guid,
)
from service.simulators.quickbooks.values import parse_bool, parse_decimal

#: The words QuickBooks' 3140 texts use for the list record being added ("… in the Item Inventory").
_ITEM_WHERE: dict[ItemType, str] = {
    "Inventory": "Item Inventory",
    "NonInventory": "Item NonInventory",
    "Service": "Item Service",
    "OtherCharge": "Item OtherCharge",
}


def _entity_add(kind: EntityKind) -> Callable[[Context, etree._Element], Answer]:
    def handle(ctx: Context, rq: etree._Element) -> Answer:
        add = rq[0]
        name = text(add, "Name") or ""
        parent = ctx.optional_ref(add, "ParentRef", kind, kind=kind)
        ctx.company.check_entity_name_free(ctx.company.full_name(name, parent))
        handled = ("Name", "IsActive", "ParentRef", "OpenBalance")
        fields = ctx.echo(add, f"{kind}Ret", handled, kind)
        entity = ctx.company.add_entity(
            kind,
            name,
            parent=parent,
            is_active=parse_bool(text(add, "IsActive")) is not False,
            fields=fields,
        )
        entity.balance = parse_decimal(text(add, "OpenBalance")) or Decimal(0)
        return Answer([entity_ret(entity, ctx.include)])

    return handle


#: The account types an inventory part's account references accept.
#: Rule: QuickBooks' New Item form offers income accounts for Income Account, cost-of-goods and
#: expense accounts for COGS Account, and only Other Current Asset accounts for Asset Account
#: (Programmer's Guide / OSR ItemInventoryAdd: "AssetAccountRef … an Other Current Asset
#: account"). The SDK's answer to another type is not published: 3140 naming the account is the
#: simulator's choice (the same shape as a missing account). Confidence: medium for the asset
#: rule, low for the others and for the code; the stricter side.
_ACCOUNT_TYPES: dict[str, frozenset[str]] = {
    "IncomeAccountRef": frozenset({"Income", "OtherIncome"}),
    "COGSAccountRef": frozenset({"CostOfGoodsSold", "Expense", "OtherExpense"}),
    "AssetAccountRef": frozenset({"OtherCurrentAsset"}),
}


def _required_account(ctx: Context, parent: etree._Element, tag: str, where: str) -> Ref:
    ref = ctx.optional_ref(parent, tag, where)
    if ref is None:
        raise errors.invalid_reference("Account", None, where)
    allowed = _ACCOUNT_TYPES.get(tag)
    if allowed is not None and ctx.company.accounts[ref.list_id].account_type not in allowed:
        raise errors.invalid_reference("Account", ref.full_name, where)
    return ref


def _item_add(item_type: ItemType) -> Callable[[Context, etree._Element], Answer]:
    def handle(ctx: Context, rq: etree._Element) -> Answer:
        add = rq[0]
        where = _ITEM_WHERE[item_type]
        company = ctx.company
        name = text(add, "Name") or ""
        parent = ctx.optional_ref(add, "ParentRef", where, kind="Item")
        if parent is not None and company.items[parent.list_id].item_type != item_type:
            raise errors.invalid_reference("Item", parent.full_name, where)
        company.check_item_name_free(company.full_name(name, parent))
        accounts: dict[str, Ref | None] = {}
        if item_type == "Inventory":
            for tag in ("IncomeAccountRef", "COGSAccountRef", "AssetAccountRef"):
                accounts[tag] = _required_account(ctx, add, tag, where)
        else:
            accounts.update(_sales_purchase_accounts(ctx, add, where))
        handled = (
            "Name",
            "IsActive",
            "ParentRef",
            "IncomeAccountRef",
            "COGSAccountRef",
            "AssetAccountRef",
            "PurchaseCost",
            "QuantityOnHand",
        )
        fields = ctx.echo(add, f"Item{item_type}Ret", handled, where, parent_kind="Item")
        quantity = parse_decimal(text(add, "QuantityOnHand")) or Decimal(0)
        cost = parse_decimal(text(add, "PurchaseCost"))
        value = parse_decimal(text(add, "TotalValue"))
        item = company.add_item(
            Item(
                item_type=item_type,
                name=name,
                full_name=company.full_name(name, parent),
                parent=parent,
                is_active=parse_bool(text(add, "IsActive")) is not False,
                income_account=accounts.get("IncomeAccountRef"),
                cogs_account=accounts.get("COGSAccountRef"),
                asset_account=accounts.get("AssetAccountRef"),
                account=accounts.get("AccountRef"),
                purchase_cost=cost,
                quantity_on_hand=quantity if item_type == "Inventory" else Decimal(0),
                total_value=value if value is not None else quantity * (cost or Decimal(0)),
                fields=fields,
                **company.list_core(),
            )
        )
        return Answer([item_ret(company, item, ctx.include)])

    return handle


def _sales_purchase_accounts(
    ctx: Context, add: etree._Element, where: str
) -> dict[str, Ref | None]:
    """The accounts inside SalesOrPurchase (AccountRef) or SalesAndPurchase (income, expense)."""
    one = add.find("SalesOrPurchase")
    if one is not None:
        return {"AccountRef": _required_account(ctx, one, "AccountRef", where)}
    both = add.find("SalesAndPurchase")
    if both is None:  # the schema requires one of the two
        raise errors.invalid_reference("Account", None, where)
    return {
        "IncomeAccountRef": _required_account(ctx, both, "IncomeAccountRef", where),
        "AccountRef": _required_account(ctx, both, "ExpenseAccountRef", where),
    }


#: The fields the simulator models in a list Mod: only reactivating (or deactivating) a record.
_LIST_MOD_FIELDS = frozenset({"ListID", "EditSequence", "IsActive"})


def _list_mod(kind: str) -> Callable[[Context, etree._Element], Answer]:
    """VendorMod, CustomerMod, ItemInventoryMod: ``IsActive`` with the current EditSequence.

    Rules (reference/qbxml.md 4.9 for EditSequence; the OSR's ListCoreMod): an unknown ListID,
    or one of another list, is 3120; a stale EditSequence is 3200; the change gives a new
    EditSequence. Any other field raises UnsupportedRequestError (not modelled).
    """

    def handle(ctx: Context, rq: etree._Element) -> Answer:
        mod = rq[0]
        others = [c.tag for c in mod if c.tag not in _LIST_MOD_FIELDS]
        if others:
            raise UnsupportedRequestError(f"{rq.tag}: {others[0]} is not modelled")
        list_id = text(mod, "ListID") or ""
        record: ListRecord | None
        if kind == "Item":
            record = ctx.company.items.get(list_id)
            if record is not None and record.item_type != "Inventory":
                record = None
        else:
            entity = ctx.company.entities.get(list_id)
            record = entity if entity is not None and entity.kind == kind else None
        if record is None:
            raise errors.object_not_found(list_id)
        edit_sequence = text(mod, "EditSequence") or ""
        if edit_sequence != record.edit_sequence:
            raise errors.edit_sequence_out_of_date(edit_sequence)
        active = parse_bool(text(mod, "IsActive"))
        if active is not None:
            record.is_active = active
        ctx.company.touch(record)
        if isinstance(record, Item):
            return Answer([item_ret(ctx.company, record, ctx.include)])
        assert isinstance(record, Entity)
        return Answer([entity_ret(record, ctx.include)])

    return handle


def _list_query(
    records: Callable[[Context], Iterable[ListRecord]],
    render: Callable[[Context, ListRecord, bool], etree._Element],
) -> Callable[[Context, etree._Element], QueryOutcome]:
    def handle(ctx: Context, rq: etree._Element) -> QueryOutcome:
        found, status = select_list(ctx.company, rq, records(ctx))
        guid = shows_external_guid(rq)
        return QueryOutcome(found, lambda r: render(ctx, r, guid), status)

    return handle


def _entities(kind: EntityKind) -> Callable[[Context], Iterable[ListRecord]]:
    return lambda ctx: (e for e in ctx.company.entities.values() if e.kind == kind)


def _items(item_type: ItemType | None) -> Callable[[Context], Iterable[ListRecord]]:
    return lambda ctx: (
        i for i in ctx.company.items.values() if item_type is None or i.item_type == item_type
    )


def _render_entity(ctx: Context, record: ListRecord, guid: bool) -> etree._Element:
    assert isinstance(record, Entity)
    return entity_ret(record, ctx.include, guid=guid)


def _render_item(ctx: Context, record: ListRecord, guid: bool) -> etree._Element:
    assert isinstance(record, Item)
    return item_ret(ctx.company, record, ctx.include, guid=guid)


def _render_account(ctx: Context, record: ListRecord, _guid: bool) -> etree._Element:
    return account_ret(ctx.company.accounts[record.list_id], ctx.include)


def host_query(ctx: Context, _rq: etree._Element) -> Answer:
    """A minimal HostRet: product, version, the qbXML versions supported, file mode."""
    host = ctx.company.host
    ret = RetBuilder("HostRet")
    ret.text("ProductName", host.product_name)
    ret.text("MajorVersion", host.major_version)
    ret.text("MinorVersion", host.minor_version)
    ret.text("Country", host.country)
    ret.add(_texts("SupportedQBXMLVersion", host.qbxml_versions))
    ret.flag("IsAutomaticLogin", False)
    ret.text("QBFileMode", host.file_mode)
    return Answer([ret.build(ctx.include)])


def company_query(ctx: Context, _rq: etree._Element) -> Answer:
    """A minimal CompanyRet: the company's name (no custom fields, so OwnerID adds nothing)."""
    ret = RetBuilder("CompanyRet")
    ret.flag("IsSampleCompany", False)
    ret.text("CompanyName", ctx.company.host.company_name)
    ret.text("LegalCompanyName", ctx.company.host.company_name)
    return Answer([ret.build(ctx.include)])


def _texts(tag: str, values: Iterable[str]) -> list[etree._Element]:
    elements = []
    for value in values:
        element = etree.Element(tag)
        element.text = value
        elements.append(element)
    return elements


HANDLERS: dict[str, Callable[[Context, etree._Element], Answer | QueryOutcome]] = {
    "VendorAddRq": _entity_add("Vendor"),
    "CustomerAddRq": _entity_add("Customer"),
    "ItemInventoryAddRq": _item_add("Inventory"),
    "ItemNonInventoryAddRq": _item_add("NonInventory"),
    "ItemServiceAddRq": _item_add("Service"),
    "VendorModRq": _list_mod("Vendor"),
    "CustomerModRq": _list_mod("Customer"),
    "ItemInventoryModRq": _list_mod("Item"),
    "VendorQueryRq": _list_query(_entities("Vendor"), _render_entity),
    "CustomerQueryRq": _list_query(_entities("Customer"), _render_entity),
    "ItemQueryRq": _list_query(_items(None), _render_item),
    "ItemInventoryQueryRq": _list_query(_items("Inventory"), _render_item),
    "ItemNonInventoryQueryRq": _list_query(_items("NonInventory"), _render_item),
    "ItemServiceQueryRq": _list_query(_items("Service"), _render_item),
    "ItemOtherChargeQueryRq": _list_query(_items("OtherCharge"), _render_item),
    "AccountQueryRq": _list_query(lambda ctx: ctx.company.accounts.values(), _render_account),
    "HostQueryRq": host_query,
    "CompanyQueryRq": company_query,
}
