"""Conventions the sync kinds share: step state, stable markers, reference numbers, amounts.

Step state. A kind saves ``{"sent": "<write>"}`` with every write it sends (an Add or a Mod).
Its ``handle`` always replaces the state, so when the next ``step`` still finds ``sent`` the
answer to that write never came (Web Connector crash, lost lease, restart): QuickBooks may have
carried it out, and the kind looks the object up before writing again (DESIGN.md, "Nothing twice").
The exchange keeps ``sent`` in the state of that lookup (any step with a ``lookup``): its answer
can be lost as well, and then the next step must look again, not write (the fault-injection run
found POs added twice that way).

Markers. Transactions atqb adds carry a RefNumber that finds them again and an ExternalGUID that
proves they are atqb's (RefNumbers are not unique and people can edit them; the GUID is derived
from the Autotask record, so every attempt sends the same one).
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from service.qbxml.status import describe
from service.qbxml.text import PO_REF_NUMBER_MAX
from service.qbxml.types import ListRecord, Response

#: Namespace of the ExternalGUIDs atqb derives from Autotask ids.
GUID_NAMESPACE = uuid.UUID("5d1f3b52-6c39-4e0a-9a51-7f2d8c4e6b10")

#: What QuickBooks' ``…Ret`` element names mean, for messages to people.
RECORD_TYPES: dict[str, str] = {
    "VendorRet": "vendor",
    "CustomerRet": "customer",
    "ItemInventoryRet": "inventory part",
    "ItemNonInventoryRet": "non-inventory part",
    "ItemServiceRet": "service item",
    "ItemOtherChargeRet": "other charge item",
    "ItemInventoryAssemblyRet": "inventory assembly",
    "ItemFixedAssetRet": "fixed asset item",
    "ItemSubtotalRet": "subtotal item",
    "ItemDiscountRet": "discount item",
    "ItemPaymentRet": "payment item",
    "ItemSalesTaxRet": "sales tax item",
    "ItemSalesTaxGroupRet": "sales tax group",
    "ItemGroupRet": "group item",
}


def external_guid(what: str, autotask_id: int | str) -> str:
    """The ExternalGUID of what atqb adds for an Autotask record: the same on every attempt."""
    return "{" + str(uuid.uuid5(GUID_NAMESPACE, f"{what}:{autotask_id}")).upper() + "}"


def same_guid(a: str | None, b: str | None) -> bool:
    """GUIDs compared as QuickBooks may spell them (braces, case)."""
    if not a or not b:
        return False
    return a.strip("{}").lower() == b.strip("{}").lower()


def po_ref_number(po_id: int) -> str:
    """The QuickBooks PO number of an Autotask PO: ``AT`` and its id (11 characters at most).

    The prefix keeps it apart from QuickBooks' own numbering (1, 2, 3...); ids of ten digits
    keep one letter.
    """
    ref = f"AT{po_id}"
    return ref if len(ref) <= PO_REF_NUMBER_MAX else f"A{po_id}"[:PO_REF_NUMBER_MAX]


def receipt_ref_number(*, line_id: int | None = None, receiving_id: int | None = None) -> str:
    """RefNumber of an item receipt: ``ATL<line>`` (received mode: the line received at
    transfer) or ``ATR<receiving row>`` (unreceived mode), at most 20 characters."""
    if receiving_id is not None:
        return f"ATR{receiving_id}"
    return f"ATL{line_id}"


def decimal(value: Any) -> Decimal:
    """A quantity or amount kept in a payload or state (as a string) back as a Decimal."""
    return Decimal(str(value))


def quantity_text(value: Decimal) -> str:
    """A Decimal for a payload or state (JSON has no decimals)."""
    return format(value.normalize(), "f") if value == value.to_integral() else str(value)


def describe_record(record: ListRecord) -> str:
    """``the QuickBooks non-inventory part "Cable" (ListID 80000012-…)``."""
    kind = RECORD_TYPES.get(record.type, record.type.removesuffix("Ret"))
    inactive = " (inactive)" if record.is_active is False else ""
    return f'the QuickBooks {kind} "{record.full_name}"{inactive} (ListID {record.list_id})'


def quickbooks_said(response: Response) -> str:
    """QuickBooks' own words: ``QuickBooks 3100 (Error): The name "X" … already in use.``"""
    return (
        f"QuickBooks {response.status_code} ({response.status_severity}): "
        f"{response.status_message or 'no message'}"
    )


def plain_words(response: Response) -> str:
    """What an answer's status code means for an operator (service.qbxml.status.describe)."""
    if response.status_code is None:
        return response.explain()
    return describe(response.status_code, "").text()
