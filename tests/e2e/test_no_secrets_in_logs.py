"""No secret ever reaches a log line or an error body, on the happy path or on any failure path.

A real ``passway serve`` runs with debug logging and the access log on, its output captured. Every
kind of credential is stored and used, then calls go wrong in every way the proxy knows (provider
unreachable, timeout, reset mid-body, a 401 with a failing token refresh, a bad management request
carrying a secret), and the captured logs and every error body are searched for each secret.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from aiohttp import web

from support import catalog as tc
from support.seed import SeededSetup, seed_proxy_setup
from support.server import ADMIN_KEY, make_settings, run_passway_process, settings_env
from support.upstream import RecordingUpstream

SECRETS = {
    "query_key": "qkey-SECRET-0001-query-placed",
    "bearer_key": "bkey-SECRET-0002-header-placed",
    "unreachable_key": "ukey-SECRET-0003-never-delivered",
    "password": "pass-SECRET-0004-basic",
    "custom_token": "ctok-SECRET-0005-custom",
    "access_token": "atok-SECRET-0006-expired",
    "refresh_token": "rtok-SECRET-0007-refresh",
    "bad_request_key": "xkey-SECRET-0008-in-a-bad-request",
}


async def _reset_mid_body(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Length": "1000000"})
    await response.prepare(request)
    await response.write(b"x" * 1000)
    assert request.transport is not None
    request.transport.abort()
    return response


async def _slow(request: web.Request) -> web.Response:
    await asyncio.sleep(3)
    return web.Response(text="late")


async def _unauthorized(request: web.Request) -> web.Response:
    return web.Response(status=401, text="token rejected")


async def test_no_secret_appears_in_logs_or_error_bodies(tmp_path: Path) -> None:
    log_file = tmp_path / "passway.log"
    bodies: list[str] = []
    async with RecordingUpstream() as upstream:
        upstream.set_handler("GET", "/reset", _reset_mid_body)
        upstream.set_handler("GET", "/slow", _slow)
        upstream.set_handler("GET", "/unauthorized", _unauthorized)
        catalog_file = tc.write_test_catalog(tmp_path / "catalog.json", upstream.url)
        settings = make_settings(
            tmp_path, catalog_file=catalog_file, log_level="debug", access_log=True
        )
        async with (
            run_passway_process(settings_env(settings), via_cli=True, output=log_file) as base,
            httpx.AsyncClient(base_url=base, timeout=20) as client,
        ):

            async def setup(provider: str, credential: dict[str, object]) -> SeededSetup:
                return await seed_proxy_setup(
                    client, ADMIN_KEY, provider=provider, credential=credential
                )

            query = await setup(tc.APIKEY_QUERY, {"apiKey": SECRETS["query_key"]})
            bearer = await setup(tc.APIKEY_BEARER, {"apiKey": SECRETS["bearer_key"]})
            unreachable = await setup(tc.UNREACHABLE, {"apiKey": SECRETS["unreachable_key"]})
            basic = await setup(
                tc.BASIC, {"basicAuth": {"username": "user", "password": SECRETS["password"]}}
            )
            custom = await setup(
                tc.CUSTOM, {"customAuth": {"token": SECRETS["custom_token"], "account": "acct"}}
            )
            expired = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
            oauth = await setup(
                tc.OAUTH2_BEARER,
                {
                    "oauth2AuthorizationCode": {
                        "accessToken": {"token": SECRETS["access_token"], "expiresAt": expired},
                        "refreshToken": {"token": SECRETS["refresh_token"]},
                    }
                },
            )

            calls = [
                (query, "/ok?x=1", {}),
                (query, "/reset", {}),
                (query, "/slow", {"x-amp-timeout-seconds": "0.5"}),
                (bearer, "/unauthorized", {}),
                (unreachable, "/anything", {}),
                (basic, "/ok", {}),
                (custom, "/reset", {}),
                (oauth, "/ok", {}),
                (oauth, "/unauthorized", {}),
            ]
            for seeded, path, extra in calls:
                try:
                    response = await client.get(path, headers=seeded.proxy_headers(**extra))
                except httpx.TransportError:
                    continue  # the reset case: the client's answer breaks off, as it must
                if response.headers.get("x-passway-error"):
                    bodies.append(response.text)

            bad = await client.post(
                f"/v1/projects/{query.project_id}/connections:generate",
                json={
                    "provider": tc.APIKEY_BEARER,
                    "groupRef": "g",
                    "apiKey": SECRETS["bad_request_key"],
                    "basicAuth": {"username": "u", "password": SECRETS["bad_request_key"]},
                },
                headers={"X-Api-Key": query.api_key},
            )
            assert bad.status_code == 400
            bodies.append(bad.text)

    assert len(bodies) >= 4, bodies  # timeout, unreachable, oauth failure and the bad request
    logs = log_file.read_text("utf-8", errors="replace")
    assert "GET /ok" in logs  # the access log was on, so the search below means something
    for name, secret in SECRETS.items():
        assert secret not in logs, f"{name} found in the server's logs"
        for body in bodies:
            assert secret not in body, f"{name} found in an error body"
    api_keys = {query.api_key, bearer.api_key, oauth.api_key}
    assert not any(key in logs for key in api_keys), "a Passway API key found in the logs"
