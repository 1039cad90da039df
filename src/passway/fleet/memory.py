"""``MemoryFleet``: the fleet state in this process's memory.

Alone (the default) it is what a single worker needs: windows and cooldowns for its own calls, and
no one to tell about changes. Several ``MemoryFleet`` objects given one ``MemoryHub`` share it like
workers sharing Redis, which is how the contract tests use it as the twin of ``RedisFleet``.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from passway.core.throttle import ThrottleBook, ThrottleWindow
from passway.fleet.protocol import ChangeListener
from passway.records import Change

logger = logging.getLogger(__name__)

_MAX_COOLDOWNS = 100_000


@dataclass(slots=True)
class MemoryHub:
    """The shared part: windows, cooldowns, and who listens to changes (by origin)."""

    windows: ThrottleBook = field(default_factory=ThrottleBook)
    cooldowns: dict[str, datetime] = field(default_factory=dict)
    listeners: list[tuple[str, ChangeListener]] = field(default_factory=list)


class MemoryFleet:
    def __init__(self, hub: MemoryHub | None = None) -> None:
        self._hub = hub if hub is not None else MemoryHub()
        self._origin = uuid.uuid4().hex

    async def throttle_window(self, connection_id: str, now: datetime) -> ThrottleWindow | None:
        return self._hub.windows.active(connection_id, now)

    async def open_throttle_window(
        self, connection_id: str, window: ThrottleWindow, now: datetime
    ) -> None:
        self._hub.windows.record(connection_id, window, now)

    async def cooldown_until(self, connection_id: str, now: datetime) -> datetime | None:
        until = self._hub.cooldowns.get(connection_id)
        if until is not None and until <= now:
            del self._hub.cooldowns[connection_id]
            return None
        return until

    async def start_cooldown(self, connection_id: str, until: datetime, now: datetime) -> None:
        cooldowns = self._hub.cooldowns
        if len(cooldowns) >= _MAX_COOLDOWNS:
            self._hub.cooldowns = cooldowns = {k: u for k, u in cooldowns.items() if u > now}
        cooldowns[connection_id] = until

    def end_cooldown(self, connection_id: str) -> None:
        self._hub.cooldowns.pop(connection_id, None)

    def publish_change(self, change: Change) -> None:
        for origin, listener in list(self._hub.listeners):
            if origin == self._origin:
                continue
            try:
                listener(change)
            except Exception:
                logger.exception("change listener failed")

    async def listen_changes(self, listener: ChangeListener) -> None:
        self._hub.listeners.append((self._origin, listener))

    async def reachable(self) -> bool:
        return True

    async def aclose(self) -> None:
        self._hub.listeners = [(o, f) for o, f in self._hub.listeners if o != self._origin]
