"""The dicts under ``MemoryStore``, its change feed and the checks every concern shares."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from passway.errors import NotFound
from passway.records import (
    ApiKey,
    Change,
    Connection,
    Installation,
    Integration,
    OAuthState,
    Project,
    ProviderApp,
)
from passway.store.changes import Listeners
from passway.store.memory.notifications import MemoryNotificationStore

_T = TypeVar("_T", ApiKey, Integration, Connection, Installation, ProviderApp)


def scoped(record: _T | None, project_id: str) -> _T | None:
    """The record if it belongs to ``project_id``: another tenant's row reads as absent."""
    if record is None or record.project_id != project_id:
        return None
    return record


class MemoryBase:
    """The dicts every part of ``MemoryStore`` reads and writes, and the change feed."""

    def __init__(self) -> None:
        self._projects: dict[str, Project] = {}
        self._api_keys: dict[str, ApiKey] = {}
        self._integrations: dict[str, Integration] = {}
        self._connections: dict[str, Connection] = {}
        self._installations: dict[str, Installation] = {}
        self._provider_apps: dict[str, ProviderApp] = {}
        self._oauth_states: dict[str, OAuthState] = {}
        self._leases: dict[str, tuple[str, datetime]] = {}
        self._changes: list[Change] = []
        self._seq = 0
        self._listeners = Listeners()
        # Events are written with the change that causes them (the same step, no await between).
        self.notifications = MemoryNotificationStore()

    async def close(self) -> None:
        return None

    def _record(self, *entries: tuple[str, str, str]) -> None:
        """Append ``(project_id, kind, entity_id)`` changes and tell the listeners."""
        new = []
        for project_id, kind, entity_id in entries:
            self._seq += 1
            new.append(Change(self._seq, project_id, kind, entity_id))
        self._changes.extend(new)
        self._listeners.notify(new)

    def subscribe(self, listener: Callable[[Change], None]) -> None:
        self._listeners.add(listener)

    async def latest_change_seq(self) -> int:
        return self._seq

    async def changes_since(self, seq: int, limit: int = 1000) -> list[Change]:
        # Sequence numbers start at 1 and are never pruned here, so seq n sits at index n - 1.
        start = max(seq, 0)
        return self._changes[start : start + limit]

    def _require_project(self, project_id: str) -> None:
        if project_id not in self._projects:
            raise NotFound("project not found")

    def _require_provider_app(self, project_id: str, app_id: str) -> None:
        if scoped(self._provider_apps.get(app_id), project_id) is None:
            raise NotFound("provider app not found")
