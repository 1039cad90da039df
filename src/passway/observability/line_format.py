"""The text of a log line in the ``text`` format, as the shared (structlog) formatter writes it:
``time [level    ] message [logger] key=value ...``, keys sorted, strings bare, other values as
their ``repr``. Pure, and compiled with the hot path: the operations writer renders a line per
proxied call with it (``CallLineFormatter``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

LEVEL_WIDTH = 9  # the console renderer pads levels to its longest name ("exception")


def iso_time(created: float) -> str:
    """Seconds since the epoch as ``2026-12-02T10:35:00.123456Z``."""
    return datetime.fromtimestamp(created, UTC).isoformat().replace("+00:00", "Z")


def text_line(stamp: str, level: str, message: str, logger: str, extras: dict[str, Any]) -> str:
    parts = [stamp, " [", level.ljust(LEVEL_WIDTH), "] ", message, " [", logger, "]"]
    for key in sorted(extras):
        value = extras[key]
        parts += (" ", key, "=", value if isinstance(value, str) else repr(value))
    return "".join(parts)
