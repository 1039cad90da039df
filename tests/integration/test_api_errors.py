"""Management API: the problem+json shape of every error, request ids, unknown routes, the OpenAPI
document, the colon routes, the health check and the public provider catalog."""

from __future__ import annotations

import types
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from passway.api.app import create_management_app
from passway.catalog import load_catalog
from passway.store.memory import MemoryStore
from support.seed import create_api_key, create_project, passway_client
from support.server import ADMIN_KEY, make_settings


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with passway_client(make_settings(tmp_path)) as client:
        yield client


async def test_every_answer_carries_a_fresh_request_id(client: httpx.AsyncClient) -> None:
    first = await client.get("/healthz")
    second = await client.get("/healthz")
    assert first.json() == {"status": "ok"}
    assert first.headers["x-passway-request-id"] != second.headers["x-passway-request-id"]


async def test_a_problem_has_the_rfc9457_fields_and_the_marker_header(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/v1/projects/nobody", headers={"X-Api-Key": ADMIN_KEY})
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["x-passway-error"] == "not_found"
    body = response.json()
    for field in ("type", "title", "status", "detail", "instance", "time", "requestId"):
        assert field in body
    assert body["instance"] == "/v1/projects/nobody"
    assert body["requestId"] == response.headers["x-passway-request-id"]
    assert body["time"].endswith("Z")


async def test_unknown_routes_and_wrong_methods_are_problems(client: httpx.AsyncClient) -> None:
    missing = await client.get("/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.headers["x-passway-error"] == "not_found"
    wrong = await client.delete("/v1/providers")
    assert wrong.status_code == 405
    assert wrong.headers["x-passway-error"] == "method_not_allowed"


async def test_malformed_json_and_wrong_types_are_400_with_issues(
    client: httpx.AsyncClient,
) -> None:
    broken = await client.post(
        "/v1/projects",
        content=b"{not json",
        headers={"X-Api-Key": ADMIN_KEY, "content-type": "application/json"},
    )
    assert broken.status_code == 400
    assert broken.headers["x-passway-error"] == "invalid_request"
    assert broken.json()["issues"][0]["in"] == "body"
    typed = await client.post(
        "/v1/projects", json={"name": ["x"]}, headers={"X-Api-Key": ADMIN_KEY}
    )
    assert [(i["in"], i["name"]) for i in typed.json()["issues"]] == [("body", "name")]


async def test_colon_routes_are_matched_literally(client: httpx.AsyncClient) -> None:
    project = await create_project(client, ADMIN_KEY)
    key = await create_api_key(client, ADMIN_KEY, project["id"])
    auth = {"X-Api-Key": key["key"]}
    base = f"/v1/projects/{project['id']}"
    batch = await client.put(f"{base}/integrations:batch", json={}, headers=auth)
    assert batch.status_code == 400
    assert batch.json()["issues"][0]["name"] == "sourceYaml"
    generate = await client.post(f"{base}/connections:generate", json={}, headers=auth)
    assert generate.status_code == 400
    assert generate.headers["x-passway-error"] == "invalid_request"
    wrong_method = await client.get(f"{base}/integrations:batch", headers=auth)
    assert wrong_method.status_code in (404, 405)
    other_suffix = await client.put(f"{base}/integrations:other", json={}, headers=auth)
    assert other_suffix.status_code in (404, 405)


async def test_the_openapi_document_and_docs_are_served(client: httpx.AsyncClient) -> None:
    document = (await client.get("/v1/openapi.json")).json()
    assert document["info"]["title"] == "Passway"
    paths = document["paths"]
    assert "/v1/projects/{projectIdOrName}/integrations:batch" in paths
    assert "/v1/projects/{projectIdOrName}/connections:generate" in paths
    assert "/v1/projects/{projectIdOrName}/connections/{connectionId}" in paths
    docs = await client.get("/docs")
    assert docs.status_code == 200
    assert "text/html" in docs.headers["content-type"]


async def test_the_openapi_document_says_errors_are_problems_not_422_shapes(
    client: httpx.AsyncClient,
) -> None:
    """Input errors are answered 400 problem+json, so no operation may document FastAPI's 422
    HTTPValidationError; every operation documents its 4XX/5XX answers as problem+json."""
    document = (await client.get("/v1/openapi.json")).json()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert "422" not in responses, (method, path)
            for status in ("4XX", "5XX"):
                assert "application/problem+json" in responses[status]["content"], (method, path)
    assert "HTTPValidationError" not in document.get("components", {}).get("schemas", {})


async def test_the_provider_catalog_is_public(client: httpx.AsyncClient) -> None:
    providers = (await client.get("/v1/providers")).json()
    assert len(providers) >= 200
    names = [p["name"] for p in providers]
    assert names == sorted(names)
    salesforce = (await client.get("/v1/providers/salesforce")).json()
    assert salesforce["authType"] == "oauth2"
    assert "{{.workspace}}" in salesforce["baseURL"]
    filtered = (await client.get("/v1/providers", params={"authType": "basic"})).json()
    assert filtered
    assert {p["authType"] for p in filtered} == {"basic"}
    missing = await client.get("/v1/providers/Salesforce")
    assert missing.status_code == 404
    assert missing.headers["x-passway-error"] == "not_found"


async def test_an_unexpected_exception_is_a_bare_500_problem(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    runtime = types.SimpleNamespace(
        store=MemoryStore(), catalog=load_catalog(), settings=settings, tokens=None
    )
    app = create_management_app(runtime)  # type: ignore[arg-type]

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("internal detail with sekret")

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/boom")
    assert response.status_code == 500
    assert response.headers["x-passway-error"] == "internal_error"
    assert response.headers["x-passway-request-id"]
    assert "sekret" not in response.text
    assert "RuntimeError" not in response.text


async def test_oauth_update_is_not_taken_by_the_connection_patch_route(
    client: httpx.AsyncClient,
) -> None:
    """``PATCH .../connections/{id}:oauth-update`` reaches the OAuth route, whose body needs no
    ``updateMask`` (the connection PATCH route would demand one)."""
    project = await create_project(client, ADMIN_KEY)
    auth = {"X-Api-Key": (await create_api_key(client, ADMIN_KEY, project["id"]))["key"]}
    base = f"/v1/projects/{project['id']}/connections"
    response = await client.patch(f"{base}/no-such-id:oauth-update", json={}, headers=auth)
    assert response.status_code == 404, response.text
    assert "updateMask" not in response.text
    plain = await client.patch(f"{base}/no-such-id", json={}, headers=auth)
    assert plain.status_code == 400
    assert plain.json()["issues"][0]["name"] == "updateMask"
