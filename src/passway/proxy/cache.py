"""A bounded in-process cache for resolutions, dropped per project, with single-flight loading.

Why per project: every change the store records names its project, and changes are rare next to
calls, so dropping a whole project's entries is simple and always correct. A load that started
before a drop is not stored (a per-project generation number), so a stale answer cannot outlive the
change that made it stale. Concurrent misses for one key share one load (a thousand first calls make
one resolution); the load runs in its own task so a caller that goes away does not cancel it for the
others. Memory stays bounded: least recently used entries go first past ``max_entries``.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")
Key = tuple[str, Hashable]


class ProjectCache(Generic[V]):
    def __init__(self, max_entries: int) -> None:
        self._max = max(1, max_entries)
        self._entries: OrderedDict[Key, V] = OrderedDict()
        self._by_project: dict[str, set[Key]] = {}
        self._generation: dict[str, int] = {}
        self._inflight: dict[Key, asyncio.Task[V]] = {}
        self._epoch = 0  # bumped by clear(): drops loads of every project
        self.hits = 0  # lookups by ``get`` (sampled into passway_proxy_cache_lookups_total)
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, project_id: str, key: Hashable) -> V | None:
        """The cached value, or None (values are never None). Counted as a hit or a miss."""
        value = self.peek(project_id, key)
        if value is None:
            self.misses += 1
        else:
            self.hits += 1
        return value

    def peek(self, project_id: str, key: Hashable) -> V | None:
        """``get`` without counting."""
        full = (project_id, key)
        value = self._entries.get(full)
        if value is not None:
            self._entries.move_to_end(full)
        return value

    async def get_or_load(
        self, project_id: str, key: Hashable, load: Callable[[], Awaitable[V]]
    ) -> V:
        """The cached value, else the result of one shared ``load()`` (stored unless dropped)."""
        value = self.peek(project_id, key)
        if value is not None:
            return value
        full = (project_id, key)
        task = self._inflight.get(full)
        if task is None:
            task = asyncio.ensure_future(self._load(full, load))
            task.add_done_callback(_retrieve)
            self._inflight[full] = task
        return await asyncio.shield(task)

    async def _load(self, full: Key, load: Callable[[], Awaitable[V]]) -> V:
        before = (self._epoch, self._generation.get(full[0], 0))
        try:
            value = await load()
        finally:
            self._inflight.pop(full, None)
        if (self._epoch, self._generation.get(full[0], 0)) == before:
            self.put(full[0], full[1], value)
        return value

    def put(self, project_id: str, key: Hashable, value: V) -> None:
        full = (project_id, key)
        self._entries[full] = value
        self._entries.move_to_end(full)
        self._by_project.setdefault(project_id, set()).add(full)
        while len(self._entries) > self._max:
            old, _ = self._entries.popitem(last=False)
            keys = self._by_project.get(old[0])
            if keys is not None:
                keys.discard(old)
                if not keys:
                    del self._by_project[old[0]]

    def drop_project(self, project_id: str) -> None:
        """Forget every entry of the project, and any load of it still running."""
        self._generation[project_id] = self._generation.get(project_id, 0) + 1
        for full in self._by_project.pop(project_id, ()):
            self._entries.pop(full, None)

    def clear(self) -> None:
        """Forget everything (used when the change feed cannot be read: nothing is known)."""
        self._epoch += 1
        self._entries.clear()
        self._by_project.clear()


def _retrieve(task: asyncio.Task[object]) -> None:
    """Mark a load's exception as seen: every waiter gets it, but there may be none left."""
    if not task.cancelled():
        task.exception()
