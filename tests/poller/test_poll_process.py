"""`atqb poll` and `atqb demo` as processes: the loop stops cleanly on SIGTERM and Ctrl-C, and
waits, saying what is missing, until the Autotask credentials and a Web Connector user exist; the
demo runs with nothing configured and exits 0, and the database it keeps opens with the commands
it suggests."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from service.db import Database
from service.migrate import upgrade
from service.simulators.autotask import COLLIDING_PRODUCT, SimulatedAutotask
from tests.poller.helpers import populate
from tests.support import add_user

REPO = Path(__file__).resolve().parents[2]


def _clean_env(**more: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATQB_")}
    env["PYTHONPATH"] = str(REPO)
    env.update(more)
    return env


def _credentials(tenant: SimulatedAutotask) -> dict[str, str]:
    return {
        "ATQB_AUTOTASK_USERNAME": tenant.username,
        "ATQB_AUTOTASK_SECRET": tenant.secret,
        "ATQB_AUTOTASK_INTEGRATION_CODE": tenant.integration_code,
        "ATQB_AUTOTASK_BASE_URL": tenant.local_base_url,
    }


@contextmanager
def _polling(cwd: Path, **env: str) -> Iterator[subprocess.Popen[str]]:
    """``atqb poll`` (the loop) with nothing configured but ``env``, every hour by default;
    killed at the end if it still runs."""
    process = subprocess.Popen(
        [sys.executable, "-m", "service", "poll"],
        cwd=cwd,
        env=_clean_env(**{"ATQB_POLL_INTERVAL": "3600", **env}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT])
def test_poll_runs_cycles_until_sigterm_or_ctrl_c(how: signal.Signals, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'poll.db'}"
    database = Database.from_url(url)
    upgrade(database)
    add_user(database, "office", "pw")
    database.dispose()
    with SimulatedAutotask() as tenant:
        populate(tenant)
        with _polling(tmp_path, **_credentials(tenant), ATQB_DATABASE_URL=url) as process:
            assert process.stdout is not None
            lines = []
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                line = process.stdout.readline()
                lines.append(line)
                if line.startswith("poll cycle #1"):
                    break
            assert lines[-1].startswith("poll cycle #1 ok"), lines
            process.send_signal(how)
            out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "atqb poll: stopped" in out
    assert "purchase_order 2" in lines[-1]


def _atqb(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``atqb ARGS`` in ``cwd`` with nothing configured but ``env``."""
    return subprocess.run(
        [sys.executable, "-m", "service", *args],
        cwd=cwd,
        env=_clean_env(**env),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_demo_tells_the_same_story_in_a_configured_folder_and_leaves_nothing(
    tmp_path: Path,
) -> None:
    # The operator's own settings, in .env and in the environment, are not the demo's.
    dotenv = "ATQB_INCOME_ACCOUNT=Our Own Income\nATQB_TRANSFER_MODE=unreceived\n"
    (tmp_path / ".env").write_text(dotenv, encoding="utf-8")
    done = _atqb(
        "demo",
        cwd=tmp_path,
        ATQB_TRANSFER_SINCE="2099-01-01",
        ATQB_REACTIVATE_INACTIVE="true",
        ATQB_QBWC_USER="office",
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for expected in (
        "  1  account checks passed",
        "  5  purchase orders created",
        "item receipts created",
        "inventory adjustments applied",
        "External P.O. # written back",
        COLLIDING_PRODUCT,
        "non-inventory part",
        "Failed: 2 job(s) QuickBooks refused",
        "Held back by the poller: 2 PO(s)",
        "What to do next",
        "atqb demo --keep DIR",
    ):
        assert expected in out, out
    assert [p.name for p in tmp_path.iterdir()] == [".env"]  # nothing left behind


def _suggested_commands(out: str) -> tuple[str, list[list[str]]]:
    """The database URL the demo's advice exports, and the atqb commands it suggests."""
    url, commands = "", []
    for line in out.splitlines():
        words = shlex.split(line.strip()) if line.startswith("      ") else []
        if words[:1] == ["export"]:
            url = words[1].removeprefix("ATQB_DATABASE_URL=")
        elif words[:1] == ["atqb"]:
            commands.append(words[1:])
    return url, commands


def test_demo_keep_leaves_a_database_its_suggested_commands_open(tmp_path: Path) -> None:
    kept = tmp_path / "kept demo"
    done = _atqb("demo", "--keep", str(kept), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    # The POs the poller held back, each with its reason.
    assert re.search(r"PO \d+ · TD SYNNEX \(Autotask id \d+\): Canceled and never transferred", out)
    assert re.search(
        r"PO \d+ · Ingram Micro \(Autotask id \d+\): submitted \d{4}-\d\d-\d\d, before the "
        r"transfer cutoff",
        out,
    )
    url, commands = _suggested_commands(out)
    assert url == f"sqlite:///{kept / 'demo.db'}"
    assert [c[:2] for c in commands] == [
        ["jobs", "list"],
        ["jobs", "show"],
        ["users", "list"],
        ["jobs", "retry"],
    ]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    seen = {}
    for command in commands:
        ran = _atqb(*command, cwd=elsewhere, ATQB_DATABASE_URL=url)
        assert ran.returncode == 0, (command, ran.stderr)
        seen[" ".join(command[:2])] = ran.stdout
    assert "3100" in seen["jobs show"]
    assert "failed" in seen["jobs list"]
    assert seen["users list"].startswith("demo ")
    assert "is now pending" in seen["jobs retry"]
    assert list(elsewhere.iterdir()) == []


def test_demo_keep_refuses_a_folder_with_a_demo_database_in_it(tmp_path: Path) -> None:
    (tmp_path / "demo.db").write_bytes(b"an earlier demo")
    done = _atqb("demo", "--keep", str(tmp_path), cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr == (
        f"atqb: error: {tmp_path / 'demo.db'} exists already (from an earlier demo?): remove it "
        "or give --keep another folder\n"
    )
    assert (tmp_path / "demo.db").read_bytes() == b"an earlier demo"


def _migrated(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'poll.db'}"
    database = Database.from_url(url)
    upgrade(database)
    database.dispose()
    return url


def _add_office(url: str) -> None:
    database = Database.from_url(url)
    add_user(database, "office", "pw")
    database.dispose()


def _next_line(process: subprocess.Popen[str], starting: str) -> str:
    """The next line of the process' output that starts with ``starting``."""
    assert process.stdout is not None
    seen: list[str] = []
    while True:
        line = process.stdout.readline()
        assert line, f"the process ended ({process.poll()}); it printed {seen}"
        if line.startswith(starting):
            return line
        seen.append(line)


def _stop(process: subprocess.Popen[str]) -> tuple[int, str]:
    process.send_signal(signal.SIGTERM)
    out, _err = process.communicate(timeout=30)
    return process.returncode, out


MISSING_CREDENTIALS = (
    "ATQB_AUTOTASK_USERNAME, ATQB_AUTOTASK_SECRET, "
    "ATQB_AUTOTASK_INTEGRATION_CODE are not set; the Autotask API user's name, secret and "
    "integration code are all needed (set them in .env or the environment, then start atqb "
    "poll again; with Docker Compose: docker compose up -d)"
)
NO_USER = (
    "there is no Web Connector user yet: add one with `atqb users add NAME --company-file PATH` "
    "(the poller's jobs are for its company file)"
)


def test_poll_waits_saying_what_is_missing_instead_of_exiting(tmp_path: Path) -> None:
    url = _migrated(tmp_path)
    with _polling(tmp_path, ATQB_DATABASE_URL=url, ATQB_POLL_INTERVAL="1") as process:
        both = f"atqb poll: waiting: {MISSING_CREDENTIALS}; and {NO_USER}; checking again in 1 s\n"
        assert _next_line(process, "atqb poll: waiting") == both
        assert _next_line(process, "atqb poll: waiting") == both  # said again, still running
        _add_office(url)  # the users it waits for are read every time
        line = _next_line(process, "atqb poll: waiting")
        while line == both:
            line = _next_line(process, "atqb poll: waiting")
        assert line == f"atqb poll: waiting: {MISSING_CREDENTIALS}; checking again in 1 s\n"
        assert process.poll() is None
        code, out = _stop(process)
    assert code == 0
    assert out.rstrip().endswith("atqb poll: stopped")


def test_poll_starts_polling_once_the_user_it_waits_for_exists(tmp_path: Path) -> None:
    url = _migrated(tmp_path)
    with SimulatedAutotask() as tenant:
        populate(tenant)
        env = {**_credentials(tenant), "ATQB_DATABASE_URL": url, "ATQB_POLL_INTERVAL": "1"}
        with _polling(tmp_path, **env) as process:
            waiting = _next_line(process, "atqb poll: waiting")
            assert waiting == f"atqb poll: waiting: {NO_USER}; checking again in 1 s\n"
            _add_office(url)
            assert "for Web Connector user 'office'" in _next_line(process, "atqb poll: polling")
            assert _next_line(process, "poll cycle #1").startswith("poll cycle #1 ok")
            code, _ = _stop(process)
    assert code == 0


@pytest.mark.parametrize("mode", ["--once", "--dry-run"])
def test_poll_once_and_dry_run_fail_at_once_without_credentials(mode: str, tmp_path: Path) -> None:
    done = _atqb("poll", mode, cwd=tmp_path, ATQB_DATABASE_URL=_migrated(tmp_path))
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1] == f"atqb: error: {MISSING_CREDENTIALS}; and {NO_USER}"
