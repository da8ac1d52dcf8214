"""The job-kind protocol stands on its own: importing service.kinds imports nothing from
service.sync, whose kinds build on it; service.jobkinds is where the two meet (issue 16)."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO


def _sync_modules_after_importing(module: str) -> list[str]:
    """The service.sync modules a fresh interpreter holds after importing ``module``."""
    probe = (
        f"import sys, {module}\n"
        "print(*sorted(m for m in sys.modules if m.split('.')[:2] == ['service', 'sync']))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True
    )
    return done.stdout.split()


def test_the_kind_protocol_imports_no_sync_module() -> None:
    assert _sync_modules_after_importing("service.kinds") == []


def test_the_composition_root_brings_the_sync_kinds() -> None:
    assert "service.sync.kinds" in _sync_modules_after_importing("service.jobkinds")
