"""Coarse read timeouts for the proxy's HTTP/1.1 connections: one ticker, not a timer per wait.

Every proxied call waits at least once for its provider. A loop timer for each wait
(``call_later``, then ``cancel``) costs a few µs per call with uvloop (a libuv handle made, started,
stopped and closed). Here a deadline is one dict entry, and one callback, scheduled only while
something is pending, fires the overdue ones every ``TICK`` seconds: up to ``TICK`` late, which is
nothing next to timeouts counted in seconds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Hashable
from typing import Any

TICK = 0.05

logger = logging.getLogger(__name__)


class Deadlines:
    """Pending deadlines of one event loop: ``callback(key)`` runs once ``delay`` has passed,
    unless ``key`` was discarded first."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: dict[Hashable, tuple[float, Callable[[Any], object]]] = {}
        self._ticker: asyncio.TimerHandle | None = None

    def add(self, key: Hashable, delay: float, callback: Callable[[Any], object]) -> None:
        loop = self._loop
        if loop is None:
            loop = self._loop = asyncio.get_running_loop()
        self._pending[key] = (loop.time() + delay, callback)
        if self._ticker is None:
            self._ticker = loop.call_later(TICK, self._tick)

    def discard(self, key: Hashable) -> None:
        self._pending.pop(key, None)

    def _tick(self) -> None:
        assert self._loop is not None
        now = self._loop.time()
        overdue = [key for key, (deadline, _) in self._pending.items() if deadline <= now]
        fired = [(key, self._pending.pop(key)[1]) for key in overdue]
        self._ticker = self._loop.call_later(TICK, self._tick) if self._pending else None
        for key, callback in fired:
            try:
                callback(key)
            except Exception:
                logger.exception("deadline callback failed")


def expire(waiter: asyncio.Future[None]) -> None:
    """The callback for a wait that ran out of time: it raises ``TimeoutError`` in the waiter."""
    if not waiter.done():
        waiter.set_exception(TimeoutError())
