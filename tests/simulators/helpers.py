"""Helpers for the simulated-QuickBooks tests: literal qbXML, a settable clock, checked answers.

Every request a test builds is validated against the REFERENCE qbXML 13.0 schema (the shared copy,
not the packaged one) unless the test is about an invalid request, and every answer the simulator
gives is parsed with lxml and validated against the same schema.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache

from lxml import etree

from service.simulators.quickbooks import SimulatedQuickBooks
from tests.conftest import REFERENCE_XSD

ACCOUNTS = (
    "<IncomeAccountRef><FullName>Autotask Income from PO</FullName></IncomeAccountRef>"
    "<COGSAccountRef><FullName>Cost of Goods Sold</FullName></COGSAccountRef>"
    "<AssetAccountRef><FullName>Inventory Asset</FullName></AssetAccountRef>"
)


@cache
def reference_schema() -> etree.XMLSchema:
    """Intuit's qbXML 13.0 schema (``tests.conftest.REFERENCE_XSD``)."""
    return etree.XMLSchema(etree.parse(str(REFERENCE_XSD.resolve())))


def envelope(
    *requests: str, on_error: str = "stopOnError", attributes: str = "", valid: bool = True
) -> str:
    """A qbXML message set as QuickBooks expects it (reference/qbxml.md 2).

    Unless ``valid`` is false (a test about a bad request), the reference schema must accept it.
    """
    document = (
        '<?xml version="1.0" encoding="utf-8"?>\n<?qbxml version="13.0"?>\n'
        f'<QBXML><QBXMLMsgsRq onError="{on_error}"{attributes}>'
        + "".join(requests)
        + "</QBXMLMsgsRq></QBXML>"
    )
    assert is_valid(document) == valid, reference_schema().error_log
    return document


def is_valid(document: str) -> bool:
    """Whether the reference schema accepts the document."""
    tree = etree.fromstring(document.split("?>", 1)[1].encode("utf-8"))
    return bool(reference_schema().validate(tree))


def check_answer(answer: str) -> etree._Element:
    """Parse an answer like a client would, check its declaration and schema, return QBXMLMsgsRs."""
    assert answer.startswith('<?xml version="1.0" ?>'), answer[:60]
    root = etree.fromstring(answer.split("?>", 1)[1].encode("utf-8"))
    schema = reference_schema()
    assert schema.validate(root), f"{schema.error_log}\n{answer}"
    msgs = root.find("QBXMLMsgsRs")
    assert msgs is not None
    return msgs


def send(
    qb: SimulatedQuickBooks, *requests: str, on_error: str = "stopOnError"
) -> list[etree._Element]:
    """Send schema-valid requests in one message set; return the ``…Rs`` elements in order."""
    return list(check_answer(qb.process(envelope(*requests, on_error=on_error))))


def one(qb: SimulatedQuickBooks, request: str) -> etree._Element:
    """Send one request; return its ``…Rs``."""
    (rs,) = send(qb, request)
    return rs


def status(rs: etree._Element) -> tuple[int, str, str]:
    """``(statusCode, statusSeverity, statusMessage)`` of an ``…Rs``."""
    return int(rs.get("statusCode", "")), rs.get("statusSeverity", ""), rs.get("statusMessage", "")


def ret(rs: etree._Element) -> etree._Element:
    """The single ``…Ret`` of an answer."""
    assert len(rs) == 1, etree.tostring(rs)
    return rs[0]


def value(element: etree._Element, path: str) -> str:
    """The text at ``path`` (which must exist)."""
    found = element.find(path)
    assert found is not None, f"{path} missing in {etree.tostring(element)!r}"
    return found.text or ""


@dataclass
class Clock:
    """A clock the test moves by hand."""

    now: datetime = datetime(2024, 3, 1, 15, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: int = 1) -> None:
        self.now += timedelta(seconds=seconds)


# ----------------------------------------------------------------------------- request snippets


def vendor_add(name: str, request_id: str = "1") -> str:
    return (
        f'<VendorAddRq requestID="{request_id}">'
        f"<VendorAdd><Name>{name}</Name></VendorAdd></VendorAddRq>"
    )


def customer_add(name: str, request_id: str = "1", parent: str | None = None) -> str:
    parent_ref = f"<ParentRef><FullName>{parent}</FullName></ParentRef>" if parent else ""
    return (
        f'<CustomerAddRq requestID="{request_id}"><CustomerAdd><Name>{name}</Name>'
        f"{parent_ref}</CustomerAdd></CustomerAddRq>"
    )


def item_add(
    name: str, request_id: str = "1", *, cost: str = "10.00", accounts: str = ACCOUNTS
) -> str:
    return (
        f'<ItemInventoryAddRq requestID="{request_id}"><ItemInventoryAdd><Name>{name}</Name>'
        f"<SalesDesc>{name}</SalesDesc>"
        + accounts.replace(
            "</IncomeAccountRef>", f"</IncomeAccountRef><PurchaseCost>{cost}</PurchaseCost>", 1
        )
        + "</ItemInventoryAdd></ItemInventoryAddRq>"
    )


def po_line(item: str, quantity: str, rate: str | None = None, extra: str = "") -> str:
    rate_el = f"<Rate>{rate}</Rate>" if rate is not None else ""
    return (
        f"<PurchaseOrderLineAdd><ItemRef><FullName>{item}</FullName></ItemRef>"
        f"<Quantity>{quantity}</Quantity>{rate_el}{extra}</PurchaseOrderLineAdd>"
    )


def po_add(
    vendor: str,
    *lines: str,
    ref_number: str | None = "PO-1",
    before_ref: str = "",
    after_ref: str = "",
    request_id: str = "1",
) -> str:
    """A PurchaseOrderAddRq; ``before_ref`` holds ShipToEntityRef/TxnDate, ``after_ref`` Memo."""
    ref = f"<RefNumber>{ref_number}</RefNumber>" if ref_number is not None else ""
    return (
        f'<PurchaseOrderAddRq requestID="{request_id}"><PurchaseOrderAdd>'
        f"<VendorRef><FullName>{vendor}</FullName></VendorRef>{before_ref}{ref}{after_ref}"
        + "".join(lines)
        + "</PurchaseOrderAdd></PurchaseOrderAddRq>"
    )
