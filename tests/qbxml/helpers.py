"""Shared helpers for the qbXML tests: the reference schema, fixtures, canonical XML."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from lxml import etree

from service.qbxml.build import Request, message
from service.qbxml.schema import schema_errors

# tests/qbxml/helpers.py -> parents[2] is the repository; the references sit beside it.
SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
REFERENCE_XSD = SHARED / "reference" / "qbxml" / "xsd" / "v13" / "qbxmlops130.xsd"
SAMPLES = SHARED / "reference" / "qbxml" / "samples"


@cache
def reference_schema() -> etree.XMLSchema:
    """Intuit's qbXML 13.0 schema from the read-only reference copy (not the packaged one)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    return etree.XMLSchema(etree.parse(str(REFERENCE_XSD.resolve()), parser))


def schema_problems(document: str) -> list[str]:
    """Violations against the reference XSD and the packaged copy (both must be empty)."""
    tree = etree.fromstring(document.encode("ascii"))
    schema = reference_schema()
    problems = (
        [] if schema.validate(tree) else [f"reference: {e.message}" for e in schema.error_log]
    )
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
