"""The order of child elements inside a qbXML ``…Ret`` aggregate, read from the packaged XSD.

QuickBooks answers with elements in schema order, and a reader that validates answers (as atqb's
tests do) rejects anything else. Rather than copy dozens of orderings by hand, the simulator reads
them from the packaged qbXML 13.0 schema (``service/qbxml/xsd``), the same files used to validate
requests, so an answer it builds is in schema order by construction.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from importlib import resources

from lxml import etree

from service.xmlsafe import parse_bytes

_XS = "{http://www.w3.org/2001/XMLSchema}"
_FILES = ("qbxml130.xsd", "qbxmltypes130.xsd", "qbxmlops130.xsd")


class _Schema:
    def __init__(self) -> None:
        self.elements: dict[str, etree._Element] = {}
        self.groups: dict[str, etree._Element] = {}
        self.types: dict[str, etree._Element] = {}
        xsd_dir = resources.files("service.qbxml").joinpath("xsd")
        for name in _FILES:
            root = parse_bytes(xsd_dir.joinpath(name).read_bytes(), huge_tree=True)
            for node in root:
                key = node.get("name")
                if key is None:
                    continue
                if node.tag == _XS + "element":
                    self.elements[key] = node
                elif node.tag == _XS + "group":
                    self.groups[key] = node
                elif node.tag == _XS + "complexType":
                    self.types[key] = node

    def complex_type(self, element: etree._Element) -> etree._Element | None:
        type_name = element.get("type")
        if type_name is not None:
            return self.types.get(type_name)
        for child in element:
            if child.tag == _XS + "complexType":
                return child
        return None

    def child_names(self, node: etree._Element) -> Iterator[str]:
        """Names of the child elements a content model allows, in document order."""
        for child in node:
            tag = child.tag
            if tag == _XS + "element":
                yield child.get("name") or child.get("ref") or ""
            elif tag == _XS + "group":
                yield from self.child_names(self.groups[child.get("ref") or ""])
            elif tag == _XS + "extension":
                base = self.types.get(child.get("base") or "")
                if base is not None:
                    yield from self.child_names(base)
                yield from self.child_names(child)
            elif tag in (
                _XS + "sequence",
                _XS + "choice",
                _XS + "complexContent",
                _XS + "complexType",
            ):
                yield from self.child_names(child)


@cache
def _schema() -> _Schema:
    return _Schema()


@cache
def child_order(element_name: str) -> dict[str, int]:
    """Map each child element name a global element allows to its position in schema order.

    Raises ``KeyError`` for a name that is not a global element of the schema.
    """
    schema = _schema()
    content = schema.complex_type(schema.elements[element_name])
    order: dict[str, int] = {}
    if content is not None:
        for name in schema.child_names(content):
            order.setdefault(name, len(order))
    return order
