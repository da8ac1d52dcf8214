"""The Web Connector SOAP service (spyne): a thin translation onto the Exchange.

Namespace, operation names and parameter names are exactly those of Intuit's WSDL: the Web
Connector finds results by element name (reference/qbwc.md 2, 9.1). Text results are never
``None`` (spyne would omit the element; the Web Connector wants ``""``, qbwc.md 9.2).
"""

from __future__ import annotations

import logging
from typing import Any

from spyne import Application, Array, Fault, Integer, ServiceBase, Unicode, rpc
from spyne.protocol.soap import Soap11
from spyne.server.wsgi import WsgiApplication
from sqlalchemy.exc import SQLAlchemyError

from service.db import describe_outage
from service.webconnector.exchange import Exchange

NAMESPACE = "http://developer.intuit.com/"
ArrayOfString = Array(Unicode, type_name="ArrayOfString")

log = logging.getLogger("atqb.qbwc")


class DatabaseUnavailable(Fault):
    """The SOAP fault of a call made while the database cannot be reached. Nothing of the call
    was recorded; the Web Connector shows the text and tries again at its next scheduled run."""

    def __init__(self) -> None:
        super().__init__(
            "Server.DatabaseUnavailable",
            "atqb cannot reach its database right now; nothing was changed. The Web Connector "
            "will try again at its next scheduled update (the service's log has the details).",
        )


class _QuietAboutOutages(logging.Filter):
    """spyne logs every server fault with a traceback; an outage is already logged in one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], DatabaseUnavailable))


_SPYNE_LOG = logging.getLogger("spyne.application")
if not any(isinstance(f, _QuietAboutOutages) for f in _SPYNE_LOG.filters):
    _SPYNE_LOG.addFilter(_QuietAboutOutages())


#: Longest message of the Web Connector (receiveResponseXML's and connectionError's ``message``)
#: kept: anyone with a ticket could send megabytes, which would be stored and shown on /admin.
MESSAGE_CHARS = 2000
#: Longest HRESULT kept (a real one is ``0x`` and eight hex digits).
HRESULT_CHARS = 32


def _text(value: str | None) -> str:
    return value or ""


def _cut(value: str | None, limit: int) -> str:
    """``value`` cut to ``limit`` characters, saying so."""
    text = value or ""
    if len(text) <= limit:
        return text
    return text[:limit] + f"... [cut: {len(text)} characters]"


def soap_application(exchange: Exchange, *, max_body_bytes: int) -> WsgiApplication:
    """The WSGI application of the SOAP endpoint (``/qbwc``) for ``exchange``."""

    class QBWebConnectorSvc(ServiceBase):
        """The eight methods the Web Connector calls."""

        @classmethod
        def call_wrapper(cls, ctx: Any) -> Any:
            try:
                return super().call_wrapper(ctx)
            except SQLAlchemyError as exc:
                reason = describe_outage(exc)
                if reason is None:
                    raise
                log.error(
                    "%s outcome=database-unavailable: %s (answered with a SOAP fault; the "
                    "Web Connector tries again at its next run)",
                    ctx.method_name,
                    reason,
                )
                raise DatabaseUnavailable() from None

        @rpc(Unicode, _returns=Unicode)
        def serverVersion(ctx: Any, strVersion: str | None) -> str:  # noqa: ARG002 - the SOAP name
            return exchange.server_version()

        @rpc(Unicode, _returns=Unicode)
        def clientVersion(ctx: Any, strVersion: str | None) -> str:
            return exchange.client_version(_text(strVersion))

        @rpc(Unicode, Unicode, _returns=ArrayOfString)
        def authenticate(ctx: Any, strUserName: str | None, strPassword: str | None) -> list[str]:
            # For the login throttle (service/webconnector/throttle.py): the TCP peer, or the
            # client the trusted proxy forwarded for (ATQB_TRUSTED_PROXY, service/server.py).
            address = str(ctx.transport.req_env.get("REMOTE_ADDR") or "")
            return exchange.authenticate(_text(strUserName), _text(strPassword), address)

        @rpc(Unicode, Unicode, Unicode, Unicode, Integer, Integer, _returns=Unicode)
        def sendRequestXML(
            ctx: Any,
            ticket: str | None,
            strHCPResponse: str | None,
            strCompanyFileName: str | None,
            qbXMLCountry: str | None,
            qbXMLMajorVers: int | None,
            qbXMLMinorVers: int | None,
        ) -> str:
            return exchange.send_request_xml(
                _text(ticket),
                _text(strHCPResponse),
                _text(strCompanyFileName),
                _text(qbXMLCountry),
                qbXMLMajorVers,
                qbXMLMinorVers,
            )

        @rpc(Unicode, Unicode, Unicode, Unicode, _returns=Integer)
        def receiveResponseXML(
            ctx: Any,
            ticket: str | None,
            response: str | None,
            hresult: str | None,
            message: str | None,
        ) -> int:
            return exchange.receive_response_xml(
                _text(ticket),
                _text(response),
                _cut(hresult, HRESULT_CHARS),
                _cut(message, MESSAGE_CHARS),
            )

        @rpc(Unicode, Unicode, Unicode, _returns=Unicode)
        def connectionError(
            ctx: Any, ticket: str | None, hresult: str | None, message: str | None
        ) -> str:
            return exchange.connection_error(
                _text(ticket), _cut(hresult, HRESULT_CHARS), _cut(message, MESSAGE_CHARS)
            )

        @rpc(Unicode, _returns=Unicode)
        def getLastError(ctx: Any, ticket: str | None) -> str:
            return exchange.get_last_error(_text(ticket))

        @rpc(Unicode, _returns=Unicode)
        def closeConnection(ctx: Any, ticket: str | None) -> str:
            return exchange.close_connection(_text(ticket))

    application = Application(
        [QBWebConnectorSvc],
        tns=NAMESPACE,
        name="QBWebConnectorSvc",
        # huge_tree: a whole qbXML answer is ONE text node, and large query answers pass the
        # 10,000,000-character limit libxml2 otherwise applies (qbwc.md 9.3). Entities stay
        # unresolved and the network unreachable (spyne's parser defaults), and service.web
        # refuses any DOCTYPE before spyne sees the body.
        in_protocol=Soap11(validator="lxml", huge_tree=True),
        out_protocol=Soap11(),
    )
    return WsgiApplication(application, max_content_length=max_body_bytes)
