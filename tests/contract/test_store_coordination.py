"""Store contract, coordination part: refresh leases, single-use OAuth states, the change feed.

Run against MemoryStore, SQLite and PostgreSQL (``any_store``).
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta

import pytest

from passway.errors import Conflict
from passway.records import Change
from passway.store.protocol import Store
from support.records import T0, Records


async def _connection_id(store: Store, make: Records) -> str:
    p = make.project()
    await store.create_project(p)
    return (await store.create_connection(make.connection(p.id))).id


async def test_lease_is_exclusive_until_released(any_store: Store, make: Records):
    cid = await _connection_id(any_store, make)
    assert await any_store.acquire_refresh_lease(cid, "worker-a", T0, 30) is True
    assert await any_store.acquire_refresh_lease(cid, "worker-b", T0, 30) is False
    # Releasing someone else's lease does nothing.
    await any_store.release_refresh_lease(cid, "worker-b")
    assert await any_store.acquire_refresh_lease(cid, "worker-b", T0, 30) is False
    await any_store.release_refresh_lease(cid, "worker-a")
    assert await any_store.acquire_refresh_lease(cid, "worker-b", T0, 30) is True


async def test_lease_holder_may_renew_it(any_store: Store, make: Records):
    cid = await _connection_id(any_store, make)
    assert await any_store.acquire_refresh_lease(cid, "worker-a", T0, 30) is True
    later = T0 + timedelta(seconds=20)
    assert await any_store.acquire_refresh_lease(cid, "worker-a", later, 30) is True
    # Renewed at +20s for 30s: still held at +40s.
    at_40 = T0 + timedelta(seconds=40)
    assert await any_store.acquire_refresh_lease(cid, "worker-b", at_40, 30) is False


async def test_expired_lease_can_be_taken_over(any_store: Store, make: Records):
    cid = await _connection_id(any_store, make)
    assert await any_store.acquire_refresh_lease(cid, "worker-a", T0, 30) is True
    just_before = T0 + timedelta(seconds=29.9)
    assert await any_store.acquire_refresh_lease(cid, "worker-b", just_before, 30) is False
    expired = T0 + timedelta(seconds=30)
    assert await any_store.acquire_refresh_lease(cid, "worker-b", expired, 30) is True
    assert await any_store.acquire_refresh_lease(cid, "worker-a", expired, 30) is False


async def test_lease_does_not_touch_the_connection_version(any_store: Store, make: Records):
    p = make.project()
    await any_store.create_project(p)
    conn = await any_store.create_connection(make.connection(p.id))
    await any_store.acquire_refresh_lease(conn.id, "worker-a", T0, 30)
    updated = await any_store.update_connection(
        dataclasses.replace(conn, status="bad_credentials"), expected_version=1
    )
    assert updated.version == 2
    await any_store.release_refresh_lease(conn.id, "worker-a")
    assert await any_store.get_connection(p.id, conn.id) == updated


async def test_lease_on_a_missing_connection_is_never_granted(any_store: Store):
    assert await any_store.acquire_refresh_lease("no-such-connection", "w", T0, 30) is False


async def test_concurrent_lease_acquisition_has_exactly_one_winner(any_store: Store, make: Records):
    cid = await _connection_id(any_store, make)
    results = await asyncio.gather(
        *(any_store.acquire_refresh_lease(cid, f"worker-{n}", T0, 30) for n in range(16))
    )
    assert results.count(True) == 1


async def test_oauth_state_is_consumed_once(any_store: Store, make: Records):
    p = make.project()
    await any_store.create_project(p)
    state = make.oauth_state(p.id)
    await any_store.save_oauth_state(state)
    with pytest.raises(Conflict):
        await any_store.save_oauth_state(state)
    assert await any_store.consume_oauth_state(state.id, state.create_time) == state
    assert await any_store.consume_oauth_state(state.id, state.create_time) is None


async def test_expired_oauth_state_is_not_returned(any_store: Store, make: Records):
    p = make.project()
    await any_store.create_project(p)
    state = make.oauth_state(p.id, expires_in=60, code_verifier=None)
    await any_store.save_oauth_state(state)
    assert await any_store.consume_oauth_state(state.id, state.expires_at) is None
    # Expired states are gone for good, not merely hidden.
    assert await any_store.consume_oauth_state(state.id, state.create_time) is None


async def test_concurrent_oauth_state_consumers_get_it_once(any_store: Store, make: Records):
    p = make.project()
    await any_store.create_project(p)
    state = make.oauth_state(p.id)
    await any_store.save_oauth_state(state)
    results = await asyncio.gather(
        *(any_store.consume_oauth_state(state.id, state.create_time) for _ in range(8))
    )
    assert [r for r in results if r is not None] == [state]


async def test_change_feed_records_each_mutation_in_order(any_store: Store, make: Records):
    start = await any_store.latest_change_seq()
    p = make.project()
    await any_store.create_project(p)
    key = await any_store.create_api_key(make.api_key(p.id))
    [integ] = await any_store.upsert_integrations(p.id, [make.integration(p.id)])
    conn = await any_store.create_connection(make.connection(p.id))
    inst = await any_store.create_installation(make.installation(integ, conn))
    await any_store.update_connection(conn, expected_version=1)
    await any_store.delete_integration(p.id, integ.id)

    changes = await any_store.changes_since(start)
    assert [(c.kind, c.entity_id) for c in changes] == [
        ("project", p.id),
        ("api_key", key.id),
        ("integration", integ.id),
        ("connection", conn.id),
        ("installation", inst.id),
        ("connection", conn.id),
        ("installation", inst.id),
        ("integration", integ.id),
    ]
    assert all(c.project_id == p.id for c in changes)
    seqs = [c.seq for c in changes]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert await any_store.latest_change_seq() == seqs[-1]
    assert await any_store.changes_since(seqs[3], limit=2) == changes[4:6]
    assert await any_store.changes_since(seqs[-1]) == []


async def test_reads_and_failed_writes_append_no_change(any_store: Store, make: Records):
    p = make.project("alpha")
    await any_store.create_project(p)
    before = await any_store.latest_change_seq()
    await any_store.get_project(p.id)
    await any_store.list_connections(p.id)
    with pytest.raises(Conflict):
        await any_store.create_project(make.project("alpha"))
    assert await any_store.delete_api_key(p.id, "missing") is False
    assert await any_store.latest_change_seq() == before


async def test_subscribers_hear_each_committed_change(any_store: Store, make: Records):
    heard: list[Change] = []
    any_store.subscribe(heard.append)
    start = await any_store.latest_change_seq()
    p = make.project()
    await any_store.create_project(p)
    conn = await any_store.create_connection(make.connection(p.id))
    await any_store.delete_connection(p.id, conn.id)
    assert heard == await any_store.changes_since(start)
    assert [c.kind for c in heard] == ["project", "connection", "connection"]


async def test_a_failing_subscriber_does_not_undo_the_write(any_store: Store, make: Records):
    def broken(change: Change) -> None:
        raise RuntimeError("listener bug")

    heard: list[Change] = []
    any_store.subscribe(broken)
    any_store.subscribe(heard.append)
    p = make.project()
    assert await any_store.create_project(p) == p
    assert await any_store.get_project(p.id) == p
    assert [c.entity_id for c in heard] == [p.id]
