"""Log lines that outside text cannot forge: control characters in a message are escaped.

Values that come from outside (a Web Connector's version string or user name, QuickBooks' and
Autotask's messages) are logged with ``%r`` where they are logged on purpose; this filter is the
net under every other line: a message never spans two lines, so nobody can append a line that
looks like atqb's own. Tracebacks (``exc_info``) are formatted apart and keep their lines.
"""

from __future__ import annotations

import logging

#: Every C0 control character but tab, and DEL, as a visible escape.
_ESCAPES = {code: f"\\x{code:02x}" for code in (*range(0x20), 0x7F) if code != 0x09}
_ESCAPES.update({ord("\n"): "\\n", ord("\r"): "\\r"})


class OneLineFilter(logging.Filter):
    """Renders each record's message with its control characters escaped."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        escaped = message.translate(_ESCAPES)
        if escaped != message:
            record.msg, record.args = escaped, None
        return True


def install() -> None:
    """Put the filter on every handler of the root logger (after ``logging.basicConfig``)."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, OneLineFilter) for f in handler.filters):
            handler.addFilter(OneLineFilter())
