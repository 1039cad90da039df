"""CPU per proxy-call log line, in this process: ``python bench/experiments/call_lines.py``.

Writes 20,000 call lines (the operations writer's ``proxy call ...`` line, with its extras) to
``/dev/null`` through the served logging configuration: through the shared structlog formatter with
a write per line (as before the call lines had their own handler); through ``logging`` to the call
lines' own formatter and batched handler; and as the operations writer writes them now
(``CallLines``: rendered into that handler without a ``LogRecord``); flushed every 200 lines, in
text and JSON.
"""

from __future__ import annotations

import logging
import logging.config
import os
import time

from passway.frontdoor import configure_logging
from passway.observability.logs import CALL_LOGGER, CallLines, flush_call_lines, logging_config

EXTRA = {
    "request_id": "01a2362273a0cb787074c4afa9ca942c",
    "project_id": "2b4bd0ae-2c2c-4b43-9d0c-3f5b8a5a1c11",
    "installation_id": "7d1f6a52-9a0c-4f0e-8a59-1f3a2f0e9b41",
    "provider": "hubspot",
    "method": "GET",
    "path": "/crm/v3/objects/contacts",
    "status": 200,
    "upstream_status": 200,
    "duration_ms": 1.234,
    "upstream_duration_ms": 0.987,
    "error_code": None,
}
LINES = 20_000


def per_line(fmt: str, *, own_handler: bool, direct: bool = False) -> float:
    """Microseconds of CPU per line."""
    config = logging_config("info", fmt)
    if not own_handler:  # the call lines on the shared formatter, a write per line
        config["handlers"]["calls"] = {**config["handlers"]["default"]}
    configure_logging(config)
    devnull = open(os.devnull, "w")  # noqa: SIM115 - kept open for the handlers
    logger = logging.getLogger(CALL_LOGGER)
    for handler in logger.handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(devnull)
    started = time.process_time()
    if direct:
        lines = CallLines()
        line = ("proxy call %s %s %d", ("GET", EXTRA["path"], 200), EXTRA)
        for _ in range(LINES // 200):
            lines.write([line] * 200)
            lines.flush()
    else:
        for n in range(LINES):
            logger.info("proxy call %s %s %d", "GET", EXTRA["path"], 200, extra=EXTRA)
            if n % 200 == 199:
                flush_call_lines()
        flush_call_lines()
    return (time.process_time() - started) / LINES * 1e6


def main() -> None:
    for fmt in ("text", "json"):
        shared = per_line(fmt, own_handler=False)
        own = per_line(fmt, own_handler=True)
        direct = per_line(fmt, own_handler=True, direct=True)
        print(
            f"{fmt}: {shared:.1f} us per line (shared formatter) -> {own:.1f} us (own formatter "
            f"and handler) -> {direct:.1f} us (rendered without a LogRecord)"
        )


if __name__ == "__main__":
    main()
