"""qbXML: building requests for QuickBooks Desktop and reading its answers."""

from __future__ import annotations
