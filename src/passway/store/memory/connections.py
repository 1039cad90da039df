"""Connections and their refresh leases in memory (``ConnectionStore``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime, timedelta

from passway.errors import Conflict, NotFound
from passway.records import (
    Connection,
)
from passway.store import changes as kinds
from passway.store.memory.base import MemoryBase, scoped
from passway.store.notifications import NotificationEvent


class MemoryConnections(MemoryBase):
    """``ConnectionStore`` in memory."""

    async def create_connection(
        self, connection: Connection, *, events: Sequence[NotificationEvent] = ()
    ) -> Connection:
        self._require_project(connection.project_id)
        if connection.id in self._connections:
            raise Conflict("a connection with this id exists")
        if connection.provider_app_id is not None:
            self._require_provider_app(connection.project_id, connection.provider_app_id)
        self._connections[connection.id] = connection
        self._record((connection.project_id, kinds.CONNECTION, connection.id))
        self.notifications.write(events)
        return connection

    async def get_connection(self, project_id: str, connection_id: str) -> Connection | None:
        return scoped(self._connections.get(connection_id), project_id)

    async def get_connection_by_id(self, connection_id: str) -> Connection | None:
        return self._connections.get(connection_id)

    async def list_connections(
        self,
        project_id: str,
        *,
        provider: str | None = None,
        group_ref: str | None = None,
        consumer_ref: str | None = None,
    ) -> list[Connection]:
        found = [
            c
            for c in self._connections.values()
            if c.project_id == project_id
            and (provider is None or c.provider == provider)
            and (group_ref is None or c.group_ref == group_ref)
            and (consumer_ref is None or c.consumer_ref == consumer_ref)
        ]
        return sorted(found, key=lambda c: (c.create_time, c.id), reverse=True)

    async def update_connection(
        self,
        connection: Connection,
        *,
        expected_version: int,
        events: Sequence[NotificationEvent] = (),
    ) -> Connection:
        current = scoped(self._connections.get(connection.id), connection.project_id)
        if current is None:
            raise NotFound("connection not found")
        if current.version != expected_version:
            raise Conflict("the connection was changed by someone else; read it again")
        if connection.provider_app_id is not None:
            self._require_provider_app(connection.project_id, connection.provider_app_id)
        stored = dataclasses.replace(
            connection, version=expected_version + 1, create_time=current.create_time
        )
        self._connections[connection.id] = stored
        self._record((connection.project_id, kinds.CONNECTION, connection.id))
        self.notifications.write(events)
        return stored

    async def delete_connection(self, project_id: str, connection_id: str) -> bool:
        if scoped(self._connections.get(connection_id), project_id) is None:
            return False
        if any(i.connection_id == connection_id for i in self._installations.values()):
            raise Conflict("the connection is used by an installation; delete that first")
        del self._connections[connection_id]
        self._leases.pop(connection_id, None)
        self._record((project_id, kinds.CONNECTION, connection_id))
        return True

    async def acquire_refresh_lease(
        self, connection_id: str, owner: str, now: datetime, ttl_seconds: float
    ) -> bool:
        if connection_id not in self._connections:
            return False
        held = self._leases.get(connection_id)
        if held is not None and held[0] != owner and held[1] > now:
            return False
        self._leases[connection_id] = (owner, now + timedelta(seconds=ttl_seconds))
        return True

    async def release_refresh_lease(self, connection_id: str, owner: str) -> None:
        held = self._leases.get(connection_id)
        if held is not None and held[0] == owner:
            del self._leases[connection_id]
