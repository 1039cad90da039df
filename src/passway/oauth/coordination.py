"""One refresher per connection: across coroutines, worker processes and Passway instances.

Two layers:

- ``SingleFlight`` (in-process): concurrent coroutines asking to refresh one connection share one
  task and its result, so 500 waiting calls make one attempt.
- ``LeasedRefresh`` (cross-process): the store's refresh lease (an atomic conditional UPDATE in SQL)
  elects one holder among processes and instances sharing a database. The holder re-reads the
  connection under the lease (someone may have refreshed already), calls the token endpoint, writes
  the new tokens, then releases. Everyone else polls the store with a short backoff until the stored
  connection no longer needs refreshing (they use the holder's token) or the lease frees up (then
  one of them takes it). Nobody calls the token endpoint without holding the lease.

The holder renews its lease every third of ``ttl`` while it works, so a live holder keeps it however
long its token call takes, and a holder that dies leaves it to expire within ``ttl``; the next
process then refreshes with the refresh token that is stored. Nobody waits longer than
``wait_limit`` (``PASSWAY_REFRESH_WAIT``): a caller still waiting then gets 503
``token_refresh_pending`` (retryable), never a hang. Lease times come from each instance's clock:
instances sharing a database need clocks in step to well within the ttl (NTP gives milliseconds).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime

from passway.errors import NotFound, TokenRefreshPending
from passway.records import Connection
from passway.store.protocol import ConnectionStore

logger = logging.getLogger(__name__)

NeedsRefresh = Callable[[Connection], bool]
Clock = Callable[[], datetime]


class SingleFlight:
    """At most one running task per key; callers arriving meanwhile await that task's result."""

    def __init__(self) -> None:
        self._running: dict[str, asyncio.Task[Connection]] = {}

    def __contains__(self, key: str) -> bool:
        return key in self._running

    async def run(self, key: str, work: Callable[[], Awaitable[Connection]]) -> Connection:
        task = self._running.get(key)
        if task is None:
            task = asyncio.ensure_future(work())
            self._running[key] = task
            task.add_done_callback(lambda _t: self._drop(key, _t))
        # shield: one caller giving up (client disconnect) must not cancel everyone's refresh.
        return await asyncio.shield(task)

    def _drop(self, key: str, task: asyncio.Task[Connection]) -> None:
        if self._running.get(key) is task:
            del self._running[key]
        if not task.cancelled():
            task.exception()  # mark retrieved: every caller gets it from its own await


class LeasedRefresh:
    """The cross-process half: take the store's lease, or wait for whoever holds it."""

    def __init__(
        self,
        store: ConnectionStore,
        *,
        owner: str,
        lease_ttl: float,
        wait_limit: float,
        clock: Clock,
    ) -> None:
        self._store = store
        self._owner = owner
        self._ttl = lease_ttl
        self._wait_limit = wait_limit
        self._clock = clock

    async def run(
        self,
        connection_id: str,
        needs_refresh: NeedsRefresh,
        check_usable: Callable[[Connection], None],
        refresh: Callable[[Connection], Awaitable[Connection]],
    ) -> Connection:
        """Return a connection that no longer ``needs_refresh``, refreshing it if we get the lease.

        ``check_usable`` raises for connections that must not be refreshed (revoked grant,
        cooling down); ``refresh`` is called with the lease held and the freshest stored copy.
        """
        deadline = time.monotonic() + self._wait_limit
        delay = 0.02
        while True:
            current = await self._read(connection_id)
            check_usable(current)
            if not needs_refresh(current):
                return current
            if await self._store.acquire_refresh_lease(
                connection_id, self._owner, self._clock(), self._ttl
            ):
                renewing = asyncio.create_task(self._renew(connection_id))
                try:
                    current = await self._read(connection_id)
                    check_usable(current)
                    if not needs_refresh(current):
                        return current
                    return await refresh(current)
                finally:
                    renewing.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await renewing
                    await asyncio.shield(
                        self._store.release_refresh_lease(connection_id, self._owner)
                    )
            if time.monotonic() >= deadline:
                raise TokenRefreshPending(
                    "Another process is refreshing the connection's token and has not finished "
                    "yet; retry shortly",
                    context={"connectionId": connection_id},
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.25)

    async def _renew(self, connection_id: str) -> None:
        """Extend our lease every third of its ttl while we hold it (a renewal that fails is
        tried again at the next beat; the lease is ours until it expires)."""
        while True:
            await asyncio.sleep(self._ttl / 3)
            try:
                kept = await self._store.acquire_refresh_lease(
                    connection_id, self._owner, self._clock(), self._ttl
                )
            except Exception:  # noqa: BLE001 - the database blinked: try at the next beat
                logger.warning("could not renew the refresh lease of %s", connection_id)
                continue
            if not kept:
                logger.warning("lost the refresh lease of %s to another process", connection_id)
                return

    async def _read(self, connection_id: str) -> Connection:
        current = await self._store.get_connection_by_id(connection_id)
        if current is None:
            raise NotFound(
                "The connection no longer exists", context={"connectionId": connection_id}
            )
        return current
