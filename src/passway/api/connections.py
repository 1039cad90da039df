"""Routes: ``connections:generate``, list, get (credentials on request, refresh), patch, delete."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Response

from passway.api.auth import CurrentProject, Services
from passway.api.schemas import ConnectionGenerate, ConnectionPatch, metadata_values
from passway.services import connections, views

router = APIRouter(prefix="/v1/projects/{projectIdOrName}", tags=["connections"])


@router.post(
    "/connections:generate",
    status_code=201,
    summary="Create a connection from a credential (or imported OAuth tokens)",
)
async def generate_connection(
    body: ConnectionGenerate, services: Services, project: CurrentProject
) -> dict[str, Any]:
    connection = await connections.generate_connection(services, project, body.to_new_connection())
    return views.connection_json(connection)


@router.get("/connections", summary="List connections, newest first")
async def list_connections(
    services: Services,
    project: CurrentProject,
    provider: str | None = None,
    groupRef: str | None = None,
    consumerRef: str | None = None,
) -> list[dict[str, Any]]:
    found = await connections.list_connections(
        services, project, provider=provider, group_ref=groupRef, consumer_ref=consumerRef
    )
    return [views.connection_json(c) for c in found]


@router.get(
    "/connections/{connectionId}",
    summary="Get a connection",
    description="Credentials only with includeCreds=true; the refresh token only with "
    "includeRefreshToken=true (which implies includeCreds). refresh=ifExpired|force refreshes "
    "the OAuth access token first.",
)
async def get_connection(
    connectionId: str,
    services: Services,
    project: CurrentProject,
    includeCreds: bool = False,
    includeRefreshToken: bool = False,
    refresh: Literal["ifExpired", "force"] | None = None,
) -> dict[str, Any]:
    connection = await connections.get_connection(services, project, connectionId, refresh)
    return views.connection_json(
        connection, include_creds=includeCreds, include_refresh_token=includeRefreshToken
    )


@router.patch(
    "/connections/{connectionId}",
    summary="Update the fields named in updateMask",
)
async def update_connection(
    connectionId: str, body: ConnectionPatch, services: Services, project: CurrentProject
) -> dict[str, Any]:
    changes = body.connection
    connection = await connections.update_connection(
        services,
        project,
        connectionId,
        body.updateMask,
        provider_workspace_ref=changes.providerWorkspaceRef,
        provider_metadata=metadata_values(changes.providerMetadata),
        credentials=changes.to_credentials(),
    )
    return views.connection_json(connection)


@router.delete("/connections/{connectionId}", status_code=204, summary="Delete a connection")
async def delete_connection(
    connectionId: str, services: Services, project: CurrentProject
) -> Response:
    await connections.delete_connection(services, project, connectionId)
    return Response(status_code=204)
