"""Bad input is a 400 naming the field, never a 500, on SQLite and on PostgreSQL (whose columns
reject values longer than they are declared)."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from support.catalog import APIKEY_BEARER, write_test_catalog
from support.databases import fresh_postgres_database
from support.seed import amp_yaml, create_api_key, create_project, deploy, passway_client
from support.server import ADMIN_KEY, make_settings

POSTGRES_URL = os.environ.get("PASSWAY_TEST_POSTGRES_URL", "")


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param(
            "postgres",
            marks=[
                pytest.mark.postgres,
                pytest.mark.skipif(not POSTGRES_URL, reason="PASSWAY_TEST_POSTGRES_URL not set"),
            ],
        ),
    ]
)
async def client(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    catalog = write_test_catalog(tmp_path / "catalog.json", "http://127.0.0.1:9")
    async with contextlib.AsyncExitStack() as stack:
        # A database of this test's own: its key file is new, and a new key must not be made
        # beside values sealed by other runs.
        database_url = (
            await stack.enter_async_context(fresh_postgres_database(POSTGRES_URL))
            if request.param == "postgres"
            else ""
        )
        settings = make_settings(tmp_path, catalog_file=catalog, database_url=database_url)
        client = await stack.enter_async_context(passway_client(settings))
        yield client


async def test_overlong_values_are_400_naming_the_field(client: httpx.AsyncClient) -> None:
    project = await create_project(client, ADMIN_KEY, f"limits-{uuid.uuid4().hex[:12]}")
    key = (await create_api_key(client, ADMIN_KEY, project["id"]))["key"]
    base = f"/v1/projects/{project['id']}"
    long = "x" * 2000
    cases = [
        ("POST", "/v1/projects", {"name": "ok-name", "appName": long}, ADMIN_KEY, "appName"),
        ("POST", f"{base}/api-keys", {"label": long}, ADMIN_KEY, "label"),
        (
            "POST",
            f"{base}/connections:generate",
            {"groupRef": long, "consumerRef": "c", "provider": APIKEY_BEARER, "apiKey": "k"},
            key,
            "groupRef",
        ),
        (
            "POST",
            f"{base}/connections:generate",
            {
                "groupRef": "g",
                "consumerRef": "c",
                "provider": APIKEY_BEARER,
                "apiKey": "k",
                "providerWorkspaceRef": long,
            },
            key,
            "providerWorkspaceRef",
        ),
        ("GET", f"{base}/connections/{long}", None, key, None),
        ("GET", f"{base}/integrations/{long}", None, key, None),
    ]
    await deploy(client, key, project["id"], amp_yaml("limits", APIKEY_BEARER))
    cases.append(
        (
            "POST",
            f"{base}/integrations/limits/installations",
            {"groupRef": long},
            key,
            "groupRef",
        )
    )
    for method, path, body, api_key, field in cases:
        response = await client.request(method, path, json=body, headers={"X-Api-Key": api_key})
        if field is None:
            assert response.status_code == 404, (path[:60], response.text)
            continue
        assert response.status_code == 400, (path[:60], response.text)
        assert field in [i["name"] for i in response.json()["issues"]]
