"""Routes: installations of an integration (``{integrationId}`` is the integration's id or name)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from passway.api.auth import CurrentProject, Services
from passway.api.operations import installation_statuses
from passway.api.schemas import InstallationCreate, InstallationPatch
from passway.services import installations, views

router = APIRouter(
    prefix="/v1/projects/{projectIdOrName}/integrations/{integrationId}/installations",
    tags=["installations"],
)


@router.post("", status_code=201, summary="Install the integration for a group")
async def create_installation(
    integrationId: str, body: InstallationCreate, services: Services, project: CurrentProject
) -> dict[str, Any]:
    view = await installations.create_installation(
        services,
        project,
        integrationId,
        group_ref=body.groupRef,
        config=body.config,
        connection_id=body.connectionId,
        group_name=body.groupName,
    )
    return views.installation_json(view)


@router.get("", summary="List the integration's installations")
async def list_installations(
    integrationId: str,
    request: Request,
    services: Services,
    project: CurrentProject,
    groupRef: str | None = None,
) -> list[dict[str, Any]]:
    found = await installations.list_installations(services, project, integrationId, groupRef)
    statuses = await installation_statuses(request, project.id, [v.installation.id for v in found])
    return [views.installation_json(v, statuses.get(v.installation.id)) for v in found]


@router.get("/{installationId}", summary="Get an installation")
async def get_installation(
    integrationId: str,
    installationId: str,
    request: Request,
    services: Services,
    project: CurrentProject,
) -> dict[str, Any]:
    view = await installations.get_installation(services, project, integrationId, installationId)
    statuses = await installation_statuses(request, project.id, [view.installation.id])
    return views.installation_json(view, statuses.get(view.installation.id))


@router.patch(
    "/{installationId}",
    summary="Update the fields named in updateMask (connectionId, config, config.<path>)",
)
async def update_installation(
    integrationId: str,
    installationId: str,
    body: InstallationPatch,
    services: Services,
    project: CurrentProject,
) -> dict[str, Any]:
    view = await installations.update_installation(
        services,
        project,
        integrationId,
        installationId,
        body.updateMask,
        connection_id=body.installation.connectionId,
        config=body.installation.config,
    )
    return views.installation_json(view)


@router.delete("/{installationId}", status_code=204, summary="Delete an installation")
async def delete_installation(
    integrationId: str, installationId: str, services: Services, project: CurrentProject
) -> Response:
    await installations.delete_installation(services, project, integrationId, installationId)
    return Response(status_code=204)
