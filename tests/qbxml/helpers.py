"""Shared helpers for the qbXML tests: the reference schema, fixtures, canonical XML."""

from __future__ import annotations

from functools import cache

from lxml import etree

from service.qbxml.build import Request, message
from service.qbxml.schema import schema_errors
from tests.conftest import REFERENCE, REFERENCE_XSD

SAMPLES = REFERENCE / "qbxml" / "samples"


@cache
def reference_schema() -> etree.XMLSchema:
    """Intuit's qbXML 13.0 schema from the read-only reference copy (not the packaged one)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    return etree.XMLSchema(etree.parse(str(REFERENCE_XSD.resolve()), parser))


def schema_problems(document: str) -> list[str]:
    """Violations against the reference XSD and the packaged copy (both must be empty)."""
    tree = etree.fromstring(document.encode("ascii"))
    schema = reference_schema()
    # lxml-stubs leave _ErrorLog without __iter__; lxml's error log is iterable.
    errors = [] if schema.validate(tree) else list(schema.error_log)  # type: ignore[call-overload]
    problems = [f"reference: {e.message}" for e in errors]
    return problems + [f"packaged: {p}" for p in schema_errors(document)]


def assert_valid(*requests: Request) -> str:
    """Put ``requests`` into one message, check it against both schemas, return it."""
    document = message(requests)
    problems = schema_problems(document)
    assert not problems, "\n".join(problems) + "\n" + document
    return document


def c14n(xml: str | bytes) -> bytes:
    """Canonical XML (C14N) of a fragment or document, whitespace between elements removed."""
    raw = xml.encode("utf-8") if isinstance(xml, str) else xml
    parser = etree.XMLParser(remove_blank_text=True, resolve_entities=False, no_network=True)
    return etree.tostring(etree.fromstring(raw, parser), method="c14n")


def sample(relative: str) -> str:
    """The text of a file under reference/qbxml/samples."""
    return (SAMPLES / relative).read_text(encoding="utf-8")


def inventory_answer(count: int) -> str:
    """An ItemInventoryQueryRs with ``count`` realistic inventory parts (~930 bytes each)."""
    item = (
        "<ItemInventoryRet><ListID>8000{n:05X}-1231522945</ListID>"
        "<TimeCreated>2009-01-09T12:42:25-05:00</TimeCreated>"
        "<TimeModified>2009-01-09T12:42:25-05:00</TimeModified>"
        "<EditSequence>1231522945</EditSequence><Name>Part {n}</Name><FullName>Part {n}</FullName>"
        "<IsActive>true</IsActive><Sublevel>0</Sublevel><SalesDesc>Sales description of part "
        "{n}, long enough to look like a real one</SalesDesc><SalesPrice>85.00</SalesPrice>"
        "<IncomeAccountRef><ListID>420000-1128987409</ListID><FullName>Sales</FullName>"
        "</IncomeAccountRef><PurchaseCost>0.00</PurchaseCost><COGSAccountRef>"
        "<ListID>50001-1129079237</ListID><FullName>Cost of Goods Sold</FullName>"
        "</COGSAccountRef><AssetAccountRef><ListID>A20000-1155155306</ListID>"
        "<FullName>Inventory Asset</FullName></AssetAccountRef><QuantityOnHand>{n}</QuantityOnHand>"
        "<AverageCost>0.00</AverageCost><QuantityOnOrder>0</QuantityOnOrder>"
        "<QuantityOnSalesOrder>0</QuantityOnSalesOrder></ItemInventoryRet>"
    )
    body = "".join(item.format(n=n) for n in range(count))
    return (
        '<?xml version="1.0" ?><QBXML><QBXMLMsgsRs><ItemInventoryQueryRs requestID="big" '
        'statusCode="0" statusSeverity="Info" statusMessage="Status OK">'
        f"{body}</ItemInventoryQueryRs></QBXMLMsgsRs></QBXML>"
    )
