"""Converted providers through the real protocol: source keys as aliases in the API and amp.yaml,
hostile metadata refused at connection creation, and proxied calls reaching a loopback upstream
with exactly the credential placement the facts give.

For the proxied calls the converted entry is taken from the built-in catalog as it is and only its
origin is pointed at the loopback upstream (an operator catalog entry of the same name, the way the
suite reaches loopback upstreams); the credential placement, path, metadata rules and extra
headers are the converted ones.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import pytest_asyncio
from aiohttp import web

from passway.catalog import load_catalog
from support.catalog import write_test_catalog
from support.seed import (
    SeededSetup,
    amp_yaml,
    create_api_key,
    create_project,
    deploy,
    passway_client,
    seed_proxy_setup,
)
from support.server import ADMIN_KEY, make_settings, serve_passway
from support.upstream import RecordedRequest, RecordingUpstream

BUILT_IN = load_catalog()


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


@pytest.mark.parametrize(
    ("key", "canonical"),
    [("active-campaign", "activeCampaign"), ("bamboohr-basic", "bamboohrBasic")],
)
async def test_get_provider_by_source_key_answers_the_canonical_entry(
    client: httpx.AsyncClient, key: str, canonical: str
) -> None:
    by_key = await client.get(f"/v1/providers/{key}")
    by_name = await client.get(f"/v1/providers/{canonical}")
    assert by_key.status_code == 200 and by_name.status_code == 200
    assert by_key.json() == by_name.json()
    assert by_key.json()["name"] == canonical
    assert (await client.get("/v1/providers/no-such-key")).status_code == 404


async def test_the_provider_list_is_filterable(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/providers", params={"authType": "basic", "search": "bamboo"})
    assert response.status_code == 200
    assert [p["name"] for p in response.json()] == ["bamboohrBasic"]


async def test_the_provider_list_is_paged_and_finds_source_keys(client: httpx.AsyncClient) -> None:
    everything = [p["name"] for p in (await client.get("/v1/providers")).json()]
    assert len(everything) >= len(BUILT_IN.providers) > 800  # plus the test providers
    seen: list[str] = []
    url: str | None = "/v1/providers?pageSize=300"
    while url is not None:
        response = await client.get(url)
        assert response.status_code == 200
        page = [p["name"] for p in response.json()]
        assert 0 < len(page) <= 300
        seen += page
        link = response.headers.get("link")
        url = link[1 : link.index(">")] if link else None
    assert seen == everything
    found = (await client.get("/v1/providers", params={"search": "google-calendar"})).json()
    assert [p["name"] for p in found] == ["google", "googleCalendarMcp"]
    too_big = await client.get("/v1/providers", params={"pageSize": 100000})
    assert too_big.status_code == 400


async def test_amp_yaml_deploys_a_source_key_under_the_canonical_name(
    client: httpx.AsyncClient, project: tuple[str, dict[str, str]]
) -> None:
    project_id, auth = project
    text = amp_yaml("by-alias", "acuity-scheduling") + amp_yaml("converted", "bamboohr-basic")
    text = "specVersion: 1.0.0\nintegrations:\n" + text.replace(
        "specVersion: 1.0.0\nintegrations:\n", ""
    )
    deployed = await deploy(client, auth["X-Api-Key"], project_id, text)
    providers = {i["name"]: i["provider"] for i in deployed["integrations"]}
    assert providers == {"by-alias": "acuityScheduling", "converted": "bamboohrBasic"}
    listed = (await client.get(f"/v1/projects/{project_id}/integrations", headers=auth)).json()
    assert {i["name"]: i["provider"] for i in listed} == providers


async def test_a_provider_app_for_a_source_key_is_stored_under_the_canonical_name(
    client: httpx.AsyncClient, project: tuple[str, dict[str, str]]
) -> None:
    project_id, auth = project
    body = {"provider": "google-calendar", "clientId": "c", "clientSecret": "s", "scopes": []}
    created = await client.post(f"/v1/projects/{project_id}/provider-apps", json=body, headers=auth)
    assert created.status_code == 201, created.text
    assert created.json()["provider"] == "google"


async def _generate(
    client: httpx.AsyncClient, project_id: str, auth: dict[str, str], **body: Any
) -> httpx.Response:
    body = {"groupRef": "g", "consumerRef": "c", **body}
    return await client.post(
        f"/v1/projects/{project_id}/connections:generate", json=body, headers=auth
    )


@pytest.mark.parametrize(
    ("provider", "variable", "value"),
    [
        ("recruitee", "companyId", "12/../admin"),  # breaks the path slot and the pattern
        ("recruitee", "companyId", "acme"),  # fits a path segment, not the pattern ^[0-9]+$
        ("recruitee", "companyId", "123\n"),  # a newline after the $ anchor
        ("mercury", "hostname", "evil.example.com"),  # a DNS name outside the enum
        ("sage-200", "company_id", "1\r\nX-Injected: 1"),  # goes in a header
        ("dayforce", "identityHostname", "evil.example.com/x"),  # the two-step token URL's host
    ],
)
async def test_hostile_metadata_is_refused_at_connection_creation(
    client: httpx.AsyncClient,
    project: tuple[str, dict[str, str]],
    provider: str,
    variable: str,
    value: str,
) -> None:
    project_id, auth = project
    metadata = {variable: {"value": value}}
    if provider == "sage-200":
        metadata |= {"edition": {"value": "v1"}, "site_id": {"value": "s"}}
    credential: dict[str, Any] = {"apiKey": "k"}
    if provider == "dayforce":
        credential = {"customAuth": {"username": "u", "password": "p"}}
    if provider in ("mercury", "sage-200"):
        token = {"token": "t", "expiresAt": "2099-01-01T00:00:00Z"}
        credential = {"oauth2AuthorizationCode": {"accessToken": token}}
    response = await _generate(
        client, project_id, auth, provider=provider, providerMetadata=metadata, **credential
    )
    assert response.status_code == 400, response.text
    fields = [issue["name"] for issue in response.json()["issues"]]
    assert f"providerMetadata.{variable}" in fields


async def test_fitting_metadata_is_accepted_and_stored_under_the_canonical_name(
    client: httpx.AsyncClient, project: tuple[str, dict[str, str]]
) -> None:
    project_id, auth = project
    response = await _generate(
        client,
        project_id,
        auth,
        provider="recruitee",
        providerMetadata={"companyId": {"value": "4242"}},
        apiKey="k",
    )
    assert response.status_code == 201, response.text
    assert response.json()["provider"] == "recruitee"
    response = await _generate(
        client,
        project_id,
        auth,
        provider="bamboohr-basic",
        basicAuth={"username": "u", "password": "p"},
        providerMetadata={"subdomain": {"value": "acme"}},
    )
    assert response.status_code == 201, response.text
    assert response.json()["provider"] == "bamboohrBasic"


# --- proxied calls --------------------------------------------------------------------------


def _pointed_at(name: str, upstream_url: str) -> dict[str, Any]:
    """The built-in converted entry ``name`` with its base URL's origin replaced by the upstream."""
    provider = BUILT_IN.providers[name]
    assert "sourceKey" in provider.labels
    entry = provider.to_json()
    parts = urlsplit(entry["baseURL"].replace("{{.", "VAR").replace("}}", ""))
    origin = f"{parts.scheme}://{parts.netloc}"
    assert entry["baseURL"].startswith(origin), "the origin itself must be literal"
    entry["baseURL"] = upstream_url + entry["baseURL"][len(origin) :]
    token_url = entry.get("tokenURL")
    if token_url and token_url.startswith("https://") and "{{" not in token_url:
        entry["tokenURL"] = upstream_url + "/" + token_url.split("/", 3)[3]
    return entry


PROXIED = ("aimfox", "builtwith", "affinity", "recruitee", "sage200", "chartboost")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def world(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[RecordingUpstream, httpx.AsyncClient]]:
    tmp_path = tmp_path_factory.mktemp("converted")
    async with RecordingUpstream() as upstream:
        catalog = tmp_path / "catalog.json"
        entries = [_pointed_at(name, upstream.url) for name in PROXIED]
        catalog.write_text(json.dumps({"providers": entries}), "utf-8")
        settings = make_settings(tmp_path, catalog_file=catalog)
        async with (
            serve_passway(settings) as served,
            httpx.AsyncClient(base_url=served.url, timeout=30) as client,
        ):
            yield upstream, client


async def _call(
    world: tuple[RecordingUpstream, httpx.AsyncClient],
    provider: str,
    credential: dict[str, Any],
    path: str,
    **kw: Any,
) -> tuple[SeededSetup, RecordedRequest]:
    upstream, client = world
    setup = await seed_proxy_setup(
        client, ADMIN_KEY, provider=provider, credential=credential, **kw
    )
    response = await client.get(path, headers=setup.proxy_headers())
    assert response.status_code == 200, response.text
    return setup, upstream.requests[-1]


@pytest.mark.asyncio(loop_scope="module")
async def test_header_api_key_with_its_prefix(
    world: tuple[RecordingUpstream, httpx.AsyncClient],
) -> None:
    setup, seen = await _call(world, "aimfox", {"apiKey": "k-1"}, "/v1/leads?x=1")
    assert setup.provider == "aimfox"
    assert seen.header_values("authorization") == ["Bearer k-1"]
    assert seen.target == "/api/v1/leads?x=1"


@pytest.mark.asyncio(loop_scope="module")
async def test_query_api_key(world: tuple[RecordingUpstream, httpx.AsyncClient]) -> None:
    _, seen = await _call(world, "builtwith", {"apiKey": "k/2"}, "/v21/api.json?LOOKUP=a.com")
    assert seen.query == "LOOKUP=a.com&KEY=k%2F2"
    assert seen.header("authorization") is None


@pytest.mark.asyncio(loop_scope="module")
async def test_basic_auth(world: tuple[RecordingUpstream, httpx.AsyncClient]) -> None:
    credential = {"basicAuth": {"username": "me", "password": "secret"}}
    _, seen = await _call(world, "affinity", credential, "/lists")
    expected = "Basic " + base64.b64encode(b"me:secret").decode()
    assert seen.header_values("authorization") == [expected]


@pytest.mark.asyncio(loop_scope="module")
async def test_templated_base_url_by_source_key(
    world: tuple[RecordingUpstream, httpx.AsyncClient],
) -> None:
    metadata = {"companyId": {"value": "4242"}}
    _, seen = await _call(
        world, "recruitee", {"apiKey": "k-3"}, "/offers", provider_metadata=metadata
    )
    assert seen.target == "/c/4242/offers"
    assert seen.header_values("authorization") == ["Bearer k-3"]


@pytest.mark.asyncio(loop_scope="module")
async def test_extra_headers_from_metadata_replace_client_ones(
    world: tuple[RecordingUpstream, httpx.AsyncClient],
) -> None:
    upstream, client = world
    metadata = {
        "edition": {"value": "accounts"},
        "company_id": {"value": "c-7"},
        "site_id": {"value": "s-9"},
    }
    token = {"token": "at-1", "expiresAt": "2099-01-01T00:00:00Z"}
    credential = {"oauth2AuthorizationCode": {"accessToken": token}}
    setup = await seed_proxy_setup(
        client,
        ADMIN_KEY,
        provider="sage-200",
        credential=credential,
        provider_metadata=metadata,
    )
    headers = setup.proxy_headers(**{"X-Company": "forged"})
    response = await client.get("/v3.1/customers", headers=headers)
    assert response.status_code == 200, response.text
    seen = upstream.requests[-1]
    assert seen.target == "/uk/accounts/v3.1/customers"
    assert seen.header_values("x-company") == ["c-7"]
    assert seen.header_values("x-site") == ["s-9"]
    assert seen.header_values("authorization") == ["Bearer at-1"]


@pytest.mark.asyncio(loop_scope="module")
async def test_client_credentials_with_a_json_token_request_and_token_params(
    world: tuple[RecordingUpstream, httpx.AsyncClient],
) -> None:
    """Chartboost's token endpoint wants JSON, with an ``audience`` field from the catalog."""
    upstream, client = world
    received: list[tuple[str, dict[str, Any]]] = []

    async def token_endpoint(request: web.Request) -> web.Response:
        document = json.loads(await request.read())
        received.append((request.content_type, document))
        expected = {
            "grant_type": "client_credentials",
            "audience": "https://public.api.gateway.chartboost.com",
            "client_id": "cb-id",
            "client_secret": "cb-secret",
        }
        if request.content_type != "application/json" or document != expected:
            return web.json_response({"error": "invalid_request"}, status=400)
        return web.json_response({"access_token": "at-json", "expires_in": 3600})

    upstream.set_handler("POST", "/v5/oauth/token", token_endpoint)
    credential = {"oauth2ClientCredentials": {"clientId": "cb-id", "clientSecret": "cb-secret"}}
    setup = await seed_proxy_setup(client, ADMIN_KEY, provider="chartboost", credential=credential)
    assert [content_type for content_type, _ in received] == ["application/json"]
    response = await client.get("/v5/analytics/metrics", headers=setup.proxy_headers())
    assert response.status_code == 200, response.text
    assert upstream.requests[-1].header_values("authorization") == ["Bearer at-json"]
