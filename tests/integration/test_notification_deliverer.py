"""The deliverer's lifecycle against a real webhook receiver on loopback: a stop that interrupts a
round returns only once every delivery of that round has ended, so none is left writing to a store
that the server is about to close (which left a task waiting forever on a closed database thread).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from passway.http1.client.pool import Http1Client
from passway.notifications import events
from passway.notifications.deliverer import Deliverer
from passway.notifications.retry import RetryPolicy
from passway.store.memory.notifications import MemoryNotificationStore
from passway.store.notifications import Claim, Route
from support.records import webhook_destination
from support.webhook_receiver import WebhookReceiver, running_receiver

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


class RecordingHeldOpen(MemoryNotificationStore):
    """Successes are recorded only once ``release`` is set. Cancelled while waiting, the first
    recording still takes a moment to end, as a database driver's does: it finishes closing the
    statement before the cancellation reaches its caller."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()
        self.waiting = 0
        self.ended_after_cancel = 0

    async def record_success(
        self, claim: Claim, owner: str, now: datetime, status_code: int
    ) -> None:
        slow = self.waiting == 0
        self.waiting += 1
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            if slow:
                await asyncio.sleep(0.2)
            self.ended_after_cancel += 1
            raise
        await super().record_success(claim, owner, now, status_code)


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    async with running_receiver() as running:
        yield running


async def two_due(store: MemoryNotificationStore, url: str) -> None:
    """Two events routed to one destination at ``url``: two deliveries due now."""
    made = await store.create_destination(webhook_destination("hooks", url=url, created=NOW))
    await store.create_route(Route("r1", "p1", "*", made.id, NOW))
    await store.emit([events.event("p1", "connection.error", {"n": n}, NOW) for n in (1, 2)])


async def test_a_stop_waits_for_every_delivery_of_the_round_it_interrupts(
    http: Http1Client, receiver: WebhookReceiver
) -> None:
    store = RecordingHeldOpen()
    await two_due(store, receiver.url)
    deliverer = Deliverer(store, http, policy=RetryPolicy(), timeout=5.0, poll_interval=0.05)
    deliverer.start()
    await receiver.wait_for(2)
    async with asyncio.timeout(10):
        while store.waiting < 2:
            await asyncio.sleep(0.01)
    # Both deliveries are recording their success; the stop cancels them.
    await deliverer.aclose()
    assert store.ended_after_cancel == 2
    running = [getattr(t.get_coro(), "__qualname__", "") for t in asyncio.all_tasks()]
    assert "Deliverer._deliver" not in running
    # Nothing was recorded: both stay pending (their leases run out, they go out again).
    assert [d.status for d in await store.list_deliveries("p1")] == ["pending", "pending"]


async def test_a_delivery_that_cannot_record_its_outcome_does_not_cut_the_others_short(
    http: Http1Client, receiver: WebhookReceiver
) -> None:
    class FirstRecordingFails(MemoryNotificationStore):
        calls = 0

        async def record_success(
            self, claim: Claim, owner: str, now: datetime, status_code: int
        ) -> None:
            self.calls += 1
            if self.calls == 1:
                raise OSError("the database went away")
            await asyncio.sleep(0.1)  # the other delivery is still recording when the first fails
            await super().record_success(claim, owner, now, status_code)

    store = FirstRecordingFails()
    await two_due(store, receiver.url)
    deliverer = Deliverer(store, http, policy=RetryPolicy(), timeout=5.0, poll_interval=0.05)
    assert await deliverer.deliver_due() == 2
    statuses = sorted(d.status for d in await store.list_deliveries("p1"))
    assert statuses == ["delivered", "pending"]
