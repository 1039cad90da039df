"""Throttle mode: a provider 429 is relayed with X-Amp-Retry-After / X-Amp-Retryable, and until
that time further throttle-mode calls on the connection are answered by Passway, not sent."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import pytest_asyncio
from aiohttp import web

from support import catalog as tc
from support.seed import SeededSetup, seed_proxy_setup
from support.server import ADMIN_KEY, ProxyWorld, proxy_world

pytestmark = pytest.mark.asyncio(loop_scope="module")

THROTTLE = {"x-amp-rate-limiter-mode": "throttle"}
AMP_TIME = "%a, %d %b %Y %H:%M:%S UTC"


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ProxyWorld]:
    async with proxy_world(tmp_path_factory.mktemp("throttle")) as w:
        yield w


async def seed_limited(world: ProxyWorld, path: str, retry_after: str | None) -> SeededSetup:
    async def limited(request: web.Request) -> web.StreamResponse:
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        return web.json_response({"error": "slow down"}, status=429, headers=headers)

    world.upstream.set_handler("GET", path, limited)
    return await seed_proxy_setup(
        world.client, ADMIN_KEY, provider=tc.APIKEY_BEARER, credential={"apiKey": "k"}
    )


def amp_time(value: str) -> datetime:
    return datetime.strptime(value, AMP_TIME).replace(tzinfo=UTC)


def sent(world: ProxyWorld, path: str) -> int:
    return sum(1 for r in world.upstream.requests if r.raw_path == path)


async def test_429_with_seconds_opens_a_window_that_holds_calls_back(world: ProxyWorld) -> None:
    setup = await seed_limited(world, "/limited-s", "30")
    before = datetime.now(UTC)
    first = await world.client.get("/limited-s", headers=setup.proxy_headers(**THROTTLE))
    assert first.status_code == 429
    assert first.json() == {"error": "slow down"}  # the provider's answer, relayed
    assert "x-passway-error" not in first.headers
    until = amp_time(first.headers["x-amp-retry-after"])
    assert before + timedelta(seconds=29) <= until <= before + timedelta(seconds=32)
    assert first.headers["x-amp-retryable"] == "true"

    for _ in range(3):
        held = await world.client.get("/limited-s", headers=setup.proxy_headers(**THROTTLE))
        assert held.status_code == 429
        assert held.headers["x-passway-error"] == "throttled"
        assert held.headers["x-amp-retry-after"] == first.headers["x-amp-retry-after"]
        assert held.headers["x-amp-retryable"] == "true"
        assert 25 <= int(held.headers["retry-after"]) <= 31
    assert sent(world, "/limited-s") == 1

    # Without the header the call is not held back (no rate limiting by default).
    plain = await world.client.get("/limited-s", headers=setup.proxy_headers())
    assert plain.status_code == 429
    assert "x-amp-retry-after" not in plain.headers
    assert sent(world, "/limited-s") == 2


async def test_429_with_an_http_date_uses_that_time(world: ProxyWorld) -> None:
    target = (datetime.now(UTC) + timedelta(seconds=120)).replace(microsecond=0)
    setup = await seed_limited(world, "/limited-d", format_datetime(target, usegmt=True))
    first = await world.client.get("/limited-d", headers=setup.proxy_headers(**THROTTLE))
    assert amp_time(first.headers["x-amp-retry-after"]) == target
    held = await world.client.get("/limited-d", headers=setup.proxy_headers(**THROTTLE))
    assert held.headers["x-passway-error"] == "throttled"
    assert sent(world, "/limited-d") == 1


async def test_window_ends_and_calls_flow_again(world: ProxyWorld) -> None:
    setup = await seed_limited(world, "/limited-short", "1")
    await world.client.get("/limited-short", headers=setup.proxy_headers(**THROTTLE))
    held = await world.client.get("/limited-short", headers=setup.proxy_headers(**THROTTLE))
    assert held.headers.get("x-passway-error") == "throttled"
    await asyncio.sleep(2.1)
    again = await world.client.get("/limited-short", headers=setup.proxy_headers(**THROTTLE))
    assert "x-passway-error" not in again.headers
    assert sent(world, "/limited-short") == 2


async def test_missing_retry_after_uses_the_default_and_very_long_waits_are_not_retryable(
    world: ProxyWorld,
) -> None:
    setup = await seed_limited(world, "/limited-none", None)
    before = datetime.now(UTC)
    first = await world.client.get("/limited-none", headers=setup.proxy_headers(**THROTTLE))
    until = amp_time(first.headers["x-amp-retry-after"])
    assert before + timedelta(seconds=59) <= until <= before + timedelta(seconds=62)

    locked = await seed_limited(world, "/limited-locked", str(86400))
    response = await world.client.get("/limited-locked", headers=locked.proxy_headers(**THROTTLE))
    assert response.headers["x-amp-retryable"] == "false"


async def test_windows_are_per_connection(world: ProxyWorld) -> None:
    setup = await seed_limited(world, "/limited-c", "60")
    await world.client.get("/limited-c", headers=setup.proxy_headers(**THROTTLE))
    other = await seed_proxy_setup(
        world.client, ADMIN_KEY, provider=tc.APIKEY_BEARER, credential={"apiKey": "k2"}
    )
    response = await world.client.get("/limited-c", headers=other.proxy_headers(**THROTTLE))
    assert "x-passway-error" not in response.headers
    assert sent(world, "/limited-c") == 2
