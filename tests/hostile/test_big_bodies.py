"""Big unauthenticated bodies against a running ``atqb serve``: memory must stay bounded.

A body over the peek size must show a live session's ticket before its payload; without one it
is refused before the whole body is read into memory or parsed (waitress keeps a body over
512 kB in a temporary file until then).
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from service.simulators.webconnector import build_envelope, request_headers
from tests.support import run_service

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

CLIENTS = 8
BODY_MB = 16
#: What the server process may grow by while the big bodies arrive (it is ~20 MB per body and
#: several times that per body parsed without the ticket check).
ALLOWED_GROWTH_MB = 64


def _peak_rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"VmHWM:\s+(\d+) kB", status)
    assert match is not None
    return int(match.group(1)) / 1024


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc (Linux)")
def test_big_unauthenticated_bodies_are_refused_before_they_are_read(
    postgres_database_url: str, tmp_path: Path
) -> None:
    body = build_envelope(
        "receiveResponseXML",
        [
            ("ticket", "not-a-ticket"),
            ("response", "<QBXML>" + "x" * (BODY_MB << 20) + "</QBXML>"),
            ("hresult", ""),
            ("message", ""),
        ],
    )
    headers = request_headers("receiveResponseXML")
    del headers["Expect"]
    with run_service(postgres_database_url, tmp_path) as service:
        before = _peak_rss_mb(service.process.pid)

        def send(_: int) -> httpx.Response:
            return httpx.post(service.soap_url, content=body, headers=headers, timeout=120)

        with ThreadPoolExecutor(CLIENTS) as pool:
            answers = list(pool.map(send, range(CLIENTS)))
        growth = _peak_rss_mb(service.process.pid) - before
        assert growth < ALLOWED_GROWTH_MB, f"the server grew by {growth:.0f} MB"
        assert {answer.status_code for answer in answers} == {403}
        assert b"Client.Authentication" in answers[0].content
        # A Web Connector is still served.
        small = build_envelope("serverVersion", [])
        assert httpx.post(service.soap_url, content=small, headers=headers).status_code == 200
