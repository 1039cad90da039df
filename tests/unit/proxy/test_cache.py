"""The resolution cache: single-flight loads, per-project drops that also void loads in flight,
and a bounded size."""

from __future__ import annotations

import asyncio

import pytest

from passway.proxy.cache import ProjectCache


async def test_concurrent_misses_share_one_load() -> None:
    cache: ProjectCache[str] = ProjectCache(100)
    loads = 0

    async def load() -> str:
        nonlocal loads
        loads += 1
        await asyncio.sleep(0.01)
        return "value"

    results = await asyncio.gather(*(cache.get_or_load("p", "k", load) for _ in range(1000)))
    assert set(results) == {"value"}
    assert loads == 1
    assert cache.get("p", "k") == "value"


async def test_a_failed_load_reaches_every_waiter_and_is_not_cached() -> None:
    cache: ProjectCache[str] = ProjectCache(100)

    async def load() -> str:
        await asyncio.sleep(0.01)
        raise RuntimeError("store down")

    results = await asyncio.gather(
        *(cache.get_or_load("p", "k", load) for _ in range(5)), return_exceptions=True
    )
    assert all(isinstance(r, RuntimeError) for r in results)
    assert cache.get("p", "k") is None


async def test_a_cancelled_caller_does_not_cancel_the_load_for_others() -> None:
    cache: ProjectCache[str] = ProjectCache(100)

    async def load() -> str:
        await asyncio.sleep(0.05)
        return "v"

    first = asyncio.ensure_future(cache.get_or_load("p", "k", load))
    second = asyncio.ensure_future(cache.get_or_load("p", "k", load))
    await asyncio.sleep(0.01)
    first.cancel()
    assert await second == "v"
    with pytest.raises(asyncio.CancelledError):
        await first


async def test_drop_during_a_load_keeps_the_stale_result_out() -> None:
    cache: ProjectCache[str] = ProjectCache(100)
    started = asyncio.Event()

    async def load() -> str:
        started.set()
        await asyncio.sleep(0.02)
        return "stale"

    task = asyncio.ensure_future(cache.get_or_load("p", "k", load))
    await started.wait()
    cache.drop_project("p")
    assert await task == "stale"
    assert cache.get("p", "k") is None


def test_drop_project_forgets_only_that_project() -> None:
    cache: ProjectCache[str] = ProjectCache(100)
    cache.put("a", "k1", "1")
    cache.put("a", "k2", "2")
    cache.put("b", "k1", "3")
    cache.drop_project("a")
    assert (cache.get("a", "k1"), cache.get("a", "k2"), cache.get("b", "k1")) == (None, None, "3")


def test_size_is_bounded_least_recently_used_first() -> None:
    cache: ProjectCache[int] = ProjectCache(3)
    for n in range(3):
        cache.put("p", n, n)
    assert cache.get("p", 0) == 0  # touch 0: 1 is now the oldest
    cache.put("p", 3, 3)
    assert len(cache) == 3
    assert cache.get("p", 1) is None
    assert cache.get("p", 0) == 0
    cache.drop_project("p")
    assert len(cache) == 0
