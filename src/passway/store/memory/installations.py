"""Integrations and installations in memory (``InstallationStore``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from passway.errors import Conflict, NotFound
from passway.records import (
    Installation,
    Integration,
)
from passway.store import changes as kinds
from passway.store.memory.base import MemoryBase, scoped
from passway.store.notifications import NotificationEvent
from passway.store.rules import check_unique_names, merge_integrations, ordered


class MemoryInstallations(MemoryBase):
    """``InstallationStore`` in memory."""

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
