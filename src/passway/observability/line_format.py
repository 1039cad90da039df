"""The text of a log line in the ``text`` format, as the shared (structlog) formatter writes it:
``time [level    ] message [logger] key=value ...``, keys sorted, strings bare, other values as
their ``repr``; and a batch of call lines in either format (``render_lines``). Pure, and compiled
with the hot path: the operations writer renders a line per proxied call with it (``CallLines``),
so no interpreted code runs per line."""

from __future__ import annotations

from collections.abc import Callable, Iterable
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


def json_line(
    stamp: str,
    level: str,
    message: str,
    logger: str,
    extras: dict[str, Any],
    encode: Callable[[Any], str],
) -> str:
    """The line in the ``json`` format: the event, level and logger, the extras, the time."""
    event: dict[str, Any] = {"event": message, "level": level, "logger": logger}
    event.update(extras)
    event["timestamp"] = stamp
    return encode(event)


def render_lines(
    lines: Iterable[tuple[str, tuple[Any, ...], dict[str, Any]]],
    stamp: str,
    level: str,
    logger: str,
    encode: Callable[[Any], str] | None,
) -> list[str]:
    """One line per ``(format, args, extras)``, all at time ``stamp``: ``json`` with ``encode``,
    else ``text``."""
    out: list[str] = []
    for msg, args, extras in lines:
        message = msg % args
        if encode is None:
            out.append(text_line(stamp, level, message, logger, extras))
        else:
            out.append(json_line(stamp, level, message, logger, extras, encode))
    return out
