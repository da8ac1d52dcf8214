"""One safe way to parse XML from outside: no entities, no DTD network access, bounded trees.

Every XML document atqb reads comes from outside (the Web Connector, QuickBooks, an attacker
pretending to be either). lxml's defaults resolve internal entities, which makes
"billion laughs" payloads expand; these parsers refuse them instead.
"""

from __future__ import annotations

from typing import TypedDict

from lxml import etree


class UnsafeXMLError(ValueError):
    """The document declares a DTD or entities, which atqb never accepts."""


class ParserOptions(TypedDict):
    """Keyword arguments of an lxml parser."""

    resolve_entities: bool
    no_network: bool
    load_dtd: bool
    dtd_validation: bool
    huge_tree: bool
    remove_comments: bool


def parser_options(*, huge_tree: bool = False) -> ParserOptions:
    """The options of every lxml parser that reads outside XML (also the streaming ones)."""
    return ParserOptions(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=huge_tree,
        remove_comments=True,
    )


def _parser(*, huge_tree: bool = False) -> etree.XMLParser:
    return etree.XMLParser(**parser_options(huge_tree=huge_tree))


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
    """Parse a decoded XML string (its declaration, if any, is ignored).

    A lone surrogate (which no XML text can hold) is passed on as the bytes it would be, so
    libxml2 refuses it like any other character that is not UTF-8: one error for all bad text.
    """
    raw = strip_declaration(text).encode("utf-8", "surrogatepass")
    return parse_bytes(raw, huge_tree=huge_tree)
