"""Two-step auth end to end: a loopback server with a login endpoint that checks the credentials
and an API that accepts only the token it issued; Passway logs in once, reuses the token, logs in
again after a 401 or when it expires, and a wrong password is an error, never a call without auth.

The providers are converted built-in entries (``breezy-hr``: JSON login, token sent as the whole
``authorization`` value; ``dayforce``: form login with a connection value and a lifetime) whose
origins are pointed at the loopback server.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import pytest_asyncio
from aiohttp import web

from passway.catalog import load_catalog
from support.seed import SeededSetup, seed_proxy_setup
from support.server import ADMIN_KEY, make_settings, serve_passway
from support.upstream import RecordingUpstream

pytestmark = pytest.mark.asyncio(loop_scope="module")
BUILT_IN = load_catalog()


@dataclass
class LoginServer:
    """What the login endpoints accept and issue."""

    upstream: RecordingUpstream
    issued: list[str] = field(default_factory=list)
    logins: int = 0
    revoked: set[str] = field(default_factory=set)

    def issue(self) -> str:
        token = "tok-" + secrets.token_hex(4)
        self.issued.append(token)
        self.logins += 1
        return token

    async def breezy_login(self, request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        if request.content_type != "application/json" or body != {
            "email": "ann@example.com",
            "password": "right",
        }:
            return web.json_response({"error": "bad credentials"}, status=401)
        return web.json_response({"access_token": self.issue()})

    async def dayforce_login(self, request: web.Request) -> web.Response:
        form = parse_qs((await request.read()).decode())
        expected = {
            "client_id": ["Dayforce.HCMAnywhere.Client"],
            "companyId": ["acme"],
            "grant_type": ["password"],
            "password": ["pw"],
            "username": ["bob"],
        }
        if form != expected:
            return web.json_response({"error": "invalid_grant"}, status=400)
        return web.json_response({"access_token": self.issue(), "expires_in": 30})

    async def api(self, request: web.Request) -> web.Response:
        value = request.headers.get("authorization", "")
        token = value.removeprefix("Bearer ")
        if token not in self.issued or token in self.revoked:
            return web.json_response({"error": "unauthorized"}, status=401)
        return web.json_response({"ok": True, "token": token})


def _pointed_at(name: str, url: str) -> dict[str, Any]:
    provider = BUILT_IN.providers[name]
    assert provider.token_request is not None
    entry = provider.to_json()
    for key, base in (("baseURL", entry), ("url", entry["tokenRequest"])):
        template = base[key].split(" || ")[-1]  # the literal alternative
        origin = "/".join(template.split("/", 3)[:3])
        base[key] = url + template[len(origin) :]
    entry["templateVars"] = []
    return entry


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def world(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[LoginServer, httpx.AsyncClient]]:
    tmp_path = tmp_path_factory.mktemp("two-step")
    async with RecordingUpstream() as upstream:
        server = LoginServer(upstream)
        upstream.set_handler("POST", "/v3/signin", server.breezy_login)
        upstream.set_handler("POST", "/connect/token", server.dayforce_login)
        upstream.set_handler("GET", "*", server.api)
        catalog = tmp_path / "catalog.json"
        entries = [_pointed_at(name, upstream.url) for name in ("breezyHr", "dayforce")]
        catalog.write_text(json.dumps({"providers": entries}), "utf-8")
        async with (
            serve_passway(make_settings(tmp_path, catalog_file=catalog)) as served,
            httpx.AsyncClient(base_url=served.url, timeout=30) as client,
        ):
            yield server, client


async def _seed(client: httpx.AsyncClient, provider: str, inputs: dict[str, str]) -> SeededSetup:
    return await seed_proxy_setup(
        client, ADMIN_KEY, provider=provider, credential={"customAuth": inputs}
    )


async def test_login_once_then_the_token_on_every_call(
    world: tuple[LoginServer, httpx.AsyncClient],
) -> None:
    server, client = world
    setup = await _seed(client, "breezy-hr", {"email": "ann@example.com", "password": "right"})
    before = server.logins
    first = await client.get("/v3/companies", headers=setup.proxy_headers())
    assert first.status_code == 200, first.text
    second = await client.get(
        "/v3/positions", headers=setup.proxy_headers(Authorization="Bearer forged")
    )
    assert second.status_code == 200, second.text
    assert server.logins == before + 1
    assert first.json()["token"] == second.json()["token"] == server.issued[-1]
    seen = server.upstream.requests[-1]
    assert seen.header_values("authorization") == [server.issued[-1]]  # no "Bearer ": as listed


async def test_a_refused_token_is_replaced_on_the_next_call(
    world: tuple[LoginServer, httpx.AsyncClient],
) -> None:
    server, client = world
    setup = await _seed(client, "breezy-hr", {"email": "ann@example.com", "password": "right"})
    assert (await client.get("/v3/me", headers=setup.proxy_headers())).status_code == 200
    server.revoked.add(server.issued[-1])
    refused = await client.get("/v3/me", headers=setup.proxy_headers())
    assert refused.status_code == 401  # the provider's own answer, relayed
    logins = server.logins
    again = await client.get("/v3/me", headers=setup.proxy_headers())
    assert again.status_code == 200
    assert server.logins == logins + 1


async def test_wrong_credentials_never_reach_the_api(
    world: tuple[LoginServer, httpx.AsyncClient],
) -> None:
    server, client = world
    setup = await _seed(client, "breezy-hr", {"email": "ann@example.com", "password": "wrong"})
    calls = len(server.upstream.requests)
    response = await client.get("/v3/me", headers=setup.proxy_headers())
    assert response.status_code == 502
    assert response.headers["x-passway-error"] == "token_endpoint_error"
    assert "wrong" not in response.text
    assert [r.raw_path for r in server.upstream.requests[calls:]] == ["/v3/signin"]


async def test_form_login_with_a_connection_value_and_a_lifetime(
    world: tuple[LoginServer, httpx.AsyncClient],
) -> None:
    server, client = world
    setup = await seed_proxy_setup(
        client,
        ADMIN_KEY,
        provider="dayforce",
        credential={"customAuth": {"username": "bob", "password": "pw"}},
        provider_metadata={"companyId": {"value": "acme"}},
    )
    response = await client.get("/V1/Employees", headers=setup.proxy_headers())
    assert response.status_code == 200, response.text
    seen = server.upstream.requests[-1]
    assert seen.raw_path == "/api/V1/Employees"
    assert seen.header_values("authorization") == ["Bearer " + server.issued[-1]]
    # expires_in 30 is inside the one-minute margin: the next call logs in again.
    logins = server.logins
    assert (await client.get("/V1/Employees", headers=setup.proxy_headers())).status_code == 200
    assert server.logins == logins + 1
