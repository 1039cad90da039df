"""Connect-page routes for the team's backend, with the project API key: create a connect
session (``POST .../connect-sessions``) and read or set the page's settings
(``.../connect-settings``: allowed redirect URLs, logo). The end customer's pages are in
``api.connect_pages``.
"""

from __future__ import annotations

from typing import Any, cast

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from passway.api.auth import CurrentProject, Services
from passway.api.schemas import RequestBody
from passway.connect import sessions as connect
from passway.services.views import rfc3339
from passway.store.connect_sessions import ConnectSessionStore, ConnectSettings

router = APIRouter(prefix="/v1/projects/{projectIdOrName}", tags=["connect"])


def connect_store(request: Request) -> ConnectSessionStore:
    return cast(ConnectSessionStore, request.app.state.runtime.connect_sessions)


class ConnectSessionIn(RequestBody):
    groupRef: str
    consumerRef: str
    provider: str | None = None
    integration: str | None = Field(
        default=None, description="An integration's name or id: its provider, and installed"
    )
    groupName: str | None = None
    consumerName: str | None = None
    redirectUrl: str | None = Field(default=None, description="On the allowedRedirectUrls list")
    expiresIn: int = Field(default=connect.DEFAULT_TTL, description="Seconds, 60 to 3600")


class ConnectSettingsIn(RequestBody):
    allowedRedirectUrls: list[str] = Field(default_factory=list)
    logoUrl: str | None = None


def _settings_json(settings: ConnectSettings) -> dict[str, Any]:
    return {
        "allowedRedirectUrls": list(settings.allowed_redirect_urls),
        "logoUrl": settings.logo_url,
    }


class ConnectSessionOut(BaseModel):
    id: str
    token: str = Field(description="Shown only here; Passway keeps only its hash")
    url: str = Field(description="The page to send the end customer to (single use)")
    expiresAt: str


@router.post(
    "/connect-sessions",
    status_code=201,
    summary="Create a short-lived, single-use connect page link for one end customer",
)
async def create_connect_session(
    body: ConnectSessionIn,
    request: Request,
    response: Response,
    services: Services,
    project: CurrentProject,
) -> ConnectSessionOut:
    session, token = await connect.create_session(
        services,
        connect_store(request),
        project,
        connect.NewConnectSession(
            group_ref=body.groupRef,
            consumer_ref=body.consumerRef,
            provider=body.provider,
            integration=body.integration,
            group_name=body.groupName,
            consumer_name=body.consumerName,
            redirect_url=body.redirectUrl,
            expires_in=body.expiresIn,
        ),
    )
    response.headers["Cache-Control"] = "no-store"
    return ConnectSessionOut(
        id=session.id,
        token=token,
        url=connect.page_url(services.settings.public_url, token),
        expiresAt=rfc3339(session.expires_at) or "",
    )


@router.get("/connect-settings", summary="The connect page's settings (redirect URLs, logo)")
async def get_connect_settings(request: Request, project: CurrentProject) -> dict[str, Any]:
    return _settings_json(await connect_store(request).get_settings(project.id))


@router.put("/connect-settings", summary="Set the allowed redirect URLs and the logo")
async def put_connect_settings(
    body: ConnectSettingsIn, request: Request, project: CurrentProject
) -> dict[str, Any]:
    saved = await connect.update_settings(
        connect_store(request), project, body.allowedRedirectUrls, body.logoUrl
    )
    return _settings_json(saved)
