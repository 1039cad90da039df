"""``SqlStore``: the ``Store`` protocol on SQLite (default, one file) or PostgreSQL.

Secrets are sealed by ``passway.store.sealed`` before they reach a column; every project-scoped
query filters by ``project_id``; every mutation writes its change rows in the same transaction.
Leases and OAuth states are single conditional statements, so they stay exclusive across worker
processes and instances, not only across coroutines.

The class is assembled from parts, each in its own module: ``sql_base`` (engine, transactions,
change feed), ``sql_apps`` (installations, provider apps), ``sql_connections`` (connections,
leases), and this one (opening, projects, API keys, integrations, OAuth states, rewrap).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa

from passway.crypto import Keyring
from passway.errors import NotFound
from passway.records import ApiKey, Integration, OAuthState, Project
from passway.store import changes as kinds
from passway.store import codec, sealed
from passway.store.engine import create_engine
from passway.store.migrate import upgrade_engine
from passway.store.notifications import NotificationEvent
from passway.store.rewrap import rewrap_all
from passway.store.rules import check_unique_names, merge_integrations
from passway.store.sql_connections import SqlConnectionsMixin
from passway.store.tables import (
    api_keys,
    installations,
    integrations,
    oauth_states,
    projects,
)

_OLDEST = ("create_time", "id")


class SqlStore(SqlConnectionsMixin):
    """The ``Store`` protocol over SQL. Open with ``await SqlStore.open(url, keyring)``."""

    @classmethod
    async def open(cls, url: str, keyring: Keyring) -> SqlStore:
        """Connect, migrate to the newest schema (safe with several processes), and return."""
        engine = create_engine(url)
        try:
            await upgrade_engine(engine)
        except BaseException:
            await engine.dispose()
            raise
        return cls(engine, keyring)

    # projects ------------------------------------------------------------------------------------
    async def create_project(self, project: Project) -> Project:
        async with self._write(f"project name {project.name!r} is taken") as tx:
            await tx.conn.execute(projects.insert().values(codec.project_row(project)))
            tx.changed(project.id, kinds.PROJECT, project.id)
        return project

    async def get_project(self, id_or_name: str) -> Project | None:
        row = await self._one(
            sa.select(projects)
            .where(sa.or_(projects.c.id == id_or_name, projects.c.name == id_or_name))
            .order_by(sa.case((projects.c.id == id_or_name, 0), else_=1))
            .limit(1)
        )
        return None if row is None else codec.project_from_row(row)

    async def list_projects(self) -> list[Project]:
        rows = await self._all(sa.select(projects).order_by(*_order(projects)))
        return [codec.project_from_row(r) for r in rows]

    # api keys ------------------------------------------------------------------------------------
    async def create_api_key(self, key: ApiKey) -> ApiKey:
        async with self._write("an api key with this id exists") as tx:
            await tx.require_project(key.project_id)
            await tx.conn.execute(api_keys.insert().values(codec.api_key_row(key)))
            tx.changed(key.project_id, kinds.API_KEY, key.id)
        return key

    async def find_api_keys_by_prefix(self, prefix: str) -> list[ApiKey]:
        rows = await self._all(
            sa.select(api_keys).where(api_keys.c.prefix == prefix).order_by(*_order(api_keys))
        )
        return [codec.api_key_from_row(r) for r in rows]

    async def get_api_key(self, project_id: str, key_id: str) -> ApiKey | None:
        row = await self._one(
            sa.select(api_keys).where(api_keys.c.project_id == project_id, api_keys.c.id == key_id)
        )
        return None if row is None else codec.api_key_from_row(row)

    async def list_api_keys(self, project_id: str) -> list[ApiKey]:
        rows = await self._all(
            sa.select(api_keys)
            .where(api_keys.c.project_id == project_id)
            .order_by(*_order(api_keys))
        )
        return [codec.api_key_from_row(r) for r in rows]

    async def update_api_key(self, key: ApiKey) -> ApiKey:
        values = codec.api_key_row(key)
        del values["create_time"]
        async with self._write() as tx:
            stmt = (
                api_keys.update()
                .where(api_keys.c.id == key.id, api_keys.c.project_id == key.project_id)
                .values(values)
            )
            if await tx.rowcount(stmt) == 0:
                raise NotFound("api key not found")
            tx.changed(key.project_id, kinds.API_KEY, key.id)
        return key

    async def delete_api_key(self, project_id: str, key_id: str) -> bool:
        async with self._write() as tx:
            stmt = api_keys.delete().where(
                api_keys.c.id == key_id, api_keys.c.project_id == project_id
            )
            if await tx.rowcount(stmt) == 0:
                return False
            tx.changed(project_id, kinds.API_KEY, key_id)
        return True

    # integrations --------------------------------------------------------------------------------
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
            existing = {r["name"]: codec.integration_from_row(r) for r in rows}
            merged = merge_integrations(project_id, items, existing)
            for item in merged:
                values = codec.integration_row(item)
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
        return [codec.integration_from_row(r) for r in rows]

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
        return None if row is None else codec.integration_from_row(row)

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

    # oauth states --------------------------------------------------------------------------------
    async def save_oauth_state(self, state: OAuthState) -> None:
        async with self._write("this oauth state exists") as tx:
            await tx.require_project(state.project_id)
            # Abandoned flows would pile up: drop states that expired before this one was made.
            await tx.conn.execute(
                oauth_states.delete().where(oauth_states.c.expires_at < state.create_time)
            )
            row = sealed.oauth_state_row(state, self._keyring)
            await tx.conn.execute(oauth_states.insert().values(row))

    async def consume_oauth_state(self, state_id: str, now: datetime) -> OAuthState | None:
        stmt = oauth_states.delete().where(oauth_states.c.id == state_id).returning(*oauth_states.c)
        async with self._write() as tx:
            row = await tx.one(stmt)
        if row is None or row["expires_at"] <= now:
            return None
        return sealed.oauth_state_from_row(row, self._keyring)

    # maintenance ---------------------------------------------------------------------------------
    async def reencrypt_all(self) -> int:
        """Rewrap every secret not sealed with the primary key; returns how many were rewrapped."""
        async with self._write() as tx:
            return await rewrap_all(tx, self._keyring)


def _order(table: sa.Table) -> tuple[sa.Column[object], ...]:
    return tuple(table.c[name] for name in _OLDEST)
