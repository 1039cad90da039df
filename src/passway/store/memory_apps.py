"""``MemoryStore``'s installations, provider apps and OAuth states."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime

from passway.errors import Conflict, NotFound
from passway.records import Installation, OAuthState, ProviderApp
from passway.store import changes as kinds
from passway.store.memory_state import MemoryState, scoped
from passway.store.notifications import NotificationEvent
from passway.store.rules import ordered


class MemoryAppsMixin(MemoryState):
    # installations -------------------------------------------------------------------------------
    async def create_installation(
        self, installation: Installation, *, events: Sequence[NotificationEvent] = ()
    ) -> Installation:
        self._check_installation_refs(installation)
        if installation.id in self._installations:
            raise Conflict("an installation with this id exists")
        self._check_installation_unique(installation)
        self._installations[installation.id] = installation
        self._record((installation.project_id, kinds.INSTALLATION, installation.id))
        self.notifications.write(events)
        return installation

    async def get_installation(self, project_id: str, installation_id: str) -> Installation | None:
        return scoped(self._installations.get(installation_id), project_id)

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

    async def update_installation(
        self, installation: Installation, *, events: Sequence[NotificationEvent] = ()
    ) -> Installation:
        current = scoped(self._installations.get(installation.id), installation.project_id)
        if current is None:
            raise NotFound("installation not found")
        self._check_installation_refs(installation)
        self._check_installation_unique(installation)
        stored = dataclasses.replace(installation, create_time=current.create_time)
        self._installations[installation.id] = stored
        self._record((installation.project_id, kinds.INSTALLATION, installation.id))
        self.notifications.write(events)
        return stored

    async def delete_installation(
        self, project_id: str, installation_id: str, *, events: Sequence[NotificationEvent] = ()
    ) -> bool:
        if scoped(self._installations.get(installation_id), project_id) is None:
            return False
        del self._installations[installation_id]
        self._record((project_id, kinds.INSTALLATION, installation_id))
        self.notifications.write(events)
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
    def _check_installation_refs(self, installation: Installation) -> None:
        project_id = installation.project_id
        if scoped(self._integrations.get(installation.integration_id), project_id) is None:
            raise NotFound("integration not found")
        if scoped(self._connections.get(installation.connection_id), project_id) is None:
            raise NotFound("connection not found")

    def _check_installation_unique(self, installation: Installation) -> None:
        for other in self._installations.values():
            if (
                other.id != installation.id
                and other.integration_id == installation.integration_id
                and other.group_ref == installation.group_ref
            ):
                raise Conflict("this group already installed this integration")
