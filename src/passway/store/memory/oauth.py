"""OAuth provider apps and connect states in memory (``OAuthStore``)."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from passway.errors import Conflict, NotFound
from passway.records import (
    OAuthState,
    ProviderApp,
)
from passway.store import changes as kinds
from passway.store.memory.base import MemoryBase, scoped
from passway.store.rules import ordered


class MemoryOAuth(MemoryBase):
    """``OAuthStore`` in memory."""

    async def create_provider_app(self, app: ProviderApp) -> ProviderApp:
        self._require_project(app.project_id)
        if app.id in self._provider_apps:
            raise Conflict("a provider app with this id exists")
        self._provider_apps[app.id] = app
        self._record((app.project_id, kinds.PROVIDER_APP, app.id))
        return app

    async def get_provider_app(self, project_id: str, app_id: str) -> ProviderApp | None:
        return scoped(self._provider_apps.get(app_id), project_id)

    async def list_provider_apps(self, project_id: str) -> list[ProviderApp]:
        return ordered(a for a in self._provider_apps.values() if a.project_id == project_id)

    async def update_provider_app(self, app: ProviderApp) -> ProviderApp:
        current = scoped(self._provider_apps.get(app.id), app.project_id)
        if current is None:
            raise NotFound("provider app not found")
        stored = dataclasses.replace(app, create_time=current.create_time)
        self._provider_apps[app.id] = stored
        self._record((app.project_id, kinds.PROVIDER_APP, app.id))
        return stored

    async def delete_provider_app(self, project_id: str, app_id: str) -> bool:
        if scoped(self._provider_apps.get(app_id), project_id) is None:
            return False
        if any(c.provider_app_id == app_id for c in self._connections.values()):
            raise Conflict("the provider app is used by a connection; delete that first")
        del self._provider_apps[app_id]
        self._record((project_id, kinds.PROVIDER_APP, app_id))
        return True

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
