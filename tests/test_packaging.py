"""The installed package holds every module: pyproject.toml lists its packages one by one (the
migrations live outside ``service/``), so a new subpackage missing from that list would work in
the editable install of the tests and be absent from the Docker image's wheel."""

from __future__ import annotations

import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _setuptools() -> dict[str, object]:
    table = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]
    found = table["setuptools"]
    assert isinstance(found, dict)
    return found


def test_every_package_directory_is_listed_in_pyproject() -> None:
    setuptools = _setuptools()
    package_dir = setuptools["package-dir"]
    assert isinstance(package_dir, dict)
    on_disk = set()
    for name, folder in package_dir.items():
        for init in (REPO / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(REPO / folder)
            on_disk.add(".".join([name, *relative.parts]))
    listed = setuptools["packages"]
    assert isinstance(listed, list)
    assert sorted(on_disk - set(listed)) == [], "add these to [tool.setuptools] packages"
    assert sorted(set(listed) - on_disk) == [], "these listed packages do not exist"
