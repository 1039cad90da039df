"""The fleet contract: two workers sharing one fleet backend (in-memory hub, or Redis) see each
other's throttle windows, refresh cooldowns and published changes, and all of them expire on time.
The Redis cases need ``PASSWAY_TEST_REDIS_URL`` (skipped cleanly otherwise); each test uses its own
key prefix. Redis outages are played with a loopback TCP relay in front of the real Redis that the
test stops and starts again: calls keep working on per-process state, then sharing resumes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis.asyncio as aioredis

from passway.core.throttle import ThrottleWindow
from passway.fleet import Fleet, MemoryFleet, MemoryHub
from passway.fleet.redis import RedisFleet
from passway.records import Change

REDIS_ENV = "PASSWAY_TEST_REDIS_URL"
BACKENDS = ["memory", pytest.param("redis", marks=pytest.mark.redis)]


def redis_url() -> str:
    url = os.environ.get(REDIS_ENV)
    if not url:
        pytest.skip(f"{REDIS_ENV} is not set")
    return url


def unique_prefix() -> str:
    return f"passway:test-{secrets.token_hex(6)}:"


async def drop_keys(url: str, prefix: str) -> None:
    client = aioredis.Redis.from_url(url)
    try:
        async for key in client.scan_iter(match=f"{prefix}*"):
            await client.delete(key)
    finally:
        await client.aclose()


@dataclass
class Fleets:
    """Fleet objects of several workers sharing one backend; ``new()`` adds another worker."""

    new: Callable[[], Fleet]
    made: list[Fleet] = field(default_factory=list)

    def worker(self) -> Fleet:
        fleet = self.new()
        self.made.append(fleet)
        return fleet


@pytest.fixture(params=BACKENDS)
async def fleets(request: pytest.FixtureRequest) -> AsyncIterator[Fleets]:
    if request.param == "memory":
        hub = MemoryHub()
        made = Fleets(lambda: MemoryFleet(hub))
        yield made
        for fleet in made.made:
            await fleet.aclose()
        return
    url, prefix = redis_url(), unique_prefix()
    made = Fleets(lambda: RedisFleet.from_url(url, prefix=prefix))
    try:
        yield made
    finally:
        for fleet in made.made:
            await fleet.aclose()
        await drop_keys(url, prefix)


def window(now: datetime, seconds: float, retryable: bool = True) -> ThrottleWindow:
    return ThrottleWindow(until=now + timedelta(seconds=seconds), retryable=retryable)


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 2.0) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if await check():
            return True
        await asyncio.sleep(0.02)
    return await check()


def now_ms() -> datetime:
    """The current time at millisecond precision (what Redis values carry)."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


# throttle windows ---------------------------------------------------------------------------------
async def test_a_window_opened_by_one_worker_holds_for_another_until_it_ends(
    fleets: Fleets,
) -> None:
    a, b = fleets.worker(), fleets.worker()
    now = now_ms()
    opened = window(now, 30, retryable=False)
    await a.open_throttle_window("conn-1", opened, now)
    assert await b.throttle_window("conn-1", now + timedelta(seconds=10)) == opened
    assert await b.throttle_window("conn-2", now) is None  # per connection
    assert await fleets.worker().throttle_window("conn-1", now + timedelta(seconds=31)) is None


async def test_a_window_expires_on_its_own(fleets: Fleets) -> None:
    """Asked with the real clock after the end, a worker that never saw the window finds none."""
    a = fleets.worker()
    now = now_ms()
    await a.open_throttle_window("conn-1", window(now, 0.2), now)
    await asyncio.sleep(0.35)
    assert await fleets.worker().throttle_window("conn-1", datetime.now(UTC)) is None
    assert await a.throttle_window("conn-1", datetime.now(UTC)) is None


async def test_a_later_window_replaces_the_earlier_one(fleets: Fleets) -> None:
    a = fleets.worker()
    now = now_ms()
    await a.open_throttle_window("conn-1", window(now, 60), now)
    shorter = window(now, 5)
    await a.open_throttle_window("conn-1", shorter, now)
    assert await fleets.worker().throttle_window("conn-1", now) == shorter


# refresh cooldowns --------------------------------------------------------------------------------
async def test_a_cooldown_started_by_one_worker_holds_for_another_until_it_ends(
    fleets: Fleets,
) -> None:
    a, b = fleets.worker(), fleets.worker()
    now = now_ms()
    until = now + timedelta(seconds=15)
    await a.start_cooldown("conn-1", until, now)
    assert await b.cooldown_until("conn-1", now + timedelta(seconds=1)) == until
    assert await b.cooldown_until("conn-2", now) is None
    assert await fleets.worker().cooldown_until("conn-1", now + timedelta(seconds=16)) is None


async def test_a_cooldown_expires_on_its_own(fleets: Fleets) -> None:
    a = fleets.worker()
    now = now_ms()
    await a.start_cooldown("conn-1", now + timedelta(seconds=0.2), now)
    await asyncio.sleep(0.35)
    assert await fleets.worker().cooldown_until("conn-1", datetime.now(UTC)) is None


async def test_an_ended_cooldown_is_gone_for_every_worker(fleets: Fleets) -> None:
    a = fleets.worker()
    now = now_ms()
    await a.start_cooldown("conn-1", now + timedelta(seconds=30), now)
    a.end_cooldown("conn-1")
    assert await a.cooldown_until("conn-1", now) is None

    async def gone() -> bool:
        return await fleets.worker().cooldown_until("conn-1", now) is None

    assert await eventually(gone)


# changes ------------------------------------------------------------------------------------------
def change(seq: int) -> Change:
    return Change(seq=seq, project_id=f"proj-{seq}", kind="api_key", entity_id=f"key-{seq}")


async def test_a_published_change_reaches_the_other_workers_not_the_publisher(
    fleets: Fleets,
) -> None:
    a, b, c = fleets.worker(), fleets.worker(), fleets.worker()
    seen: dict[str, list[Change]] = {"a": [], "b": [], "c": []}
    for name, fleet in (("a", a), ("b", b), ("c", c)):
        await fleet.listen_changes(seen[name].append)
    a.publish_change(change(7))
    a.publish_change(change(8))

    async def delivered() -> bool:
        return len(seen["b"]) == 2 and len(seen["c"]) == 2

    assert await eventually(delivered)
    assert seen["b"] == [change(7), change(8)]  # in order, intact
    await asyncio.sleep(0.1)
    assert seen["a"] == []


async def test_a_failing_listener_does_not_stop_the_others(fleets: Fleets) -> None:
    a, b = fleets.worker(), fleets.worker()
    seen: list[Change] = []

    def broken(_change: Change) -> None:
        raise RuntimeError("listener bug")

    await b.listen_changes(broken)
    await b.listen_changes(seen.append)
    a.publish_change(change(1))

    async def delivered() -> bool:
        return seen == [change(1)]

    assert await eventually(delivered)


# Redis only: expiry inside Redis, outages --------------------------------------------------------
@pytest.mark.redis
async def test_redis_keys_carry_the_window_end_as_their_expiry() -> None:
    url, prefix = redis_url(), unique_prefix()
    fleet = RedisFleet.from_url(url, prefix=prefix)
    client = aioredis.Redis.from_url(url)
    try:
        now = datetime.now(UTC)
        await fleet.open_throttle_window("conn-1", window(now, 30), now)
        await fleet.start_cooldown("conn-1", now + timedelta(seconds=15), now)
        assert 29_000 <= await client.pttl(f"{prefix}throttle:conn-1") <= 30_000
        assert 14_000 <= await client.pttl(f"{prefix}cooldown:conn-1") <= 15_000
        # A window that already ended is not written at all.
        await fleet.open_throttle_window("conn-2", window(now, -1), now)
        assert await client.exists(f"{prefix}throttle:conn-2") == 0
    finally:
        await fleet.aclose()
        await client.aclose()
        await drop_keys(url, prefix)


class RedisRelay:
    """A loopback TCP relay to the real Redis that can go away and come back on the same port."""

    def __init__(self, target_url: str) -> None:
        parts = urlsplit(target_url)
        self._target = (parts.hostname or "127.0.0.1", parts.port or 6379)
        self._parts = parts
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._handlers: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        netloc = self._parts.netloc.rpartition("@")
        auth = netloc[0] + "@" if netloc[0] else ""
        return urlunsplit(self._parts._replace(netloc=f"{auth}127.0.0.1:{self.port}"))

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    @property
    def running(self) -> bool:
        return self._server is not None

    async def stop(self) -> None:
        """Refuse new connections and cut the open ones (what a Redis restart looks like)."""
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        await self._server.wait_closed()
        self._server = None

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        task.add_done_callback(self._handlers.discard)
        up_reader, up_writer = await asyncio.open_connection(*self._target)
        self._writers.update((writer, up_writer))

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        try:
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        finally:
            self._writers.difference_update((writer, up_writer))


def outage_warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.name == "passway.fleet" and r.levelno == logging.WARNING and "unreachable" in r.message
    ]


@pytest.mark.redis
async def test_an_unreachable_redis_falls_back_to_this_process_and_logs_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Nothing raises, nothing hangs: the worker keeps its own windows and cooldowns."""
    relay = RedisRelay(redis_url())
    await relay.start()
    url = relay.url
    await relay.stop()  # nothing listens on that port now
    fleet = RedisFleet.from_url(url, prefix=unique_prefix())
    caplog.set_level(logging.INFO, logger="passway.fleet")
    try:
        now = datetime.now(UTC)
        seen: list[Change] = []
        async with asyncio.timeout(3):
            await fleet.listen_changes(seen.append)
            opened = window(now, 30)
            await fleet.open_throttle_window("conn-1", opened, now)
            assert await fleet.throttle_window("conn-1", now) == opened
            assert await fleet.throttle_window("conn-2", now) is None
            await fleet.start_cooldown("conn-1", now + timedelta(seconds=15), now)
            assert await fleet.cooldown_until("conn-1", now) == now + timedelta(seconds=15)
            fleet.publish_change(change(1))
            fleet.end_cooldown("conn-1")
            for _ in range(20):
                await fleet.throttle_window("conn-3", now)
        assert len(outage_warnings(caplog)) == 1
    finally:
        await fleet.aclose()


@pytest.mark.redis
async def test_sharing_resumes_when_redis_comes_back(caplog: pytest.LogCaptureFixture) -> None:
    direct_url, prefix = redis_url(), unique_prefix()
    relay = RedisRelay(direct_url)
    await relay.start()
    worker = RedisFleet.from_url(relay.url, prefix=prefix)
    other = RedisFleet.from_url(direct_url, prefix=prefix)
    caplog.set_level(logging.INFO, logger="passway.fleet")
    seen: list[Change] = []
    try:
        await worker.listen_changes(seen.append)
        other.publish_change(change(1))

        async def delivered() -> bool:
            return change(1) in seen

        assert await eventually(delivered)

        await relay.stop()  # Redis goes away for this worker
        now = now_ms()
        async with asyncio.timeout(3):
            mine = window(now, 30)
            await worker.open_throttle_window("conn-mine", mine, now)
            assert await worker.throttle_window("conn-mine", now) == mine
        assert len(outage_warnings(caplog)) == 1

        await relay.start()  # and comes back on the same address
        theirs = window(now, 30)
        await other.open_throttle_window("conn-theirs", theirs, now)

        async def shared_again() -> bool:
            return await worker.throttle_window("conn-theirs", now) == theirs

        assert await eventually(shared_again, timeout=5)

        async def delivered_again() -> bool:
            other.publish_change(change(2))
            await asyncio.sleep(0.05)
            return change(2) in seen

        assert await eventually(delivered_again, timeout=5)
        assert any("reachable again" in r.message for r in caplog.records)
    finally:
        await worker.aclose()
        await other.aclose()
        if relay.running:
            await relay.stop()
        await drop_keys(direct_url, prefix)
