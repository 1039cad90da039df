"""Every auth type through the real proxy: the loopback provider receives exactly the credential the
catalog says, where it says, and never the client's own credentials or Passway's headers."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from support import catalog as tc
from support.seed import SeededSetup, seed_proxy_setup
from support.server import ADMIN_KEY, ProxyWorld, proxy_world

pytestmark = pytest.mark.asyncio(loop_scope="module")

FUTURE = "2099-01-01T00:00:00Z"


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ProxyWorld]:
    async with proxy_world(tmp_path_factory.mktemp("auth")) as w:
        yield w


async def seed(
    world: ProxyWorld, provider: str, credential: dict[str, Any], **kw: Any
) -> SeededSetup:
    return await seed_proxy_setup(
        world.client, ADMIN_KEY, provider=provider, credential=credential, **kw
    )


async def call(world: ProxyWorld, setup: SeededSetup, path: str = "/v1/x", **headers: str) -> Any:
    response = await world.client.get(path, headers=setup.proxy_headers(**headers))
    assert response.status_code == 200, response.text
    return world.upstream.requests[-1]


@pytest.mark.parametrize(
    ("provider", "header", "value"),
    [
        (tc.APIKEY_BEARER, "Authorization", "Bearer k-secret"),
        (tc.APIKEY_TOKEN_PREFIX, "Authorization", "Token token=k-secret"),
        (tc.APIKEY_NO_PREFIX, "X-Api-Token", "k-secret"),
    ],
)
async def test_api_key_arrives_in_the_catalog_header_with_its_exact_prefix(
    world: ProxyWorld, provider: str, header: str, value: str
) -> None:
    setup = await seed(world, provider, {"apiKey": "k-secret"})
    seen = await call(world, setup)
    assert seen.header_values(header) == [value]
    assert seen.header_values("authorization") in ([], [value])


async def test_api_key_in_query_replaces_a_client_sent_parameter(world: ProxyWorld) -> None:
    setup = await seed(world, tc.APIKEY_QUERY, {"apiKey": "k/q"})
    seen = await call(world, setup, "/v1/items?b=2&api_key=mine&a=%20")
    assert seen.query == "b=2&a=%20&api_key=k%2Fq"
    assert seen.header("authorization") is None


async def test_basic_credentials_arrive_as_basic_authorization(world: ProxyWorld) -> None:
    setup = await seed(world, tc.BASIC, {"basicAuth": {"username": "ann", "password": "pw:1"}})
    seen = await call(world, setup)
    assert seen.header_values("authorization") == [
        "Basic " + base64.b64encode(b"ann:pw:1").decode()
    ]


async def test_custom_auth_renders_header_and_query_templates(world: ProxyWorld) -> None:
    setup = await seed(world, tc.CUSTOM, {"customAuth": {"token": "ct", "account": "acme"}})
    seen = await call(world, setup, "/v1/x?account=other&z=1", **{"x-custom-token": "mine"})
    assert seen.header_values("x-custom-token") == ["ct"]
    assert seen.query == "z=1&account=acme"


async def test_oauth2_token_arrives_as_bearer(world: ProxyWorld) -> None:
    credential = {
        "oauth2AuthorizationCode": {"accessToken": {"token": "at-1", "expiresAt": FUTURE}}
    }
    setup = await seed(world, tc.OAUTH2_BEARER, credential)
    seen = await call(world, setup)
    assert seen.header_values("authorization") == ["Bearer at-1"]


async def test_oauth2_catalog_header_override_replaces_a_client_sent_one(world: ProxyWorld) -> None:
    credential = {
        "oauth2AuthorizationCode": {"accessToken": {"token": "at-2", "expiresAt": FUTURE}}
    }
    setup = await seed(world, tc.OAUTH2_HEADER, credential)
    seen = await call(world, setup, **{"X-Test-Access-Token": "client-forged"})
    assert seen.header_values("x-test-access-token") == ["at-2"]
    assert seen.header("authorization") is None


async def test_templated_base_url_is_filled_from_the_connection(world: ProxyWorld) -> None:
    setup = await seed(world, tc.TEMPLATED, {"apiKey": "k"}, provider_workspace_ref="acme")
    seen = await call(world, setup, "/v2/deals?x=1")
    assert seen.target == "/acme/v2/deals?x=1"


async def test_base_path_is_kept_and_the_client_path_appended(world: ProxyWorld) -> None:
    setup = await seed(world, tc.BASE_PATH, {"apiKey": "k"})
    seen = await call(world, setup, "/deals/%2Fraw%20id")
    assert seen.raw_path == "/base/v1/deals/%2Fraw%20id"


async def test_module_base_url_is_used_with_use_module(world: ProxyWorld) -> None:
    setup = await seed(world, tc.MODULES, {"apiKey": "k"}, use_module=True)
    seen = await call(world, setup, "/ping")
    assert seen.raw_path == "/module-api/ping"


async def test_client_credentials_proxy_headers_and_hop_by_hop_never_arrive(
    world: ProxyWorld,
) -> None:
    setup = await seed(world, tc.APIKEY_BEARER, {"apiKey": "real"})
    response = await world.client.get(
        "/v1/x",
        headers=[
            *setup.proxy_headers(**{"x-amp-rate-limiter-mode": "throttle"}).items(),
            ("authorization", "Bearer client-own"),
            ("connection", "keep-alive, x-drop-me"),
            ("x-drop-me", "1"),
            ("keep-alive", "timeout=5"),
            ("proxy-authorization", "Basic Zm9v"),
            ("te", "trailers"),
            ("upgrade", "h2c"),
            ("x-keep", "one"),
            ("x-keep", "two"),
            ("accept", "application/json"),
        ],
    )
    assert response.status_code == 200
    seen = world.upstream.requests[-1]
    names = seen.header_names()
    for forbidden in (
        "x-api-key",
        "x-amp-proxy-version",
        "x-amp-project-id",
        "x-amp-installation-id",
        "x-amp-rate-limiter-mode",
        "x-drop-me",
        "keep-alive",
        "proxy-authorization",
        "te",
        "upgrade",
    ):
        assert forbidden not in names, forbidden
    assert seen.header_values("authorization") == ["Bearer real"]
    assert seen.header_values("x-keep") == ["one", "two"]
    assert seen.header("accept") == "application/json"
    assert seen.header("host") == f"127.0.0.1:{world.upstream.port}"


async def test_api_key_is_not_sent_to_the_provider_as_anything(world: ProxyWorld) -> None:
    setup = await seed(world, tc.APIKEY_NO_PREFIX, {"apiKey": "provider-key"})
    seen = await call(world, setup)
    assert all(setup.api_key not in value for _, value in seen.headers)
    assert setup.api_key not in seen.target
