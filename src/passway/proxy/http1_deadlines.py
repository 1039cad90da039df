"""Coarse read timeouts for the proxy's HTTP/1.1 connections: one ticker instead of a timer each.

Every proxied call waits at least once for its provider, and a loop timer per wait (``call_later``
then ``cancel``) costs about 3 µs with uvloop. Waits register their deadline here instead, and one
callback, running only while something waits, fails the overdue ones every ``TICK`` seconds. A read
timeout therefore fires up to ``TICK`` late, which is nothing next to timeouts counted in seconds.
"""

from __future__ import annotations

import asyncio

TICK = 0.05


class Deadlines:
    """The pending waits of one event loop and when each of them gives up."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._waits: dict[asyncio.Future[None], float] = {}
        self._ticker: asyncio.TimerHandle | None = None

    def add(self, waiter: asyncio.Future[None], timeout: float) -> None:
        """Fail ``waiter`` with ``TimeoutError`` unless it is done within ``timeout`` seconds."""
        self._waits[waiter] = self._loop.time() + timeout
        if self._ticker is None:
            self._ticker = self._loop.call_later(TICK, self._tick)

    def discard(self, waiter: asyncio.Future[None]) -> None:
        self._waits.pop(waiter, None)

    def _tick(self) -> None:
        now = self._loop.time()
        overdue = [waiter for waiter, deadline in self._waits.items() if deadline <= now]
        for waiter in overdue:
            del self._waits[waiter]
            if not waiter.done():
                waiter.set_exception(TimeoutError())
        self._ticker = self._loop.call_later(TICK, self._tick) if self._waits else None
