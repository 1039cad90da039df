"""Routes: deploy amp.yaml (``integrations:batch``), list, get and delete integrations."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from passway.api.auth import CurrentProject, Services
from passway.api.schemas import IntegrationsBatch
from passway.services import integrations, views

router = APIRouter(prefix="/v1/projects/{projectIdOrName}", tags=["integrations"])


@router.put(
    "/integrations:batch",
    summary="Deploy amp.yaml: create or update its integrations by name",
    description="Integrations absent from the file are kept. The answer lists the deployed "
    "integrations and warnings (read/write/subscribe are stored but not run by Passway).",
)
async def deploy_integrations(
    body: IntegrationsBatch, services: Services, project: CurrentProject
) -> dict[str, Any]:
    deployment = await integrations.deploy_amp_yaml(services, project, body.sourceYaml)
    return views.deployment_json(deployment)


@router.get("/integrations", summary="List integrations")
async def list_integrations(services: Services, project: CurrentProject) -> list[dict[str, Any]]:
    return [
        views.integration_json(i) for i in await integrations.list_integrations(services, project)
    ]


@router.get("/integrations/{integrationIdOrName}", summary="Get an integration by id or name")
async def get_integration(
    integrationIdOrName: str, services: Services, project: CurrentProject
) -> dict[str, Any]:
    integration = await integrations.get_integration(services, project, integrationIdOrName)
    return views.integration_json(integration)


@router.delete(
    "/integrations/{integrationIdOrName}",
    status_code=204,
    summary="Delete an integration and its installations",
)
async def delete_integration(
    integrationIdOrName: str, services: Services, project: CurrentProject
) -> Response:
    await integrations.delete_integration(services, project, integrationIdOrName)
    return Response(status_code=204)
