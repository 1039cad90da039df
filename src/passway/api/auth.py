"""FastAPI dependencies for the management API: the service context, the caller, the project.

Routes under ``/v1/projects/{projectIdOrName}/...`` take ``CurrentProject``: it authenticates the
``X-Api-Key`` header and returns the ``Project`` the caller may act on (401 ``unauthenticated``
for a missing or bad key, 404 ``not_found`` for a project that is not the key's own). Routes that
need the caller itself (operator-only routes, or a project named in the body) take
``CurrentPrincipal`` and call ``passway.services.access``.
"""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Path, Request
from fastapi.security import APIKeyHeader

from passway.errors import InvalidRequest, Issue
from passway.records import Project
from passway.services import access
from passway.services.access import Principal
from passway.services.context import ServiceContext

API_KEY_HEADER = "X-Api-Key"

_api_key_scheme = APIKeyHeader(
    name=API_KEY_HEADER,
    auto_error=False,
    description="A project API key, or the operator key (PASSWAY_ADMIN_API_KEY).",
)


def get_services(request: Request) -> ServiceContext:
    """The ``ServiceContext`` that ``create_management_app`` put on the application."""
    return cast(ServiceContext, request.app.state.services)


Services = Annotated[ServiceContext, Depends(get_services)]


async def current_principal(
    request: Request,
    services: Services,
    api_key: Annotated[str | None, Depends(_api_key_scheme)],
) -> Principal:
    # Two different keys in one request are refused, as on the proxy, not resolved by order.
    if len(set(request.headers.getlist(API_KEY_HEADER))) > 1:
        raise InvalidRequest(
            "X-Api-Key was sent more than once with different values.",
            issues=[Issue("header", API_KEY_HEADER, "Sent more than once with different values.")],
        )
    return await access.authenticate(services, api_key)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


async def require_project(
    services: Services,
    principal: CurrentPrincipal,
    project_id_or_name: Annotated[
        str, Path(alias="projectIdOrName", description="The project's id (UUID) or name.")
    ],
) -> Project:
    return await access.resolve_project(services, principal, project_id_or_name)


CurrentProject = Annotated[Project, Depends(require_project)]
