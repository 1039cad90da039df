"""Projects and their API keys over SQL (``ProjectStore``)."""

from __future__ import annotations

import sqlalchemy as sa

from passway.errors import NotFound
from passway.records import ApiKey, Project
from passway.store import changes as kinds
from passway.store import codec
from passway.store.sql.base import SqlBase
from passway.store.tables import (
    api_keys,
    projects,
)

_OLDEST = ("create_time", "id")


def _order(table: sa.Table) -> tuple[sa.Column[object], ...]:
    return tuple(table.c[name] for name in _OLDEST)


class SqlProjects(SqlBase):
    """``ProjectStore`` over SQL."""

    async def create_project(self, project: Project) -> Project:
        async with self._write(f"project name {project.name!r} is taken") as tx:
            await tx.conn.execute(projects.insert().values(codec.row_of(project, projects)))
            tx.changed(project.id, kinds.PROJECT, project.id)
        return project

    async def get_project(self, id_or_name: str) -> Project | None:
        row = await self._one(
            sa.select(projects)
            .where(sa.or_(projects.c.id == id_or_name, projects.c.name == id_or_name))
            .order_by(sa.case((projects.c.id == id_or_name, 0), else_=1))
            .limit(1)
        )
        return None if row is None else codec.record_of(Project, row)

    async def list_projects(self) -> list[Project]:
        rows = await self._all(sa.select(projects).order_by(*_order(projects)))
        return [codec.record_of(Project, r) for r in rows]

    async def create_api_key(self, key: ApiKey) -> ApiKey:
        async with self._write("an api key with this id exists") as tx:
            await tx.require_project(key.project_id)
            await tx.conn.execute(api_keys.insert().values(codec.row_of(key, api_keys)))
            tx.changed(key.project_id, kinds.API_KEY, key.id)
        return key

    async def find_api_keys_by_prefix(self, prefix: str) -> list[ApiKey]:
        rows = await self._all(
            sa.select(api_keys).where(api_keys.c.prefix == prefix).order_by(*_order(api_keys))
        )
        return [codec.record_of(ApiKey, r) for r in rows]

    async def get_api_key(self, project_id: str, key_id: str) -> ApiKey | None:
        row = await self._one(
            sa.select(api_keys).where(api_keys.c.project_id == project_id, api_keys.c.id == key_id)
        )
        return None if row is None else codec.record_of(ApiKey, row)

    async def list_api_keys(self, project_id: str) -> list[ApiKey]:
        rows = await self._all(
            sa.select(api_keys)
            .where(api_keys.c.project_id == project_id)
            .order_by(*_order(api_keys))
        )
        return [codec.record_of(ApiKey, r) for r in rows]

    async def update_api_key(self, key: ApiKey) -> ApiKey:
        values = codec.row_of(key, api_keys)
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
