"""A PostgreSQL server of the test's own, in a temporary directory, that it may stop and start.

The fault-injection test restarts PostgreSQL under a running service; doing that to the
machine's shared server would disturb everything else using it, so the test runs its own
(``initdb`` from ``/usr/lib/postgresql/*/bin``, trust authentication, loopback only, as the
``postgres`` user when the tests run as root: ``initdb`` refuses root).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from sqlalchemy.engine import URL

from tests.support import free_port


def server_binaries() -> Path:
    """The newest ``/usr/lib/postgresql/*/bin`` with ``initdb``; a clear error without one."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if not found:
        raise RuntimeError(
            "no PostgreSQL server binaries in /usr/lib/postgresql/*/bin: install the postgresql "
            "package (the fault-injection test runs a server of its own)"
        )
    return found[-1].parent


class PrivatePostgres:
    """``initdb`` in a new temporary directory (outside pytest's, which the ``postgres`` user
    cannot enter) on a free port; :meth:`stop` and :meth:`start` at will, :meth:`remove` at the
    end."""

    def __init__(self) -> None:
        self.bin = server_binaries()
        self.directory = directory = Path(tempfile.mkdtemp(prefix="atqb-pg-"))
        self.data = directory / "data"
        self.port = free_port()
        self.log = directory / "postgres.log"
        self._as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._as_postgres:
            shutil.chown(directory, "postgres")
        try:
            self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-EUTF8")
        except BaseException:
            shutil.rmtree(directory, ignore_errors=True)
            raise

    def url(self, database: str = "postgres") -> str:
        """The SQLAlchemy URL of a database on this server."""
        return URL.create(
            "postgresql+psycopg", "postgres", host="127.0.0.1", port=self.port, database=database
        ).render_as_string(False)

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server; ``immediate`` is a crash (recovery runs at the next start)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def remove(self) -> None:
        """Stop the server if it runs and delete its files."""
        try:
            if self.running():
                self.stop()
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)

    def running(self) -> bool:
        """Whether the server runs."""
        status = subprocess.run(
            [*self._as_postgres, str(self.bin / "pg_ctl"), "-D", str(self.data), "status"],
            capture_output=True,
            check=False,
        )
        return status.returncode == 0

    def _run(self, program: str, *args: str) -> None:
        done = subprocess.run(
            [*self._as_postgres, str(self.bin / program), *args],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            log = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
            raise RuntimeError(f"{program} {' '.join(args)} failed:\n{done.stderr}\n{log}")
