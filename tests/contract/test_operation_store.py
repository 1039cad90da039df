"""The operation store contract, on every backend: insert in batches, list newest first with
filters and pages, project isolation, pruning, installations' latest status."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from passway.observability.request_ids import first_id_at, new_request_id, request_id_time
from passway.operations.record import InstallationStatus, OperationRecord
from passway.records import Project
from passway.store.operations import (
    MemoryOperationStore,
    OperationFilter,
    OperationStore,
    SqlOperationStore,
)
from passway.store.sql import SqlStore
from support.databases import ALL_BACKENDS, open_store


@pytest.fixture(params=ALL_BACKENDS)
async def operations(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[OperationStore]:
    async with open_store(request.param, tmp_path) as store:
        now = datetime.now(UTC)
        for project_id in ("p1", "p2"):
            await store.create_project(Project(project_id, f"name-{project_id}", "App", now, now))
        operations: OperationStore = (
            SqlOperationStore(store.engine)
            if isinstance(store, SqlStore)
            else MemoryOperationStore()
        )
        try:
            yield operations
        finally:
            await operations.close()


def record(project: str = "p1", **changes: object) -> OperationRecord:
    rid = new_request_id()
    base = OperationRecord(
        rid, project, "i1", "inst1", "c1", "g1", "prov", "GET", "/a/b", 200, None, 200,
        3.25, 2.5, 5, 10, False, False, request_id_time(rid), None,
    )  # fmt: skip
    return base._replace(**changes)


async def test_batches_round_trip_every_field(operations: OperationStore) -> None:
    logs = [{"time": "2026-01-01T00:00:00Z", "level": "info", "message": "token refreshed"}]
    one = record(token_refreshed=True, replayed=True, logs=logs, upstream_duration_ms=None)
    two = record(status=502, error_code="provider_unreachable", upstream_status=None)
    await operations.insert_operations([one, two])
    got = await operations.get_operation("p1", one.id)
    assert got is not None
    assert got._replace(create_time=0) == one._replace(create_time=0)
    assert abs(got.create_time - one.create_time) < 0.001
    assert await operations.get_operation("p2", one.id) is None  # another project's


async def test_list_is_newest_first_filtered_and_paged(operations: OperationStore) -> None:
    batch = []
    for n in range(5):
        batch.append(record(installation_id=f"inst{n % 2}", group_ref=f"g{n % 2}"))
        time.sleep(0.002)
    failed = record(status=500, upstream_status=500, installation_id="inst9")
    batch.append(failed)
    await operations.insert_operations([*batch, record(project="p2")])
    everything = OperationFilter()
    newest = await operations.list_operations("p1", everything, limit=100, before_id=None)
    assert [r.id for r in newest] == sorted((r.id for r in batch), reverse=True)
    page = await operations.list_operations("p1", everything, limit=2, before_id=newest[1].id)
    assert [r.id for r in page] == [newest[2].id, newest[3].id]
    failures = OperationFilter(result="failure")
    assert [
        r.id for r in await operations.list_operations("p1", failures, limit=9, before_id=None)
    ] == [failed.id]
    by_install = OperationFilter(installation_id="inst1", group_ref="g1", provider="prov")
    assert len(await operations.list_operations("p1", by_install, limit=9, before_id=None)) == 2
    future = OperationFilter(since=datetime.now(UTC) + timedelta(hours=1))
    assert await operations.list_operations("p1", future, limit=9, before_id=None) == []
    past = OperationFilter(until=datetime.now(UTC) - timedelta(hours=1))
    assert await operations.list_operations("p1", past, limit=9, before_id=None) == []


async def test_pruning_deletes_only_what_is_older(operations: OperationStore) -> None:
    then = time.time() - 10 * 86400
    old = record(id=first_id_at(then), create_time=then)
    fresh = record()
    await operations.insert_operations([old, fresh])
    assert await operations.prune_operations(datetime.now(UTC) - timedelta(days=7)) == 1
    assert await operations.get_operation("p1", old.id) is None
    assert await operations.get_operation("p1", fresh.id) is not None


async def test_an_installation_keeps_its_latest_status(operations: OperationStore) -> None:
    now = datetime.now(UTC)
    first, later = new_request_id(), new_request_id()
    newer = InstallationStatus("inst1", "p1", later, "failure", "unhealthy", now)
    older = InstallationStatus("inst1", "p1", first, "success", "healthy", now)
    await operations.save_installation_statuses([newer])
    await operations.save_installation_statuses([older])  # a late batch changes nothing
    found = await operations.installation_statuses("p1", ["inst1", "other"])
    assert found == {"inst1": newer}
    assert await operations.installation_statuses("p2", ["inst1"]) == {}


async def test_operations_of_a_deleted_project_are_pruned(sql_store: SqlStore) -> None:
    now = datetime.now(UTC)
    await sql_store.create_project(Project("p1", "name-p1", "App", now, now))
    operations = SqlOperationStore(sql_store.engine)
    try:
        kept, orphan = record(), record(project="gone")
        await operations.insert_operations([kept, orphan])
        assert await operations.prune_operations(now - timedelta(days=7)) == 1
        assert await operations.get_operation("p1", kept.id) is not None
        assert await operations.get_operation("gone", orphan.id) is None
    finally:
        await operations.close()
