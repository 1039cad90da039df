"""The proxy's own answers: each error code with its status, the problem+json shape, and the
``x-passway-error`` marker that tells them apart from the provider's answers."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from aiohttp import web

from support import catalog as tc
from support.seed import SeededSetup, create_api_key, seed_proxy_setup
from support.server import ADMIN_KEY, FRONT_DOORS, ProxyWorld, proxy_world

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(loop_scope="module", scope="module", params=FRONT_DOORS)
async def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ProxyWorld]:
    """Passway with proxy calls going through each front door: uvicorn, then the proxy listener."""
    async with proxy_world(
        tmp_path_factory.mktemp("errors"), front_door=request.param, max_timeout=1.0
    ) as w:
        yield w


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def setup(world: ProxyWorld) -> SeededSetup:
    return await seed_proxy_setup(
        world.client, ADMIN_KEY, provider=tc.APIKEY_BEARER, credential={"apiKey": "k"}
    )


def problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """Assert the response is Passway's own problem document and return it."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["x-passway-error"] == code
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["subsystem"] == "proxy"
    assert body["type"] == f"urn:passway:problem:{code}"
    assert body["title"] and body["detail"] and body["requestId"] and body["time"]
    assert body["instance"].startswith("/")
    assert "Traceback" not in response.text
    return body


async def test_proxy_version_other_than_1_is_refused(world: ProxyWorld, setup: SeededSetup) -> None:
    headers = setup.proxy_headers(**{"x-amp-proxy-version": "2"})
    response = await world.proxy_client.get("/v1/x", headers=headers)
    problem(response, 400, "unsupported_proxy_version")
    assert world.upstream.requests == [] or all(
        r.header("x-amp-proxy-version") is None for r in world.upstream.requests
    )


async def test_every_missing_header_is_named_once(world: ProxyWorld) -> None:
    response = await world.proxy_client.get("/v1/x", headers={"x-amp-proxy-version": "1"})
    body = problem(response, 400, "missing_headers")
    names = [issue["name"] for issue in body["issues"]]
    assert names == ["x-amp-project-id", "x-api-key", "x-amp-installation-id"]
    assert all(issue["in"] == "header" for issue in body["issues"])


async def test_integration_name_without_group_ref_names_the_group_ref(
    world: ProxyWorld, setup: SeededSetup
) -> None:
    headers = {
        "x-amp-proxy-version": "1",
        "x-amp-project-id": setup.project_id,
        "x-api-key": setup.api_key,
        "x-amp-integration-name": setup.integration_name,
    }
    body = problem(await world.proxy_client.get("/v1/x", headers=headers), 400, "missing_headers")
    assert [issue["name"] for issue in body["issues"]] == ["x-amp-group-ref"]


async def test_malformed_project_id_is_a_400_naming_it(
    world: ProxyWorld, setup: SeededSetup
) -> None:
    headers = setup.proxy_headers(**{"x-amp-project-id": "my-project"})
    body = problem(await world.proxy_client.get("/v1/x", headers=headers), 400, "missing_headers")
    assert [issue["name"] for issue in body["issues"]] == ["x-amp-project-id"]


@pytest.mark.parametrize("value", ["abc", "-1", "0", "nan", "inf"])
async def test_bad_timeout_override_is_a_400(
    world: ProxyWorld, setup: SeededSetup, value: str
) -> None:
    headers = setup.proxy_headers(**{"x-amp-timeout-seconds": value})
    body = problem(await world.proxy_client.get("/v1/x", headers=headers), 400, "missing_headers")
    assert [issue["name"] for issue in body["issues"]] == ["x-amp-timeout-seconds"]


async def test_unknown_rate_limiter_mode_is_a_400(world: ProxyWorld, setup: SeededSetup) -> None:
    headers = setup.proxy_headers(**{"x-amp-rate-limiter-mode": "throtle"})
    body = problem(await world.proxy_client.get("/v1/x", headers=headers), 400, "missing_headers")
    assert [issue["name"] for issue in body["issues"]] == ["x-amp-rate-limiter-mode"]


async def test_unknown_revoked_and_foreign_keys_get_the_same_401(
    world: ProxyWorld, setup: SeededSetup
) -> None:
    other = await seed_proxy_setup(
        world.client, ADMIN_KEY, provider=tc.APIKEY_BEARER, credential={"apiKey": "k2"}
    )
    revoked = await create_api_key(world.client, ADMIN_KEY, setup.project_id, label="old")
    response = await world.client.delete(
        f"/v1/projects/{setup.project_id}/api-keys/{revoked['id']}",
        headers={"X-Api-Key": ADMIN_KEY},
    )
    assert response.status_code == 204
    bodies = []
    for key in (
        "pw_" + "a" * 12 + "_" + "b" * 40,
        "not-a-key",
        revoked["key"],
        other.api_key,
        ADMIN_KEY,
    ):
        headers = setup.proxy_headers(**{"x-api-key": key})
        body = problem(
            await world.proxy_client.get("/v1/x", headers=headers), 401, "unauthenticated"
        )
        bodies.append({k: v for k, v in body.items() if k not in ("requestId", "time")})
    assert all(body == bodies[0] for body in bodies)


async def test_unknown_installation_is_404_by_id_and_by_name(
    world: ProxyWorld, setup: SeededSetup
) -> None:
    headers = setup.proxy_headers(**{"x-amp-installation-id": str(uuid.uuid4())})
    problem(await world.proxy_client.get("/v1/x", headers=headers), 404, "installation_not_found")
    by_name = {
        "x-amp-proxy-version": "1",
        "x-amp-project-id": setup.project_id,
        "x-api-key": setup.api_key,
        "x-amp-integration-name": setup.integration_name,
        "x-amp-group-ref": "no-such-group",
    }
    problem(await world.proxy_client.get("/v1/x", headers=by_name), 404, "installation_not_found")


async def test_installation_id_wins_over_name_and_group(
    world: ProxyWorld, setup: SeededSetup
) -> None:
    headers = setup.proxy_headers(**{"x-amp-integration-name": "nope", "x-amp-group-ref": "nope"})
    response = await world.proxy_client.get("/v1/x", headers=headers)
    assert response.status_code == 200
    assert "x-passway-error" not in response.headers


async def test_integration_with_proxy_disabled_is_403(world: ProxyWorld) -> None:
    off = await seed_proxy_setup(
        world.client,
        ADMIN_KEY,
        provider=tc.APIKEY_BEARER,
        credential={"apiKey": "k"},
        proxy_enabled=False,
    )
    response = await world.proxy_client.get("/v1/x", headers=off.proxy_headers())
    problem(response, 403, "proxy_not_enabled")


async def test_installation_config_turning_proxy_off_is_403(world: ProxyWorld) -> None:
    setup = await seed_proxy_setup(
        world.client, ADMIN_KEY, provider=tc.APIKEY_BEARER, credential={"apiKey": "k"}
    )
    response = await world.client.patch(
        f"/v1/projects/{setup.project_id}/integrations/{setup.integration_id}"
        f"/installations/{setup.installation_id}",
        json={
            "updateMask": ["config.content.proxy.enabled"],
            "installation": {"config": {"content": {"proxy": {"enabled": False}}}},
        },
        headers={"X-Api-Key": setup.api_key},
    )
    assert response.status_code == 200, response.text
    response = await world.proxy_client.get("/v1/x", headers=setup.proxy_headers())
    problem(response, 403, "proxy_not_enabled")


async def test_provider_refusing_connections_is_502(world: ProxyWorld) -> None:
    setup = await seed_proxy_setup(
        world.client, ADMIN_KEY, provider=tc.UNREACHABLE, credential={"apiKey": "k"}
    )
    response = await world.proxy_client.get("/v1/x", headers=setup.proxy_headers())
    body = problem(response, 502, "provider_unreachable")
    assert body["retryable"] is True


async def test_egress_guard_refusal_is_403_and_nothing_is_sent(world: ProxyWorld) -> None:
    setup = await seed_proxy_setup(
        world.client, ADMIN_KEY, provider=tc.EGRESS_BLOCKED, credential={"apiKey": "k"}
    )
    before = len(world.upstream.requests)
    response = await world.proxy_client.get("/v1/x", headers=setup.proxy_headers())
    body = problem(response, 403, "egress_denied")
    assert "127.0.0.2" in body["detail"]
    assert len(world.upstream.requests) == before


async def test_hostile_path_is_refused_before_anything_is_sent(
    world: ProxyWorld, setup: SeededSetup
) -> None:
    before = len(world.upstream.requests)
    response = await world.proxy_client.get("/v1/%2e%2e/admin", headers=setup.proxy_headers())
    problem(response, 400, "invalid_target")
    assert len(world.upstream.requests) == before


async def _slow(request: web.Request) -> web.StreamResponse:
    import asyncio

    await asyncio.sleep(float(request.query.get("sleep", "3")))
    return web.Response(text="late")


async def test_timeout_override_gives_504_quickly(world: ProxyWorld, setup: SeededSetup) -> None:
    world.upstream.set_handler("GET", "/slow", _slow)
    started = time.monotonic()
    headers = setup.proxy_headers(**{"x-amp-timeout-seconds": "0.2"})
    response = await world.proxy_client.get("/slow?sleep=3", headers=headers)
    problem(response, 504, "provider_timeout")
    assert time.monotonic() - started < 1.5


async def test_timeout_override_is_capped_at_the_maximum(
    world: ProxyWorld, setup: SeededSetup
) -> None:
    world.upstream.set_handler("GET", "/slow", _slow)
    started = time.monotonic()
    headers = setup.proxy_headers(**{"x-amp-timeout-seconds": "1000"})
    response = await world.proxy_client.get("/slow?sleep=4", headers=headers)
    problem(response, 504, "provider_timeout")
    assert time.monotonic() - started < 3.0  # max_timeout is 1 s in this world


async def test_provider_errors_carry_no_passway_marker(
    world: ProxyWorld, setup: SeededSetup
) -> None:
    async def not_found(request: web.Request) -> web.StreamResponse:
        return web.json_response({"error": "nope"}, status=404)

    world.upstream.set_handler("GET", "/missing", not_found)
    response = await world.proxy_client.get("/missing", headers=setup.proxy_headers())
    assert response.status_code == 404
    assert "x-passway-error" not in response.headers
    assert response.json() == {"error": "nope"}


async def test_provider_cannot_forge_the_passway_marker(
    world: ProxyWorld, setup: SeededSetup
) -> None:
    async def forged(request: web.Request) -> web.StreamResponse:
        return web.Response(status=502, headers={"X-Passway-Error": "provider_unreachable"})

    world.upstream.set_handler("GET", "/forged", forged)
    response = await world.proxy_client.get("/forged", headers=setup.proxy_headers())
    assert response.status_code == 502
    assert "x-passway-error" not in response.headers


async def _trickle(request: web.Request) -> web.StreamResponse:
    """Five pieces, ``gap`` seconds apart; after ``stall_after`` pieces, silence for 3 s."""
    import asyncio

    gap = float(request.query["gap"])
    stall_after = int(request.query.get("stall_after", "99"))
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    try:
        for n in range(5):
            if n == stall_after:
                await asyncio.sleep(3)
            await response.write(f"data: {n}\n\n".encode())
            await asyncio.sleep(gap)
    except (ConnectionError, RuntimeError):
        pass
    return response


async def test_read_timeout_never_cuts_a_stream_that_keeps_sending(
    world: ProxyWorld, setup: SeededSetup
) -> None:
    world.upstream.set_handler("GET", "/trickle", _trickle)
    headers = setup.proxy_headers(**{"x-amp-timeout-seconds": "0.5"})
    async with world.proxy_client.stream("GET", "/trickle?gap=0.3", headers=headers) as response:
        body = b"".join([chunk async for chunk in response.aiter_raw()])
    assert body == b"".join(f"data: {n}\n\n".encode() for n in range(5))


async def test_stall_after_the_answer_started_drops_the_client_connection(
    world: ProxyWorld, setup: SeededSetup
) -> None:
    world.upstream.set_handler("GET", "/trickle", _trickle)
    headers = setup.proxy_headers(**{"x-amp-timeout-seconds": "0.5"})
    received = b""
    with pytest.raises(httpx.HTTPError):
        async with world.proxy_client.stream(
            "GET", "/trickle?gap=0.05&stall_after=2", headers=headers
        ) as response:
            assert response.status_code == 200
            async for chunk in response.aiter_raw():
                received += chunk
    assert received == b"data: 0\n\ndata: 1\n\n"
