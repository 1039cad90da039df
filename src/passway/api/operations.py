"""Routes: operations (one per proxy call), as the replaced service lists and opens them.

- ``GET /v1/projects/{p}/operations``: newest first, filtered, paged:
  ``{"operations": [...], "nextPageToken": ...}``.
- ``GET /v1/projects/{p}/operations/{operationId}``: one operation (id: the call's request id).
- ``GET /v1/projects/{p}/operations/{operationId}/logs``: what happened within that call.
- ``GET /v1/projects/{p}/integrations/{i}/installations/{inst}/operations``: the replaced service's
  installation-scoped list, in its shape (``{"results": [...], "pagination": {"done", ...}}``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, cast

from fastapi import APIRouter, Query, Request

from passway.api.auth import CurrentProject, Services
from passway.operations.record import InstallationStatus, operation_json
from passway.services import installations
from passway.services import operations as ops
from passway.store.operations import OperationFilter, OperationStore

router = APIRouter(prefix="/v1/projects/{projectIdOrName}", tags=["operations"])

PageSize = Annotated[
    int,
    Query(
        ge=1, le=ops.MAX_PAGE_SIZE, description="Operations per page (default 50, at most 1000)."
    ),
]
PageToken = Annotated[str | None, Query(description="nextPageToken of the previous page (opaque).")]


def operation_store(request: Request) -> OperationStore:
    return cast(OperationStore, request.app.state.runtime.operation_store)


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@router.get("/operations", summary="List operations (proxy calls), newest first")
async def list_operations(
    request: Request,
    services: Services,
    project: CurrentProject,
    integrationId: Annotated[str | None, Query(description="Integration id or name.")] = None,
    installationId: str | None = None,
    groupRef: str | None = None,
    provider: str | None = None,
    result: Annotated[str | None, Query(description="success or failure.")] = None,
    since: Annotated[datetime | None, Query(description="Created at or after (RFC 3339).")] = None,
    until: Annotated[datetime | None, Query(description="Created before (RFC 3339).")] = None,
    pageSize: PageSize = ops.DEFAULT_PAGE_SIZE,
    pageToken: PageToken = None,
) -> dict[str, Any]:
    integration_id = integrationId
    if integrationId is not None:
        found = await services.store.get_integration(project.id, integrationId)
        integration_id = found.id if found is not None else integrationId
    where = OperationFilter(
        integration_id=integration_id,
        installation_id=installationId,
        group_ref=groupRef,
        provider=provider,
        result=result,
        since=_utc(since),
        until=_utc(until),
    )
    page = await ops.list_operations(
        operation_store(request), project.id, where, page_size=pageSize, page_token=pageToken
    )
    return {
        "operations": [operation_json(r) for r in page.operations],
        "nextPageToken": page.next_page_token,
    }


@router.get("/operations/{operationId}", summary="Get an operation (id = the call's request id)")
async def get_operation(
    operationId: str, request: Request, project: CurrentProject
) -> dict[str, Any]:
    record = await ops.get_operation(operation_store(request), project.id, operationId)
    return operation_json(record)


@router.get("/operations/{operationId}/logs", summary="What happened within one call, in order")
async def list_operation_logs(
    operationId: str, request: Request, project: CurrentProject
) -> dict[str, Any]:
    record = await ops.get_operation(operation_store(request), project.id, operationId)
    return {"logs": list(record.logs or [])}


@router.get(
    "/integrations/{integrationId}/installations/{installationId}/operations",
    summary="List an installation's operations (the replaced service's shape)",
)
async def list_installation_operations(
    integrationId: str,
    installationId: str,
    request: Request,
    services: Services,
    project: CurrentProject,
    pageSize: Annotated[int, Query(ge=1, le=ops.MAX_PAGE_SIZE)] = 200,
    pageToken: PageToken = None,
) -> dict[str, Any]:
    view = await installations.get_installation(services, project, integrationId, installationId)
    where = OperationFilter(installation_id=view.installation.id)
    page = await ops.list_operations(
        operation_store(request), project.id, where, page_size=pageSize, page_token=pageToken
    )
    pagination: dict[str, Any] = {"done": page.next_page_token is None}
    if page.next_page_token is not None:
        pagination["nextPageToken"] = page.next_page_token
    return {"results": [operation_json(r) for r in page.operations], "pagination": pagination}


async def installation_statuses(
    request: Request, project_id: str, installation_ids: list[str]
) -> dict[str, InstallationStatus]:
    """Each installation's latest operation status (for the installation JSON)."""
    return await operation_store(request).installation_statuses(project_id, installation_ids)
