"""One background task per worker that receives the changes other processes publish.

It subscribes to the changes channel and hands every message that another process sent to the
fleet's listeners (which drop cache entries exactly as the change-feed poller does). When Redis goes
away it retries with a growing pause (up to ``MAX_PAUSE`` seconds); messages sent meanwhile are lost
to it, which is fine: the poller reads them from the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from passway.fleet.outage import Outage

logger = logging.getLogger("passway.fleet")

MAX_PAUSE = 2.0
_IDLE_READ = 5.0


class ChangeSubscriber:
    def __init__(
        self,
        client: aioredis.Redis,
        channel: str,
        deliver: Callable[[bytes | str], None],
        outage: Outage,
    ) -> None:
        self._client = client
        self._channel = channel
        self._deliver = deliver
        self._outage = outage
        self._tried = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self, wait: float) -> None:
        """Start listening; wait up to ``wait`` seconds for the first subscription attempt, so a
        worker that has started is already subscribed when Redis is up."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="passway-fleet-subscriber")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._tried.wait(), wait)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        pause = 0.1
        while True:
            pubsub = self._client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._channel)
                self._tried.set()
                self._outage.succeeded()
                pause = 0.1
                while True:
                    message = await pubsub.get_message(
                        ignore_subscribe_messages=True, timeout=_IDLE_READ
                    )
                    if message is not None and message.get("type") == "message":
                        self._deliver(message["data"])
            except (RedisError, OSError, TimeoutError) as exc:
                self._outage.failed(exc)
            finally:
                with contextlib.suppress(RedisError, OSError, TimeoutError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
            self._tried.set()
            await asyncio.sleep(pause)
            pause = min(pause * 2, MAX_PAUSE)
