"""``MemoryStore``: the in-memory twin of ``SqlStore``, for tests and throw-away servers.

It keeps the same rules as the SQL store (the contract suite runs against both): tenant scoping,
``Conflict`` on uniqueness, version checks, leases, single-use OAuth states, change feed. Every
method body runs without an ``await`` between its checks and its writes, so on one event loop each
call is atomic, which is what a transaction gives the SQL store.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime, timedelta

from passway.errors import Conflict, NotFound
from passway.records import (
    ApiKey,
    Connection,
    Integration,
    Project,
)
from passway.store import changes as kinds
from passway.store.memory_apps import MemoryAppsMixin
from passway.store.memory_state import scoped
from passway.store.notifications import NotificationEvent
from passway.store.rules import check_unique_names, merge_integrations, ordered


class MemoryStore(MemoryAppsMixin):
    """Implements ``passway.store.protocol.Store`` with dicts."""

    # projects ------------------------------------------------------------------------------------
    async def create_project(self, project: Project) -> Project:
        if project.id in self._projects:
            raise Conflict("a project with this id exists")
        if any(p.name == project.name for p in self._projects.values()):
            raise Conflict(f"project name {project.name!r} is taken")
        self._projects[project.id] = project
        self._record((project.id, kinds.PROJECT, project.id))
        return project

    async def get_project(self, id_or_name: str) -> Project | None:
        found = self._projects.get(id_or_name)
        if found is not None:
            return found
        return next((p for p in self._projects.values() if p.name == id_or_name), None)

    async def list_projects(self) -> list[Project]:
        return ordered(self._projects.values())

    # api keys ------------------------------------------------------------------------------------
    async def create_api_key(self, key: ApiKey) -> ApiKey:
        self._require_project(key.project_id)
        if key.id in self._api_keys:
            raise Conflict("an api key with this id exists")
        self._api_keys[key.id] = key
        self._record((key.project_id, kinds.API_KEY, key.id))
        return key

    async def find_api_keys_by_prefix(self, prefix: str) -> list[ApiKey]:
        return ordered(k for k in self._api_keys.values() if k.prefix == prefix)

    async def get_api_key(self, project_id: str, key_id: str) -> ApiKey | None:
        return scoped(self._api_keys.get(key_id), project_id)

    async def list_api_keys(self, project_id: str) -> list[ApiKey]:
        return ordered(k for k in self._api_keys.values() if k.project_id == project_id)

    async def update_api_key(self, key: ApiKey) -> ApiKey:
        if scoped(self._api_keys.get(key.id), key.project_id) is None:
            raise NotFound("api key not found")
        self._api_keys[key.id] = key
        self._record((key.project_id, kinds.API_KEY, key.id))
        return key

    async def delete_api_key(self, project_id: str, key_id: str) -> bool:
        if scoped(self._api_keys.get(key_id), project_id) is None:
            return False
        del self._api_keys[key_id]
        self._record((project_id, kinds.API_KEY, key_id))
        return True

    # integrations --------------------------------------------------------------------------------
    async def upsert_integrations(
        self, project_id: str, integrations: Sequence[Integration]
    ) -> list[Integration]:
        self._require_project(project_id)
        check_unique_names(integrations)
        existing = {i.name: i for i in self._integrations.values() if i.project_id == project_id}
        merged = merge_integrations(project_id, integrations, existing)
        for item in merged:
            other = self._integrations.get(item.id)
            if other is not None and (other.project_id, other.name) != (project_id, item.name):
                raise Conflict("an integration with this id exists")
        for item in merged:
            self._integrations[item.id] = item
        self._record(*((project_id, kinds.INTEGRATION, i.id) for i in merged))
        return merged

    async def list_integrations(self, project_id: str) -> list[Integration]:
        return ordered(i for i in self._integrations.values() if i.project_id == project_id)

    async def get_integration(self, project_id: str, id_or_name: str) -> Integration | None:
        found = scoped(self._integrations.get(id_or_name), project_id)
        if found is not None:
            return found
        return next(
            (
                i
                for i in self._integrations.values()
                if i.project_id == project_id and i.name == id_or_name
            ),
            None,
        )

    async def delete_integration(
        self, project_id: str, integration_id: str, *, events: Sequence[NotificationEvent] = ()
    ) -> bool:
        if scoped(self._integrations.get(integration_id), project_id) is None:
            return False
        doomed = [i.id for i in self._installations.values() if i.integration_id == integration_id]
        for installation_id in doomed:
            del self._installations[installation_id]
        del self._integrations[integration_id]
        self._record(
            *((project_id, kinds.INSTALLATION, i) for i in doomed),
            (project_id, kinds.INTEGRATION, integration_id),
        )
        self.notifications.write(events)
        return True

    # connections ---------------------------------------------------------------------------------
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

    # refresh leases ------------------------------------------------------------------------------
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
