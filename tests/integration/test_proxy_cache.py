"""Resolution cache: the steady state makes no database trip, concurrent first calls share one
resolution, and every change (revoked key, deleted installation, new credentials) is seen at once,
also by another worker process. Plus tenant isolation, which the cache must never weaken."""

from __future__ import annotations

import asyncio
import contextlib
import re
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from support import catalog as tc
from support.databases import fresh_postgres_database, requires_postgres
from support.seed import SeededSetup, seed_proxy_setup
from support.server import (
    ADMIN_KEY,
    ProxyWorld,
    make_settings,
    proxy_world,
    run_passway_process,
    serve_passway,
    settings_env,
)
from support.upstream import RecordingUpstream

pytestmark = pytest.mark.asyncio(loop_scope="module")

COUNTED = (
    "find_api_keys_by_prefix",
    "get_installation",
    "find_installation",
    "get_integration",
    "get_connection",
)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ProxyWorld]:
    async with proxy_world(tmp_path_factory.mktemp("cache")) as w:
        yield w


@contextlib.contextmanager
def count_store_reads(world: ProxyWorld) -> Iterator[Counter[str]]:
    """Count the store reads the proxy makes (the real store, observed, not replaced)."""
    assert world.app.runtime is not None
    store = world.app.runtime.store
    counts: Counter[str] = Counter()
    for name in COUNTED:
        original = getattr(store, name)

        def counted(*args: Any, _name: str = name, _orig: Callable[..., Any] = original) -> Any:
            counts[_name] += 1
            return _orig(*args)

        setattr(store, name, counted)
    try:
        yield counts
    finally:
        for name in COUNTED:
            delattr(store, name)


async def seed(world: ProxyWorld, **kw: Any) -> SeededSetup:
    kw.setdefault("provider", tc.APIKEY_BEARER)
    kw.setdefault("credential", {"apiKey": "first"})
    return await seed_proxy_setup(world.client, ADMIN_KEY, **kw)


async def test_steady_state_makes_no_database_trip(world: ProxyWorld) -> None:
    setup = await seed(world)
    assert (await world.client.get("/x", headers=setup.proxy_headers())).status_code == 200
    with count_store_reads(world) as counts:
        for _ in range(30):
            response = await world.client.get("/x", headers=setup.proxy_headers())
            assert response.status_code == 200
    assert sum(counts.values()) == 0, counts


async def test_concurrent_first_calls_share_one_resolution(world: ProxyWorld) -> None:
    setup = await seed(world)
    with count_store_reads(world) as counts:
        responses = await asyncio.gather(
            *(world.client.get("/x", headers=setup.proxy_headers()) for _ in range(300))
        )
    assert {r.status_code for r in responses} == {200}
    assert counts["find_api_keys_by_prefix"] == 1, counts
    assert counts["get_installation"] == 1, counts


async def test_revoked_key_is_refused_on_the_next_call(world: ProxyWorld) -> None:
    setup = await seed(world)
    assert (await world.client.get("/x", headers=setup.proxy_headers())).status_code == 200
    response = await world.client.delete(
        f"/v1/projects/{setup.project_id}/api-keys/{setup.api_key_id}",
        headers={"X-Api-Key": ADMIN_KEY},
    )
    assert response.status_code == 204
    response = await world.client.get("/x", headers=setup.proxy_headers())
    assert response.status_code == 401


async def test_deleted_installation_is_404_on_the_next_call(world: ProxyWorld) -> None:
    setup = await seed(world)
    assert (await world.client.get("/x", headers=setup.proxy_headers())).status_code == 200
    response = await world.client.delete(
        f"/v1/projects/{setup.project_id}/integrations/{setup.integration_id}"
        f"/installations/{setup.installation_id}",
        headers={"X-Api-Key": setup.api_key},
    )
    assert response.status_code == 204
    response = await world.client.get("/x", headers=setup.proxy_headers())
    assert response.status_code == 404
    assert response.headers["x-passway-error"] == "installation_not_found"


async def test_new_connection_credentials_are_used_on_the_next_call(world: ProxyWorld) -> None:
    setup = await seed(world)
    await world.client.get("/x", headers=setup.proxy_headers())
    assert world.upstream.requests[-1].header("authorization") == "Bearer first"
    response = await world.client.patch(
        f"/v1/projects/{setup.project_id}/connections/{setup.connection_id}",
        json={"updateMask": ["apiKey"], "connection": {"apiKey": "second"}},
        headers={"X-Api-Key": setup.api_key},
    )
    assert response.status_code == 200, response.text
    await world.client.get("/x", headers=setup.proxy_headers())
    assert world.upstream.requests[-1].header("authorization") == "Bearer second"


# tenant isolation ------------------------------------------------------------------------------
async def test_a_key_never_reaches_another_projects_installation(world: ProxyWorld) -> None:
    a = await seed(world, credential={"apiKey": "secret-a"})
    b = await seed(world, credential={"apiKey": "secret-b"}, integration_name="b-only")
    before = len(world.upstream.requests)
    attempts = [
        # A's key, B's project id: the key is not B's.
        {**b.proxy_headers(), "x-api-key": a.api_key},
        # A's key and project, B's installation id.
        a.proxy_headers(**{"x-amp-installation-id": b.installation_id}),
    ]
    by_name = {k: v for k, v in a.proxy_headers().items() if k != "x-amp-installation-id"}
    attempts.append({**by_name, "x-amp-integration-name": "b-only", "x-amp-group-ref": b.group_ref})
    statuses = [(await world.client.get("/x", headers=h)).status_code for h in attempts]
    assert statuses == [401, 404, 404]
    assert len(world.upstream.requests) == before


async def test_same_integration_name_and_group_resolve_within_the_callers_project(
    world: ProxyWorld,
) -> None:
    a = await seed(world, credential={"apiKey": "secret-a"})
    b = await seed(world, credential={"apiKey": "secret-b"})
    assert (a.integration_name, a.group_ref) == (b.integration_name, b.group_ref)
    headers = {k: v for k, v in a.proxy_headers().items() if k != "x-amp-installation-id"}
    headers |= {"x-amp-integration-name": a.integration_name, "x-amp-group-ref": a.group_ref}
    assert (await world.client.get("/x", headers=headers)).status_code == 200
    assert world.upstream.requests[-1].header("authorization") == "Bearer secret-a"


# across worker processes -------------------------------------------------------------------------
async def _calls(base_url: str, headers: dict[str, str], n: int) -> list[int]:
    """``n`` calls, each on a new connection so the kernel spreads them over the workers."""
    statuses = []
    for _ in range(n):
        async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
            statuses.append((await client.get("/x", headers=headers)).status_code)
    return statuses


async def test_changes_reach_every_worker_process(tmp_path: Path) -> None:
    async with RecordingUpstream() as upstream:
        catalog_file = tc.write_test_catalog(tmp_path / "catalog.json", upstream.url)
        settings = make_settings(tmp_path, catalog_file=catalog_file, cache_poll_interval=0.2)
        async with (
            run_passway_process(settings_env(settings), workers=2) as base_url,
            httpx.AsyncClient(base_url=base_url, timeout=10) as client,
        ):
            setup = await seed_proxy_setup(
                client, ADMIN_KEY, provider=tc.APIKEY_BEARER, credential={"apiKey": "one"}
            )
            assert set(await _calls(base_url, setup.proxy_headers(), 12)) == {200}

            response = await client.patch(
                f"/v1/projects/{setup.project_id}/connections/{setup.connection_id}",
                json={"updateMask": ["apiKey"], "connection": {"apiKey": "two"}},
                headers={"X-Api-Key": setup.api_key},
            )
            assert response.status_code == 200, response.text
            await asyncio.sleep(1.0)  # several poll intervals
            upstream.clear()
            assert set(await _calls(base_url, setup.proxy_headers(), 12)) == {200}
            assert {r.header("authorization") for r in upstream.requests} == {"Bearer two"}

            response = await client.delete(
                f"/v1/projects/{setup.project_id}/api-keys/{setup.api_key_id}",
                headers={"X-Api-Key": ADMIN_KEY},
            )
            assert response.status_code == 204
            await asyncio.sleep(1.0)
            assert set(await _calls(base_url, setup.proxy_headers(), 12)) == {401}


async def test_unknown_project_uuid_is_401_not_a_crash(world: ProxyWorld) -> None:
    setup = await seed(world)
    headers = setup.proxy_headers(**{"x-amp-project-id": str(uuid.uuid4())})
    assert (await world.client.get("/x", headers=headers)).status_code == 401


@contextlib.asynccontextmanager
async def database(kind: str, tmp_path: Path) -> AsyncIterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'shared.db'}"
    else:
        async with fresh_postgres_database() as url:
            yield url


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
async def test_two_instances_on_one_database_see_each_others_changes(
    tmp_path: Path, kind: str
) -> None:
    if kind == "postgres":
        requires_postgres()
    async with RecordingUpstream() as upstream, database(kind, tmp_path) as url:
        catalog_file = tc.write_test_catalog(tmp_path / "catalog.json", upstream.url)
        settings = make_settings(
            tmp_path, catalog_file=catalog_file, database_url=url, cache_poll_interval=0.1
        )
        async with (
            serve_passway(settings) as a,
            serve_passway(settings) as b,
            httpx.AsyncClient(base_url=a.url, timeout=10) as client_a,
            httpx.AsyncClient(base_url=b.url, timeout=10) as client_b,
        ):
            setup = await seed_proxy_setup(
                client_a, ADMIN_KEY, provider=tc.APIKEY_BEARER, credential={"apiKey": "one"}
            )
            assert (await client_b.get("/x", headers=setup.proxy_headers())).status_code == 200
            response = await client_a.patch(
                f"/v1/projects/{setup.project_id}/connections/{setup.connection_id}",
                json={"updateMask": ["apiKey"], "connection": {"apiKey": "two"}},
                headers={"X-Api-Key": setup.api_key},
            )
            assert response.status_code == 200, response.text
            await asyncio.sleep(0.6)
            assert (await client_b.get("/x", headers=setup.proxy_headers())).status_code == 200
            assert upstream.requests[-1].header("authorization") == "Bearer two"

            response = await client_a.delete(
                f"/v1/projects/{setup.project_id}/api-keys/{setup.api_key_id}",
                headers={"X-Api-Key": ADMIN_KEY},
            )
            assert response.status_code == 204
            await asyncio.sleep(0.6)
            assert (await client_b.get("/x", headers=setup.proxy_headers())).status_code == 401


def _cache_lookups(metrics_text: str) -> dict[str, float]:
    found = re.findall(
        r'^passway_proxy_cache_lookups_total\{result="(hit|miss)"\} (\S+)$', metrics_text, re.M
    )
    return {result: float(value) for result, value in found}


async def test_cache_lookups_are_counted_once_per_cache_per_call(world: ProxyWorld) -> None:
    """A call reads two caches (the key's check, the target): a first call misses both, the
    calls after it hit both, whether answered from the caches at once or by the loading steps."""
    setup = await seed(world)
    assert world.app.runtime is not None
    metrics = world.app.runtime.metrics

    async def lookups() -> dict[str, float]:
        metrics.sample()
        text = (await world.client.get("/metrics")).text
        return _cache_lookups(text)

    before = await lookups()
    assert (await world.client.get("/x", headers=setup.proxy_headers())).status_code == 200
    after_first = await lookups()
    assert after_first.get("miss", 0) - before.get("miss", 0) == 2
    assert after_first.get("hit", 0) - before.get("hit", 0) == 0
    for _ in range(5):
        assert (await world.client.get("/x", headers=setup.proxy_headers())).status_code == 200
    after = await lookups()
    assert after.get("miss", 0) - after_first.get("miss", 0) == 0
    assert after.get("hit", 0) - after_first.get("hit", 0) == 10
