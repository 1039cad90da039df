"""Routes: the provider catalog (no authentication). ``/healthz`` and ``/readyz`` are answered
before the management app, the same on every port (``passway.observability.endpoints``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request, Response

from passway.api.auth import Services
from passway.services import providers

router = APIRouter(tags=["providers"])


@router.get("/v1/providers", summary="The provider catalog")
async def list_providers(
    services: Services,
    request: Request,
    response: Response,
    authType: str | None = None,
    search: str | None = None,
    pageSize: int | None = Query(default=None, ge=1, le=1000),
    pageToken: str | None = Query(default=None, max_length=200),
) -> list[dict[str, Any]]:
    """All matching providers sorted by name; with ``pageSize``, one page of them, the next one
    named by the ``Link: <...>; rel="next"`` header (its ``pageToken``), absent on the last."""
    found = providers.find_providers(services.catalog, auth_type=authType, search=search)
    if pageSize is not None:
        found, token = providers.page_of(found, pageSize, pageToken)
        if token is not None:
            url = request.url.include_query_params(pageToken=token)
            response.headers["Link"] = f'<{url}>; rel="next"'
    return [p.to_json() for p in found]


@router.get("/v1/providers/{provider}", summary="One provider of the catalog")
async def get_provider(provider: str, services: Services) -> dict[str, Any]:
    return providers.get_provider(services.catalog, provider).to_json()
