"""`atqb poll` and `atqb demo` as processes: the loop stops cleanly on SIGTERM and Ctrl-C; the
demo runs with nothing configured and exits 0."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
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


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT])
def test_poll_runs_cycles_until_sigterm_or_ctrl_c(how: signal.Signals, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'poll.db'}"
    database = Database.from_url(url)
    upgrade(database)
    add_user(database, "office", "pw")
    database.dispose()
    with SimulatedAutotask() as tenant:
        populate(tenant)
        env = _clean_env(
            ATQB_DATABASE_URL=url,
            ATQB_AUTOTASK_USERNAME=tenant.username,
            ATQB_AUTOTASK_SECRET=tenant.secret,
            ATQB_AUTOTASK_INTEGRATION_CODE=tenant.integration_code,
            ATQB_AUTOTASK_BASE_URL=tenant.local_base_url,
            ATQB_POLL_INTERVAL="3600",
        )
        process = subprocess.Popen(
            [sys.executable, "-m", "service", "poll"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
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
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert process.returncode == 0, err
    assert "atqb poll: stopped" in out
    assert "purchase_order 2" in lines[-1]


def test_demo_runs_with_nothing_configured_and_exits_0(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "service", "demo"],
        cwd=tmp_path,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for expected in (
        "purchase orders created",
        "item receipts created",
        "inventory adjustments applied",
        "External P.O. # written back",
        COLLIDING_PRODUCT,
        "non-inventory part",
        "What to do next",
    ):
        assert expected in out, out
    assert list(tmp_path.iterdir()) == []  # nothing left behind
