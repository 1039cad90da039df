"""Logging set-up: structlog's formatter over the standard library's loggers.

``PASSWAY_LOG_FORMAT=text`` (default, for a terminal) prints ``time [level] message key=value``;
``json`` prints one JSON object per line. Every line written during a call carries its
``request_id`` (``request_ids.current_call``); uvicorn's lines go through the same formatter.

Never logged: secrets, OAuth ``code``/``state``, query values. Passway's own lines name ids and
codes only; ``StripQuery`` removes the query from uvicorn's access-log lines (an OAuth callback's
query holds its ``code`` and ``state``).

``CallLogCollector`` keeps a copy of each line a proxy call writes (info and up) with that call, so
its operation can show them (``GET .../operations/{id}/logs``).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, TextIO, TypeVar

import structlog

from passway.observability.line_format import iso_time, json_line, render_lines, text_line
from passway.observability.request_ids import current_call

# Attributes every LogRecord has: anything else on a record was passed as ``extra``.
_RECORD_FIELDS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


def add_request_id(_logger: Any, _name: str, event: dict[str, Any]) -> dict[str, Any]:
    if "request_id" not in event:
        call = current_call.get()
        if call is not None:
            event["request_id"] = call.request_id
    return event


def drop_color_message(_logger: Any, _name: str, event: dict[str, Any]) -> dict[str, Any]:
    """uvicorn passes a colored copy of some messages as an extra; one message is enough."""
    event.pop("color_message", None)
    return event


def logging_config(level: str = "info", fmt: str = "text") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` dictionary (also uvicorn's ``log_config``)."""
    renderer: Any = (
        structlog.processors.JSONRenderer(sort_keys=False)
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False, pad_event_to=0)
    )
    pre_chain: list[Any] = [
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        drop_color_message,
        add_request_id,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    if fmt == "json":
        pre_chain.append(structlog.processors.format_exc_info)
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "passway": {
                "()": structlog.stdlib.ProcessorFormatter,
                "processors": [
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    renderer,
                ],
                "foreign_pre_chain": pre_chain,
            },
            "calls": {"()": CallLineFormatter, "fmt": fmt},
        },
        "filters": {"strip_query": {"()": StripQuery}},
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "passway",
                "stream": "ext://sys.stderr",
                "level": level.upper(),
            },
            "calls": {
                "()": BatchedStreamHandler,
                "stream": "ext://sys.stderr",
                "level": level.upper(),
                "formatter": "calls",
            },
            "access": {
                "class": "logging.StreamHandler",
                "formatter": "passway",
                "stream": "ext://sys.stdout",
                "filters": ["strip_query"],
            },
        },
        "loggers": {
            # INFO at the logger whatever the level printed: a call's own lines are collected.
            "passway": {"handlers": ["default"], "level": "INFO", "propagate": False},
            CALL_LOGGER: {"handlers": ["calls"], "level": "INFO", "propagate": False},
            "uvicorn": {"handlers": ["default"], "level": level.upper(), "propagate": False},
            "uvicorn.error": {"level": level.upper()},
            "uvicorn.access": {"handlers": ["access"], "level": "INFO", "propagate": False},
        },
    }


class StripQuery(logging.Filter):
    """Removes the query from uvicorn's access-log lines (``%s - "%s %s HTTP/%s" %d``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (args[0], args[1], args[2].partition("?")[0], args[3], args[4])
        return True


class CallLogCollector(logging.Handler):
    """Copies each line written during a recorded proxy call into that call's context."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)

    def emit(self, record: logging.LogRecord) -> None:
        call = current_call.get()
        if call is None or not call.collect:
            return
        entry: dict[str, Any] = {
            "time": iso_time(record.created),
            "level": record.levelname.lower(),
            "message": record.getMessage(),
        }
        for name, value in record.__dict__.items():
            if name not in _RECORD_FIELDS and name != "request_id":
                entry[name] = value if isinstance(value, str | int | float | bool) else str(value)
        call.add_log(entry)


def install_call_log_collector() -> None:
    """Attach the collector to Passway's loggers (once per process) and let info lines reach it.

    The composition root calls this: logging is process-wide, whoever configured the handlers.
    """
    logger = logging.getLogger("passway")
    if not any(isinstance(h, CallLogCollector) for h in logger.handlers):
        logger.addHandler(CallLogCollector())
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)


# The proxy's per-call lines ---------------------------------------------------------------------
# One line per proxied call, written by the operations writer in batches: through the shared
# formatter (structlog's processors) and a write per line they cost 17-31 us each, a third of a
# proxied call (bench/experiments/call_lines.py). These lines have a fixed shape, so they get their
# own formatter (the same text or JSON as the others), a handler that writes each batch at once,
# and ``CallLines``, which renders them without a LogRecord.
CALL_LOGGER = "passway.proxy.calls"
Call = TypeVar("Call")
CallLine = tuple[str, tuple[Any, ...], dict[str, Any]]  # the message, its arguments, the extras


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in record.__dict__.items() if k not in _RECORD_FIELDS}


class CallLineFormatter(logging.Formatter):
    """Renders a call line exactly as the shared formatter does (``fmt`` ``text`` or ``json``),
    without its processor chain; the time is the record's own."""

    def __init__(self, fmt: str = "text") -> None:
        super().__init__()
        self._json = fmt == "json"
        self._encoder = json.JSONEncoder(default=repr)
        self._stamp = (0.0, iso_time(0.0))  # the last time rendered: a batch's lines share theirs

    def format(self, record: logging.LogRecord) -> str:
        extras = _extras(record)
        extras.pop("color_message", None)
        return self.render(
            record.getMessage(), record.name, record.levelname.lower(), record.created, extras
        )

    def stamp(self, created: float) -> str:
        """The time as rendered (kept: a batch's lines share theirs)."""
        when, stamp = self._stamp
        if created != when:
            stamp = iso_time(created)
            self._stamp = (created, stamp)
        return stamp

    @property
    def encode(self) -> Callable[[Any], str] | None:
        """The JSON encoder of the ``json`` format; None for ``text``."""
        return self._encoder.encode if self._json else None

    def render(
        self, message: str, logger: str, level: str, created: float, extras: dict[str, Any]
    ) -> str:
        """The line for a message and its extras, without a ``LogRecord``."""
        stamp = self.stamp(created)
        if self._json:
            return json_line(stamp, level, message, logger, extras, self._encoder.encode)
        return text_line(stamp, level, message, logger, extras)


class BatchedStreamHandler(logging.StreamHandler[TextIO]):
    """Keeps the lines it is given and writes them in one go on ``flush`` (the operations writer
    flushes after each batch; ``logging.shutdown`` at exit), or once ``capacity`` are waiting."""

    def __init__(self, stream: Any = None, capacity: int = 1000) -> None:
        super().__init__(stream)
        self._lines: list[str] = []
        self._capacity = capacity

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:  # noqa: BLE001 - logging's own convention: report, never raise
            self.handleError(record)
            return
        self.add_line(line)

    def add_line(self, line: str) -> None:
        """Queue a line already rendered."""
        self._lines.append(line)
        if len(self._lines) >= self._capacity:
            self.flush()

    def add_lines(self, lines: list[str]) -> None:
        """Queue lines already rendered (``CallLines``)."""
        self._lines += lines
        if len(self._lines) >= self._capacity:
            self.flush()

    def flush(self) -> None:
        self.acquire()
        try:
            lines, self._lines = self._lines, []
            if lines and self.stream is not None:
                self.stream.write("\n".join(lines) + "\n")
            super().flush()
        finally:
            self.release()


def flush_call_lines() -> None:
    """Write out the call lines waiting in their handlers (after each batch)."""
    for handler in logging.getLogger(CALL_LOGGER).handlers:
        handler.flush()


class CallLines:
    """Writes the operations writer's line per call. When the call logger is configured as
    ``passway serve`` configures it (only the batched handler, with the call-line formatter, no
    filters), each line is rendered straight into that handler: the same text, without a
    ``LogRecord`` and the logging machinery per line (``bench/experiments/call_lines.py``).
    Otherwise every line goes through ``logging`` as usual (another configuration, tests)."""

    def __init__(self) -> None:
        self._logger = logging.getLogger(CALL_LOGGER)

    def enabled(self) -> bool:
        return self._logger.isEnabledFor(logging.INFO)

    def _direct(self) -> tuple[BatchedStreamHandler, CallLineFormatter] | None:
        logger = self._logger
        if logger.filters or logger.propagate or len(logger.handlers) != 1:
            return None
        handler = logger.handlers[0]
        formatter = handler.formatter
        if (
            type(handler) is not BatchedStreamHandler
            or handler.filters
            or handler.level > logging.INFO
            or not isinstance(formatter, CallLineFormatter)
        ):
            return None
        return handler, formatter

    def write(
        self,
        calls: Sequence[Call],
        line: Callable[[Call], CallLine],
        text_lines: Callable[[str, Sequence[Call]], list[str]] | None = None,
    ) -> None:
        """One info line per call (``line`` gives its message, arguments and extras), kept until
        ``flush``. ``text_lines``, when given, renders a batch of calls straight to the ``text``
        format at a time stamp, as ``text_line`` renders ``line``'s extras (it must equal it)."""
        direct = self._direct()
        if direct is None:
            for msg, args, extras in map(line, calls):
                self._logger.info(msg, *args, extra=extras)
            return
        handler, formatter = direct
        stamp = formatter.stamp(time.time())
        encode = formatter.encode
        if encode is None and text_lines is not None:
            handler.add_lines(text_lines(stamp, calls))
        else:
            handler.add_lines(render_lines(map(line, calls), stamp, "info", CALL_LOGGER, encode))

    def flush(self) -> None:
        flush_call_lines()
