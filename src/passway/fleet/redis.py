"""``RedisFleet``: throttle windows, refresh cooldowns and change news shared through Redis.

- A window or cooldown is one key per connection (``<prefix>throttle:<id>``,
  ``<prefix>cooldown:<id>``) whose value is its end and whose expiry (PX) is that same end, so Redis
  forgets it on time. A read is one GET, made only when this process knows of none (it keeps a local
  copy of the windows it learned, and of what it wrote).
- A committed change is PUBLISHed on ``<prefix>changes`` by a background writer; a subscriber task
  per worker passes other processes' changes to the listeners (``subscriber``).

Redis is an accelerator, never the source of truth: any Redis error is logged once per outage and
answered from the local copy (``MemoryFleet``), i.e. per-process behaviour, until Redis is back.
Timeouts are short and commands are not retried, so an unreachable Redis costs a call little.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from functools import partial
from typing import TypeVar

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from passway.core.throttle import ThrottleWindow
from passway.fleet import wire
from passway.fleet.memory import MemoryFleet
from passway.fleet.outage import Outage
from passway.fleet.protocol import ChangeListener
from passway.fleet.subscriber import ChangeSubscriber
from passway.records import Change

logger = logging.getLogger("passway.fleet")

T = TypeVar("T")

COMMAND_TIMEOUT = 0.5
_MAX_PENDING = 10_000
_ERRORS = (RedisError, OSError, TimeoutError)


def redis_client(url: str) -> aioredis.Redis:
    """A pooled client with short timeouts and no retries (a slow Redis must not slow calls)."""
    return aioredis.Redis.from_url(
        url,
        socket_timeout=COMMAND_TIMEOUT,
        socket_connect_timeout=COMMAND_TIMEOUT,
        retry=Retry(NoBackoff(), 0),
        health_check_interval=10,
    )


class RedisFleet:
    def __init__(
        self,
        client: aioredis.Redis,
        *,
        prefix: str = wire.DEFAULT_PREFIX,
        outage: Outage | None = None,
    ) -> None:
        self._client = client
        self._keys = wire.Keys(prefix)
        self._outage = outage if outage is not None else Outage()
        self._local = MemoryFleet()
        self._origin = uuid.uuid4().hex
        self._listeners: list[ChangeListener] = []
        # Cooldowns ended here whose shared copy is still being deleted: not read back meanwhile.
        self._ending: set[str] = set()
        self._pending: asyncio.Queue[tuple[str, str]] = asyncio.Queue(_MAX_PENDING)
        self._writer: asyncio.Task[None] | None = None
        self._subscriber = ChangeSubscriber(client, self._keys.changes, self._deliver, self._outage)

    @classmethod
    def from_url(cls, url: str, *, prefix: str = wire.DEFAULT_PREFIX) -> RedisFleet:
        return cls(redis_client(url), prefix=prefix)

    # throttle windows ----------------------------------------------------------------------------
    async def throttle_window(self, connection_id: str, now: datetime) -> ThrottleWindow | None:
        window = await self._local.throttle_window(connection_id, now)
        if window is not None:
            return window
        raw = await self._ask(lambda: self._client.get(self._keys.throttle(connection_id)))
        window = wire.decode_window(raw)
        if window is None or window.until <= now:
            return None
        await self._local.open_throttle_window(connection_id, window, now)
        return window

    async def open_throttle_window(
        self, connection_id: str, window: ThrottleWindow, now: datetime
    ) -> None:
        await self._local.open_throttle_window(connection_id, window, now)
        expiry = wire.expiry_millis(window.until, now)
        if expiry > 0:
            key, value = self._keys.throttle(connection_id), wire.encode_window(window)
            await self._ask(lambda: self._client.set(key, value, px=expiry))

    # refresh cooldowns ---------------------------------------------------------------------------
    async def cooldown_until(self, connection_id: str, now: datetime) -> datetime | None:
        until = await self._local.cooldown_until(connection_id, now)
        if until is not None or connection_id in self._ending:
            return until
        # Not copied locally (unlike windows): another process may end it early (re-authorized).
        raw = await self._ask(lambda: self._client.get(self._keys.cooldown(connection_id)))
        until = wire.decode_moment(raw)
        return until if until is not None and until > now else None

    async def start_cooldown(self, connection_id: str, until: datetime, now: datetime) -> None:
        await self._local.start_cooldown(connection_id, until, now)
        expiry = wire.expiry_millis(until, now)
        if expiry > 0:
            key, value = self._keys.cooldown(connection_id), wire.encode_moment(until)
            await self._ask(lambda: self._client.set(key, value, px=expiry))

    def end_cooldown(self, connection_id: str) -> None:
        self._local.end_cooldown(connection_id)
        self._ending.add(connection_id)
        self._enqueue("end_cooldown", connection_id)

    # changes -------------------------------------------------------------------------------------
    def publish_change(self, change: Change) -> None:
        self._enqueue("publish", wire.encode_change(change, self._origin))

    async def listen_changes(self, listener: ChangeListener) -> None:
        self._listeners.append(listener)
        await self._subscriber.start(wait=2 * COMMAND_TIMEOUT)

    def _deliver(self, raw: bytes | str) -> None:
        decoded = wire.decode_change(raw)
        if decoded is None or decoded[0] == self._origin:
            return  # not ours, or this process's own change (applied when it was committed)
        for listener in self._listeners:
            try:
                listener(decoded[1])
            except Exception:
                logger.exception("change listener failed")

    @property
    def available(self) -> bool:
        """False while an outage is known (no probe: the metrics sampler reads this)."""
        return not self._outage.down

    async def reachable(self) -> bool:
        """Ask Redis now (readiness), whatever the outage tracker thinks."""
        try:
            await self._client.ping()
        except _ERRORS as exc:
            self._outage.failed(exc)
            return False
        self._outage.succeeded()
        return True

    async def aclose(self) -> None:
        await self._subscriber.stop()
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
            self._writer = None
        await self._client.aclose()

    # plumbing ------------------------------------------------------------------------------------
    async def _ask(self, command: Callable[[], Awaitable[T]]) -> T | None:
        """The command's result, or None when Redis is (known to be) unreachable."""
        if not self._outage.usable():
            return None
        try:
            result = await command()
        except _ERRORS as exc:
            self._outage.failed(exc)
            return None
        self._outage.succeeded()
        return result

    def _enqueue(self, action: str, argument: str) -> None:
        """Queue a write for the background writer; dropped when the queue is full."""
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(
                self._write(), name="passway-fleet-writer"
            )
        with contextlib.suppress(asyncio.QueueFull):
            self._pending.put_nowait((action, argument))

    async def _write(self) -> None:
        while True:
            action, argument = await self._pending.get()
            if action == "publish":
                await self._ask(partial(self._client.publish, self._keys.changes, argument))
            else:
                try:
                    await self._ask(partial(self._client.delete, self._keys.cooldown(argument)))
                finally:
                    self._ending.discard(argument)
