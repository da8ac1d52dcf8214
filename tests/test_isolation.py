"""The suite is isolated from the developer's environment: a ``.env`` in the working directory
pytest runs in, or ``ATQB_*`` variables in the shell, change no test's outcome."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

#: Tests whose outcome depends on the settings they read (defaults, a database URL, the batch
#: size, the transfer mode), run in a pytest of their own.
SETTINGS_DEPENDENT = [
    "tests/test_settings.py::test_defaults_are_those_of_the_contract",
    "tests/test_retention.py::test_prune_after_days_setting",
    "tests/test_cli.py::test_unmigrated_database_is_explained",
    "tests/sync/test_enqueue.py::test_on_hand_counts_are_recorded_for_the_sync_to_read",
]

#: Valid values that would change what those tests see, and invalid ones that would stop
#: every settings read; in .env and in the shell.
HOSTILE_DOTENV = (
    "ATQB_DATABASE_URL=postgresql+psycopg://nobody:wrong@192.0.2.1:1/none\n"
    "ATQB_PRUNE_AFTER_DAYS=7\n"
    "ATQB_TRANSFER_MODE=unreceived\n"
    "ATQB_POLL_INTERVAL=60\n"
)
HOSTILE_SHELL = {
    "ATQB_TRANSFER_SELECTION": "manual",
    "ATQB_INCOME_ACCOUNT": "Somebody Else's Income",
    "ATQB_BATCH_SIZE": "0",
}


def _pytest(cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-m",
            "not postgres",
            *(str(REPO / test) for test in SETTINGS_DEPENDENT),
        ],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_dotenv_in_the_working_directory_and_atqb_variables_change_no_outcome(
    tmp_path: Path,
) -> None:
    (tmp_path / ".env").write_text(HOSTILE_DOTENV, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATQB_") or "_TEST_" in k}
    done = _pytest(tmp_path, {**env, **HOSTILE_SHELL})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert f"{len(SETTINGS_DEPENDENT)} passed" in done.stdout
    assert (tmp_path / ".env").read_text(encoding="utf-8") == HOSTILE_DOTENV
    assert not (tmp_path / "atqb.db").exists()
