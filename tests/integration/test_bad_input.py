"""Bad input found by fuzzing the served management API: each case is a problem+json 4xx naming
what is wrong, never a 500, and nothing is half-written. Run on SQLite and on PostgreSQL (which
refuses NUL in text and NaN in JSON, where SQLite keeps them)."""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from passway.api.input_guard import MAX_BODY_BYTES
from support.catalog import APIKEY_BEARER, write_test_catalog
from support.databases import fresh_postgres_database
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

POSTGRES_URL = os.environ.get("PASSWAY_TEST_POSTGRES_URL", "")
PROBLEM = "application/problem+json"


@dataclass
class World:
    client: httpx.AsyncClient
    key: str
    base: str
    installation_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"X-Api-Key": self.key}

    @property
    def installation(self) -> str:
        return f"{self.base}/integrations/bad-input/installations/{self.installation_id}"


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
async def world(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[World]:
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
        project = await create_project(client, ADMIN_KEY, f"bad-{uuid.uuid4().hex[:12]}")
        key = (await create_api_key(client, ADMIN_KEY, project["id"]))["key"]
        await deploy(client, key, project["id"], amp_yaml("bad-input", APIKEY_BEARER))
        await create_connection(
            client, key, project["id"], provider=APIKEY_BEARER, credential={"apiKey": "k"}
        )
        installation = await create_installation(client, key, project["id"], "bad-input")
        yield World(client, key, f"/v1/projects/{project['id']}", installation["id"])


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


def issue_names(body: dict[str, Any]) -> list[tuple[str, str]]:
    return [(issue["in"], issue["name"]) for issue in body.get("issues", [])]


def connection_body(**fields: Any) -> dict[str, Any]:
    body = {"groupRef": "g2", "consumerRef": "c2", "provider": APIKEY_BEARER, "apiKey": "k"}
    return {**body, **fields}


@pytest.mark.parametrize("bad", ["a\x00b", "a\ud800b"], ids=["nul", "lone-surrogate"])
async def test_unstorable_text_in_a_body_is_a_400_naming_the_field(world: World, bad: str) -> None:
    cases: list[tuple[str, str, dict[str, Any], str]] = [
        ("POST", "/connections:generate", connection_body(groupRef=bad), "groupRef"),
        (
            "POST",
            "/connections:generate",
            connection_body(providerMetadata={"region": {"value": bad}}),
            "providerMetadata.region.value",
        ),
        ("PUT", "/integrations:batch", {"sourceYaml": bad}, "sourceYaml"),
        ("POST", "/api-keys", {"label": bad}, "label"),
        (
            "POST",
            "/integrations/bad-input/installations",
            {"groupRef": "g3", "config": {"content": {"note": bad}}},
            "config.content.note",
        ),
    ]
    for method, path, body, field in cases:
        # ASCII-escaped, as a client sends them: "\u0000", "\ud800".
        response = await world.client.request(
            method,
            world.base + path,
            content=json.dumps(body).encode(),
            headers={**world.headers, "content-type": "application/json"},
        )
        assert issue_names(problem(response, 400)) == [("body", field)], path
    listed = await world.client.get(f"{world.base}/connections", headers=world.headers)
    assert [c["group"]["groupRef"] for c in listed.json()] == ["group-1"]


async def test_a_nul_in_the_path_or_query_is_a_400_not_a_database_error(world: World) -> None:
    for path in (
        "/v1/projects/a%00b",
        f"{world.base}/connections/a%00b",
        f"{world.base}/integrations/a%00b",
        f"{world.base}/integrations/bad-input/installations/a%00b",
        f"{world.base}/api-keys/a%00b",
    ):
        response = await world.client.get(path, headers=world.headers)
        assert issue_names(problem(response, 400)) == [("path", "path")], path
    response = await world.client.get(
        f"{world.base}/connections?groupRef=a%00b", headers=world.headers
    )
    assert issue_names(problem(response, 400)) == [("query", "groupRef")]


async def test_a_body_over_the_limit_is_a_413_declared_or_streamed(world: World) -> None:
    url = f"{world.base}/integrations:batch"
    big = b'{"sourceYaml": "' + b"a" * MAX_BODY_BYTES + b'"}'
    declared = await world.client.put(
        url, content=big, headers={**world.headers, "content-type": "application/json"}
    )
    assert problem(declared, 413)["code"] == "payload_too_large"

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(big), 1024 * 1024):
            yield big[start : start + 1024 * 1024]

    streamed = await world.client.put(
        url, content=chunks(), headers={**world.headers, "content-type": "application/json"}
    )
    assert "content-length" not in streamed.request.headers
    assert problem(streamed, 413)["code"] == "payload_too_large"
    small = await world.client.put(url, json={"sourceYaml": "x"}, headers=world.headers)
    assert problem(small, 400)["code"] == "invalid_amp_yaml"


@pytest.mark.parametrize(
    ("raw_body", "field"),
    [
        (
            b'{"updateMask": ["config"], "installation": {"config": {"content": {"x": '
            + b"[" * 600
            + b"]" * 600
            + b"}}}}",
            None,
        ),
        (b'{"updateMask": ["config.x"], "installation": {"config": {"x": NaN}}}', None),
        (b'{"updateMask": ["config.x"], "installation": {"config": {"x": -Infinity}}}', None),
        (b'{"updateMask": ["config.x"], "installation": {"config": {"x": 1e999}}}', None),
        (
            b'{"updateMask": ["config.' + b".".join([b"a"] * 3000) + b'"], "installation": {}}',
            "updateMask[0]",
        ),
        (b'{"updateMask": ["config."], "installation": {}}', "updateMask[0]"),
        (b'{"updateMask": ["config.a..b"], "installation": {}}', "updateMask[0]"),
    ],
    ids=["deep", "nan", "infinity", "overflow", "long-mask", "empty-mask", "empty-segment"],
)
async def test_an_unkeepable_installation_config_is_refused_and_nothing_changes(
    world: World, raw_body: bytes, field: str | None
) -> None:
    before = (await world.client.get(world.installation, headers=world.headers)).json()
    response = await world.client.patch(
        world.installation,
        content=raw_body,
        headers={**world.headers, "content-type": "application/json"},
    )
    body = problem(response, 400)
    if field is not None:
        assert ("body", field) in issue_names(body)
    after = await world.client.get(world.installation, headers=world.headers)
    assert after.status_code == 200, after.text
    assert after.json() == before
    listed = await world.client.get(
        f"{world.base}/integrations/bad-input/installations", headers=world.headers
    )
    assert listed.status_code == 200, listed.text


async def test_amp_yaml_with_values_json_lacks_deploys_and_reads_back(world: World) -> None:
    text = amp_yaml("odd-values", APIKEY_BEARER) + (
        "    2001-01-01: dated key\n    read:\n      ratio: .nan\n      blob: !!binary aGVsbG8=\n"
    )
    deployed = await world.client.put(
        f"{world.base}/integrations:batch", json={"sourceYaml": text}, headers=world.headers
    )
    assert deployed.status_code == 200, deployed.text
    read = await world.client.get(f"{world.base}/integrations/odd-values", headers=world.headers)
    assert read.status_code == 200, read.text
    content = read.json()["content"]
    assert content["2001-01-01"] == "dated key"
    assert content["read"]["ratio"] == "nan"


async def test_an_alias_bomb_is_a_quick_400_and_deploys_nothing(world: World) -> None:
    levels = ["    a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    levels += [f"    a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, 10)]
    text = amp_yaml("bomb", APIKEY_BEARER) + "    extra:\n  " + "\n  ".join(levels) + "\n"
    response = await world.client.put(
        f"{world.base}/integrations:batch", json={"sourceYaml": text}, headers=world.headers
    )
    assert problem(response, 400)["code"] == "invalid_amp_yaml"
    missing = await world.client.get(f"{world.base}/integrations/bomb", headers=world.headers)
    assert missing.status_code == 404


@pytest.mark.parametrize(
    "url", ["http://[::1", "http://example.test:99999/done", "https://example.test:port/"]
)
async def test_an_unsplittable_redirect_url_is_a_400_on_the_field(world: World, url: str) -> None:
    connect = await world.client.post(
        "/v1/oauth-connect",
        json={
            "projectIdOrName": world.base.rsplit("/", 1)[1],
            "groupRef": "g",
            "consumerRef": "c",
            "provider": APIKEY_BEARER,
            "redirectUrl": url,
        },
        headers=world.headers,
    )
    assert ("body", "redirectUrl") in issue_names(problem(connect, 400))
    update = await world.client.patch(
        f"{world.base}/connections/any:oauth-update",
        json={"redirectUrl": url},
        headers=world.headers,
    )
    assert ("body", "redirectUrl") in issue_names(problem(update, 400))


async def test_two_different_api_keys_in_one_request_are_refused(world: World) -> None:
    for keys in ([world.key, "pw_other"], ["pw_other", world.key]):
        response = await world.client.get(
            world.base, headers=[("X-Api-Key", keys[0]), ("X-Api-Key", keys[1])]
        )
        assert issue_names(problem(response, 400)) == [("header", "X-Api-Key")]
    same = await world.client.get(
        world.base, headers=[("X-Api-Key", world.key), ("x-api-key", world.key)]
    )
    assert same.status_code == 200, same.text
