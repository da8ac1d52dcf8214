"""Slow clients against a running ``atqb serve``: hundreds of connections that send their request
a byte at a time must neither starve other clients nor stay open past the request deadline."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import httpx
import pytest

from tests.support import run_service

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

SLOW_CLIENTS = 300
HEAD = b"POST /qbwc HTTP/1.1\r\nHost: atqb\r\nContent-Type: text/xml\r\nContent-Length: 100000\r\n"


def _open_slow(port: int, count: int) -> list[socket.socket]:
    """``count`` connections that have sent only the start of a request."""
    sockets = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(b"P")
        sockets.append(sock)
    return sockets


def _trickle(sockets: list[socket.socket], position: int) -> list[socket.socket]:
    """Send each open connection its next byte; return those still open."""
    alive = []
    byte = HEAD[position % len(HEAD) : position % len(HEAD) + 1]
    for sock in sockets:
        try:
            sock.sendall(byte)
        except OSError:
            sock.close()
            continue
        alive.append(sock)
    return alive


def test_byte_a_second_clients_neither_starve_others_nor_stay(
    postgres_database_url: str, tmp_path: Path
) -> None:
    env = {"ATQB_REQUEST_DEADLINE": "6"}
    with run_service(postgres_database_url, tmp_path, env) as service:
        port = int(service.url.rsplit(":", 1)[1])
        sockets = _open_slow(port, SLOW_CLIENTS)
        try:
            waits = []
            started = time.monotonic()
            position = 1
            # Byte by byte, once a second, for longer than the deadline: each byte would reset
            # an idle timeout.
            while time.monotonic() - started < 12:
                sockets = _trickle(sockets, position)
                position += 1
                before = time.monotonic()
                answer = httpx.get(service.url + "/healthz", timeout=10)
                waits.append(time.monotonic() - before)
                assert answer.status_code == 200
                time.sleep(max(0.0, 1 - waits[-1]))
            # Everyone else was answered within a few seconds all along...
            assert max(waits) < 3, waits
            # ...and the trickling connections were dropped at the deadline (6 s), however
            # busy they kept themselves.
            for _ in range(2):
                sockets = _trickle(sockets, position)
                position += 1
                time.sleep(0.2)
            assert sockets == []
        finally:
            for sock in sockets:
                sock.close()
