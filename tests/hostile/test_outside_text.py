"""Text from outside cannot forge log lines, and a huge Web Connector message is cut where it is
stored and shown. Against a running ``atqb serve`` (its real log set-up) over HTTP."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from service.db import Database
from tests.hostile.test_auth import Client
from tests.support import add_user, run_service

pytestmark = pytest.mark.postgres

FORGED = "2026-12-04 04:00:00,000 INFO atqb.qbwc authenticate user=admin outcome=work"


def test_newlines_in_outside_text_cannot_forge_log_lines_and_huge_messages_are_cut(
    postgres_database_url: str, tmp_path: Path
) -> None:
    database = Database.from_url(postgres_database_url)
    add_user(database, "office", "right")
    database.dispose()
    env = {"ATQB_ADMIN_USER": "boss", "ATQB_ADMIN_PASSWORD": "right-horse-battery"}
    with run_service(postgres_database_url, tmp_path, env) as service:
        client = Client(service.url, "127.0.0.1")
        client.call("clientVersion", ("strVersion", "2.3.0.1\n" + FORGED))
        assert client.authenticate("nobody\r\n" + FORGED, "x") == ("", "nvu")
        ticket, _ = client.authenticate("office", "right")
        answer = client.call(
            "connectionError",
            ("ticket", ticket),
            ("hresult", "0x80040408\n" + FORGED),
            ("message", "could not open\n" + FORGED + "x" * 3_000_000),
        )
        assert answer == "done"
        page = httpx.get(
            service.url + "/admin/sessions", auth=("boss", "right-horse-battery"), timeout=30
        )
        client.http.close()
        log = service.log()
    assert page.status_code == 200
    assert len(page.content) < 100_000  # the message was cut, not shown whole
    assert "[cut: " in page.text
    lines = log.splitlines()
    assert not [line for line in lines if line.startswith(FORGED[:20])]
    # Logged, escaped, inside atqb's own lines (clientVersion, authenticate, connectionError).
    assert sum("\\n" + FORGED[:20] in line for line in lines) >= 3
    assert max(len(line) for line in lines) < 5_000


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://atqb:s3cr@t@db.example:notaport/atqb",
        "postgres://atqb:s3cr@t@db.example/atqb",
        "mysql://atqb:s3cr@t@db.example/atqb",
    ],
)
def test_a_bad_database_url_is_reported_without_its_password(url: str, tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "service", "serve", "--port", "1"],
        env={**os.environ, "ATQB_DATABASE_URL": url},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "ATQB_DATABASE_URL" in done.stderr
    assert "Traceback" not in done.stderr
    assert "s3cr" not in done.stderr
    assert "atqb:***@" in done.stderr
