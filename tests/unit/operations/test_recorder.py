"""The operations recorder: a bounded buffer the proxy appends to, batches written later, drops
counted, installations' latest status, a database outage logged once and its end once."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Sequence
from datetime import datetime

import pytest

from passway.observability.line_format import text_line
from passway.observability.logs import CALL_LOGGER
from passway.observability.metrics import Metrics
from passway.observability.request_ids import first_id_at, new_request_id, request_id_time
from passway.operations.record import (
    HEALTHY,
    UNHEALTHY,
    InstallationStatus,
    OperationRecord,
    health_after,
    operation_json,
)
from passway.operations.recorder import (
    OperationRecorder,
    _call_line,
    latest_statuses,
    text_call_lines,
)
from passway.store.operations import MemoryOperationStore, OperationFilter


def record(
    status: int = 200,
    error_code: str | None = None,
    installation_id: str | None = "inst-1",
    upstream_status: int | None = 200,
) -> OperationRecord:
    rid = new_request_id()
    return OperationRecord(
        rid, "proj-1", "int-1", installation_id, "conn-1", "g", "prov", "GET", "/p",
        status, error_code, upstream_status, 2.5, 1.5, 0, 10, False, False,
        request_id_time(rid), None,
    )  # fmt: skip


def sample(metrics: Metrics, name: str, labels: dict[str, str] | None = None) -> float:
    value = metrics.registry.get_sample_value(name, labels or {})
    return 0.0 if value is None else value


async def test_a_full_queue_drops_and_counts_and_never_blocks() -> None:
    store = MemoryOperationStore()
    metrics = Metrics()
    recorder = OperationRecorder(store, metrics, retention_days=7, queue_size=3)
    records = [record() for _ in range(5)]
    for r in records:
        recorder.append(r)
    await recorder.flush()
    stored = await store.list_operations("proj-1", OperationFilter(), limit=10, before_id=None)
    assert {r.id for r in stored} == {r.id for r in records[:3]}
    assert sample(metrics, "passway_operations_dropped_total") == 2
    assert sample(metrics, "passway_operations_written_total") == 3
    labels = {"provider": "prov", "status_class": "2xx", "error_code": ""}
    assert sample(metrics, "passway_proxy_calls_total", labels) == 3


async def test_retention_zero_stores_nothing_but_still_counts() -> None:
    store = MemoryOperationStore()
    metrics = Metrics()
    recorder = OperationRecorder(store, metrics, retention_days=0)
    assert not recorder.recording and not recorder.collect_logs
    recorder.append(record())
    await recorder.flush()
    assert await store.list_operations("proj-1", OperationFilter(), limit=10, before_id=None) == []
    labels = {"provider": "prov", "status_class": "2xx"}
    assert sample(metrics, "http_server_request_duration_seconds_count", labels) == 1


async def test_old_operations_are_pruned() -> None:
    store = MemoryOperationStore()
    recorder = OperationRecorder(store, Metrics(), retention_days=1)
    then = time.time() - 3 * 86400
    old = record()._replace(id=first_id_at(then), create_time=then)
    fresh = record()
    await store.insert_operations([old])
    recorder.append(fresh)
    await recorder.flush()
    stored = await store.list_operations("proj-1", OperationFilter(), limit=10, before_id=None)
    assert [r.id for r in stored] == [fresh.id]


class FailingStore(MemoryOperationStore):
    def __init__(self) -> None:
        super().__init__()
        self.failing = True

    async def insert_operations(self, records: Sequence[OperationRecord]) -> None:
        if self.failing:
            raise OSError("connection refused")
        await super().insert_operations(records)

    async def save_installation_statuses(self, statuses: Iterable[InstallationStatus]) -> None:
        await super().save_installation_statuses(statuses)

    async def prune_operations(self, older_than: datetime) -> int:
        return await super().prune_operations(older_than)


async def test_a_database_outage_is_logged_once_and_its_end_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = FailingStore()
    metrics = Metrics()
    recorder = OperationRecorder(store, metrics, retention_days=7)
    with caplog.at_level(logging.INFO, logger="passway.operations"):
        for _ in range(3):
            recorder.append(record())
            await recorder.flush()
        assert sample(metrics, "passway_database_up") == 0
        store.failing = False
        recorder.append(record())
        await recorder.flush()
    messages = [r.getMessage() for r in caplog.records if r.name == "passway.operations"]
    assert sum("database unreachable" in m for m in messages) == 1
    assert sum("database reachable again" in m for m in messages) == 1
    assert sample(metrics, "passway_database_up") == 1
    assert sample(metrics, "passway_operations_dropped_total") == 3


async def test_one_line_per_call_with_its_request_id(caplog: pytest.LogCaptureFixture) -> None:
    recorder = OperationRecorder(None, Metrics(), retention_days=7)
    r = record(status=502, error_code="provider_unreachable", upstream_status=None)
    recorder.append(r)
    with caplog.at_level(logging.INFO, logger="passway.proxy.calls"):
        await recorder.flush()
    (line,) = [x for x in caplog.records if x.name == "passway.proxy.calls"]
    assert line.request_id == r.id  # type: ignore[attr-defined]
    assert line.error_code == "provider_unreachable"  # type: ignore[attr-defined]
    assert line.installation_id == "inst-1"  # type: ignore[attr-defined]


def test_each_installation_takes_its_latest_call() -> None:
    first = record(installation_id="a")
    second = record(status=401, installation_id="a", upstream_status=401)
    other = record(installation_id="b")
    statuses = {
        s.installation_id: s
        for s in latest_statuses([second, first, other, record(installation_id=None)])
    }
    assert set(statuses) == {"a", "b"}
    assert (statuses["a"].last_operation_id, statuses["a"].last_operation_status) == (
        second.id,
        "failure",
    )
    assert statuses["a"].health_status == UNHEALTHY
    assert statuses["b"].health_status == HEALTHY


def test_health_follows_what_the_installation_itself_can_do() -> None:
    assert health_after(200, None, 200) == HEALTHY
    assert health_after(404, None, 404) == HEALTHY  # one bad call
    assert health_after(400, "missing_headers", None) == HEALTHY
    assert health_after(401, None, 401) == UNHEALTHY  # the provider refuses the credentials
    assert health_after(401, "connection_bad_credentials", None) == UNHEALTHY
    assert health_after(504, "provider_timeout", None) == UNHEALTHY


def test_the_json_shape_has_no_query_and_a_result() -> None:
    view = operation_json(record(status=302))
    assert view["result"] == "success"
    assert view["actionType"] == "proxy"
    assert view["createTime"].endswith("Z")
    assert operation_json(record(status=200, error_code="provider_aborted"))["result"] == "failure"


async def test_a_large_batch_gives_the_event_loop_turns_while_it_is_accounted() -> None:
    """A second's calls at full load are thousands of log lines and metric updates: accounted a
    slice of time at a time (none here), with other work (calls in flight) running in between,
    and none of them lost."""
    metrics = Metrics()
    recorder = OperationRecorder(None, metrics, retention_days=0, account_slice=0)
    total = 601
    for _ in range(total):
        recorder.append(record())
    labels = {"provider": "prov", "status_class": "2xx", "error_code": ""}
    counted_when_others_ran: list[float] = []

    async def other_work() -> None:
        for _ in range(3):
            counted_when_others_ran.append(sample(metrics, "passway_proxy_calls_total", labels))
            await asyncio.sleep(0)

    other = asyncio.create_task(other_work())
    await recorder.flush()
    await other
    assert sample(metrics, "passway_proxy_calls_total", labels) == total
    # It ran while the batch was half done, not only before or after it.
    assert any(0 < n < total for n in counted_when_others_ran), counted_when_others_ran


def test_text_call_lines_are_the_generic_text_lines() -> None:
    """The ``text`` call lines are spelled out for speed; they must read exactly as ``text_line``
    renders the call's message and extras, whatever is missing or odd in the call."""
    plain = record()
    failed = record(status=502, error_code="provider_unreachable", upstream_status=None)
    failed = failed._replace(upstream_duration_ms=None)
    odd = plain._replace(
        installation_id=None, provider=None, method="PATCH", path="/a b/%41/ü",
        duration_ms=1 / 3, upstream_duration_ms=123456.78949, status=404, upstream_status=404,
    )  # fmt: skip
    records = [plain, failed, odd]
    stamp = "2026-12-03T10:00:00.123456Z"
    expected = []
    for msg, args, extras in map(_call_line, records):
        expected.append(text_line(stamp, "info", msg % args, CALL_LOGGER, extras))
    assert text_call_lines(stamp, records) == expected
    assert "upstream_duration_ms=None" in expected[1] and "provider=None" in expected[2]
