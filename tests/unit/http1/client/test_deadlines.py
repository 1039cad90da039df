"""Coarse read timeouts: an overdue wait fails with ``TimeoutError`` within one tick of its
deadline; a wait that ended (discarded) is never failed."""

from __future__ import annotations

import asyncio

import pytest

from passway.http1.client.deadlines import TICK, Deadlines, expire


async def test_an_overdue_wait_fails_within_a_tick_and_a_discarded_one_never() -> None:
    loop = asyncio.get_running_loop()
    deadlines = Deadlines()
    overdue: asyncio.Future[None] = loop.create_future()
    ended: asyncio.Future[None] = loop.create_future()
    deadlines.add(overdue, 0.1, expire)
    deadlines.add(ended, 0.1, expire)
    deadlines.discard(ended)
    started = loop.time()
    with pytest.raises(TimeoutError):
        await overdue
    assert 0.1 <= loop.time() - started <= 0.1 + 2 * TICK + 0.1
    await asyncio.sleep(2 * TICK)
    assert not ended.done()


async def test_a_wait_done_in_time_is_left_alone() -> None:
    loop = asyncio.get_running_loop()
    deadlines = Deadlines()
    waiter: asyncio.Future[None] = loop.create_future()
    deadlines.add(waiter, 0.2, expire)
    loop.call_later(0.05, waiter.set_result, None)
    await waiter
    deadlines.discard(waiter)
    await asyncio.sleep(0.3)
    assert waiter.result() is None
