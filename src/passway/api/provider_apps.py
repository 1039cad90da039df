"""Provider-app routes: the OAuth client per provider; ``clientSecret`` is write-only."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import Field

from passway.api.auth import CurrentProject, Services
from passway.api.schemas import RequestBody
from passway.oauth import apps
from passway.records import ProviderApp
from passway.services.views import rfc3339

router = APIRouter(prefix="/v1/projects/{projectIdOrName}/provider-apps", tags=["provider apps"])


class ProviderAppIn(RequestBody):
    provider: str
    clientId: str
    clientSecret: str
    scopes: list[str] = Field(default_factory=list)
    externalRef: str | None = None


class ProviderAppPatch(RequestBody):
    provider: str | None = None
    clientId: str | None = None
    clientSecret: str | None = None
    scopes: list[str] | None = None
    externalRef: str | None = None


def provider_app_json(app: ProviderApp) -> dict[str, Any]:
    return {
        "id": app.id,
        "projectId": app.project_id,
        "provider": app.provider,
        "clientId": app.client_id,
        "scopes": list(app.scopes),
        "externalRef": app.external_ref,
        "createTime": rfc3339(app.create_time),
        "updateTime": rfc3339(app.update_time),
    }


@router.post("", status_code=201, summary="Register the OAuth client for a provider")
async def create_provider_app(
    body: ProviderAppIn, services: Services, project: CurrentProject
) -> dict[str, Any]:
    app = await apps.create_provider_app(
        services,
        project,
        provider=body.provider,
        client_id=body.clientId,
        client_secret=body.clientSecret,
        scopes=body.scopes,
        external_ref=body.externalRef,
    )
    return provider_app_json(app)


@router.get("", summary="List provider apps")
async def list_provider_apps(services: Services, project: CurrentProject) -> list[dict[str, Any]]:
    return [provider_app_json(a) for a in await services.store.list_provider_apps(project.id)]


@router.get("/{providerAppId}", summary="Get a provider app (never its secret)")
async def get_provider_app(
    providerAppId: str, services: Services, project: CurrentProject
) -> dict[str, Any]:
    return provider_app_json(await apps.get_provider_app(services, project, providerAppId))


@router.patch("/{providerAppId}", summary="Change a provider app's fields")
async def update_provider_app(
    providerAppId: str, body: ProviderAppPatch, services: Services, project: CurrentProject
) -> dict[str, Any]:
    app = await apps.update_provider_app(
        services,
        project,
        providerAppId,
        provider=body.provider,
        client_id=body.clientId,
        client_secret=body.clientSecret,
        scopes=body.scopes,
        external_ref=body.externalRef,
    )
    return provider_app_json(app)


@router.delete("/{providerAppId}", status_code=204, summary="Delete a provider app")
async def delete_provider_app(
    providerAppId: str, services: Services, project: CurrentProject
) -> Response:
    await apps.delete_provider_app(services, project, providerAppId)
    return Response(status_code=204)
