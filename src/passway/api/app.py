"""``create_management_app``: the management API (FastAPI) over one worker's runtime.

The OAuth routers (``api.oauth``, ``api.provider_apps``) are included before the connection routes:
``PATCH .../connections/{id}:oauth-update`` would otherwise be taken by ``PATCH
.../connections/{id}`` with an id of ``{id}:oauth-update``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import FastAPI

from passway.api import connections, installations, integrations, oauth, projects, provider_apps
from passway.api import providers as provider_routes
from passway.api.errors import RequestContextMiddleware, install_error_handlers
from passway.api.input_guard import InputGuardMiddleware
from passway.services.context import ServiceContext

if TYPE_CHECKING:
    from passway.bootstrap import Runtime


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
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.services = services_for(runtime)
    app.state.runtime = runtime
    install_error_handlers(app)
    # Added first, so it runs inside RequestContextMiddleware and its answers carry a request id.
    app.add_middleware(InputGuardMiddleware)
    app.add_middleware(RequestContextMiddleware)
    for module in (oauth, provider_apps, projects, integrations, installations, connections):
        app.include_router(module.router)
    app.include_router(provider_routes.router)
    return app
