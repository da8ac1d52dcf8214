"""The composition root of job kinds: every kind this version of atqb knows, by name.

:mod:`service.kinds` defines what a kind is (the protocol and the decisions it returns) and the
sync's kinds in :mod:`service.sync` build on it; this module is the one place that puts them
together, so the protocol never imports the kinds that implement it.
"""

from __future__ import annotations

from collections.abc import Mapping

from service.kinds import CompanyQuery, JobKind
from service.sync.kinds import sync_kinds


def builtin_kinds() -> Mapping[str, JobKind]:
    """The kinds this version of atqb knows, by name."""
    kinds: list[JobKind] = [CompanyQuery(), *sync_kinds()]
    return {kind.name: kind for kind in kinds}
