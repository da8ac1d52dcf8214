"""The seam between a (simulated) Web Connector and a (simulated or real) QuickBooks.

The real Web Connector hands each qbXML message to QuickBooks' request processor
(``QBXMLRP2.RequestProcessor.ProcessRequest``) and posts the answer back; when the processor
throws, the Web Connector posts an empty response with the HRESULT and its message instead
(reference/qbwc.md 4 and 6.3).
"""

from __future__ import annotations

from typing import Protocol


class QuickBooksHResultError(Exception):
    """The request processor threw: the whole message set got no qbXML answer."""

    def __init__(self, hresult: str, message: str) -> None:
        super().__init__(f"{hresult}: {message}")
        self.hresult = hresult
        self.message = message


#: QuickBooks could not parse the message set (bad element order, unknown element, bad character).
HRESULT_PARSE_ERROR = "0x80040400"
#: QuickBooks could not be started or the company file could not be opened.
HRESULT_COULD_NOT_START = "0x80040408"


class RequestProcessor(Protocol):
    """Anything that answers a qbXML request message the way QuickBooks does."""

    def process(self, request_xml: str) -> str:
        """Process one qbXML message set and return the qbXML answer.

        Raises :class:`QuickBooksHResultError` where QuickBooks' request processor throws.
        """
        ...
