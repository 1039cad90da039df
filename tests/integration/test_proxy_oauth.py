"""OAuth on the proxy path: an expiring token is refreshed before the call; a provider 401 on a
replayable call forces one refresh and one replay; a streamed body's 401 is relayed as it is."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web

from support import catalog as tc
from support.seed import SeededSetup, seed_proxy_setup
from support.server import ADMIN_KEY, ProxyWorld, proxy_world

pytestmark = pytest.mark.asyncio(loop_scope="module")

REPLAY_LIMIT = 10_000


class TokenServer:
    """The provider's token endpoint and a resource that only accepts the current token."""

    def __init__(self) -> None:
        self.refreshes = 0
        self.current = "fresh-1"

    async def token(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        assert form["grant_type"] == "refresh_token"
        self.refreshes += 1
        self.current = f"fresh-{self.refreshes}"
        return web.json_response(
            {
                "access_token": self.current,
                "refresh_token": f"r-{self.refreshes}",
                "expires_in": 3600,
                "token_type": "bearer",
            }
        )

    async def resource(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        if request.headers.get("Authorization") != f"Bearer {self.current}":
            return web.json_response({"error": "invalid_token"}, status=401)
        return web.Response(body=body or b"ok")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ProxyWorld]:
    path = tmp_path_factory.mktemp("oauth")
    async with proxy_world(path, replay_buffer_limit=REPLAY_LIMIT, refresh_margin=60.0) as w:
        yield w


async def seed(
    world: ProxyWorld, server: TokenServer, access: str, expires: datetime
) -> SeededSetup:
    world.upstream.set_handler("POST", "/oauth/token", server.token)
    world.upstream.set_handler("*", "/api", server.resource)
    credential: dict[str, Any] = {
        "oauth2AuthorizationCode": {
            "accessToken": {"token": access, "expiresAt": expires.isoformat()},
            "refreshToken": {"token": "r-0"},
        }
    }
    setup = await seed_proxy_setup(
        world.client, ADMIN_KEY, provider=tc.OAUTH2_BEARER, credential=credential
    )
    response = await world.client.post(
        f"/v1/projects/{setup.project_id}/provider-apps",
        json={"provider": tc.OAUTH2_BEARER, "clientId": "cid", "clientSecret": "csecret"},
        headers={"X-Api-Key": setup.api_key},
    )
    assert response.status_code in (200, 201), response.text
    return setup


def later(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


async def test_provider_401_refreshes_once_and_replays_the_buffered_call(
    world: ProxyWorld,
) -> None:
    server = TokenServer()
    server.current = "not-yet-known"  # the provider already invalidated the stored token
    setup = await seed(world, server, "revoked-early", later(3600))
    world.upstream.clear()
    body = os.urandom(REPLAY_LIMIT // 2)
    response = await world.client.post("/api", content=body, headers=setup.proxy_headers())
    assert response.status_code == 200, response.text
    assert response.content == body
    assert server.refreshes == 1
    calls = [r for r in world.upstream.requests if r.raw_path == "/api"]
    assert [r.header("authorization") for r in calls] == ["Bearer revoked-early", "Bearer fresh-1"]
    assert calls[0].body == calls[1].body == body

    # The refreshed token is used from now on, without another refresh.
    response = await world.client.post("/api", content=b"again", headers=setup.proxy_headers())
    assert response.status_code == 200
    assert server.refreshes == 1


async def test_streamed_body_401_is_relayed_as_is(world: ProxyWorld) -> None:
    server = TokenServer()
    server.current = "not-yet-known"
    setup = await seed(world, server, "revoked-early", later(3600))
    body = os.urandom(REPLAY_LIMIT * 3)
    response = await world.client.post("/api", content=body, headers=setup.proxy_headers())
    assert response.status_code == 401
    assert response.json() == {"error": "invalid_token"}
    assert "x-passway-error" not in response.headers
    assert server.refreshes == 0


async def test_expiring_token_is_refreshed_before_the_call(world: ProxyWorld) -> None:
    server = TokenServer()
    setup = await seed(world, server, "about-to-expire", later(10))
    world.upstream.clear()
    response = await world.client.get("/api", headers=setup.proxy_headers())
    assert response.status_code == 200, response.text
    assert server.refreshes == 1
    calls = [r for r in world.upstream.requests if r.raw_path == "/api"]
    assert [r.header("authorization") for r in calls] == ["Bearer fresh-1"]


async def operation_of(world: ProxyWorld, setup: SeededSetup, request_id: str) -> dict[str, Any]:
    """The call's operation and its logs, once the background writer has stored them."""
    path = f"/v1/projects/{setup.project_id}/operations/{request_id}"
    for _ in range(200):
        found = await world.client.get(path, headers={"x-api-key": ADMIN_KEY})
        if found.status_code == 200:
            logs = await world.client.get(path + "/logs", headers={"x-api-key": ADMIN_KEY})
            return {**found.json(), "logs": logs.json()["logs"]}
        await asyncio.sleep(0.05)
    raise AssertionError("the operation never appeared")


async def test_the_operation_tells_of_the_refresh_and_the_replay(world: ProxyWorld) -> None:
    server = TokenServer()
    server.current = "not-yet-known"
    setup = await seed(world, server, "revoked-early", later(3600))
    response = await world.client.post("/api", content=b"x", headers=setup.proxy_headers())
    assert response.status_code == 200
    op = await operation_of(world, setup, response.headers["x-passway-request-id"])
    assert (op["tokenRefreshed"], op["replayed"], op["result"]) == (True, True, "success")
    messages = [entry["message"] for entry in op["logs"]]
    assert any("token refreshed: the provider rejected the access token" in m for m in messages)
    assert any("call replayed once" in m for m in messages)
    metrics = (await world.client.get("/metrics")).text
    assert 'passway_token_refreshes_total{outcome="success"}' in metrics


async def test_a_revoked_grant_is_logged_and_makes_the_installation_unhealthy(
    world: ProxyWorld,
) -> None:
    server = TokenServer()

    async def revoked(request: web.Request) -> web.StreamResponse:
        return web.json_response({"error": "invalid_grant"}, status=400)

    setup = await seed(world, server, "about-to-expire", later(-10))
    world.upstream.set_handler("POST", "/oauth/token", revoked)
    response = await world.client.get("/api", headers=setup.proxy_headers())
    assert response.headers["x-passway-error"] == "connection_bad_credentials"
    op = await operation_of(world, setup, response.headers["x-passway-request-id"])
    assert (op["errorCode"], op["result"]) == ("connection_bad_credentials", "failure")
    assert any("bad_credentials" in entry["message"] for entry in op["logs"]), op["logs"]
    installation = await world.client.get(
        f"/v1/projects/{setup.project_id}/integrations/{setup.integration_id}"
        f"/installations/{setup.installation_id}",
        headers={"x-api-key": ADMIN_KEY},
    )
    assert installation.json()["healthStatus"] == "unhealthy"
    assert installation.json()["lastOperationStatus"] == "failure"
