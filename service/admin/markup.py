"""HTML built from templates in which every value is escaped unless it is already :class:`Html`.

``render("<td>{name}</td>", name=user_text)`` escapes ``user_text``; the result is :class:`Html`
and passes through the next ``render`` untouched. Templates are literals in this package; text
from the database, QuickBooks, Autotask or the request only ever arrives as a value.
"""

from __future__ import annotations

import html
from collections.abc import Iterable


class Html(str):
    """Text that is already HTML (made by :func:`render`, :func:`join` or :func:`escape`)."""

    __slots__ = ()


def escape(value: object) -> Html:
    """``value`` as HTML text: escaped, unless it is :class:`Html` already. ``None`` is empty."""
    if isinstance(value, Html):
        return value
    if value is None:
        return Html("")
    return Html(html.escape(str(value), quote=True))


def render(template: str, /, **values: object) -> Html:
    """Fill ``template`` (``str.format`` syntax) with escaped ``values``."""
    return Html(template.format(**{name: escape(value) for name, value in values.items()}))


def join(parts: Iterable[object], separator: str = "") -> Html:
    """Concatenate escaped parts."""
    return Html(escape(separator).join(escape(part) for part in parts))
