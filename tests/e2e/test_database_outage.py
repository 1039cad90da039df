"""A database outage, against a real PostgreSQL this test starts and stops itself (never the
shared server): Passway is served by ``passway serve``'s front door in this process.

- a call whose resolution is cached keeps working for up to ``PASSWAY_STALE_CACHE_TTL`` after
  the last good read of the change feed, then gets 503 ``store_unavailable`` too;
- any other call, and the management API, get 503 ``store_unavailable`` with ``retry-after``
  (never 500);
- when the database is back, calls work again and a change another instance makes invalidates;
- a token answer that arrives while the database is down is kept and stored once it is back: the
  provider, which revokes a grant whose rotated refresh token is reused, never sees a reuse.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from support import catalog as tc
from support.oauth_server import running_oauth_server, seed_oauth_proxy_setup, write_oauth_catalog
from support.pg_cluster import PrivateCluster, postgres_binaries, private_postgres
from support.seed import create_connection, create_installation, seed_proxy_setup
from support.server import ADMIN_KEY, make_settings, serve_front_door
from support.upstream import RecordingUpstream

pytestmark = pytest.mark.skipif(
    postgres_binaries() is None, reason="PostgreSQL server binaries (initdb, pg_ctl) not found"
)

WAIT = 30.0  # ceiling for waiting on a state change (never a timing assertion)


@pytest.fixture(scope="module")
def pg() -> Iterator[PrivateCluster]:
    with private_postgres() as cluster:
        yield cluster


@pytest.fixture
def database(pg: PrivateCluster) -> Iterator[PrivateCluster]:
    """The cluster, running at the start of each test and after it, with a database of the
    test's own (``database.current``)."""
    pg.current = pg.new_database()
    yield pg
    with contextlib.suppress(subprocess.CalledProcessError):
        pg.start()  # fails when it is already running


async def until(check: Callable[[], Any]) -> None:
    """Wait (bounded) until ``await check()`` is true."""
    deadline = time.monotonic() + WAIT
    while not await check():
        assert time.monotonic() < deadline, "the expected state never came"
        await asyncio.sleep(0.1)


def assert_store_unavailable(answer: httpx.Response) -> None:
    assert answer.status_code == 503, answer.text
    assert answer.headers["x-passway-error"] == "store_unavailable"
    assert int(answer.headers["retry-after"]) > 0
    assert answer.json()["retryable"] is True


async def test_cached_calls_outlive_an_outage_for_the_stale_ttl_others_get_503(
    tmp_path: Any, database: PrivateCluster
) -> None:
    async with RecordingUpstream() as upstream:
        catalog = tc.write_test_catalog(tmp_path / "catalog.json", upstream.url)
        settings = make_settings(
            tmp_path,
            catalog_file=catalog,
            database_url=database.current,
            stale_cache_ttl=4.0,
            cache_poll_interval=0.1,
        )
        async with (
            serve_front_door(settings) as door,
            httpx.AsyncClient(base_url=door.url, timeout=30) as client,
        ):
            setup = await seed_proxy_setup(
                client, ADMIN_KEY, provider=tc.APIKEY_BEARER, credential={"apiKey": "k-outage"}
            )
            connection = await create_connection(
                client,
                setup.api_key,
                setup.project_id,
                provider=tc.APIKEY_BEARER,
                credential={"apiKey": "k-other"},
                group_ref="group-uncached",
            )
            other = await create_installation(
                client,
                setup.api_key,
                setup.project_id,
                setup.integration_id,
                group_ref="group-uncached",
                connection_id=connection["id"],
            )
            cached = setup.proxy_headers()
            uncached = setup.proxy_headers(**{"x-amp-installation-id": other["id"]})
            assert (await client.get("/warm", headers=cached)).status_code == 200

            database.stop()
            during = await client.get("/during", headers=cached)
            assert during.status_code == 200, during.text
            assert upstream.requests[-1].raw_path == "/during"
            assert_store_unavailable(await client.get("/other", headers=uncached))
            listing = await client.get("/v1/projects", headers={"X-Api-Key": ADMIN_KEY})
            assert_store_unavailable(listing)

            async def cached_refused() -> bool:
                answer = await client.get("/late", headers=cached)
                assert answer.status_code in (200, 503), answer.text
                return answer.status_code == 503

            await until(cached_refused)  # past the stale TTL: nothing is known to be current
            assert_store_unavailable(await client.get("/late", headers=cached))

            database.start()

            async def working() -> bool:
                return (await client.get("/back", headers=cached)).status_code == 200

            await until(working)
            assert (await client.get("/back", headers=uncached)).status_code == 200

            # Another instance on the same database revokes the key: this one stops taking it.
            other_settings = settings.replace(data_dir=settings.data_dir)
            async with (
                serve_front_door(other_settings) as second,
                httpx.AsyncClient(base_url=second.url, timeout=30) as other_client,
            ):
                revoked = await other_client.delete(
                    f"/v1/projects/{setup.project_id}/api-keys/{setup.api_key_id}",
                    headers={"X-Api-Key": ADMIN_KEY},
                )
                assert revoked.status_code == 204, revoked.text

            async def key_refused() -> bool:
                return (await client.get("/after", headers=cached)).status_code == 401

            await until(key_refused)


async def test_a_token_answer_arriving_during_an_outage_is_stored_once_the_database_is_back(
    tmp_path: Any, database: PrivateCluster
) -> None:
    async with running_oauth_server() as oauth:
        settings = make_settings(
            tmp_path,
            catalog_file=write_oauth_catalog(tmp_path, oauth.url),
            database_url=database.current,
            cache_poll_interval=0.1,
        )
        async with (
            serve_front_door(settings) as door,
            httpx.AsyncClient(base_url=door.url, timeout=30) as client,
        ):
            setup, _, refresh = await seed_oauth_proxy_setup(client, oauth, expired=True)
            # The token server rotates the refresh token, then holds its answer.
            oauth.hold_token_calls = "after"
            call = asyncio.create_task(client.get("/items", headers=setup.proxy_headers()))
            await asyncio.wait_for(oauth.held.wait(), WAIT)
            database.stop()
            oauth.hold_token_calls = None
            oauth.release.set()
            # The refreshed token could not be stored: the call is refused as an outage.
            assert_store_unavailable(await call)
            # While the database is down, no other refresh starts.
            assert_store_unavailable(await client.get("/items", headers=setup.proxy_headers()))
            assert oauth.refresh_calls == 1

            database.start()

            async def working() -> bool:
                answer = await client.get("/items", headers=setup.proxy_headers())
                return answer.status_code == 200

            await until(working)
            # The kept answer was stored: no second refresh, and the rotated refresh token was
            # never reused (the server would have revoked the grant).
            assert oauth.refresh_calls == 1
            assert oauth.revoked_grants == 0
            assert not oauth.grant_of(refresh).revoked


async def test_no_refresh_starts_while_the_database_is_down(
    tmp_path: Any, database: PrivateCluster
) -> None:
    """A call needing a refresh during the outage: 503, and the token endpoint is never called."""
    async with running_oauth_server() as oauth:
        settings = make_settings(
            tmp_path,
            catalog_file=write_oauth_catalog(tmp_path, oauth.url),
            database_url=database.current,
            cache_poll_interval=0.1,
        )
        async with (
            serve_front_door(settings) as door,
            httpx.AsyncClient(base_url=door.url, timeout=30) as client,
        ):
            setup, _, _ = await seed_oauth_proxy_setup(client, oauth, expired=False)
            assert (await client.get("/items", headers=setup.proxy_headers())).status_code == 200
            calls_before = oauth.token_calls
            # Two hours on, in Passway's eyes: the cached connection's token has expired.
            app = door.app
            assert app.runtime is not None
            tokens: Any = app.runtime.tokens
            tokens._clock = lambda: datetime.now(UTC) + timedelta(hours=2)
            database.stop()
            assert_store_unavailable(await client.get("/items", headers=setup.proxy_headers()))
            assert oauth.token_calls == calls_before
            database.start()
