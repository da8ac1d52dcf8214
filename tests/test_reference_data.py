"""The repository stands alone: its tests read only what it carries.

A clone of HEAD into an empty folder collects the whole suite (reference data in ``tests/data``,
the qbXML schema in the package), and the one copy of Intuit's schema is the file its sources name.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REFERENCE_XSD, REPO

XSD_SOURCES = REPO / "service" / "qbxml" / "xsd" / "SOURCES.md"


def test_the_packaged_qbxml_schema_is_byte_for_byte_the_one_its_sources_name() -> None:
    table = dict(
        re.findall(
            r"^\| `(qbxml\w*130\.xsd)` \|.*\| `([0-9a-f]{64})` \|$", XSD_SOURCES.read_text(), re.M
        )
    )
    assert len(table) == 4
    for name, sha256 in table.items():
        path = REFERENCE_XSD.parent / name
        assert hashlib.sha256(path.read_bytes()).hexdigest() == sha256, name


@pytest.mark.slow
def test_a_clone_with_nothing_beside_it_collects_every_test(tmp_path: Path) -> None:
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    clone = tmp_path / "empty" / "atqb"
    subprocess.run(
        ["git", "clone", "-q", "--no-hardlinks", str(REPO), str(clone)], check=True, timeout=120
    )
    # The clone's own `service` must win over this checkout's editable install.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONPATH"] = str(clone)
    where = subprocess.run(
        [sys.executable, "-c", "import service; print(service.__file__)"],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(where.stdout.strip()).is_relative_to(clone)
    collected = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(clone),
        ],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert collected.returncode == 0, collected.stdout[-3000:] + collected.stderr[-3000:]
    assert "error" not in collected.stdout.splitlines()[-1]
