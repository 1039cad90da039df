"""Token answers that arrived while the database was unreachable: kept, stored once it is back.

A refresh is only started under the store's lease, so it never starts while the database is down;
but the database can go away while the token call is on the wire. The provider may already have
rotated the refresh token, so dropping its answer could lose the grant. The answer is kept here,
per connection, and written (``store_new_tokens``: the write gives way to a newer grant) by a retry
loop, and before this process starts another refresh of that connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime

from passway.core.tokens import TokenResponse
from passway.oauth.persist import store_new_tokens
from passway.records import Connection
from passway.store.outage import is_store_outage, store_unavailable
from passway.store.protocol import Store

logger = logging.getLogger(__name__)

RETRY_FIRST, RETRY_MAX = 0.25, 5.0  # seconds between attempts, doubling


class UnstoredTokens:
    def __init__(self, store: Store, clock: Callable[[], datetime]) -> None:
        self._store = store
        self._clock = clock
        self._pending: dict[str, tuple[Connection, TokenResponse]] = {}
        self._retrying: asyncio.Task[None] | None = None

    def __contains__(self, connection_id: str) -> bool:
        return connection_id in self._pending

    def keep(self, current: Connection, response: TokenResponse) -> None:
        """Keep ``response`` (obtained for ``current``) until it can be stored."""
        self._pending[current.id] = (current, response)
        logger.warning(
            "token response for connection %s kept in memory: the database is unavailable",
            current.id,
        )
        if self._retrying is None or self._retrying.done():
            self._retrying = asyncio.create_task(self._retry(), name="passway-unstored-tokens")

    async def flush(self, connection_id: str) -> Connection | None:
        """Store the kept response of this connection, if any; raises ``StoreUnavailable`` while
        the database is still down (no other refresh may start before it is stored)."""
        entry = self._pending.get(connection_id)
        if entry is None:
            return None
        current, response = entry
        try:
            stored = await store_new_tokens(self._store, current, response, self._clock())
        except Exception as exc:
            if is_store_outage(exc):
                raise store_unavailable() from None
            self._pending.pop(connection_id, None)  # not an outage: this answer cannot be stored
            raise
        if self._pending.get(connection_id) is entry:
            del self._pending[connection_id]
        logger.info("stored the kept token response for connection %s", connection_id)
        return stored

    async def _retry(self) -> None:
        delay = RETRY_FIRST
        while self._pending:
            await asyncio.sleep(delay)
            for connection_id in list(self._pending):
                try:
                    await self.flush(connection_id)
                except Exception:  # noqa: BLE001 - still down (or dropped): try again later
                    delay = min(delay * 2, RETRY_MAX)
                    break
            else:
                delay = RETRY_FIRST

    async def aclose(self) -> None:
        task, self._retrying = self._retrying, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
