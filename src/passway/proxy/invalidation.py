"""Keep this worker's resolution cache honest when another process changes something.

Changes made in this process reach the cache at once (``Store.subscribe``). With Redis, changes
made by other worker processes or Passway instances arrive at once too (``passway.fleet`` pub/sub).
Whatever the fleet misses (no Redis, a lost message, an outage) is read from the store's change
feed every ``PASSWAY_CACHE_POLL_INTERVAL`` seconds (default 0.5): without Redis that interval is
how long another worker may still use, say, a revoked API key.

If the feed cannot be read (a database outage), cached resolutions keep serving for up to
``stale_ttl`` seconds (``PASSWAY_STALE_CACHE_TTL``) after the last good read, so calls that need no
database keep working through a short outage; past that the whole cache is dropped (nothing can be
known to be current) and polling goes on. The feed position is kept, so when the database is back
every change made meanwhile is read and invalidates what it must.

Changes already applied (this process's own, or announced by the fleet) come back through the feed
too; the poller skips them (``note_local``) instead of dropping fresh entries a second time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from passway.records import Change
from passway.store.protocol import ChangeFeed

logger = logging.getLogger(__name__)

_BATCH = 1000


class ChangeWatcher:
    def __init__(
        self,
        store: ChangeFeed,
        on_change: Callable[[Change], None],
        on_unknown: Callable[[], None],
        interval: float,
        *,
        stale_ttl: float = 0.0,
    ) -> None:
        self._store = store
        self._stale_ttl = stale_ttl
        self._last_good = 0.0  # loop time of the last successful read of the feed
        self._on_change = on_change
        self._on_unknown = on_unknown
        self._interval = interval
        self._seq = 0
        self._local: set[int] = set()
        self._task: asyncio.Task[None] | None = None

    def note_local(self, change: Change) -> None:
        """A change already applied (committed here, or announced by the fleet): skip it when
        polled."""
        if change.seq > self._seq:
            self._local.add(change.seq)

    async def start(self) -> None:
        """Start from the feed's end: the cache is empty now, so older changes do not matter."""
        self._seq = await self._store.latest_change_seq()
        self._last_good = asyncio.get_running_loop().time()
        self._task = asyncio.create_task(self._run(), name="passway-change-watcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def poll_once(self) -> int:
        """Apply every change since the last one seen; returns how many there were."""
        total = 0
        while True:
            changes = await self._store.changes_since(self._seq, _BATCH)
            for change in changes:
                if change.seq in self._local:
                    self._local.discard(change.seq)
                else:
                    self._on_change(change)
                self._seq = max(self._seq, change.seq)
            total += len(changes)
            if len(changes) < _BATCH:
                if self._local:
                    self._local = {seq for seq in self._local if seq > self._seq}
                return total

    async def _run(self) -> None:
        failing = False
        dropped = False
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.poll_once()
            except Exception:
                if not failing:
                    logger.warning(
                        "cannot read the change feed; cached resolutions serve for up to %g s more",
                        self._stale_ttl,
                        exc_info=True,
                    )
                failing = True
                if loop.time() - self._last_good >= self._stale_ttl:
                    if not dropped:
                        logger.warning("change feed unreadable too long; dropping the proxy cache")
                    dropped = True
                    self._on_unknown()
            else:
                self._last_good = loop.time()
                if failing:
                    logger.info("change feed readable again")
                failing = dropped = False
