"""The notification store's contract, on every backend (memory, SQLite, PostgreSQL when set).

An event is written with the change that causes it or not at all; a delivery is leased to one
deliverer at a time; failures and successes are recorded; a destination failing for longer than
the window is disabled once, with its event written in the same step.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from passway.crypto import Keyring, new_key
from passway.errors import Conflict
from passway.notifications import events
from passway.records import Project
from passway.store.notification_tables import destinations
from passway.store.notifications import Destination, Failure, NotificationStore, Route
from passway.store.protocol import Store
from passway.store.sql import SqlStore
from support.records import Records, webhook_destination

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def notifications_of(store: Store) -> NotificationStore:
    found: Any = store
    outbox: NotificationStore = found.notifications
    return outbox


async def with_project(store: Store, project_id: str = "p1") -> None:
    await store.create_project(Project(project_id, f"name-{project_id}", None, NOW, NOW))


def destination(name: str, project_id: str = "p1") -> Destination:
    return webhook_destination(name, project_id, NOW)


async def routed(outbox: NotificationStore, name: str, event_type: str = "*") -> Destination:
    made = await outbox.create_destination(destination(name))
    await outbox.create_route(Route(f"r-{name}", "p1", event_type, made.id, NOW))
    return made


async def test_an_event_is_written_with_its_change_and_not_without_it(any_store: Store) -> None:
    store = any_store
    outbox = notifications_of(store)
    await with_project(store)
    await routed(outbox, "hooks")
    connection = Records().connection("p1", id="c1")
    await store.create_connection(connection, events=[events.connection_created(connection, NOW)])
    with pytest.raises(Conflict):
        await store.create_connection(
            connection, events=[events.connection_created(connection, NOW)]
        )
    found = await outbox.list_events("p1")
    assert [e.type for e in found] == ["connection.created"]
    deliveries = await outbox.list_deliveries("p1")
    assert len(deliveries) == 1 and deliveries[0].status == "pending"
    assert deliveries[0].event_id == found[0].id and deliveries[0].attempts == 0
    assert await outbox.list_events("other") == []


async def test_routes_fan_out_once_per_enabled_destination(any_store: Store) -> None:
    store = any_store
    outbox = notifications_of(store)
    await with_project(store)
    a = await routed(outbox, "a")
    await outbox.create_route(Route("r-a2", "p1", "connection.created", a.id, NOW))
    b = await routed(outbox, "b", "installation.created")
    c = await routed(outbox, "c")
    await outbox.update_destination(dataclasses.replace(c, enabled=False))
    connection = Records().connection("p1", id="c1")
    await store.create_connection(connection, events=[events.connection_created(connection, NOW)])
    assert [d.destination_id for d in await outbox.list_deliveries("p1")] == [a.id]
    with pytest.raises(Conflict):
        await outbox.create_route(Route("r-b2", "p1", "installation.created", b.id, NOW))
    stored = await outbox.get_destination("p1", "a")
    assert stored is not None and stored.secret.startswith("whsec_")


async def test_a_delivery_is_leased_to_one_deliverer_until_the_lease_runs_out(
    any_store: Store,
) -> None:
    store = any_store
    outbox = notifications_of(store)
    await with_project(store)
    await routed(outbox, "hooks")
    await outbox.emit([events.event("p1", "connection.error", {"x": 1}, NOW)])
    first = await outbox.claim_due("a", NOW, 30, 10)
    assert len(first) == 1 and first[0].destination.name == "hooks"
    assert first[0].event.data == {"x": 1}
    assert await outbox.claim_due("b", NOW + timedelta(seconds=29), 30, 10) == []
    again = await outbox.claim_due("b", NOW + timedelta(seconds=31), 30, 10)
    assert [c.delivery.id for c in again] == [first[0].delivery.id]
    # The first owner lost the lease: what it records is ignored.
    await outbox.record_success(first[0], "a", NOW, 200)
    [delivery] = await outbox.list_deliveries("p1")
    assert delivery.status == "pending"
    await outbox.record_success(again[0], "b", NOW + timedelta(seconds=32), 204)
    [delivery] = await outbox.list_deliveries("p1")
    assert delivery.status == "delivered" and delivery.attempts == 1
    assert delivery.last_status_code == 204


async def test_failures_are_recorded_then_retried_when_due(any_store: Store) -> None:
    store = any_store
    outbox = notifications_of(store)
    await with_project(store)
    await routed(outbox, "hooks")
    await outbox.emit([events.event("p1", "connection.error", {}, NOW)])
    [claim] = await outbox.claim_due("a", NOW, 30, 10)
    later = NOW + timedelta(seconds=10)
    await outbox.record_failure(claim, "a", NOW, Failure("HTTP 503", 503, later))
    [delivery] = await outbox.list_deliveries("p1")
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("pending", 1, "HTTP 503")
    assert delivery.next_attempt_time == later
    assert await outbox.next_due_time() == later
    stored = await outbox.get_destination("p1", "hooks")
    assert stored is not None and stored.failing_since == NOW
    assert await outbox.claim_due("a", NOW + timedelta(seconds=9), 30, 10) == []
    [claim] = await outbox.claim_due("a", later, 30, 10)
    await outbox.record_failure(claim, "a", later, Failure("timed out", None, None))
    [delivery] = await outbox.list_deliveries("p1")
    assert delivery.status == "failed" and delivery.attempts == 2
    assert await outbox.claim_due("a", later + timedelta(days=1), 30, 10) == []
    again = await outbox.redeliver("p1", delivery.id, later)
    assert again is not None and again.status == "pending" and again.retry_from == later
    [claim] = await outbox.claim_due("a", later, 30, 10)
    await outbox.record_success(claim, "a", later, 200)
    stored = await outbox.get_destination("p1", "hooks")
    assert stored is not None and stored.failing_since is None


async def test_a_destination_failing_past_the_cutoff_is_disabled_once_with_its_event(
    any_store: Store,
) -> None:
    store = any_store
    outbox = notifications_of(store)
    await with_project(store)
    hooks = await routed(outbox, "hooks", "connection.error")
    watcher = await routed(outbox, "watcher", "destination.webhook.disabled")
    await outbox.emit([events.event("p1", "connection.error", {}, NOW)])
    [claim] = await outbox.claim_due("a", NOW, 30, 10)
    notice = events.destination_disabled(hooks, "down", NOW)
    # Failing since NOW: not before the cutoff yet.
    await outbox.record_failure(
        claim, "a", NOW, Failure("HTTP 500", 500, NOW, NOW - timedelta(hours=1), [notice])
    )
    assert (await outbox.get_destination("p1", "hooks")).enabled  # type: ignore[union-attr]
    [claim] = await outbox.claim_due("a", NOW, 30, 10)
    later = NOW + timedelta(hours=2)
    await outbox.record_failure(
        claim, "a", later, Failure("HTTP 500", 500, later, later - timedelta(hours=1), [notice])
    )
    stored = await outbox.get_destination("p1", "hooks")
    assert (
        stored is not None and not stored.enabled and "HTTP 500" in (stored.disabled_reason or "")
    )
    types = [e.type for e in await outbox.list_events("p1")]
    assert sorted(types) == ["connection.error", "destination.webhook.disabled"]
    due = await outbox.claim_due("a", later, 30, 10)
    assert [c.destination.id for c in due] == [watcher.id]


async def test_concurrent_claims_never_share_a_delivery(any_store: Store) -> None:
    store = any_store
    outbox = notifications_of(store)
    await with_project(store)
    await routed(outbox, "hooks")
    await outbox.emit([events.event("p1", "connection.error", {"i": i}, NOW) for i in range(40)])
    batches = await asyncio.gather(*(outbox.claim_due(f"owner-{i}", NOW, 30, 7) for i in range(8)))
    claimed = [c.delivery.id for batch in batches for c in batch]
    assert len(claimed) == len(set(claimed)) == 40


async def test_signing_secrets_are_sealed_at_rest_and_rewrapped(database_url: str) -> None:
    old = new_key()
    store = await SqlStore.open(database_url, Keyring([old]))
    try:
        await with_project(store)
        made = await store.notifications.create_destination(destination("hooks"))
        async with store.engine.connect() as conn:
            raw = (await conn.execute(sa.select(destinations.c.secret_enc))).scalar_one()
        assert made.secret not in raw and "whsec_" not in raw
    finally:
        await store.close()
    fresh = new_key()
    store = await SqlStore.open(database_url, Keyring([old, fresh]))
    try:
        assert await store.reencrypt_all() == 1
    finally:
        await store.close()
    store = await SqlStore.open(database_url, Keyring([fresh]))
    try:
        found = await store.notifications.get_destination("p1", "hooks")
        assert found is not None and found.secret == made.secret
    finally:
        await store.close()


async def test_old_events_with_nothing_pending_are_pruned(any_store: Store) -> None:
    store = any_store
    outbox = notifications_of(store)
    await with_project(store)
    await routed(outbox, "hooks")
    old = NOW - timedelta(days=40)
    await outbox.emit([events.event("p1", "connection.error", {"n": n}, old) for n in range(2)])
    await outbox.emit([events.event("p1", "connection.error", {"n": 2}, NOW)])
    [claim, _] = await outbox.claim_due("a", NOW, 30, 1) + [None]
    assert claim is not None
    await outbox.record_success(claim, "a", NOW, 200)
    assert await outbox.prune_events(NOW - timedelta(days=30)) == 1
    left = await outbox.list_events("p1")
    assert len(left) == 2 and claim.event.id not in {e.id for e in left}
    assert len(await outbox.list_deliveries("p1")) == 2
