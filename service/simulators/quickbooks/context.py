"""Reading one qbXML request: child values, references, echoed fields, and what a handler returns.

Reference rules (reference/qbxml.md 2): every ``…Ref`` is ``ListID?, FullName?``; when both are
sent the ListID wins. A reference to something missing (or of the wrong kind: a vendor's name in a
CustomerRef) is status 3140. Inventory sites and bins need Advanced Inventory, which the simulated
company does not have: status 3250 (inferred from reference/qbxml.md 7 and 10.3).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypedDict

from lxml import etree

from service.simulators.quickbooks import errors
from service.simulators.quickbooks.model import Company, ListRecord, Ref, Txn, name_key
from service.simulators.quickbooks.values import parse_date
from service.simulators.quickbooks.xsdorder import child_order


class UnsupportedRequestError(NotImplementedError):
    """The message uses something valid in qbXML that this simulator does not model.

    Raised loudly (never turned into a qbXML status) so a test notices at once that the code under
    test stepped outside what the simulated QuickBooks can vouch for.
    """


#: Reference element -> the list it points into. ``…AccountRef`` elements all point to accounts;
#: ``ParentRef`` depends on the record being added. Anything else is a small list named after the
#: element (``ClassRef`` -> ``Class``).
REF_KINDS: dict[str, str] = {
    "VendorRef": "Vendor",
    "PrefVendorRef": "Vendor",
    "CustomerRef": "Customer",
    "ShipToEntityRef": "Entity",
    "ItemRef": "Item",
    "PurchaseTaxCodeRef": "SalesTaxCode",
    "OverrideUOMSetRef": "UnitOfMeasureSet",
}
_ADVANCED_INVENTORY = {"InventorySiteRef", "InventorySiteLocationRef"}
#: Lists whose inactive records a transaction write may not name (errors.inactive_reference).
_MUST_BE_ACTIVE = frozenset({"Vendor", "Customer", "Item", "Entity", "Employee", "OtherName"})


def child(element: etree._Element, name: str) -> etree._Element | None:
    """The first child element called ``name``."""
    return element.find(name)


def text(element: etree._Element, name: str) -> str | None:
    """The text of the first child called ``name``: ``None`` when absent, ``""`` when empty."""
    found = element.find(name)
    if found is None:
        return None
    return found.text or ""


def texts(element: etree._Element, name: str) -> list[str]:
    return [c.text or "" for c in element.findall(name)]


class TxnHeader(TypedDict):
    """TxnDate (today when not sent), RefNumber and Memo of a transaction Add."""

    txn_date: date
    ref_number: str | None
    memo: str | None


def txn_header(company: Company, add: etree._Element) -> TxnHeader:
    return TxnHeader(
        txn_date=parse_date(text(add, "TxnDate")) or company.today(),
        ref_number=text(add, "RefNumber"),
        memo=text(add, "Memo"),
    )


def check_closing_date(company: Company, txn_date: date, what: str) -> None:
    """Status 3171 when ``txn_date`` is on or before the company's closing date
    (:func:`errors.closing_date` gives the source and confidence)."""
    if company.closing_date is not None and txn_date <= company.closing_date:
        raise errors.closing_date(what)


def check_txn_mod(company: Company, txn: Txn, mod: etree._Element, what: str) -> None:
    """What every transaction Mod is checked for before it changes anything: the EditSequence
    it names is the current one (3200), and neither the transaction's date nor the TxnDate the
    Mod moves it to is in the closed period (3171)."""
    edit_sequence = text(mod, "EditSequence") or ""
    if edit_sequence != txn.edit_sequence:
        raise errors.edit_sequence_out_of_date(edit_sequence)
    check_closing_date(company, txn.txn_date, what)
    new_date = parse_date(text(mod, "TxnDate"))
    if new_date is not None:
        check_closing_date(company, new_date, what)


def mod_txn_header(txn: Txn, mod: etree._Element) -> None:
    """Apply the TxnDate, RefNumber and Memo a transaction Mod sends (an empty element clears
    RefNumber and Memo; TxnDate cannot be cleared)."""
    if mod.find("TxnDate") is not None:
        txn.txn_date = parse_date(text(mod, "TxnDate")) or txn.txn_date
    if mod.find("RefNumber") is not None:
        txn.ref_number = text(mod, "RefNumber")
    if mod.find("Memo") is not None:
        txn.memo = text(mod, "Memo")


def ref_kind(tag: str, parent_kind: str | None = None) -> str:
    if tag == "ParentRef" and parent_kind is not None:
        return parent_kind
    if tag.endswith("AccountRef"):
        return "Account"
    return REF_KINDS.get(tag, tag.removesuffix("Ref"))


def make_ref(tag: str, ref: Ref) -> etree._Element:
    """``<Tag><ListID>…</ListID><FullName>…</FullName></Tag>``, as QuickBooks answers."""
    element = etree.Element(tag)
    etree.SubElement(element, "ListID").text = ref.list_id
    etree.SubElement(element, "FullName").text = ref.full_name
    return element


@dataclass
class Answer:
    """What a non-query handler produced: the ``…Ret`` elements and an optional warning status."""

    rets: list[etree._Element] = field(default_factory=list)
    warning: errors.StatusError | None = None


@dataclass
class QueryOutcome:
    """What a query handler matched; the simulator renders, pages and counts it."""

    records: Sequence[Any]
    render: Callable[[Any], etree._Element]
    warning: errors.StatusError | None = None


@dataclass
class Context:
    """One request being processed against the company."""

    company: Company
    #: ``TxnID:…`` macros defined earlier in the same message (``defMacro``).
    macros: dict[str, str]
    #: IncludeRetElement names, empty for "everything".
    include: frozenset[str] = frozenset()
    #: The request writes a transaction: its references must be active (:data:`_MUST_BE_ACTIVE`).
    writes_transaction: bool = False

    # ------------------------------------------------------------------ references

    def records_of(self, kind: str) -> Iterable[ListRecord]:
        company = self.company
        if kind == "Entity":
            return company.entities.values()
        if kind in ("Vendor", "Customer", "Employee", "OtherName"):
            return (e for e in company.entities.values() if e.kind == kind)
        if kind == "Item":
            return company.items.values()
        if kind == "Account":
            return company.accounts.values()
        return company.simple_lists.get(kind, {}).values()

    def find(self, kind: str, *, list_id: str | None, full_name: str | None) -> ListRecord | None:
        if list_id:
            return next((r for r in self.records_of(kind) if r.list_id == list_id), None)
        if full_name:
            key = name_key(full_name)
            return next((r for r in self.records_of(kind) if name_key(r.full_name) == key), None)
        return None

    def resolve(self, ref: etree._Element, where: str, *, kind: str | None = None) -> ListRecord:
        """The record a ``…Ref`` element points to, or status 3140 (3250 for sites and bins)."""
        if ref.tag in _ADVANCED_INVENTORY:
            raise errors.feature_not_enabled()
        kind = kind or ref_kind(ref.tag)
        list_id = text(ref, "ListID")
        full_name = text(ref, "FullName")
        record = self.find(kind, list_id=list_id, full_name=full_name)
        if record is None:
            shown = "Entity" if kind == "Entity" else kind
            raise errors.invalid_reference(shown, list_id or full_name or "", where)
        if self.writes_transaction and kind in _MUST_BE_ACTIVE and not record.is_active:
            raise errors.inactive_reference(kind, list_id or full_name or "", where)
        return record

    def optional_ref(
        self, parent: etree._Element, tag: str, where: str, *, kind: str | None = None
    ) -> Ref | None:
        found = parent.find(tag)
        if found is None:
            return None
        return self.resolve(found, where, kind=kind).ref

    def define_macro(self, add: etree._Element, txn_id: str) -> None:
        """Remember ``defMacro="TxnID:…"`` of an Add for later requests of the message."""
        macro = add.get("defMacro")
        if macro:
            self.macros[macro] = txn_id

    def txn_id(self, value: str) -> str:
        """A TxnID as sent, with a ``TxnID:…`` macro of this message replaced by its TxnID."""
        return self.macros.get(value, value)

    # ------------------------------------------------------------------ echoed fields

    def echo(
        self,
        source: etree._Element,
        ret_tag: str,
        handled: Iterable[str],
        where: str,
        *,
        parent_kind: str | None = None,
    ) -> list[etree._Element]:
        """Copies of the request's children that the ``…Ret`` also has, references resolved.

        ``handled`` names the children the handler models itself; children the ``…Ret`` does not
        have (``OpenBalanceDate``, ``BarCode``…) are dropped, as QuickBooks does not echo them.
        """
        allowed = child_order(ret_tag)
        skip = set(handled)
        kept: list[etree._Element] = []
        for element in source:
            if element.tag in skip or element.tag not in allowed:
                continue
            kept.append(self.resolved_copy(element, where, parent_kind=parent_kind))
        return kept

    def resolved_copy(
        self, element: etree._Element, where: str, *, parent_kind: str | None = None
    ) -> etree._Element:
        """A deep copy of ``element`` with every reference inside it resolved to ListID+FullName."""
        duplicate = copy.deepcopy(element)
        duplicate.tail = None
        refs = [duplicate] if _is_ref(duplicate) else []
        refs += [e for e in duplicate.iterdescendants() if _is_ref(e)]
        for ref in refs:
            record = self.resolve(ref, where, kind=ref_kind(ref.tag, parent_kind))
            resolved = make_ref(ref.tag, record.ref)
            parent = ref.getparent()
            if parent is None:
                duplicate = resolved
            else:
                parent.replace(ref, resolved)
        return duplicate


def _is_ref(element: etree._Element) -> bool:
    return element.tag.endswith("Ref") and all(c.tag in ("ListID", "FullName") for c in element)


def replace_fields(
    fields: list[etree._Element], updates: Iterable[etree._Element]
) -> list[etree._Element]:
    """Stored fields with every tag present in ``updates`` replaced by the new elements."""
    new = list(updates)
    tags = {e.tag for e in new}
    return [f for f in fields if f.tag not in tags] + new
