"""``OperationRecorder``: takes each finished proxy call off the hot path and deals with it later.

The proxy hands over an ``OperationRecord`` with ``append`` (no await, nothing built but the
tuple); the buffer is bounded, and a record arriving when it is full is dropped and counted (a log
line per flush that dropped some, and ``passway_operations_dropped_total``): recording never delays
or fails a call. Every ``flush_interval`` seconds (1) the background loop takes the buffer and,
for the batch:

- writes one info log line per call (request id, project, installation, provider, method, path,
  status, durations, error code);
- counts the calls in the metrics (``Metrics.record_calls``) and runs the metric samplers;
- when recording is on (``sink``), inserts the batch in one ``executemany`` and saves each
  touched installation's ``lastOperationStatus``/``healthStatus``; a database error drops the
  batch, logs the outage once and its end once, and sets ``passway_database_up``;
- every ``prune_interval`` seconds, deletes operations older than the retention.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Protocol

from passway.observability.line_format import LEVEL_WIDTH
from passway.observability.logs import CALL_LOGGER, CallLines
from passway.observability.metrics import Metrics
from passway.operations.record import InstallationStatus, OperationRecord, health_after

logger = logging.getLogger("passway.operations")
_CHECK_EVERY = 8  # calls accounted between two looks at the clock


class OperationSink(Protocol):
    """Where batches go (``passway.store.operations.OperationStore`` is one)."""

    async def insert_operations(self, records: Sequence[OperationRecord]) -> None: ...

    async def prune_operations(self, older_than: datetime) -> int: ...

    async def save_installation_statuses(self, statuses: Iterable[InstallationStatus]) -> None: ...


class OperationRecorder:
    """One per worker. ``sink`` None: nothing is stored (retention 0); logs and metrics stay."""

    def __init__(
        self,
        sink: OperationSink | None,
        metrics: Metrics,
        *,
        retention_days: float,
        queue_size: int = 10_000,
        log_calls: bool = True,
        flush_interval: float = 1.0,
        prune_interval: float = 600.0,
        account_slice: float = 0.0005,
    ) -> None:
        self._sink = sink if retention_days > 0 else None
        self._metrics = metrics
        self._retention = timedelta(days=retention_days)
        self._capacity = queue_size
        self._log_calls = log_calls
        self._flush_interval = flush_interval
        self._prune_interval = prune_interval
        self._account_slice = account_slice  # seconds of accounting between two loop turns
        self._call_lines = CallLines()
        self._buffer: list[OperationRecord] = []
        self._dropped = 0
        self._next_prune = 0.0
        self._db_down = False
        self._task: asyncio.Task[None] | None = None
        # Whether calls should keep their own log lines (only worth it when they are stored).
        self.collect_logs = self._sink is not None

    @property
    def recording(self) -> bool:
        return self._sink is not None

    # the hot path --------------------------------------------------------------------------------
    def append(self, record: OperationRecord) -> None:
        """Queue one finished call; drop it (counted) when the queue is full."""
        if len(self._buffer) < self._capacity:
            self._buffer.append(record)
        else:
            self._dropped += 1

    # the background loop -------------------------------------------------------------------------
    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="passway-operations-writer")

    async def aclose(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.flush()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._flush_interval)
            try:
                await self.flush()
            except (
                Exception
            ):  # the writer must outlive any one bad batch (logged with its traceback)
                logger.exception("operations writer failed on a batch")

    async def flush(self) -> None:
        """Deal with everything queued so far (the loop calls this; tests may too)."""
        batch, self._buffer = self._buffer, []
        dropped, self._dropped = self._dropped, 0
        if dropped:
            self._metrics.operations_dropped.inc(dropped)
            logger.warning(
                "operations queue full: %d operation records dropped",
                dropped,
                extra={"dropped": dropped},
            )
        self._metrics.sample()
        await self._account(batch)
        if self._sink is not None:
            await self._store(self._sink, batch)

    async def _account(self, batch: Sequence[OperationRecord]) -> None:
        """Metrics and a log line per call, ``account_slice`` seconds at a time with the event
        loop's other work in between: a second's calls at full load take tens of milliseconds,
        which in one go would hold up every call in flight (chunks of 200 calls still put the
        99th percentile at one connection at 10 ms against 1 ms without call lines)."""
        log = self._log_calls and self._call_lines.enabled()
        done = 0
        while done < len(batch):
            if done:
                await asyncio.sleep(0)
            deadline = time.perf_counter() + self._account_slice
            first = done
            while done < len(batch):
                step = batch[done : done + _CHECK_EVERY]
                if log:
                    self._call_lines.write(step, _call_line, text_call_lines)
                done += len(step)
                if time.perf_counter() >= deadline:
                    break
            self._metrics.record_calls(batch[first:done])  # one increment per label set
            if log:
                self._call_lines.flush()  # one write for the slice's lines

    async def _store(self, sink: OperationSink, batch: Sequence[OperationRecord]) -> None:
        try:
            if batch:
                await sink.insert_operations(batch)
                await sink.save_installation_statuses(latest_statuses(batch))
            now = time.monotonic()
            if now >= self._next_prune:
                self._next_prune = now + self._prune_interval
                pruned = await sink.prune_operations(datetime.now(UTC) - self._retention)
                if pruned:
                    logger.info("pruned %d operations past retention", pruned)
        except Exception as exc:  # noqa: BLE001 - any database failure: the batch is dropped
            self._metrics.database_up.set(0)
            self._metrics.operations_dropped.inc(len(batch))
            if not self._db_down:
                self._db_down = True
                logger.warning(
                    "database unreachable (%s); operation records are dropped until it is back",
                    type(exc).__name__,
                )
            return
        self._metrics.operations_written.inc(len(batch))
        self._metrics.database_up.set(1)
        if self._db_down:
            self._db_down = False
            logger.info("database reachable again; recording operations")


def latest_statuses(batch: Iterable[OperationRecord]) -> list[InstallationStatus]:
    """Each installation's latest call in ``batch``, as its status."""
    latest: dict[str, OperationRecord] = {}
    for record in batch:
        if record.installation_id is None:
            continue
        known = latest.get(record.installation_id)
        if known is None or known.id < record.id:
            latest[record.installation_id] = record
    now = datetime.now(UTC)
    return [
        InstallationStatus(
            installation_id=installation_id,
            project_id=r.project_id,
            last_operation_id=r.id,
            last_operation_status=r.result,
            health_status=health_after(r.status, r.error_code, r.upstream_status),
            update_time=now,
        )
        for installation_id, r in latest.items()
    ]


# The start of a call line in the ``text`` format after its time, and its logger's bracket.
_TEXT_LEVEL: Final = " [" + "info".ljust(LEVEL_WIDTH) + "] proxy call "
_TEXT_LOGGER: Final = " [" + CALL_LOGGER + "] duration_ms="


def text_call_lines(stamp: str, records: Sequence[OperationRecord]) -> list[str]:
    """The ``text`` lines of ``records`` at time ``stamp``: what ``text_line`` writes for
    ``_call_line`` (keys sorted, strings bare, other values as their ``repr``), spelled out for
    this one shape, with no dictionary, sort or ``%`` per line (a test holds the two equal). One
    ``join`` of a list: mypyc compiles an f-string with a ``!r`` field into a ``str.format`` call
    per field."""
    out: list[str] = []
    for r in records:
        upstream_ms = r.upstream_duration_ms
        upstream_status = r.upstream_status
        status = str(r.status)
        method = r.method
        path = r.path
        parts = [
            stamp, _TEXT_LEVEL, method, " ", path, " ", status, _TEXT_LOGGER,
            repr(round(r.duration_ms, 3)),
            " error_code=", _bare(r.error_code),
            " installation_id=", _bare(r.installation_id),
            " method=", method,
            " path=", path,
            " project_id=", r.project_id,
            " provider=", _bare(r.provider),
            " request_id=", r.id,
            " status=", status,
            " upstream_duration_ms=",
            "None" if upstream_ms is None else repr(round(upstream_ms, 3)),
            " upstream_status=", "None" if upstream_status is None else str(upstream_status),
        ]  # fmt: skip
        out.append("".join(parts))
    return out


def _bare(value: str | None) -> str:
    return "None" if value is None else value


def _call_line(r: OperationRecord) -> tuple[str, tuple[Any, ...], dict[str, Any]]:
    """The log line of one call: its message, the message's arguments, and its fields."""
    upstream_ms = r.upstream_duration_ms
    return (
        "proxy call %s %s %d",
        (r.method, r.path, r.status),
        {
            "request_id": r.id,
            "project_id": r.project_id,
            "installation_id": r.installation_id,
            "provider": r.provider,
            "method": r.method,
            "path": r.path,
            "status": r.status,
            "upstream_status": r.upstream_status,
            "duration_ms": round(r.duration_ms, 3),
            "upstream_duration_ms": None if upstream_ms is None else round(upstream_ms, 3),
            "error_code": r.error_code,
        },
    )
