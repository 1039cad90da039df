"""Routes: the provider catalog (no authentication). ``/healthz`` and ``/readyz`` are answered
before the management app, the same on every port (``passway.observability.endpoints``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from passway.api.auth import Services
from passway.services import providers

router = APIRouter(tags=["providers"])


@router.get("/v1/providers", summary="The provider catalog")
async def list_providers(
    services: Services, authType: str | None = None, search: str | None = None
) -> list[dict[str, Any]]:
    found = providers.find_providers(services.catalog, auth_type=authType, search=search)
    return [p.to_json() for p in found]


@router.get("/v1/providers/{provider}", summary="One provider of the catalog")
async def get_provider(provider: str, services: Services) -> dict[str, Any]:
    return providers.get_provider(services.catalog, provider).to_json()
