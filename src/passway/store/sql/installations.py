"""Integrations and installations over SQL (``InstallationStore``)."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from passway.errors import NotFound
from passway.records import Installation, Integration
from passway.store import changes as kinds
from passway.store import codec
from passway.store.notifications import NotificationEvent
from passway.store.rules import check_unique_names, merge_integrations
from passway.store.sql.base import SqlBase, Tx, with_create_time
from passway.store.tables import (
    connections,
    installations,
    integrations,
)

_INSTALLED = "this group already installed this integration"


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


_OLDEST = ("create_time", "id")


def _order(table: sa.Table) -> tuple[sa.Column[object], ...]:
    return tuple(table.c[name] for name in _OLDEST)


class SqlInstallations(SqlBase):
    """``InstallationStore`` over SQL."""

    async def upsert_integrations(
        self, project_id: str, items: Sequence[Integration]
    ) -> list[Integration]:
        check_unique_names(items)
        async with self._write("an integration with this name or id exists") as tx:
            await tx.require_project(project_id)
            rows = await tx.all(
                sa.select(integrations).where(
                    integrations.c.project_id == project_id,
                    integrations.c.name.in_([i.name for i in items]),
                )
            )
            existing = {r["name"]: codec.record_of(Integration, r) for r in rows}
            merged = merge_integrations(project_id, items, existing)
            for item in merged:
                values = codec.row_of(item, integrations)
                if item.name in existing:
                    del values["create_time"]
                    await tx.conn.execute(
                        integrations.update().where(integrations.c.id == item.id).values(values)
                    )
                else:
                    await tx.conn.execute(integrations.insert().values(values))
                tx.changed(project_id, kinds.INTEGRATION, item.id)
        return merged

    async def list_integrations(self, project_id: str) -> list[Integration]:
        rows = await self._all(
            sa.select(integrations)
            .where(integrations.c.project_id == project_id)
            .order_by(*_order(integrations))
        )
        return [codec.record_of(Integration, r) for r in rows]

    async def get_integration(self, project_id: str, id_or_name: str) -> Integration | None:
        row = await self._one(
            sa.select(integrations)
            .where(
                integrations.c.project_id == project_id,
                sa.or_(integrations.c.id == id_or_name, integrations.c.name == id_or_name),
            )
            .order_by(sa.case((integrations.c.id == id_or_name, 0), else_=1))
            .limit(1)
        )
        return None if row is None else codec.record_of(Integration, row)

    async def delete_integration(
        self, project_id: str, integration_id: str, *, events: Sequence[NotificationEvent] = ()
    ) -> bool:
        async with self._write() as tx:
            owned = await tx.one(
                sa.select(integrations.c.id).where(
                    integrations.c.id == integration_id, integrations.c.project_id == project_id
                )
            )
            if owned is None:
                return False
            doomed = await tx.all(
                sa.select(installations.c.id).where(
                    installations.c.integration_id == integration_id
                )
            )
            await tx.conn.execute(
                installations.delete().where(installations.c.integration_id == integration_id)
            )
            await tx.conn.execute(integrations.delete().where(integrations.c.id == integration_id))
            for row in doomed:
                tx.changed(project_id, kinds.INSTALLATION, row["id"])
            tx.changed(project_id, kinds.INTEGRATION, integration_id)
            tx.emit(events)
        return True

    async def create_installation(
        self, installation: Installation, *, events: Sequence[NotificationEvent] = ()
    ) -> Installation:
        async with self._write(_INSTALLED) as tx:
            tx.emit(events)
            await _require_refs(tx, installation)
            await tx.conn.execute(
                installations.insert().values(codec.row_of(installation, installations))
            )
            tx.changed(installation.project_id, kinds.INSTALLATION, installation.id)
        return installation

    async def get_installation(self, project_id: str, installation_id: str) -> Installation | None:
        row = await self._one(
            sa.select(installations).where(
                installations.c.id == installation_id, installations.c.project_id == project_id
            )
        )
        return None if row is None else codec.record_of(Installation, row)

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
        return None if row is None else codec.record_of(Installation, row)

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
        return [codec.record_of(Installation, r) for r in await self._all(stmt)]

    async def update_installation(
        self, installation: Installation, *, events: Sequence[NotificationEvent] = ()
    ) -> Installation:
        values = codec.row_of(installation, installations)
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
        return with_create_time(installation, row["create_time"])

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
