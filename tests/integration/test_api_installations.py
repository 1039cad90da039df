"""Management API: installations of an integration for a group, tied to one connection."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from support.catalog import APIKEY_BEARER, BASIC, write_test_catalog
from support.seed import (
    amp_yaml,
    create_api_key,
    create_connection,
    create_project,
    deploy,
    passway_client,
    seed_proxy_setup,
)
from support.server import ADMIN_KEY, make_settings


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    catalog = write_test_catalog(tmp_path / "catalog.json", "http://127.0.0.1:9")
    async with passway_client(make_settings(tmp_path, catalog_file=catalog)) as client:
        yield client


class Setup:
    def __init__(self, project_id: str, key: str) -> None:
        self.project_id = project_id
        self.key = key
        self.auth = {"X-Api-Key": key}
        self.base = f"/v1/projects/{project_id}/integrations/crm/installations"


@pytest.fixture
async def setup(client: httpx.AsyncClient) -> Setup:
    project = await create_project(client, ADMIN_KEY)
    key = (await create_api_key(client, ADMIN_KEY, project["id"]))["key"]
    await deploy(client, key, project["id"], amp_yaml("crm", APIKEY_BEARER))
    return Setup(project["id"], key)


async def test_seeded_setup_is_readable_through_every_route(client: httpx.AsyncClient) -> None:
    seeded = await seed_proxy_setup(
        client, ADMIN_KEY, provider=APIKEY_BEARER, credential={"apiKey": "k"}
    )
    auth = {"X-Api-Key": seeded.api_key}
    base = f"/v1/projects/{seeded.project_id}/integrations"
    by_id = await client.get(
        f"{base}/{seeded.integration_id}/installations/{seeded.installation_id}", headers=auth
    )
    by_name = await client.get(
        f"{base}/{seeded.integration_name}/installations/{seeded.installation_id}", headers=auth
    )
    assert by_id.status_code == 200, by_id.text
    assert by_id.json() == by_name.json()
    installation = by_id.json()
    assert installation["projectId"] == seeded.project_id
    assert installation["integrationId"] == seeded.integration_id
    assert installation["group"]["groupRef"] == seeded.group_ref
    assert installation["connection"]["id"] == seeded.connection_id
    assert "apiKey" not in installation["connection"]
    assert installation["config"] == {"content": {"proxy": {"enabled": True}}}
    assert installation["healthStatus"]
    assert installation["createTime"].endswith("Z")


async def test_without_connection_id_the_groups_newest_connection_is_used(
    client: httpx.AsyncClient, setup: Setup
) -> None:
    await create_connection(
        client, setup.key, setup.project_id, provider=APIKEY_BEARER, credential={"apiKey": "1"}
    )
    newest = await create_connection(
        client, setup.key, setup.project_id, provider=APIKEY_BEARER, credential={"apiKey": "2"}
    )
    response = await client.post(setup.base, json={"groupRef": "group-1"}, headers=setup.auth)
    assert response.status_code == 201, response.text
    assert response.json()["connection"]["id"] == newest["id"]


async def test_a_group_without_a_connection_gets_a_clear_400(
    client: httpx.AsyncClient, setup: Setup
) -> None:
    response = await client.post(setup.base, json={"groupRef": "nobody"}, headers=setup.auth)
    assert response.status_code == 400
    assert response.json()["issues"][0]["name"] == "connectionId"


async def test_a_group_installs_an_integration_once(
    client: httpx.AsyncClient, setup: Setup
) -> None:
    await create_connection(
        client, setup.key, setup.project_id, provider=APIKEY_BEARER, credential={"apiKey": "1"}
    )
    first = await client.post(setup.base, json={"groupRef": "group-1"}, headers=setup.auth)
    assert first.status_code == 201
    second = await client.post(setup.base, json={"groupRef": "group-1"}, headers=setup.auth)
    assert second.status_code == 409
    assert second.headers["x-passway-error"] == "conflict"


async def test_the_connection_must_match_the_provider_and_the_project(
    client: httpx.AsyncClient, setup: Setup
) -> None:
    basic = await create_connection(
        client,
        setup.key,
        setup.project_id,
        provider=BASIC,
        credential={"basicAuth": {"username": "u", "password": "p"}},
    )
    wrong_provider = await client.post(
        setup.base, json={"groupRef": "group-1", "connectionId": basic["id"]}, headers=setup.auth
    )
    assert wrong_provider.status_code == 400
    assert wrong_provider.json()["issues"][0]["name"] == "connectionId"
    other = await create_project(client, ADMIN_KEY)
    other_key = (await create_api_key(client, ADMIN_KEY, other["id"]))["key"]
    foreign = await create_connection(
        client, other_key, other["id"], provider=APIKEY_BEARER, credential={"apiKey": "x"}
    )
    cross = await client.post(
        setup.base, json={"groupRef": "group-1", "connectionId": foreign["id"]}, headers=setup.auth
    )
    assert cross.status_code == 404


async def test_unknown_integration_is_404_and_bad_config_is_400(
    client: httpx.AsyncClient, setup: Setup
) -> None:
    missing = await client.post(
        f"/v1/projects/{setup.project_id}/integrations/nope/installations",
        json={"groupRef": "g"},
        headers=setup.auth,
    )
    assert missing.status_code == 404
    bad = await client.post(
        setup.base,
        json={"groupRef": "g", "config": {"content": {"proxy": {"enabled": "yes"}}}},
        headers=setup.auth,
    )
    assert bad.status_code == 400
    assert bad.json()["issues"][0]["name"] == "config.content.proxy.enabled"


async def test_list_patch_and_delete(client: httpx.AsyncClient, setup: Setup) -> None:
    first = await create_connection(
        client, setup.key, setup.project_id, provider=APIKEY_BEARER, credential={"apiKey": "1"}
    )
    created = (
        await client.post(setup.base, json={"groupRef": "group-1"}, headers=setup.auth)
    ).json()
    await create_connection(
        client,
        setup.key,
        setup.project_id,
        provider=APIKEY_BEARER,
        credential={"apiKey": "2"},
        group_ref="group-2",
    )
    await client.post(setup.base, json={"groupRef": "group-2"}, headers=setup.auth)
    listed = await client.get(setup.base, headers=setup.auth)
    assert len(listed.json()) == 2
    only = await client.get(setup.base, params={"groupRef": "group-1"}, headers=setup.auth)
    assert [i["id"] for i in only.json()] == [created["id"]]
    url = f"{setup.base}/{created['id']}"
    second = await create_connection(
        client, setup.key, setup.project_id, provider=APIKEY_BEARER, credential={"apiKey": "3"}
    )
    patched = await client.patch(
        url,
        json={
            "updateMask": ["connectionId", "config.content.proxy.enabled"],
            "installation": {
                "connectionId": second["id"],
                "config": {"content": {"proxy": {"enabled": False}}},
            },
        },
        headers=setup.auth,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["connection"]["id"] == second["id"] != first["id"]
    assert patched.json()["config"]["content"]["proxy"]["enabled"] is False
    bad = await client.patch(url, json={"updateMask": ["groupRef"]}, headers=setup.auth)
    assert bad.status_code == 400
    assert bad.json()["issues"][0]["name"] == "updateMask[0]"
    assert (await client.delete(url, headers=setup.auth)).status_code == 204
    assert (await client.get(url, headers=setup.auth)).status_code == 404
