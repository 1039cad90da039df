"""``create_management_app``: the management API (FastAPI) over one worker's runtime.

The OAuth routers (``api.oauth``, ``api.provider_apps``) are included before the connection routes:
``PATCH .../connections/{id}:oauth-update`` would otherwise be taken by ``PATCH
.../connections/{id}`` with an id of ``{id}:oauth-update``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import FastAPI

from passway.api import connect as connect_routes
from passway.api import connect_pages as connect_page_routes
from passway.api import (
    connections,
    installations,
    integrations,
    oauth,
    operations,
    projects,
    provider_apps,
)
from passway.api import docs as docs_routes
from passway.api import notifications as notification_routes
from passway.api import providers as provider_routes
from passway.api.errors import RequestContextMiddleware, install_error_handlers
from passway.api.input_guard import InputGuardMiddleware
from passway.services.context import ServiceContext

if TYPE_CHECKING:
    from passway.runtime import Runtime


_PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details; the x-passway-error header carries the code.",
    "required": ["type", "title", "status", "detail", "code", "requestId"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "code": {"type": "string"},
        "subsystem": {"type": "string"},
        "time": {"type": "string"},
        "requestId": {"type": "string"},
        "retryable": {"type": "boolean"},
        "retryAfter": {"type": "number"},
        "remedy": {"type": "string"},
        "context": {"type": "object"},
        "issues": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "in": {"enum": ["body", "header", "path", "query"]},
                    "name": {"type": "string"},
                    "detail": {"type": "string"},
                    "value": {},
                },
            },
        },
    },
}
# Every error answer is a problem document (input errors are 400, not FastAPI's default 422 shape);
# documenting the ranges replaces FastAPI's HTTPValidationError response on each operation.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {
        "description": description,
        "content": {"application/problem+json": {"schema": _PROBLEM_SCHEMA}},
    }
    for status, description in (
        ("4XX", "Refused: invalid input (400), bad key (401/403), not found (404), ..."),
        ("5XX", "Passway or a provider failed"),
    )
}


def services_for(runtime: Runtime) -> ServiceContext:
    return ServiceContext(
        store=runtime.store,
        catalog=runtime.catalog,
        settings=runtime.settings,
        tokens=runtime.tokens,
    )


def create_management_app(runtime: Runtime) -> FastAPI:
    app = FastAPI(
        title="Passway",
        summary="Management API: projects, API keys, amp.yaml, connections, installations.",
        version="1",
        openapi_url="/v1/openapi.json",
        docs_url=None,  # served by api.docs, with local assets
        redoc_url=None,
    )
    app.state.services = services_for(runtime)
    app.state.runtime = runtime
    install_error_handlers(app)
    # Added first, so it runs inside RequestContextMiddleware and its answers carry a request id.
    app.add_middleware(InputGuardMiddleware)
    app.add_middleware(RequestContextMiddleware)
    for module in (
        oauth,
        provider_apps,
        projects,
        integrations,
        installations,
        connections,
        operations,
    ):
        app.include_router(module.router, responses=PROBLEM_RESPONSES)
    app.include_router(provider_routes.router, responses=PROBLEM_RESPONSES)
    app.include_router(connect_routes.router, responses=PROBLEM_RESPONSES)
    app.include_router(connect_page_routes.router)
    app.include_router(docs_routes.router)
    app.include_router(notification_routes.router, responses=PROBLEM_RESPONSES)
    return app
