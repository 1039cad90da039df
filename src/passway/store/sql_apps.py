"""``SqlStore``'s installations and provider apps (kept apart so each module stays readable)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from passway.crypto import Keyring
from passway.errors import Conflict, NotFound
from passway.records import Installation, ProviderApp
from passway.store import changes as kinds
from passway.store import codec, sealed
from passway.store.notifications import NotificationEvent
from passway.store.sql_base import SqlBase, Tx
from passway.store.sql_notifications import SqlNotificationStore
from passway.store.tables import connections, installations, integrations, provider_apps

_INSTALLED = "this group already installed this integration"


class SqlAppsMixin(SqlBase):
    def __init__(self, engine: AsyncEngine, keyring: Keyring) -> None:
        super().__init__(engine)
        self._keyring = keyring
        self.notifications = SqlNotificationStore(engine, keyring, self._outbox_signal)

    # installations -------------------------------------------------------------------------------
    async def create_installation(
        self, installation: Installation, *, events: Sequence[NotificationEvent] = ()
    ) -> Installation:
        async with self._write(_INSTALLED) as tx:
            tx.emit(events)
            await _require_refs(tx, installation)
            await tx.conn.execute(
                installations.insert().values(codec.installation_row(installation))
            )
            tx.changed(installation.project_id, kinds.INSTALLATION, installation.id)
        return installation

    async def get_installation(self, project_id: str, installation_id: str) -> Installation | None:
        row = await self._one(
            sa.select(installations).where(
                installations.c.id == installation_id, installations.c.project_id == project_id
            )
        )
        return None if row is None else codec.installation_from_row(row)

    async def find_installation(
        self, project_id: str, integration_name: str, group_ref: str
    ) -> Installation | None:
        row = await self._one(
            sa.select(installations)
            .join(integrations, integrations.c.id == installations.c.integration_id)
            .where(
                integrations.c.project_id == project_id,
                integrations.c.name == integration_name,
                installations.c.project_id == project_id,
                installations.c.group_ref == group_ref,
            )
        )
        return None if row is None else codec.installation_from_row(row)

    async def list_installations(
        self, project_id: str, integration_id: str, *, group_ref: str | None = None
    ) -> list[Installation]:
        stmt = sa.select(installations).where(
            installations.c.project_id == project_id,
            installations.c.integration_id == integration_id,
        )
        if group_ref is not None:
            stmt = stmt.where(installations.c.group_ref == group_ref)
        stmt = stmt.order_by(installations.c.create_time, installations.c.id)
        return [codec.installation_from_row(r) for r in await self._all(stmt)]

    async def update_installation(
        self, installation: Installation, *, events: Sequence[NotificationEvent] = ()
    ) -> Installation:
        values = codec.installation_row(installation)
        for fixed in ("id", "project_id", "create_time"):
            del values[fixed]
        async with self._write(_INSTALLED) as tx:
            await _require_refs(tx, installation)
            row = await tx.one(
                installations.update()
                .where(
                    installations.c.id == installation.id,
                    installations.c.project_id == installation.project_id,
                )
                .values(values)
                .returning(installations.c.create_time)
            )
            if row is None:
                raise NotFound("installation not found")
            tx.changed(installation.project_id, kinds.INSTALLATION, installation.id)
            tx.emit(events)
        return _with_create_time(installation, row["create_time"])

    async def delete_installation(
        self, project_id: str, installation_id: str, *, events: Sequence[NotificationEvent] = ()
    ) -> bool:
        async with self._write() as tx:
            stmt = installations.delete().where(
                installations.c.id == installation_id, installations.c.project_id == project_id
            )
            if await tx.rowcount(stmt) == 0:
                return False
            tx.changed(project_id, kinds.INSTALLATION, installation_id)
            tx.emit(events)
        return True

    # provider apps -------------------------------------------------------------------------------
    async def create_provider_app(self, app: ProviderApp) -> ProviderApp:
        async with self._write("a provider app with this id exists") as tx:
            await tx.require_project(app.project_id)
            row = sealed.provider_app_row(app, self._keyring)
            await tx.conn.execute(provider_apps.insert().values(row))
            tx.changed(app.project_id, kinds.PROVIDER_APP, app.id)
        return app

    async def get_provider_app(self, project_id: str, app_id: str) -> ProviderApp | None:
        row = await self._one(
            sa.select(provider_apps).where(
                provider_apps.c.id == app_id, provider_apps.c.project_id == project_id
            )
        )
        return None if row is None else sealed.provider_app_from_row(row, self._keyring)

    async def list_provider_apps(self, project_id: str) -> list[ProviderApp]:
        rows = await self._all(
            sa.select(provider_apps)
            .where(provider_apps.c.project_id == project_id)
            .order_by(provider_apps.c.create_time, provider_apps.c.id)
        )
        return [sealed.provider_app_from_row(r, self._keyring) for r in rows]

    async def update_provider_app(self, app: ProviderApp) -> ProviderApp:
        values = sealed.provider_app_row(app, self._keyring)
        for fixed in ("id", "project_id", "create_time"):
            del values[fixed]
        async with self._write() as tx:
            row = await tx.one(
                provider_apps.update()
                .where(provider_apps.c.id == app.id, provider_apps.c.project_id == app.project_id)
                .values(values)
                .returning(provider_apps.c.create_time)
            )
            if row is None:
                raise NotFound("provider app not found")
            tx.changed(app.project_id, kinds.PROVIDER_APP, app.id)
        return _with_create_time(app, row["create_time"])

    async def delete_provider_app(self, project_id: str, app_id: str) -> bool:
        used = "the provider app is used by a connection; delete that first"
        async with self._write(used) as tx:
            owned = await tx.one(
                sa.select(provider_apps.c.id).where(
                    provider_apps.c.id == app_id, provider_apps.c.project_id == project_id
                )
            )
            if owned is None:
                return False
            in_use = await tx.one(
                sa.select(connections.c.id).where(connections.c.provider_app_id == app_id).limit(1)
            )
            if in_use is not None:
                raise Conflict(used)
            await tx.conn.execute(provider_apps.delete().where(provider_apps.c.id == app_id))
            tx.changed(project_id, kinds.PROVIDER_APP, app_id)
        return True

    async def _require_app(self, tx: Tx, project_id: str, app_id: str | None) -> None:
        if app_id is None:
            return
        found = await tx.one(
            sa.select(provider_apps.c.id).where(
                provider_apps.c.id == app_id, provider_apps.c.project_id == project_id
            )
        )
        if found is None:
            raise NotFound("provider app not found")


async def _require_refs(tx: Tx, installation: Installation) -> None:
    """An installation's integration and connection must exist in its own project."""
    project_id = installation.project_id
    for table, ref, what in (
        (integrations, installation.integration_id, "integration"),
        (connections, installation.connection_id, "connection"),
    ):
        found = await tx.one(
            sa.select(table.c.id).where(table.c.id == ref, table.c.project_id == project_id)
        )
        if found is None:
            raise NotFound(f"{what} not found")


_R = TypeVar("_R", Installation, ProviderApp)


def _with_create_time(record: _R, create_time: datetime) -> _R:
    return dataclasses.replace(record, create_time=create_time)
