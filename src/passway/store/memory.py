"""``MemoryStore``: the in-memory twin of ``SqlStore``, for tests and throw-away servers.

It keeps the same rules as the SQL store (the contract suite runs against both): tenant scoping,
``Conflict`` on uniqueness, version checks, leases, single-use OAuth states, change feed. Every
method body runs without an ``await`` between its checks and its writes, so on one event loop each
call is atomic, which is what a transaction gives the SQL store.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TypeVar

from passway.errors import Conflict, NotFound
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
from passway.store import changes as kinds
from passway.store.changes import Listeners
from passway.store.rules import check_unique_names, merge_integrations, ordered


class MemoryStore:
    """Implements ``passway.store.protocol.Store`` with dicts."""

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

    async def close(self) -> None:
        return None

    # change feed ---------------------------------------------------------------------------------
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
        return [c for c in self._changes if c.seq > seq][:limit]

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
        return _scoped(self._api_keys.get(key_id), project_id)

    async def list_api_keys(self, project_id: str) -> list[ApiKey]:
        return ordered(k for k in self._api_keys.values() if k.project_id == project_id)

    async def update_api_key(self, key: ApiKey) -> ApiKey:
        if _scoped(self._api_keys.get(key.id), key.project_id) is None:
            raise NotFound("api key not found")
        self._api_keys[key.id] = key
        self._record((key.project_id, kinds.API_KEY, key.id))
        return key

    async def delete_api_key(self, project_id: str, key_id: str) -> bool:
        if _scoped(self._api_keys.get(key_id), project_id) is None:
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
        found = _scoped(self._integrations.get(id_or_name), project_id)
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

    async def delete_integration(self, project_id: str, integration_id: str) -> bool:
        if _scoped(self._integrations.get(integration_id), project_id) is None:
            return False
        doomed = [i.id for i in self._installations.values() if i.integration_id == integration_id]
        for installation_id in doomed:
            del self._installations[installation_id]
        del self._integrations[integration_id]
        self._record(
            *((project_id, kinds.INSTALLATION, i) for i in doomed),
            (project_id, kinds.INTEGRATION, integration_id),
        )
        return True

    # connections ---------------------------------------------------------------------------------
    async def create_connection(self, connection: Connection) -> Connection:
        self._require_project(connection.project_id)
        if connection.id in self._connections:
            raise Conflict("a connection with this id exists")
        if connection.provider_app_id is not None:
            self._require_provider_app(connection.project_id, connection.provider_app_id)
        self._connections[connection.id] = connection
        self._record((connection.project_id, kinds.CONNECTION, connection.id))
        return connection

    async def get_connection(self, project_id: str, connection_id: str) -> Connection | None:
        return _scoped(self._connections.get(connection_id), project_id)

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
        self, connection: Connection, *, expected_version: int
    ) -> Connection:
        current = _scoped(self._connections.get(connection.id), connection.project_id)
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
        return stored

    async def delete_connection(self, project_id: str, connection_id: str) -> bool:
        if _scoped(self._connections.get(connection_id), project_id) is None:
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

    # installations -------------------------------------------------------------------------------
    async def create_installation(self, installation: Installation) -> Installation:
        self._check_installation_refs(installation)
        if installation.id in self._installations:
            raise Conflict("an installation with this id exists")
        self._check_installation_unique(installation)
        self._installations[installation.id] = installation
        self._record((installation.project_id, kinds.INSTALLATION, installation.id))
        return installation

    async def get_installation(self, project_id: str, installation_id: str) -> Installation | None:
        return _scoped(self._installations.get(installation_id), project_id)

    async def find_installation(
        self, project_id: str, integration_name: str, group_ref: str
    ) -> Installation | None:
        integration = next(
            (
                i
                for i in self._integrations.values()
                if i.project_id == project_id and i.name == integration_name
            ),
            None,
        )
        if integration is None:
            return None
        return next(
            (
                i
                for i in self._installations.values()
                if i.integration_id == integration.id and i.group_ref == group_ref
            ),
            None,
        )

    async def list_installations(
        self, project_id: str, integration_id: str, *, group_ref: str | None = None
    ) -> list[Installation]:
        return ordered(
            i
            for i in self._installations.values()
            if i.project_id == project_id
            and i.integration_id == integration_id
            and (group_ref is None or i.group_ref == group_ref)
        )

    async def update_installation(self, installation: Installation) -> Installation:
        current = _scoped(self._installations.get(installation.id), installation.project_id)
        if current is None:
            raise NotFound("installation not found")
        self._check_installation_refs(installation)
        self._check_installation_unique(installation)
        stored = dataclasses.replace(installation, create_time=current.create_time)
        self._installations[installation.id] = stored
        self._record((installation.project_id, kinds.INSTALLATION, installation.id))
        return stored

    async def delete_installation(self, project_id: str, installation_id: str) -> bool:
        if _scoped(self._installations.get(installation_id), project_id) is None:
            return False
        del self._installations[installation_id]
        self._record((project_id, kinds.INSTALLATION, installation_id))
        return True

    # provider apps -------------------------------------------------------------------------------
    async def create_provider_app(self, app: ProviderApp) -> ProviderApp:
        self._require_project(app.project_id)
        if app.id in self._provider_apps:
            raise Conflict("a provider app with this id exists")
        self._provider_apps[app.id] = app
        self._record((app.project_id, kinds.PROVIDER_APP, app.id))
        return app

    async def get_provider_app(self, project_id: str, app_id: str) -> ProviderApp | None:
        return _scoped(self._provider_apps.get(app_id), project_id)

    async def list_provider_apps(self, project_id: str) -> list[ProviderApp]:
        return ordered(a for a in self._provider_apps.values() if a.project_id == project_id)

    async def update_provider_app(self, app: ProviderApp) -> ProviderApp:
        current = _scoped(self._provider_apps.get(app.id), app.project_id)
        if current is None:
            raise NotFound("provider app not found")
        stored = dataclasses.replace(app, create_time=current.create_time)
        self._provider_apps[app.id] = stored
        self._record((app.project_id, kinds.PROVIDER_APP, app.id))
        return stored

    async def delete_provider_app(self, project_id: str, app_id: str) -> bool:
        if _scoped(self._provider_apps.get(app_id), project_id) is None:
            return False
        if any(c.provider_app_id == app_id for c in self._connections.values()):
            raise Conflict("the provider app is used by a connection; delete that first")
        del self._provider_apps[app_id]
        self._record((project_id, kinds.PROVIDER_APP, app_id))
        return True

    # oauth states --------------------------------------------------------------------------------
    async def save_oauth_state(self, state: OAuthState) -> None:
        self._require_project(state.project_id)
        if state.id in self._oauth_states:
            raise Conflict("this oauth state exists")
        self._oauth_states[state.id] = state

    async def consume_oauth_state(self, state_id: str, now: datetime) -> OAuthState | None:
        state = self._oauth_states.pop(state_id, None)
        if state is None or state.expires_at <= now:
            return None
        return state

    # helpers -------------------------------------------------------------------------------------
    def _require_project(self, project_id: str) -> None:
        if project_id not in self._projects:
            raise NotFound("project not found")

    def _require_provider_app(self, project_id: str, app_id: str) -> None:
        if _scoped(self._provider_apps.get(app_id), project_id) is None:
            raise NotFound("provider app not found")

    def _check_installation_refs(self, installation: Installation) -> None:
        project_id = installation.project_id
        if _scoped(self._integrations.get(installation.integration_id), project_id) is None:
            raise NotFound("integration not found")
        if _scoped(self._connections.get(installation.connection_id), project_id) is None:
            raise NotFound("connection not found")

    def _check_installation_unique(self, installation: Installation) -> None:
        for other in self._installations.values():
            if (
                other.id != installation.id
                and other.integration_id == installation.integration_id
                and other.group_ref == installation.group_ref
            ):
                raise Conflict("this group already installed this integration")


_T = TypeVar("_T", ApiKey, Integration, Connection, Installation, ProviderApp)


def _scoped(record: _T | None, project_id: str) -> _T | None:
    """The record if it belongs to ``project_id``: another tenant's row reads as absent."""
    if record is None or record.project_id != project_id:
        return None
    return record
