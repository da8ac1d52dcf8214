"""`atqb users add` without --password-stdin prompts twice on the terminal and echoes nothing."""

from __future__ import annotations

import fcntl
import os
import pty
import subprocess
import sys
import termios
import time
from pathlib import Path

from service.db import Database
from service.exchange import utcnow
from service.sessions import Sessions, verify_password


def _read_until(fd: int, text: bytes, timeout: float = 20) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while text not in seen:
        if time.monotonic() > deadline:
            raise AssertionError(f"never saw {text!r}; got {seen!r}")
        try:
            chunk = os.read(fd, 1024)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    return seen


def _add_user_on_a_terminal(
    database_url: str, cwd: Path, first: str, second: str
) -> tuple[int, bytes]:
    main_fd, terminal_fd = pty.openpty()

    def become_terminal_owner() -> None:
        os.setsid()
        fcntl.ioctl(terminal_fd, termios.TIOCSCTTY, 0)

    process = subprocess.Popen(
        [sys.executable, "-m", "service", "users", "add", "office", "--company-file", ""],
        stdin=terminal_fd,
        stdout=terminal_fd,
        stderr=terminal_fd,
        cwd=cwd,
        env={**os.environ, "ATQB_DATABASE_URL": database_url},
        preexec_fn=become_terminal_owner,
    )
    os.close(terminal_fd)
    screen = _read_until(main_fd, b"Password")
    os.write(main_fd, first.encode() + b"\n")
    screen += _read_until(main_fd, b"Again")
    os.write(main_fd, second.encode() + b"\n")
    code = process.wait(timeout=30)
    try:
        while chunk := os.read(main_fd, 1024):
            screen += chunk
    except OSError:
        pass
    os.close(main_fd)
    return code, screen


def test_password_prompt_twice_without_echo(sqlite_database_url: str, tmp_path: Path) -> None:
    code, screen = _add_user_on_a_terminal(sqlite_database_url, tmp_path, "tr0ub4dor", "tr0ub4dor")
    assert code == 0, screen
    assert b"tr0ub4dor" not in screen
    assert b"added Web Connector user 'office'" in screen
    database = Database.from_url(sqlite_database_url)
    with database.transaction() as conn:
        user = Sessions(conn, utcnow()).find_user("office")
    database.dispose()
    assert verify_password(user, "tr0ub4dor")


def test_two_different_passwords_are_refused(sqlite_database_url: str, tmp_path: Path) -> None:
    code, screen = _add_user_on_a_terminal(sqlite_database_url, tmp_path, "one", "two")
    assert code == 1
    assert b"the two passwords differ" in screen


def test_without_a_terminal_or_password_stdin_it_says_how_to_give_the_password(
    tmp_path: Path,
) -> None:
    database_url = f"sqlite:///{tmp_path / 'atqb.db'}"
    env = {**os.environ, "ATQB_DATABASE_URL": database_url}
    subprocess.run(
        [sys.executable, "-m", "service", "db", "upgrade"],
        env=env,
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    done = subprocess.run(
        [sys.executable, "-m", "service", "users", "add", "office", "--company-file", ""],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert "| atqb users add office --company-file '' --password-stdin`" in done.stderr
    database = Database.from_url(database_url)
    try:
        with database.transaction() as conn:
            assert Sessions(conn, utcnow()).users() == []
    finally:
        database.dispose()
