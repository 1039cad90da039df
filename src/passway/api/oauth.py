"""Connect-flow routes: ``POST /v1/oauth-connect``, ``PATCH .../connections/{id}:oauth-update``
and the browser's return, ``GET /callbacks/v1/oauth``.

The two starting routes answer ``200 text/plain`` with the provider's authorization URL. An
optional body field ``redirectUrl`` (an absolute http(s) URL) sends the browser there after the
callback instead of showing Passway's page: on success with ``?connectionId=<id>&status=success``,
on failure with ``?status=error&error=<code>&error_description=<text>``.

The callback has no API key (the customer's browser comes here). It answers a small HTML page for
browsers (``Accept: text/html``) and problem+json for other clients; either way a failure carries
the ``x-passway-error`` marker header.
"""

from __future__ import annotations

from typing import Annotated, cast
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from pydantic import AfterValidator, Field

from passway import problems
from passway.api.auth import CurrentPrincipal, CurrentProject, Services
from passway.api.schemas import MetadataIn, RequestBody, metadata_values
from passway.errors import OAuthProviderDenied, PasswayError
from passway.http1.client.pool import Http1Client
from passway.oauth import flow, pages
from passway.records import OAuthState
from passway.services import access

router = APIRouter(tags=["oauth"])


def _parseable_url(value: str | None) -> str | None:
    """Refuse what ``urllib`` cannot even split (``http://[::1``, a port past 65535): such a URL
    would otherwise raise deep inside the flow instead of being a 400 on ``redirectUrl``."""
    if value is not None:
        try:
            urlsplit(value).port  # noqa: B018 - read for the ValueError it raises
        except ValueError:
            raise ValueError("must be an absolute http(s) URL") from None
    return value


RedirectUrl = Annotated[str | None, AfterValidator(_parseable_url)]


class OAuthConnectIn(RequestBody):
    projectIdOrName: str
    groupRef: str
    consumerRef: str
    provider: str
    groupName: str | None = None
    consumerName: str | None = None
    providerWorkspaceRef: str | None = None
    providerMetadata: dict[str, str | MetadataIn] = Field(default_factory=dict)
    providerAppId: str | None = None
    redirectUrl: RedirectUrl = None


class OAuthUpdateIn(RequestBody):
    providerWorkspaceRef: str | None = None
    providerMetadata: dict[str, str | MetadataIn] = Field(default_factory=dict)
    providerAppId: str | None = None
    redirectUrl: RedirectUrl = None


@router.post(
    "/v1/oauth-connect",
    response_class=PlainTextResponse,
    summary="Start an OAuth authorization-code flow; answers the authorization URL",
)
async def oauth_connect(
    body: OAuthConnectIn, services: Services, principal: CurrentPrincipal
) -> PlainTextResponse:
    project = await access.resolve_project(services, principal, body.projectIdOrName)
    url = await flow.start_connect(
        services,
        project,
        flow.ConnectRequest(
            provider=body.provider,
            group_ref=body.groupRef,
            consumer_ref=body.consumerRef,
            group_name=body.groupName,
            consumer_name=body.consumerName,
            provider_workspace_ref=body.providerWorkspaceRef,
            provider_metadata=metadata_values(body.providerMetadata),
            provider_app_id=body.providerAppId,
            redirect_url=body.redirectUrl,
        ),
    )
    return PlainTextResponse(url, headers={"Cache-Control": "no-store"})


@router.patch(
    "/v1/projects/{projectIdOrName}/connections/{connectionId}:oauth-update",
    response_class=PlainTextResponse,
    summary="Re-authorize a connection (same id); answers the authorization URL",
)
async def oauth_update(
    connectionId: str,
    services: Services,
    project: CurrentProject,
    body: OAuthUpdateIn | None = None,
) -> PlainTextResponse:
    given = body or OAuthUpdateIn()
    url = await flow.start_reauthorization(
        services,
        project,
        connectionId,
        flow.ConnectRequest(
            provider="",
            group_ref="",
            consumer_ref="",
            provider_workspace_ref=given.providerWorkspaceRef,
            provider_metadata=metadata_values(given.providerMetadata),
            provider_app_id=given.providerAppId,
            redirect_url=given.redirectUrl,
        ),
    )
    return PlainTextResponse(url, headers={"Cache-Control": "no-store"})


@router.get(
    "/callbacks/v1/oauth",
    summary="Where the provider sends the customer back: exchanges the code, stores the connection",
    response_class=HTMLResponse,
)
async def oauth_callback(
    request: Request,
    services: Services,
    state: str | None = None,
    code: str | None = None,
    error: str | None = None,
    error_description: str | None = None,
) -> Response:
    flow_state: OAuthState | None = None
    try:
        if error is not None:
            # Spend the state so the same flow cannot be completed afterwards.
            flow_state = await _try_consume(services, state)
            raise OAuthProviderDenied(
                f"The provider answered {error}"
                + (f": {error_description}" if error_description else ""),
                context={"error": error},
            )
        flow_state = await flow.consume_state(services, state)
        http = cast(Http1Client, request.app.state.runtime.http)
        result = await flow.complete_connect(services, http, flow_state, code)
    except PasswayError as failure:
        redirect_after = flow_state.redirect_after if flow_state is not None else None
        return _failure(request, failure, redirect_after)
    if result.redirect_after:
        target = pages.with_query(
            result.redirect_after, {"connectionId": result.connection.id, "status": "success"}
        )
        return RedirectResponse(target, status_code=302, headers=pages.PAGE_HEADERS)
    provider = services.catalog.get(result.connection.provider)
    name = provider.display_name if provider is not None else result.connection.provider
    return HTMLResponse(pages.success_page(name), headers=pages.PAGE_HEADERS)


async def _try_consume(services: Services, state: str | None) -> OAuthState | None:
    try:
        return await flow.consume_state(services, state)
    except PasswayError:
        return None


def _failure(request: Request, failure: PasswayError, redirect_after: str | None) -> Response:
    headers = {**pages.PAGE_HEADERS, problems.MARKER_HEADER: failure.code}
    if redirect_after:
        error_code = str(failure.context.get("error") or failure.code)
        target = pages.with_query(
            redirect_after,
            {"status": "error", "error": error_code, "error_description": failure.detail},
        )
        return RedirectResponse(target, status_code=302, headers=headers)
    if "text/html" not in request.headers.get("accept", ""):
        raise failure
    body = pages.error_page(failure.title, failure.detail)
    return HTMLResponse(body, status_code=failure.status, headers=headers)
