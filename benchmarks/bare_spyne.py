"""The baselines of ``bench_roundtrip.py``: bare spyne with the Web Connector's eight methods,
served by waitress like ``atqb serve`` (same protocol settings: lxml validation, ``huge_tree``).
It hands out ``--jobs`` CompanyQuery requests, one per round trip, then ends.

Without ``--durable`` it keeps nothing. With ``--durable URL`` (a PostgreSQL database) each
sendRequestXML and receiveResponseXML also commits one one-row ``UPDATE`` durably, through
psycopg without an ORM: the least any service can cost that records each request before sending
it and each answer before acknowledging it (the durable floor of a round trip).

    .venv/bin/python benchmarks/bare_spyne.py --port PORT [--jobs N] [--batch B] [--durable URL]
"""

from __future__ import annotations

import argparse
import itertools
import threading
import uuid
from collections.abc import Callable
from typing import Any

import psycopg
from spyne import Application, Array, Integer, ServiceBase, Unicode, rpc
from spyne.protocol.soap import Soap11
from spyne.server.wsgi import WsgiApplication
from waitress import serve

NAMESPACE = "http://developer.intuit.com/"
ArrayOfString = Array(Unicode, type_name="ArrayOfString")


#: The one-row table the durable floor writes to (made by :func:`durable_writer`).
FLOOR_TABLE = "bench_floor"


def durable_writer(url: str) -> Callable[[], None]:
    """A function that commits one one-row ``UPDATE`` to ``url``, durably (a connection per
    waitress thread)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE IF NOT EXISTS {FLOOR_TABLE} (id int PRIMARY KEY, n bigint)")
        conn.execute(f"INSERT INTO {FLOOR_TABLE} VALUES (1, 0) ON CONFLICT DO NOTHING")
    local = threading.local()

    def write() -> None:
        if not hasattr(local, "conn"):
            local.conn = psycopg.connect(url)
        with local.conn.transaction():
            local.conn.execute(f"UPDATE {FLOOR_TABLE} SET n = n + 1 WHERE id = %s", (1,))

    return write


def _nothing() -> None:
    pass


def application(jobs: int, batch: int, write: Callable[[], None] = _nothing) -> WsgiApplication:
    """The WSGI application: ``jobs`` CompanyQuery requests, ``batch`` per message; ``write``
    runs once in each sendRequestXML and receiveResponseXML."""
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
            write()
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
            write()
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
    parser.add_argument("--durable", metavar="URL", help="commit one write per call here")
    args = parser.parse_args()
    write = durable_writer(args.durable) if args.durable else _nothing
    app = application(args.jobs, args.batch, write)
    serve(app, host="127.0.0.1", port=args.port, threads=8)


if __name__ == "__main__":
    main()
