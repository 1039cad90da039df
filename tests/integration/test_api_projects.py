"""Management API: authentication, projects and API keys, through HTTP on the in-process app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from support.seed import create_api_key, create_project, passway_client
from support.server import ADMIN_KEY, make_settings

ADMIN = {"X-Api-Key": ADMIN_KEY}


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with passway_client(make_settings(tmp_path)) as client:
        yield client


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["x-passway-error"] == code
    body: dict[str, object] = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["subsystem"] == "api"
    assert body["requestId"] == response.headers["x-passway-request-id"]
    return body


async def test_the_operator_creates_a_project_with_a_lower_cased_name(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/v1/projects", json={"name": "Acme-Corp", "appName": "Acme"}, headers=ADMIN
    )
    assert response.status_code == 201
    project = response.json()
    assert project["name"] == "acme-corp"
    assert project["appName"] == "Acme"
    assert project["createTime"].endswith("Z")
    by_name = await client.get("/v1/projects/ACME-corp", headers=ADMIN)
    by_id = await client.get(f"/v1/projects/{project['id']}", headers=ADMIN)
    assert by_name.json() == by_id.json() == project


async def test_a_taken_project_name_is_a_conflict(client: httpx.AsyncClient) -> None:
    await create_project(client, ADMIN_KEY, "dup-name")
    response = await client.post("/v1/projects", json={"name": "DUP-name"}, headers=ADMIN)
    assert_problem(response, 409, "conflict")


@pytest.mark.parametrize("name", ["a", "-lead", "trail-", "has space", "x" * 129, "under_score"])
async def test_a_bad_project_name_is_refused_naming_the_field(
    client: httpx.AsyncClient, name: str
) -> None:
    response = await client.post("/v1/projects", json={"name": name}, headers=ADMIN)
    body = assert_problem(response, 400, "invalid_request")
    assert [issue["name"] for issue in body["issues"]] == ["name"]  # type: ignore[attr-defined]


async def test_a_project_key_cannot_create_projects(client: httpx.AsyncClient) -> None:
    project = await create_project(client, ADMIN_KEY)
    key = await create_api_key(client, ADMIN_KEY, project["id"])
    response = await client.post(
        "/v1/projects", json={"name": "other"}, headers={"X-Api-Key": key["key"]}
    )
    assert_problem(response, 403, "permission_denied")


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-Api-Key": "nonsense"}, {"X-Api-Key": "pw_AAAAAAAAAAAA_" + "B" * 40}],
    ids=["missing", "malformed", "unknown"],
)
async def test_a_missing_or_unknown_key_is_unauthenticated(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    project = await create_project(client, ADMIN_KEY)
    response = await client.get(f"/v1/projects/{project['id']}", headers=headers)
    assert_problem(response, 401, "unauthenticated")


async def test_a_project_key_on_another_project_gets_404_like_a_missing_project(
    client: httpx.AsyncClient,
) -> None:
    mine = await create_project(client, ADMIN_KEY, "mine")
    theirs = await create_project(client, ADMIN_KEY, "theirs")
    key = (await create_api_key(client, ADMIN_KEY, mine["id"]))["key"]
    for path in (f"/v1/projects/{theirs['id']}", "/v1/projects/theirs", "/v1/projects/nobody"):
        body = assert_problem(await client.get(path, headers={"X-Api-Key": key}), 404, "not_found")
        assert "theirs" not in str(body.get("context", "")) or path.endswith("theirs")
    own = await client.get("/v1/projects/mine", headers={"X-Api-Key": key})
    assert own.status_code == 200
    listed = await client.get("/v1/projects", headers={"X-Api-Key": key})
    assert [p["name"] for p in listed.json()] == ["mine"]


async def test_the_raw_key_is_shown_once_then_only_masked(client: httpx.AsyncClient) -> None:
    project = await create_project(client, ADMIN_KEY)
    created = await create_api_key(client, ADMIN_KEY, project["id"], label="ci")
    assert created["key"].startswith("pw_")
    assert created["label"] == "ci"
    assert created["projectId"] == project["id"]
    assert created["active"] is True
    auth = {"X-Api-Key": created["key"]}
    listed = (await client.get(f"/v1/projects/{project['id']}/api-keys", headers=auth)).json()
    assert len(listed) == 1
    assert listed[0]["key"] != created["key"]
    assert created["key"] not in str(listed)
    assert listed[0]["keyPrefix"] == created["keyPrefix"]
    one = await client.get(
        f"/v1/projects/{project['id']}/api-keys/{created['keyPrefix']}", headers=auth
    )
    assert one.json()["id"] == created["id"]


async def test_an_api_key_needs_a_label(client: httpx.AsyncClient) -> None:
    project = await create_project(client, ADMIN_KEY)
    response = await client.post(
        f"/v1/projects/{project['id']}/api-keys", json={"scopes": []}, headers=ADMIN
    )
    body = assert_problem(response, 400, "invalid_request")
    assert body["issues"] == [  # type: ignore[comparison-overlap]
        {"in": "body", "name": "label", "detail": "Field required"}
    ]


async def test_a_deactivated_then_deleted_key_stops_working(client: httpx.AsyncClient) -> None:
    project = await create_project(client, ADMIN_KEY)
    key = await create_api_key(client, ADMIN_KEY, project["id"])
    path = f"/v1/projects/{project['id']}"
    auth = {"X-Api-Key": key["key"]}
    assert (await client.get(path, headers=auth)).status_code == 200
    patched = await client.patch(
        f"{path}/api-keys/{key['id']}",
        json={"active": False, "label": "old", "scopes": ["read"]},
        headers=ADMIN,
    )
    assert patched.json()["active"] is False
    assert patched.json()["label"] == "old"
    assert patched.json()["scopes"] == ["read"]
    assert_problem(await client.get(path, headers=auth), 401, "unauthenticated")
    await client.patch(f"{path}/api-keys/{key['id']}", json={"active": True}, headers=ADMIN)
    assert (await client.get(path, headers=auth)).status_code == 200
    deleted = await client.delete(f"{path}/api-keys/{key['id']}", headers=ADMIN)
    assert deleted.status_code == 204
    assert_problem(await client.get(path, headers=auth), 401, "unauthenticated")
    assert_problem(
        await client.get(f"{path}/api-keys/{key['id']}", headers=ADMIN), 404, "not_found"
    )
