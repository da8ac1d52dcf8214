"""One safe way to parse XML from outside: no entities, no DTD network access, bounded trees.

Every XML document atqb reads comes from outside (the Web Connector, QuickBooks, an attacker
pretending to be either). lxml's defaults resolve internal entities, which makes
"billion laughs" payloads expand; these parsers refuse them instead.
"""

from __future__ import annotations

from lxml import etree


class UnsafeXMLError(ValueError):
    """The document declares a DTD or entities, which atqb never accepts."""


def _parser(*, huge_tree: bool = False) -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=huge_tree,
        remove_comments=True,
        remove_pis=False,
    )


def parse_bytes(raw: bytes, *, huge_tree: bool = False) -> etree._Element:
    """Parse a complete document from bytes and return its root element.

    Raises :class:`UnsafeXMLError` when the document has a DOCTYPE (the only way to declare
    entities), and ``lxml.etree.XMLSyntaxError`` when it is not well-formed.
    """
    root = etree.fromstring(raw, _parser(huge_tree=huge_tree))
    docinfo = root.getroottree().docinfo
    if getattr(docinfo, "doctype", "") or docinfo.internalDTD is not None:
        raise UnsafeXMLError("XML with a DOCTYPE (entity declarations) is refused")
    return root


def strip_declaration(text: str) -> str:
    """Remove a leading ``<?xml ...?>`` declaration from an already-decoded string.

    QuickBooks' answers arrive as decoded text inside the SOAP body; some Web Connector builds
    announce a code page in the declaration, and lxml refuses a ``str`` that declares an encoding
    (reference/qbwc.md 9.4). The text is already Unicode, so the declaration carries nothing.
    """
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped.startswith("<?xml"):
        end = stripped.find("?>")
        if end != -1:
            return stripped[end + 2 :]
    return stripped


def parse_text(text: str, *, huge_tree: bool = False) -> etree._Element:
    """Parse a decoded XML string (its declaration, if any, is ignored)."""
    return parse_bytes(strip_declaration(text).encode("utf-8"), huge_tree=huge_tree)
