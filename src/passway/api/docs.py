"""``/docs``: Swagger UI served from Passway itself, so it works without internet access.

The assets (Swagger UI 5, which reads the OpenAPI 3.1 document FastAPI writes) are the files the
``fastapi-offline`` package ships, served at ``/docs/static/{name}``; FastAPI's own page would load
them from a CDN.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from fastapi import APIRouter
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response

router = APIRouter(include_in_schema=False)

ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon.png": "image/png",
}


@cache
def _asset(name: str) -> bytes:
    return (resources.files("fastapi_offline") / "static" / name).read_bytes()


@router.get("/docs", response_class=HTMLResponse)
async def swagger_ui() -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url="/v1/openapi.json",
        title="Passway API",
        swagger_js_url="/docs/static/swagger-ui-bundle.js",
        swagger_css_url="/docs/static/swagger-ui.css",
        swagger_favicon_url="/docs/static/favicon.png",
    )


@router.get("/docs/static/{name}")
async def swagger_asset(name: str) -> Response:
    if name not in ASSETS:
        return Response(status_code=404)
    return Response(
        _asset(name), media_type=ASSETS[name], headers={"Cache-Control": "public, max-age=86400"}
    )
