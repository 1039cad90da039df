"""Routes: projects (``/v1/projects``) and their API keys (``/v1/projects/{p}/api-keys``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from passway.api.auth import CurrentPrincipal, CurrentProject, Services
from passway.api.schemas import ApiKeyCreate, ApiKeyPatch, ProjectCreate
from passway.services import api_keys, projects, views

router = APIRouter(prefix="/v1", tags=["projects"])
KEYS = "/projects/{projectIdOrName}/api-keys"


@router.post("/projects", status_code=201, summary="Create a project (operator key only)")
async def create_project(
    body: ProjectCreate, services: Services, principal: CurrentPrincipal
) -> dict[str, Any]:
    project = await projects.create_project(services, principal, body.name, body.appName)
    return views.project_json(project)


@router.get("/projects", summary="List projects (the operator sees all, a project key its own)")
async def list_projects(services: Services, principal: CurrentPrincipal) -> list[dict[str, Any]]:
    return [views.project_json(p) for p in await projects.list_projects(services, principal)]


@router.get("/projects/{projectIdOrName}", summary="Get a project by id or name")
async def get_project(project: CurrentProject) -> dict[str, Any]:
    return views.project_json(project)


@router.post(KEYS, status_code=201, summary="Create an API key (the raw key is shown only here)")
async def create_api_key(
    body: ApiKeyCreate, services: Services, project: CurrentProject
) -> dict[str, Any]:
    key, raw = await api_keys.create_api_key(services, project, body.label, body.scopes)
    return views.api_key_json(key, raw)


@router.get(KEYS, summary="List API keys (masked)")
async def list_api_keys(services: Services, project: CurrentProject) -> list[dict[str, Any]]:
    return [views.api_key_json(k) for k in await api_keys.list_api_keys(services, project)]


@router.get(KEYS + "/{key}", summary="Get an API key by id or prefix (masked)")
async def get_api_key(key: str, services: Services, project: CurrentProject) -> dict[str, Any]:
    return views.api_key_json(await api_keys.get_api_key(services, project, key))


@router.patch(KEYS + "/{key}", summary="Change an API key's label, scopes or active flag")
async def update_api_key(
    key: str, body: ApiKeyPatch, services: Services, project: CurrentProject
) -> dict[str, Any]:
    updated = await api_keys.update_api_key(
        services, project, key, label=body.label, scopes=body.scopes, active=body.active
    )
    return views.api_key_json(updated)


@router.delete(KEYS + "/{key}", status_code=204, summary="Revoke (delete) an API key")
async def revoke_api_key(key: str, services: Services, project: CurrentProject) -> Response:
    await api_keys.revoke_api_key(services, project, key)
    return Response(status_code=204)
