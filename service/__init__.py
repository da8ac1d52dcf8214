"""atqb: Autotask PSA purchasing and inventory into QuickBooks Desktop through the Web Connector."""

from __future__ import annotations

__version__ = "0.1.0"
