"""Exactly one refresh for many concurrent proxied calls on an expired token: in one process, across
two worker processes, and across two Passway instances sharing one PostgreSQL database."""

from __future__ import annotations

import asyncio
import base64
import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from support.databases import fresh_postgres_database
from support.oauth_server import (
    OAuthServer,
    running_oauth_server,
    seed_oauth_proxy_setup,
    write_oauth_catalog,
)
from support.seed import SeededSetup
from support.server import make_settings, run_passway_process, settings_env


@pytest.fixture
async def oauth() -> AsyncIterator[OAuthServer]:
    async with running_oauth_server(access_ttl=3600) as server:
        yield server


async def fire(base_urls: list[str], setup: SeededSetup, count: int) -> list[httpx.Response]:
    """``count`` concurrent proxied calls, spread over ``base_urls``."""
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=count)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        return await asyncio.gather(
            *(
                client.get(
                    f"{base_urls[i % len(base_urls)]}/items/{i}", headers=setup.proxy_headers()
                )
                for i in range(count)
            )
        )


async def fire_during_refresh(
    base_urls: list[str], setup: SeededSetup, count: int, oauth: OAuthServer
) -> list[tuple[int, str]]:
    """Fire ``count`` calls while the token server holds the first refresh, so that every call
    is in flight (waiting on that refresh, or on its lease) before any token exists."""
    oauth.hold_token_calls = "before"
    calls = asyncio.ensure_future(fire(base_urls, setup, count))
    await asyncio.wait_for(oauth.held.wait(), 30)
    await asyncio.sleep(1.0)
    oauth.release.set()
    return await calls


def assert_all_served_by_one_grant(responses: list[httpx.Response], oauth: OAuthServer) -> None:
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) == len(responses), {s: statuses.count(s) for s in set(statuses)}
    assert len({r.json()["grant"] for r in responses}) == 1
    assert oauth.refresh_calls == 1
    assert oauth.revoked_grants == 0


async def test_500_concurrent_proxied_calls_on_an_expired_token_refresh_once(
    tmp_path: Path, oauth: OAuthServer
) -> None:
    """One Passway process (its own event loop, real sockets); 500 calls wait on one refresh."""
    settings = make_settings(tmp_path, catalog_file=write_oauth_catalog(tmp_path, oauth.url))
    async with (
        run_passway_process(settings_env(settings), workers=1) as url,
        httpx.AsyncClient(base_url=url) as api,
    ):
        setup, _, _ = await seed_oauth_proxy_setup(api, oauth)
        responses = await fire_during_refresh([url], setup, 500, oauth)
    assert_all_served_by_one_grant(responses, oauth)


async def test_two_worker_processes_refresh_once(tmp_path: Path, oauth: OAuthServer) -> None:
    settings = make_settings(tmp_path, catalog_file=write_oauth_catalog(tmp_path, oauth.url))
    async with (
        run_passway_process(settings_env(settings), workers=2) as url,
        httpx.AsyncClient(base_url=url) as api,
    ):
        setup, _, _ = await seed_oauth_proxy_setup(api, oauth)
        responses = await fire_during_refresh([url], setup, 300, oauth)
    assert_all_served_by_one_grant(responses, oauth)


@pytest.mark.postgres
async def test_two_instances_on_one_postgres_database_refresh_once(
    tmp_path: Path, oauth: OAuthServer
) -> None:
    if not os.environ.get("PASSWAY_TEST_POSTGRES_URL"):
        pytest.skip("PASSWAY_TEST_POSTGRES_URL is not set")
    catalog = write_oauth_catalog(tmp_path, oauth.url)
    key = "k1:" + base64.b64encode(os.urandom(32)).decode()
    async with fresh_postgres_database() as database_url:
        envs = []
        for name in ("a", "b"):
            data_dir = tmp_path / name
            data_dir.mkdir()
            settings = make_settings(
                data_dir,
                catalog_file=catalog,
                database_url=database_url,
                encryption_keys=(key,),
            )
            envs.append(settings_env(settings))
        async with (
            run_passway_process(envs[0]) as first,
            run_passway_process(envs[1]) as second,
            httpx.AsyncClient(base_url=first) as api,
        ):
            setup, _, _ = await seed_oauth_proxy_setup(api, oauth)
            responses = await fire_during_refresh([first, second], setup, 300, oauth)
    assert_all_served_by_one_grant(responses, oauth)
