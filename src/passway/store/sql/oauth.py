"""OAuth provider apps and connect states over SQL (``OAuthStore``)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from passway.errors import Conflict, NotFound
from passway.records import OAuthState, ProviderApp
from passway.store import changes as kinds
from passway.store import sealed
from passway.store.sql.base import SqlBase, with_create_time
from passway.store.tables import (
    connections,
    oauth_states,
    provider_apps,
)

_OLDEST = ("create_time", "id")


def _order(table: sa.Table) -> tuple[sa.Column[object], ...]:
    return tuple(table.c[name] for name in _OLDEST)


class SqlOAuth(SqlBase):
    """``OAuthStore`` over SQL."""

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
        return with_create_time(app, row["create_time"])

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
