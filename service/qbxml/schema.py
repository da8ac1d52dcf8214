"""The qbXML 13.0 schema, and validation of qbXML documents against it.

The XSD files in ``xsd/`` are Intuit's qbXML 13.0 validator schemas, copied byte for byte from
``shared/reference/qbxml/xsd/v13`` (origin and terms in ``xsd/SOURCES.md``). QuickBooks rejects a
whole message set whose elements are out of order or unknown (HRESULT 0x80040400), so every request
atqb builds is checked against this schema in the tests, and the simulated QuickBooks rejects what
the schema rejects.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from lxml import etree

from service.xmlsafe import parse_bytes


@cache
def qbxml_schema() -> etree.XMLSchema:
    """The compiled qbXML 13.0 schema (compiled once per process)."""
    xsd_dir = resources.files("service.qbxml").joinpath("xsd")
    with resources.as_file(xsd_dir) as path:
        # The entry schema pulls its three siblings in with xsd:include, so it is parsed from disk.
        parser = etree.XMLParser(resolve_entities=False, no_network=True)
        document = etree.parse(str(path / "qbxmlops130.xsd"), parser)
        return etree.XMLSchema(document)


def schema_errors(document: str | bytes | etree._Element) -> list[str]:
    """Return the schema violations of a qbXML document, empty when it is valid."""
    if isinstance(document, etree._Element):
        tree = document
    else:
        raw = document.encode("utf-8") if isinstance(document, str) else document
        try:
            tree = parse_bytes(raw)
        except etree.XMLSyntaxError as exc:
            return [f"not well-formed XML: {exc}"]
    schema = qbxml_schema()
    if schema.validate(tree):
        return []
    return [f"line {e.line}: {e.message}" for e in schema.error_log]  # type: ignore[attr-defined]
