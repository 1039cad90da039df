"""A Passway process killed (SIGKILL) in the middle of a refresh, then restarted on the same data.

The token server rotates refresh tokens and revokes the whole grant when a rotated one is reused, so
any lost or reused refresh token shows. The sequences:

- killed while its token call is parked at the token server, before the server rotated anything:
  the lease it held expires, the restarted process refreshes with the stored refresh token, the
  call succeeds, and the grant is never revoked;
- killed after the new tokens were stored but before the call that uses them finished: the
  restarted process uses the stored tokens without refreshing again;
- killed after the token server rotated but before the answer reached Passway: no client can
  recover the new refresh token it never received. The provider revokes the grant when the old one
  comes back; Passway then marks the connection ``bad_credentials`` and says so, with exactly one
  token call (no hammering). This is the limit of what a client can do; providers that keep the
  previous refresh token valid for a grace period avoid it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import psutil
import pytest

from support.oauth_server import (
    OAuthServer,
    running_oauth_server,
    seed_oauth_proxy_setup,
    write_oauth_catalog,
)
from support.seed import SeededSetup
from support.server import make_settings, run_passway_process, settings_env

LEASE_TTL = 3.0


@pytest.fixture
async def oauth() -> AsyncIterator[OAuthServer]:
    async with running_oauth_server() as server:
        yield server


def passway_env(tmp_path: Path, oauth: OAuthServer) -> dict[str, str]:
    settings = make_settings(
        tmp_path,
        catalog_file=write_oauth_catalog(tmp_path, oauth.url),
        refresh_lease_ttl=LEASE_TTL,
    )
    return settings_env(settings)


def kill_passway(base_url: str) -> None:
    """SIGKILL the Passway server listening at ``base_url`` (its whole process group)."""
    port = base_url.rsplit(":", 1)[1]
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            cmdline = child.cmdline()
            if "uvicorn" in " ".join(cmdline) and port in cmdline:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait(timeout=10)
                return
    raise AssertionError(f"no Passway process for {base_url}")


async def proxied_call(base_url: str, setup: SeededSetup) -> httpx.Response:
    async with httpx.AsyncClient(timeout=30) as client:
        return await client.get(f"{base_url}/items", headers=setup.proxy_headers())


async def call_then_kill(base_url: str, setup: SeededSetup, parked: asyncio.Event) -> None:
    """Start a proxied call, wait until the server parked it, kill Passway under it."""
    call = asyncio.ensure_future(proxied_call(base_url, setup))
    await asyncio.wait_for(parked.wait(), 15)
    kill_passway(base_url)
    with pytest.raises(httpx.HTTPError):
        await call


async def test_killed_before_the_token_server_rotated_recovers_without_revoking(
    tmp_path: Path, oauth: OAuthServer
) -> None:
    env = passway_env(tmp_path, oauth)
    async with run_passway_process(env) as url:
        async with httpx.AsyncClient(base_url=url) as api:
            setup, _, _ = await seed_oauth_proxy_setup(api, oauth)
        oauth.hold_token_calls = "before"
        await call_then_kill(url, setup, oauth.held)
        killed_at = time.monotonic()
    # The parked call never reaches the grant logic (the client is gone).
    oauth.drop_held_calls = True
    oauth.release.set()
    await asyncio.sleep(0.1)
    oauth.hold_token_calls = None

    async with run_passway_process(env) as url:
        answer = await proxied_call(url, setup)
    assert answer.status_code == 200, answer.text
    assert time.monotonic() - killed_at < 25
    assert oauth.refresh_calls == 2  # the dropped one, then the one after the lease expired
    assert oauth.revoked_grants == 0


async def test_killed_after_storing_new_tokens_uses_them_without_refreshing_again(
    tmp_path: Path, oauth: OAuthServer
) -> None:
    env = passway_env(tmp_path, oauth)
    async with run_passway_process(env) as url:
        async with httpx.AsyncClient(base_url=url) as api:
            setup, old_access, _ = await seed_oauth_proxy_setup(api, oauth)
        oauth.hold_resource_calls = True
        await call_then_kill(url, setup, oauth.resource_held)
    assert oauth.refresh_calls == 1
    oauth.hold_resource_calls = False
    oauth.resource_release.set()

    async with run_passway_process(env) as url:
        answer = await proxied_call(url, setup)
    assert answer.status_code == 200, answer.text
    assert oauth.refresh_calls == 1
    assert oauth.revoked_grants == 0
    assert answer.json()["grant"] == oauth.grant_of(old_access).id


async def test_rotation_lost_in_flight_ends_in_one_clear_reauthorization_error(
    tmp_path: Path, oauth: OAuthServer
) -> None:
    env = passway_env(tmp_path, oauth)
    async with run_passway_process(env) as url:
        async with httpx.AsyncClient(base_url=url) as api:
            setup, _, _ = await seed_oauth_proxy_setup(api, oauth)
        oauth.hold_token_calls = "after"
        await call_then_kill(url, setup, oauth.held)
    oauth.hold_token_calls = None
    oauth.release.set()

    async with run_passway_process(env) as url:
        first = await proxied_call(url, setup)
        second = await proxied_call(url, setup)
    for answer in (first, second):
        assert answer.status_code == 424
        problem = answer.json()
        assert problem["code"] == "connection_bad_credentials"
        assert problem["context"]["connectionId"] == setup.connection_id
        assert problem["context"]["groupRef"] == setup.group_ref
    assert oauth.refresh_calls == 2  # the lost one, and the reuse the provider refused


# A dead holder costs the others at most PASSWAY_REFRESH_WAIT -----------------------------------
def shared_env(tmp_path: Path, oauth: OAuthServer, **overrides: float) -> dict[str, str]:
    """Settings for two Passway processes sharing one database (the same SQLite file)."""
    settings = make_settings(
        tmp_path, catalog_file=write_oauth_catalog(tmp_path, oauth.url), **overrides
    )
    return settings_env(settings)


async def test_a_dead_holders_lease_is_taken_over_by_another_process_within_the_wait(
    tmp_path: Path, oauth: OAuthServer
) -> None:
    """Process A dies while its token call is parked; a call through process B, made at once,
    waits for A's lease to expire (2 s, shorter than the 10 s wait), takes it over and succeeds."""
    env = shared_env(tmp_path, oauth, refresh_lease_ttl=2.0, refresh_wait=10.0)
    async with run_passway_process(env) as a, run_passway_process(env) as b:
        async with httpx.AsyncClient(base_url=a) as api:
            setup, _, _ = await seed_oauth_proxy_setup(api, oauth)
        oauth.hold_token_calls = "before"
        await call_then_kill(a, setup, oauth.held)
        oauth.drop_held_calls = True
        oauth.release.set()
        await asyncio.sleep(0.1)
        oauth.hold_token_calls = None
        answer = await proxied_call(b, setup)
    assert answer.status_code == 200, answer.text
    assert oauth.refresh_calls == 2  # the dropped one, then B's after taking the lease over
    assert oauth.revoked_grants == 0


async def test_a_caller_waiting_past_the_refresh_wait_gets_503_token_refresh_pending(
    tmp_path: Path, oauth: OAuthServer
) -> None:
    """A's lease outlives the wait (30 s against 1 s): B's caller is answered 503
    ``token_refresh_pending`` (retryable) instead of hanging, and B never calls the token
    endpoint while the lease is A's."""
    env = shared_env(tmp_path, oauth, refresh_lease_ttl=30.0, refresh_wait=1.0)
    async with run_passway_process(env) as a, run_passway_process(env) as b:
        async with httpx.AsyncClient(base_url=a) as api:
            setup, _, _ = await seed_oauth_proxy_setup(api, oauth)
        oauth.hold_token_calls = "before"
        await call_then_kill(a, setup, oauth.held)
        oauth.drop_held_calls = True
        oauth.release.set()
        await asyncio.sleep(0.1)
        oauth.hold_token_calls = None
        answer = await proxied_call(b, setup)
    assert answer.status_code == 503, answer.text
    assert answer.headers["x-passway-error"] == "token_refresh_pending"
    assert int(answer.headers["retry-after"]) >= 1
    assert answer.json()["retryable"] is True
    assert oauth.refresh_calls == 1  # only A's


async def test_a_live_holder_renews_its_lease_while_its_token_call_runs(
    tmp_path: Path, oauth: OAuthServer
) -> None:
    """A's token call takes twice the lease's ttl (1.5 s): A keeps renewing the lease, so B's
    caller waits for A's token instead of starting a second refresh; both calls succeed with
    one token call."""
    env = shared_env(tmp_path, oauth, refresh_lease_ttl=1.5, refresh_wait=10.0)
    async with run_passway_process(env) as a, run_passway_process(env) as b:
        async with httpx.AsyncClient(base_url=a) as api:
            setup, _, _ = await seed_oauth_proxy_setup(api, oauth)
        oauth.hold_token_calls = "before"
        first = asyncio.ensure_future(proxied_call(a, setup))
        await asyncio.wait_for(oauth.held.wait(), 15)
        second = asyncio.ensure_future(proxied_call(b, setup))
        await asyncio.sleep(3.0)  # past the ttl twice over (not a timing assertion)
        oauth.hold_token_calls = None
        oauth.release.set()
        answers = [await first, await second]
    assert [answer.status_code for answer in answers] == [200, 200], [a.text for a in answers]
    assert oauth.refresh_calls == 1
    assert oauth.revoked_grants == 0
