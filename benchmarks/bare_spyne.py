"""The baseline of ``bench_roundtrip.py``: bare spyne with the Web Connector's eight methods and
no persistence, served by waitress like ``atqb serve`` (same protocol settings: lxml validation,
``huge_tree``). It hands out ``--jobs`` CompanyQuery requests, one per round trip, then ends.

    .venv/bin/python benchmarks/bare_spyne.py --port PORT [--jobs N] [--batch B]
"""

from __future__ import annotations

import argparse
import itertools
import uuid
from typing import Any

from spyne import Application, Array, Integer, ServiceBase, Unicode, rpc
from spyne.protocol.soap import Soap11
from spyne.server.wsgi import WsgiApplication
from waitress import serve

NAMESPACE = "http://developer.intuit.com/"
ArrayOfString = Array(Unicode, type_name="ArrayOfString")


def application(jobs: int, batch: int) -> WsgiApplication:
    """The WSGI application: ``jobs`` CompanyQuery requests, ``batch`` per message."""
    numbers = itertools.count(1)
    left = [jobs]

    class QBWebConnectorSvc(ServiceBase):
        @rpc(Unicode, _returns=Unicode)
        def serverVersion(ctx: Any, strVersion: str | None) -> str:
            return "bare spyne"

        @rpc(Unicode, _returns=Unicode)
        def clientVersion(ctx: Any, strVersion: str | None) -> str:
            return ""

        @rpc(Unicode, Unicode, _returns=ArrayOfString)
        def authenticate(ctx: Any, strUserName: str | None, strPassword: str | None) -> list[str]:
            return [uuid.uuid4().hex, ""]

        @rpc(Unicode, Unicode, Unicode, Unicode, Integer, Integer, _returns=Unicode)
        def sendRequestXML(
            ctx: Any,
            ticket: Any,
            strHCPResponse: Any,
            strCompanyFileName: Any,
            qbXMLCountry: Any,
            qbXMLMajorVers: Any,
            qbXMLMinorVers: Any,
        ) -> str:
            count = min(batch, left[0])
            left[0] -= count
            body = "".join(f'<CompanyQueryRq requestID="{next(numbers)}"/>' for _ in range(count))
            return (
                '<?xml version="1.0" encoding="utf-8"?><?qbxml version="13.0"?><QBXML>'
                f'<QBXMLMsgsRq onError="continueOnError">{body}</QBXMLMsgsRq></QBXML>'
            )

        @rpc(Unicode, Unicode, Unicode, Unicode, _returns=Integer)
        def receiveResponseXML(
            ctx: Any, ticket: Any, response: Any, hresult: Any, message: Any
        ) -> int:
            return 100 if left[0] <= 0 else 50

        @rpc(Unicode, Unicode, Unicode, _returns=Unicode)
        def connectionError(ctx: Any, ticket: Any, hresult: Any, message: Any) -> str:
            return "done"

        @rpc(Unicode, _returns=Unicode)
        def getLastError(ctx: Any, ticket: Any) -> str:
            return ""

        @rpc(Unicode, _returns=Unicode)
        def closeConnection(ctx: Any, ticket: Any) -> str:
            return "OK"

    app = Application(
        [QBWebConnectorSvc],
        tns=NAMESPACE,
        name="QBWebConnectorSvc",
        in_protocol=Soap11(validator="lxml", huge_tree=True),
        out_protocol=Soap11(),
    )
    return WsgiApplication(app)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=1)
    args = parser.parse_args()
    serve(application(args.jobs, args.batch), host="127.0.0.1", port=args.port, threads=8)


if __name__ == "__main__":
    main()
