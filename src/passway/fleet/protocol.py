"""The ``Fleet`` interface: what the proxy and the token manager share across processes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from passway.core.throttle import ThrottleWindow
from passway.records import Change

ChangeListener = Callable[[Change], None]


class Fleet(Protocol):
    """Shared, expiring facts about connections, and a broadcast of committed changes.

    Every method degrades instead of failing: a backend that cannot be reached answers with what
    this process knows, so a proxied call never fails because of it.
    """

    async def throttle_window(self, connection_id: str, now: datetime) -> ThrottleWindow | None:
        """The connection's open throttle window (after a provider 429), if any."""
        ...

    async def open_throttle_window(
        self, connection_id: str, window: ThrottleWindow, now: datetime
    ) -> None:
        """Record a window (replacing any other); it vanishes at ``window.until``."""
        ...

    async def cooldown_until(self, connection_id: str, now: datetime) -> datetime | None:
        """When the connection's refresh cooldown ends, if one is running."""
        ...

    async def start_cooldown(self, connection_id: str, until: datetime, now: datetime) -> None:
        """No token refresh for the connection until ``until`` (a refresh just failed)."""
        ...

    def end_cooldown(self, connection_id: str) -> None:
        """Forget the connection's cooldown (re-authorized, or a refresh succeeded).

        Synchronous because its callers are: a shared copy is removed in the background.
        """
        ...

    def publish_change(self, change: Change) -> None:
        """Tell the other processes about a change this process committed (a store listener).

        Best effort, in the background: the change feed they poll is the safety net.
        """
        ...

    async def listen_changes(self, listener: ChangeListener) -> None:
        """Call ``listener`` with every change other processes publish (not this one's own)."""
        ...

    async def reachable(self) -> bool:
        """Whether the shared state answers now (always true in-process; readiness asks)."""
        ...

    async def aclose(self) -> None: ...
