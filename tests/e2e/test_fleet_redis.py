"""Two Passway instances (subprocesses; the second with two workers) on one database and one Redis.

The change feed is polled only every 30 seconds here, so anything that propagates faster than that
went through Redis: a provider 429 in throttle mode seen through instance A makes instance B answer
the next throttle-mode calls itself (the provider never sees them), and an API key revoked through A
is refused by B within a fraction of a second although B had it cached. Needs
``PASSWAY_TEST_REDIS_URL`` (and ``PASSWAY_TEST_POSTGRES_URL`` for the PostgreSQL case); skipped
cleanly otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
import redis.asyncio as aioredis
from aiohttp import web

from support import catalog as tc
from support.databases import fresh_postgres_database
from support.seed import SeededSetup, seed_proxy_setup
from support.server import ADMIN_KEY, make_settings, run_passway_process, settings_env
from support.upstream import RecordingUpstream

pytestmark = [pytest.mark.redis, pytest.mark.asyncio(loop_scope="module")]

REDIS_ENV = "PASSWAY_TEST_REDIS_URL"
THROTTLE = {"x-amp-rate-limiter-mode": "throttle"}


@dataclass
class Fleet:
    upstream: RecordingUpstream
    a: httpx.AsyncClient
    b: httpx.AsyncClient

    async def seed(self) -> SeededSetup:
        return await seed_proxy_setup(
            self.a, ADMIN_KEY, provider=tc.APIKEY_BEARER, credential={"apiKey": "k"}
        )

    def sent(self, path: str) -> int:
        return sum(1 for r in self.upstream.requests if r.raw_path == path)


@contextlib.asynccontextmanager
async def shared_database(kind: str, directory: Path) -> AsyncIterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{directory / 'shared.db'}"
    else:
        async with fresh_postgres_database() as url:
            yield url


async def drop_keys(url: str, prefix: str) -> None:
    client = aioredis.Redis.from_url(url)
    try:
        async for key in client.scan_iter(match=f"{prefix}*"):
            await client.delete(key)
    finally:
        await client.aclose()


@pytest_asyncio.fixture(
    loop_scope="module",
    scope="module",
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
async def fleet(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Fleet]:
    redis_url = os.environ.get(REDIS_ENV)
    if not redis_url:
        pytest.skip(f"{REDIS_ENV} is not set")
    if request.param == "postgres" and not os.environ.get("PASSWAY_TEST_POSTGRES_URL"):
        pytest.skip("PASSWAY_TEST_POSTGRES_URL is not set")
    directory = tmp_path_factory.mktemp(f"fleet-{request.param}")
    prefix = f"passway:test-{secrets.token_hex(6)}:"
    async with RecordingUpstream() as upstream, shared_database(request.param, directory) as db:
        settings = make_settings(
            directory,
            catalog_file=tc.write_test_catalog(directory / "catalog.json", upstream.url),
            database_url=db,
            cache_poll_interval=30.0,
            redis_url=redis_url,
            redis_key_prefix=prefix,
        )
        env = settings_env(settings)
        try:
            async with (
                run_passway_process(env) as url_a,
                run_passway_process(env, workers=2) as url_b,
                httpx.AsyncClient(base_url=url_a, timeout=10) as a,
                httpx.AsyncClient(base_url=url_b, timeout=10) as b,
            ):
                yield Fleet(upstream, a, b)
        finally:
            await drop_keys(redis_url, prefix)


async def test_a_429_seen_through_one_instance_holds_calls_back_on_the_other(
    fleet: Fleet,
) -> None:
    async def limited(request: web.Request) -> web.StreamResponse:
        return web.json_response({"error": "slow down"}, status=429, headers={"Retry-After": "30"})

    fleet.upstream.set_handler("GET", "/limited", limited)
    setup = await fleet.seed()
    first = await fleet.a.get("/limited", headers=setup.proxy_headers(**THROTTLE))
    assert first.status_code == 429
    assert "x-passway-error" not in first.headers  # the provider's own answer, relayed

    for _ in range(8):
        held = await fleet.b.get("/limited", headers=setup.proxy_headers(**THROTTLE))
        assert held.status_code == 429
        assert held.headers["x-passway-error"] == "throttled"
        assert held.headers["x-amp-retry-after"] == first.headers["x-amp-retry-after"]
        assert held.headers["x-amp-retryable"] == "true"
    assert fleet.sent("/limited") == 1

    # Calls without throttle mode are never held back, on either instance.
    plain = await fleet.b.get("/limited", headers=setup.proxy_headers())
    assert plain.status_code == 429
    assert "x-passway-error" not in plain.headers
    assert fleet.sent("/limited") == 2


async def test_a_key_revoked_through_one_instance_is_refused_by_the_other_at_once(
    fleet: Fleet,
) -> None:
    fleet.upstream.set_handler("GET", "/ok", _ok)
    setup = await fleet.seed()
    # B has the key cached (in both workers, most likely): without news it would accept it for 30 s.
    warm = await asyncio.gather(
        *(fleet.b.get("/ok", headers=setup.proxy_headers()) for _ in range(12))
    )
    assert {r.status_code for r in warm} == {200}

    response = await fleet.a.delete(
        f"/v1/projects/{setup.project_id}/api-keys/{setup.api_key_id}",
        headers={"X-Api-Key": ADMIN_KEY},
    )
    assert response.status_code == 204
    revoked_at = time.monotonic()
    while (await fleet.b.get("/ok", headers=setup.proxy_headers())).status_code != 401:
        assert time.monotonic() - revoked_at < 0.5, "B still accepts the revoked key"
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)
    refused = await asyncio.gather(
        *(fleet.b.get("/ok", headers=setup.proxy_headers()) for _ in range(12))
    )
    assert {r.status_code for r in refused} == {401}


async def _ok(request: web.Request) -> web.StreamResponse:
    return web.json_response({"ok": True})
