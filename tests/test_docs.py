"""The operator documentation in docs/: its links, its commands and its walkthrough work."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from service.settings import ENV_PREFIX, Settings
from tests.support import run_service

REPO = Path(__file__).resolve().parents[1]
DOCS = sorted((REPO / "docs").glob("*.md"))
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
#: How the docs run atqb: the console script, from a virtual environment, as another user, or
#: in a one-off container of the Docker deployment.
PREFIXES = re.compile(
    r"^(?:sudo -u \w+ )?(?:\.venv/bin/|/opt/atqb/venv/bin/|venv\\Scripts\\)?atqb(?:\.exe)? "
)


SHELLS = ("sh", "bash", "bat")


def code_lines(path: Path) -> list[str]:
    """The lines of the fenced code blocks that hold commands (```sh, ```bash, ```bat)."""
    lines, fenced, commands = [], False, False
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if stripped.startswith("```"):
            fenced = not fenced
            commands = fenced and stripped[3:].strip() in SHELLS
        elif commands:
            lines.append(stripped)
    return lines


def atqb_commands(path: Path) -> list[list[str]]:
    """The atqb arguments of every command a page shows."""
    found = []
    for line in code_lines(path):
        command = line.split(" > ")[0].split(" >> ")[0]
        if PREFIXES.match(command):
            found.append(shlex.split(PREFIXES.sub("", command, count=1)))
        elif command.startswith("docker compose run "):
            words = shlex.split(command)
            found.append(words[words.index("service") + 1 :])
    return found


def test_the_docs_exist_and_the_readme_links_them() -> None:
    names = {path.name for path in DOCS}
    assert {
        "README.md", "first-transfer.md", "install-windows.md", "install-linux.md",
        "operations.md", "troubleshooting.md",
    } <= names  # fmt: skip
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "docs/README.md" in readme


@pytest.mark.parametrize("path", [*DOCS, REPO / "README.md"], ids=lambda p: p.name)
def test_relative_links_lead_to_files(path: Path) -> None:
    for target in LINK.findall(path.read_text(encoding="utf-8")):
        if target.startswith(("http://", "https://", "#", "mailto:")):
            continue
        resolved = (path.parent / target.split("#")[0]).resolve()
        assert resolved.exists(), f"{path.name}: {target}"


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_every_atqb_command_shown_parses(path: Path) -> None:
    from service.cli import build_parser

    for argv in atqb_commands(path):
        try:
            build_parser().parse_args(argv)
        except SystemExit as exc:
            pytest.fail(f"{path.name}: `atqb {shlex.join(argv)}` does not parse (exit {exc.code})")


def test_the_install_pages_show_the_whole_path() -> None:
    for page in ("install-windows.md", "install-linux.md"):
        commands = [argv[:2] for argv in atqb_commands(REPO / "docs" / page)]
        for expected in (["db", "upgrade"], ["users", "add"]):
            if page == "install-linux.md" and expected == ["db", "upgrade"]:
                continue  # the migrate service of docker-compose.yml does it; plain shows it too
            assert expected in commands, (page, expected)
        assert any(argv[:1] == ["qwc"] for argv in commands), page


def test_troubleshooting_covers_what_users_meet() -> None:
    text = (REPO / "docs" / "troubleshooting.md").read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith("| **")]
    for code in (
        "QBWC1012", "QBWC1039", "QBWC1048", "QBWC1051", "0x80040400", "0x80040408",
        "3100", "3140", "3200", "Autotask 401", "Autotask 429",
    ):  # fmt: skip
        (row,) = [r for r in rows if r.startswith(f"| **{code}")]
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert len(cells) == 5, code  # seen, where, meaning, atqb shows, to do
        assert all(cells), code


def test_the_scripts_the_walkthrough_uses_are_executable() -> None:
    for name in ("serve", "simulate", "test"):
        assert os.access(REPO / "scripts" / name, os.X_OK), name


def simulate(
    url: str, database_url: str, cwd: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    """scripts/simulate.py against the atqb at ``url``."""
    return subprocess.run(
        [sys.executable, str(REPO / "scripts" / "simulate.py"), "--url", url, *args],
        capture_output=True,
        text=True,
        env={**os.environ, "ATQB_DATABASE_URL": database_url},
        cwd=cwd,
        timeout=120,
    )


def test_the_walkthrough_simulated_transfer_works(sqlite_database_url: str, tmp_path: Path) -> None:
    """docs/first-transfer.md step 2, against a real `atqb serve` (step 1): what the page
    quotes is what the script prints."""
    with run_service(sqlite_database_url, tmp_path) as service:
        first = simulate(service.soap_url, sqlite_database_url, tmp_path)
        conflict = simulate(service.soap_url, sqlite_database_url, tmp_path, "--conflict")
        wrong = simulate(
            service.soap_url, sqlite_database_url, tmp_path, "--user", "demo-1", "--password", "x"
        )
        log = service.log()
    assert first.returncode == 0, first.stdout + first.stderr
    walkthrough = (REPO / "docs" / "first-transfer.md").read_text(encoding="utf-8")
    quoted = walkthrough.split("It prints what the Web Connector saw")[1].split("```")[1]
    assert quoted.strip().splitlines() == first.stdout.splitlines()[1:-3], first.stdout
    assert "sendRequestXML user=demo-1" in log
    assert "outcome=sent" in log

    assert conflict.returncode == 0, conflict.stdout + conflict.stderr
    assert "added Web Connector user 'demo-2'" in conflict.stdout
    failed = [line for line in conflict.stdout.splitlines() if " failed " in line]
    assert [line.split()[2] for line in failed] == [
        "item", "purchase_order", "item_receipt", "item_receipt", "inventory_adjustment",
    ]  # fmt: skip
    assert 'QuickBooks 3100 (Error): The name "Switch 24 port"' in failed[0]
    assert "Some jobs need an operator" in conflict.stdout

    assert wrong.returncode == 1
    assert wrong.stdout.splitlines()[-1] == (
        "simulate: error: user 'demo-1' exists with another password: pass it with --password"
    )


def test_the_walkthrough_says_when_atqb_is_not_running(tmp_path: Path) -> None:
    run = simulate("http://127.0.0.1:9/qbwc", f"sqlite:///{tmp_path / 'atqb.db'}", tmp_path)
    assert run.returncode == 1
    assert "nothing answers at http://127.0.0.1:9" in run.stdout
    assert "scripts/serve" in run.stdout


def test_the_readme_configuration_table_names_every_setting_and_no_other() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    table = {
        m
        for row in section.splitlines()
        if row.startswith("| `")
        for m in re.findall(r"`(ATQB_[A-Z_]+)`", row.split(" | ")[0])
    }
    settings = {ENV_PREFIX + name.upper() for name in Settings.model_fields}
    assert table == settings
    named = set(re.findall(r"\bATQB_[A-Z][A-Z_]*[A-Z]\b", readme))
    assert named - {"ATQB_TEST_POSTGRES_URL"} <= settings, named - settings
