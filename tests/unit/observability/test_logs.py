"""Logging set-up: JSON or text lines through structlog, the request id on every line written
during a call, a call's own lines collected, queries stripped from access-log lines."""

from __future__ import annotations

import io
import json
import logging
import logging.config
from collections.abc import Iterator

import pytest

from passway.observability.logs import (
    CALL_LOGGER,
    BatchedStreamHandler,
    CallLine,
    CallLineFormatter,
    CallLines,
    CallLogCollector,
    StripQuery,
    install_call_log_collector,
    logging_config,
)
from passway.observability.request_ids import CallContext, current_call, new_request_id


@pytest.fixture
def restore_logging() -> Iterator[None]:
    names = ("passway", "uvicorn", "uvicorn.error", "uvicorn.access")
    saved = {n: (logging.getLogger(n).handlers[:], logging.getLogger(n).level) for n in names}
    yield
    for name, (handlers, level) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = True


def formatter_for(fmt: str) -> logging.Formatter:
    config = logging_config("info", fmt)["formatters"]["passway"]
    factory = config.pop("()")
    formatter: logging.Formatter = factory(**config)
    return formatter


def emit(formatter: logging.Formatter, msg: str, **extra: object) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    logger = logging.getLogger("passway.test-observability")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    try:
        logger.info(msg, extra=extra)
    finally:
        logger.removeHandler(handler)
    return stream.getvalue()


def test_json_lines_carry_the_request_id_of_the_call_and_the_extras() -> None:
    request_id = new_request_id()
    token = current_call.set(CallContext(request_id))
    try:
        line = emit(formatter_for("json"), "token refreshed", connection_id="c-1")
    finally:
        current_call.reset(token)
    parsed = json.loads(line)
    assert parsed["event"] == "token refreshed"
    assert parsed["request_id"] == request_id
    assert parsed["connection_id"] == "c-1"
    assert parsed["level"] == "info" and parsed["timestamp"].endswith("Z")


def test_text_lines_are_one_line_with_key_values() -> None:
    line = emit(formatter_for("text"), "proxy call GET /x 200", status=200)
    assert line.count("\n") == 1
    assert "proxy call GET /x 200" in line and "status=200" in line


def test_access_lines_lose_their_query() -> None:
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("1.2.3.4:5", "GET", "/callbacks/v1/oauth?code=C0DE&state=ST4TE", "1.1", 400), None,
    )  # fmt: skip
    assert StripQuery().filter(record)
    assert record.getMessage() == '1.2.3.4:5 - "GET /callbacks/v1/oauth HTTP/1.1" 400'


def test_a_recorded_call_keeps_its_own_lines(restore_logging: None) -> None:
    install_call_log_collector()
    install_call_log_collector()  # once per process, however often asked
    logger = logging.getLogger("passway")
    assert sum(isinstance(h, CallLogCollector) for h in logger.handlers) == 1
    call = CallContext(new_request_id(), collect=True)
    token = current_call.set(call)
    try:
        logging.getLogger("passway.oauth").info("token refreshed: %s", "why", extra={"n": 1})
        logging.getLogger("passway.oauth").debug("not kept")
    finally:
        current_call.reset(token)
    logging.getLogger("passway.oauth").info("outside any call")
    assert call.logs is not None
    (entry,) = call.logs
    assert (entry["level"], entry["message"], entry["n"]) == ("info", "token refreshed: why", 1)


def test_the_dictionary_configures_logging(restore_logging: None) -> None:
    logging.config.dictConfig(logging_config("warning", "json"))
    assert logging.getLogger("passway").level == logging.INFO  # collected, printed from warning
    assert logging.getLogger("uvicorn.access").handlers[0].filters


CALL_EXTRAS: dict[str, object] = {
    "request_id": "01a2362273a0cb787074c4afa9ca942c",
    "project_id": "2b4bd0ae-2c2c-4b43-9d0c-3f5b8a5a1c11",
    "installation_id": None,
    "provider": "hubspot",
    "method": "GET",
    "path": "/crm/v3/objects/contacts",
    "status": 200,
    "upstream_status": 200,
    "duration_ms": 1.234,
    "upstream_duration_ms": None,
    "error_code": None,
}


def call_record(**extras: object) -> logging.LogRecord:
    record = logging.LogRecord(
        "passway.proxy.calls", logging.INFO, __file__, 1, "proxy call %s %s %d",
        ("GET", "/crm/v3/objects/contacts", 200), None,
    )  # fmt: skip
    record.__dict__.update(extras)
    return record


def without_time(line: str, fmt: str) -> object:
    if fmt == "json":
        parsed = json.loads(line)
        parsed.pop("timestamp")
        return list(parsed.items())  # the order too
    return line.split(" ", 1)[1]


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_call_lines_read_exactly_as_the_other_lines(fmt: str) -> None:
    """The per-call lines have a formatter of their own (a tenth of the cost); what it writes is
    what the shared formatter writes for the same record, but for the time."""
    record = call_record(**CALL_EXTRAS)
    shared = formatter_for(fmt).format(call_record(**CALL_EXTRAS))
    own = CallLineFormatter(fmt).format(record)
    assert without_time(own, fmt) == without_time(shared, fmt)
    stamp = json.loads(own)["timestamp"] if fmt == "json" else own.split(" ", 1)[0]
    assert stamp.endswith("Z") and stamp.startswith("20")


def test_call_lines_are_written_once_per_batch_and_none_is_lost() -> None:
    stream = io.StringIO()
    handler = BatchedStreamHandler(stream, capacity=3)
    handler.setFormatter(CallLineFormatter("json"))
    for _ in range(2):
        handler.emit(call_record(**CALL_EXTRAS))
    assert stream.getvalue() == ""  # kept until the batch ends
    handler.flush()
    assert len(stream.getvalue().splitlines()) == 2
    for _ in range(4):
        handler.emit(call_record(**CALL_EXTRAS))
    assert len(stream.getvalue().splitlines()) == 5  # the third of these filled it up
    handler.flush()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 6 and all(json.loads(x)["status"] == 200 for x in lines)


def test_the_served_configuration_routes_call_lines_to_their_handler(
    restore_logging: None,
) -> None:
    config = logging_config("info", "json")
    logging.config.dictConfig(config)
    logger = logging.getLogger(CALL_LOGGER)
    try:
        (handler,) = logger.handlers
        assert isinstance(handler, BatchedStreamHandler)
        assert isinstance(handler.formatter, CallLineFormatter)
        assert logger.propagate is False
    finally:
        logger.handlers.clear()
        logger.propagate = True


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_call_lines_rendered_directly_match_the_logging_path(fmt: str) -> None:
    """Under the served configuration, call lines skip the LogRecord: the same text comes out."""
    logger = logging.getLogger(CALL_LOGGER)
    saved = logger.handlers[:], logger.propagate, logger.level
    try:
        logging.config.dictConfig(logging_config("info", fmt))
        (handler,) = logger.handlers
        assert isinstance(handler, BatchedStreamHandler)
        stream = io.StringIO()
        handler.setStream(stream)
        lines = CallLines()
        line = ("proxy call %s %s %d", ("GET", "/crm/v3/objects/contacts", 200), CALL_EXTRAS)
        calls = [line]

        def as_is(call: CallLine) -> CallLine:
            return call

        records: list[str] = []
        factory = logging.getLogRecordFactory()

        def counting(*args: object, **kwargs: object) -> logging.LogRecord:
            record = factory(*args, **kwargs)
            records.append(record.name)
            return record

        logging.setLogRecordFactory(counting)
        try:
            lines.write(calls, as_is)  # direct: the served configuration
            lines.flush()
            assert records == []
            logger.propagate = True  # not the served configuration: through logging
            lines.write(calls, as_is)
            lines.flush()
            assert CALL_LOGGER in records
        finally:
            logging.setLogRecordFactory(factory)
        direct, through_logging = stream.getvalue().splitlines()
        assert without_time(direct, fmt) == without_time(through_logging, fmt)
    finally:
        logger.handlers[:], logger.propagate = saved[0], saved[1]
        logger.setLevel(saved[2])
