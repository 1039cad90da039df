"""Connections and their refresh leases over SQL (``ConnectionStore``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa

from passway.errors import Conflict, NotFound
from passway.records import Connection
from passway.store import changes as kinds
from passway.store import sealed
from passway.store.notifications import NotificationEvent
from passway.store.sql.base import SqlBase
from passway.store.tables import (
    connections,
    installations,
)


def _with_version(connection: Connection, version: int, create_time: datetime) -> Connection:
    return dataclasses.replace(connection, version=version, create_time=create_time)


class SqlConnections(SqlBase):
    """``ConnectionStore`` over SQL."""

    async def create_connection(
        self, connection: Connection, *, events: Sequence[NotificationEvent] = ()
    ) -> Connection:
        async with self._write("a connection with this id exists") as tx:
            await tx.require_project(connection.project_id)
            await self._require_app(tx, connection.project_id, connection.provider_app_id)
            row = sealed.connection_row(connection, self._keyring)
            await tx.conn.execute(connections.insert().values(row))
            tx.changed(connection.project_id, kinds.CONNECTION, connection.id)
            tx.emit(events)
        return connection

    async def get_connection(self, project_id: str, connection_id: str) -> Connection | None:
        return await self._connection(
            connections.c.id == connection_id, connections.c.project_id == project_id
        )

    async def get_connection_by_id(self, connection_id: str) -> Connection | None:
        return await self._connection(connections.c.id == connection_id)

    async def _connection(self, *where: sa.ColumnElement[bool]) -> Connection | None:
        row = await self._one(sa.select(connections).where(*where))
        return None if row is None else sealed.connection_from_row(row, self._keyring)

    async def list_connections(
        self,
        project_id: str,
        *,
        provider: str | None = None,
        group_ref: str | None = None,
        consumer_ref: str | None = None,
    ) -> list[Connection]:
        stmt = sa.select(connections).where(connections.c.project_id == project_id)
        if provider is not None:
            stmt = stmt.where(connections.c.provider == provider)
        if group_ref is not None:
            stmt = stmt.where(connections.c.group_ref == group_ref)
        if consumer_ref is not None:
            stmt = stmt.where(connections.c.consumer_ref == consumer_ref)
        stmt = stmt.order_by(connections.c.create_time.desc(), connections.c.id.desc())
        return [sealed.connection_from_row(r, self._keyring) for r in await self._all(stmt)]

    async def update_connection(
        self,
        connection: Connection,
        *,
        expected_version: int,
        events: Sequence[NotificationEvent] = (),
    ) -> Connection:
        values = sealed.connection_row(connection, self._keyring)
        for fixed in ("id", "project_id", "create_time"):
            del values[fixed]
        values["version"] = expected_version + 1
        async with self._write() as tx:
            await self._require_app(tx, connection.project_id, connection.provider_app_id)
            stmt = (
                connections.update()
                .where(
                    connections.c.id == connection.id,
                    connections.c.project_id == connection.project_id,
                    connections.c.version == expected_version,
                )
                .values(values)
                .returning(connections.c.create_time)
            )
            row = await tx.one(stmt)
            if row is None:
                exists = await tx.one(
                    sa.select(connections.c.id).where(
                        connections.c.id == connection.id,
                        connections.c.project_id == connection.project_id,
                    )
                )
                if exists is None:
                    raise NotFound("connection not found")
                raise Conflict("the connection was changed by someone else; read it again")
            tx.changed(connection.project_id, kinds.CONNECTION, connection.id)
            tx.emit(events)
        return _with_version(connection, expected_version + 1, row["create_time"])

    async def delete_connection(self, project_id: str, connection_id: str) -> bool:
        used = "the connection is used by an installation; delete that first"
        async with self._write(used) as tx:
            owned = await tx.one(
                sa.select(connections.c.id).where(
                    connections.c.id == connection_id, connections.c.project_id == project_id
                )
            )
            if owned is None:
                return False
            in_use = await tx.one(
                sa.select(installations.c.id)
                .where(installations.c.connection_id == connection_id)
                .limit(1)
            )
            if in_use is not None:
                raise Conflict(used)
            await tx.conn.execute(connections.delete().where(connections.c.id == connection_id))
            tx.changed(project_id, kinds.CONNECTION, connection_id)
        return True

    async def acquire_refresh_lease(
        self, connection_id: str, owner: str, now: datetime, ttl_seconds: float
    ) -> bool:
        """One conditional UPDATE: it matches only if the lease is free, expired or ours."""
        c = connections.c
        stmt = (
            connections.update()
            .where(
                c.id == connection_id,
                sa.or_(
                    c.refresh_owner.is_(None),
                    c.refresh_lease_until <= now,
                    c.refresh_owner == owner,
                ),
            )
            .values(refresh_owner=owner, refresh_lease_until=now + timedelta(seconds=ttl_seconds))
        )
        async with self._write() as tx:
            return await tx.rowcount(stmt) == 1

    async def release_refresh_lease(self, connection_id: str, owner: str) -> None:
        c = connections.c
        async with self._write() as tx:
            await tx.conn.execute(
                connections.update()
                .where(c.id == connection_id, c.refresh_owner == owner)
                .values(refresh_owner=None, refresh_lease_until=None)
            )
