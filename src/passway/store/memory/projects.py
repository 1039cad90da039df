"""Projects and their API keys in memory (``ProjectStore``)."""

from __future__ import annotations

from passway.errors import Conflict, NotFound
from passway.records import (
    ApiKey,
    Project,
)
from passway.store import changes as kinds
from passway.store.memory.base import MemoryBase, scoped
from passway.store.rules import ordered


class MemoryProjects(MemoryBase):
    """``ProjectStore`` in memory."""

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
        return scoped(self._api_keys.get(key_id), project_id)

    async def list_api_keys(self, project_id: str) -> list[ApiKey]:
        return ordered(k for k in self._api_keys.values() if k.project_id == project_id)

    async def update_api_key(self, key: ApiKey) -> ApiKey:
        if scoped(self._api_keys.get(key.id), key.project_id) is None:
            raise NotFound("api key not found")
        self._api_keys[key.id] = key
        self._record((key.project_id, kinds.API_KEY, key.id))
        return key

    async def delete_api_key(self, project_id: str, key_id: str) -> bool:
        if scoped(self._api_keys.get(key_id), project_id) is None:
            return False
        del self._api_keys[key_id]
        self._record((project_id, kinds.API_KEY, key_id))
        return True
