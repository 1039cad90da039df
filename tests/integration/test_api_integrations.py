"""Management API: deploying amp.yaml (``integrations:batch``) and reading/deleting integrations."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from support.catalog import APIKEY_BEARER, MODULES, NO_PROXY, write_test_catalog
from support.seed import (
    amp_yaml,
    create_api_key,
    create_connection,
    create_installation,
    create_project,
    deploy,
    passway_client,
)
from support.server import ADMIN_KEY, make_settings


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    catalog = write_test_catalog(tmp_path / "catalog.json", "http://127.0.0.1:9")
    async with passway_client(make_settings(tmp_path, catalog_file=catalog)) as client:
        yield client


@pytest.fixture
async def project(client: httpx.AsyncClient) -> tuple[str, dict[str, str]]:
    created = await create_project(client, ADMIN_KEY)
    key = await create_api_key(client, ADMIN_KEY, created["id"])
    return created["id"], {"X-Api-Key": key["key"]}


async def test_deploy_creates_integrations_and_answers_them(
    client: httpx.AsyncClient, project: tuple[str, dict[str, str]]
) -> None:
    project_id, auth = project
    text = amp_yaml("proxy-a", APIKEY_BEARER) + (
        f"  - name: with-module\n    provider: {MODULES}\n    module: api\n"
        "    proxy: {enabled: true, useModule: true}\n"
        "    read: {objects: []}\n"
    )
    response = await client.put(
        f"/v1/projects/{project_id}/integrations:batch", json={"sourceYaml": text}, headers=auth
    )
    assert response.status_code == 200, response.text
    body = response.json()
    by_name = {i["name"]: i for i in body["integrations"]}
    assert by_name["proxy-a"]["provider"] == APIKEY_BEARER
    assert by_name["proxy-a"]["proxy"] == {"enabled": True, "useModule": False}
    assert by_name["with-module"]["module"] == "api"
    assert by_name["with-module"]["proxy"]["useModule"] is True
    assert any("not run" in w for w in body["warnings"])
    listed = (await client.get(f"/v1/projects/{project_id}/integrations", headers=auth)).json()
    assert sorted(i["name"] for i in listed) == ["proxy-a", "with-module"]
    by_id = await client.get(
        f"/v1/projects/{project_id}/integrations/{by_name['proxy-a']['id']}", headers=auth
    )
    by_nm = await client.get(f"/v1/projects/{project_id}/integrations/proxy-a", headers=auth)
    assert by_id.json() == by_nm.json()


async def test_redeploy_updates_by_name_keeps_ids_and_keeps_absent_integrations(
    client: httpx.AsyncClient, project: tuple[str, dict[str, str]]
) -> None:
    project_id, auth = project
    first = await deploy(client, auth["X-Api-Key"], project_id, amp_yaml("one", APIKEY_BEARER))
    second = await deploy(
        client, auth["X-Api-Key"], project_id, amp_yaml("two", APIKEY_BEARER, proxy_enabled=False)
    )
    again = await deploy(
        client, auth["X-Api-Key"], project_id, amp_yaml("one", APIKEY_BEARER, proxy_enabled=False)
    )
    assert again["integrations"][0]["id"] == first["integrations"][0]["id"]
    assert again["integrations"][0]["proxy"]["enabled"] is False
    listed = (await client.get(f"/v1/projects/{project_id}/integrations", headers=auth)).json()
    assert sorted(i["id"] for i in listed) == sorted(
        [first["integrations"][0]["id"], second["integrations"][0]["id"]]
    )


async def test_an_invalid_file_reports_every_field_and_changes_nothing(
    client: httpx.AsyncClient, project: tuple[str, dict[str, str]]
) -> None:
    project_id, auth = project
    text = (
        "specVersion: 1.0.0\nintegrations:\n"
        "  - {name: good, provider: " + APIKEY_BEARER + ", proxy: {enabled: true}}\n"
        "  - {name: bad, provider: " + NO_PROXY + ", proxy: {enabled: true}}\n"
        "  - {name: worse, provider: NoSuchProvider, proxy: {enabled: true}}\n"
    )
    response = await client.put(
        f"/v1/projects/{project_id}/integrations:batch", json={"sourceYaml": text}, headers=auth
    )
    assert response.status_code == 400
    assert response.headers["x-passway-error"] == "invalid_amp_yaml"
    issues = response.json()["issues"]
    assert [(i["in"], i["name"]) for i in issues] == [
        ("body", "integrations[1].proxy"),
        ("body", "integrations[2].provider"),
    ]
    assert issues[1]["value"] == "NoSuchProvider"
    listed = (await client.get(f"/v1/projects/{project_id}/integrations", headers=auth)).json()
    assert listed == []


async def test_yaml_syntax_errors_name_the_line(
    client: httpx.AsyncClient, project: tuple[str, dict[str, str]]
) -> None:
    project_id, auth = project
    response = await client.put(
        f"/v1/projects/{project_id}/integrations:batch",
        json={"sourceYaml": "specVersion: 1.0.0\nintegrations: [\n  {name: a\n"},
        headers=auth,
    )
    assert response.status_code == 400
    assert "line" in response.json()["detail"]


async def test_deleting_an_integration_removes_its_installations(
    client: httpx.AsyncClient, project: tuple[str, dict[str, str]]
) -> None:
    project_id, auth = project
    key = auth["X-Api-Key"]
    await deploy(client, key, project_id, amp_yaml("gone", APIKEY_BEARER))
    connection = await create_connection(
        client, key, project_id, provider=APIKEY_BEARER, credential={"apiKey": "k"}
    )
    installation = await create_installation(
        client, key, project_id, "gone", connection_id=connection["id"]
    )
    deleted = await client.delete(f"/v1/projects/{project_id}/integrations/gone", headers=auth)
    assert deleted.status_code == 204
    missing = await client.get(f"/v1/projects/{project_id}/integrations/gone", headers=auth)
    assert missing.status_code == 404
    await deploy(client, key, project_id, amp_yaml("gone", APIKEY_BEARER))
    listed = await client.get(
        f"/v1/projects/{project_id}/integrations/gone/installations", headers=auth
    )
    assert installation["id"] not in [i["id"] for i in listed.json()]
    assert listed.json() == []
