"""TokenManager against a real loopback OAuth2 server and a real store: refresh once, never race."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from passway.errors import (
    ConnectionNeedsReauthorization,
    InvalidClientCredentials,
    TokenEndpointError,
    TokenRefreshCoolingDown,
)
from passway.fleet import Fleet, MemoryFleet, MemoryHub
from passway.fleet.redis import RedisFleet
from passway.http1.client.fetch import fetch
from passway.http1.client.pool import Http1Client
from passway.oauth.manager import TokenManager
from passway.records import Connection, Credentials, Project
from passway.settings import Settings
from passway.store.memory import MemoryStore
from passway.store.protocol import Store
from support.oauth_server import (
    CC_PROVIDER,
    CLIENT_ID,
    CLIENT_SECRET,
    OAuthServer,
    make_connection,
    oauth_catalog,
)


@pytest.fixture
async def oauth() -> AsyncIterator[OAuthServer]:
    server = OAuthServer(access_ttl=3600)
    await server.start()
    yield server
    await server.close()


async def with_project(store: Store) -> Store:
    """Connections belong to a project; the records' helpers use project ``p1``."""
    now = datetime.now(UTC)
    await store.create_project(Project("p1", "proj-one", None, now, now))
    return store


@pytest.fixture
async def store() -> MemoryStore:
    memory = MemoryStore()
    await with_project(memory)
    return memory


def manager(store: Store, oauth: OAuthServer, http: Http1Client, **settings: Any) -> TokenManager:
    values: dict[str, Any] = {"refresh_lease_ttl": 5.0, "refresh_cooldown": 30.0}
    values.update(settings)
    return TokenManager(
        store=store, catalog=oauth_catalog(oauth.url), http=http, settings=Settings(**values)
    )


async def stored_expired_connection(store: Store, oauth: OAuthServer) -> Connection:
    access, refresh = oauth.new_grant()
    oauth.expire_access_token(access)
    connection = make_connection(access_token=access, refresh_token=refresh, expires_in=-5)
    return await store.create_connection(connection)


async def resource_status(http: Http1Client, oauth: OAuthServer, token: str) -> int:
    headers = [("Authorization", f"Bearer {token}")]
    answer = await fetch(http, "GET", f"{oauth.url}/resource", headers, timeout=10)
    return answer.status


def access_of(connection: Connection) -> str:
    assert connection.credentials.access_token is not None
    return connection.credentials.access_token.token


def refresh_of(connection: Connection) -> str:
    assert connection.credentials.refresh_token is not None
    return connection.credentials.refresh_token.token


async def test_500_concurrent_callers_on_an_expired_token_share_exactly_one_refresh(
    store: MemoryStore, oauth: OAuthServer, http: Http1Client
) -> None:
    connection = await stored_expired_connection(store, oauth)
    tokens = manager(store, oauth, http)
    results = await asyncio.gather(*(tokens.ensure_fresh(connection) for _ in range(500)))
    assert oauth.refresh_calls == 1
    assert len({access_of(r) for r in results}) == 1
    assert await resource_status(http, oauth, access_of(results[0])) == 200
    stored = await store.get_connection_by_id(connection.id)
    assert stored is not None and access_of(stored) == access_of(results[0])
    assert refresh_of(stored) != refresh_of(connection)  # the rotated refresh token is stored


async def test_two_managers_on_one_store_refresh_once_like_two_processes(
    store: MemoryStore, oauth: OAuthServer, http: Http1Client
) -> None:
    connection = await stored_expired_connection(store, oauth)
    first, second = manager(store, oauth, http), manager(store, oauth, http)
    oauth.hold_token_calls = "before"
    calls = [asyncio.ensure_future(m.ensure_fresh(connection)) for m in (first, second) * 50]
    await asyncio.wait_for(oauth.held.wait(), 15)
    await asyncio.sleep(0.2)  # the other manager is now polling the held lease
    oauth.release.set()
    results = await asyncio.gather(*calls)
    assert oauth.refresh_calls == 1
    assert len({access_of(r) for r in results}) == 1
    assert oauth.revoked_grants == 0


async def test_fresh_token_is_returned_without_any_token_call(
    store: MemoryStore, oauth: OAuthServer, http: Http1Client
) -> None:
    access, refresh = oauth.new_grant()
    connection = await store.create_connection(
        make_connection(access_token=access, refresh_token=refresh, expires_in=3600)
    )
    assert await manager(store, oauth, http).ensure_fresh(connection) is connection
    assert oauth.token_calls == 0


def _ago(seconds: float) -> datetime:
    return datetime.now(UTC) - timedelta(seconds=seconds)


async def test_token_within_the_margin_is_refreshed_before_it_expires(
    store: MemoryStore, oauth: OAuthServer, http: Http1Client
) -> None:
    access, refresh = oauth.new_grant()
    connection = await store.create_connection(
        # Issued 45 s ago, 30 s left: within the margin (60 s, capped at half of its 75 s life).
        make_connection(access_token=access, refresh_token=refresh, expires_in=75, now=_ago(45))
    )
    fresh = await manager(store, oauth, http, refresh_margin=60).ensure_fresh(connection)
    assert access_of(fresh) != access
    assert oauth.refresh_calls == 1


async def test_sequential_refreshes_use_each_rotated_token_once_and_never_revoke(
    store: MemoryStore, oauth: OAuthServer, http: Http1Client
) -> None:
    connection = await stored_expired_connection(store, oauth)
    tokens = manager(store, oauth, http)
    for _ in range(3):
        connection = await tokens.refresh(connection, force=True)
    assert oauth.refresh_calls == 3
    assert oauth.revoked_grants == 0
    assert await resource_status(http, oauth, access_of(connection)) == 200


async def test_response_without_refresh_token_keeps_the_stored_one(
    store: MemoryStore, http: Http1Client
) -> None:
    server = OAuthServer(rotate_refresh_tokens=False, response_encoding="form")
    await server.start()
    try:
        connection = await stored_expired_connection(store, server)
        fresh = await manager(store, server, http).ensure_fresh(connection)
        assert refresh_of(fresh) == refresh_of(connection)
        again = await manager(store, server, http).refresh(fresh, force=True)
        assert access_of(again) != access_of(fresh)
        assert server.refresh_calls == 2 and server.revoked_grants == 0
    finally:
        await server.close()


async def test_invalid_grant_marks_bad_credentials_after_exactly_one_token_call(
    store: MemoryStore, oauth: OAuthServer, http: Http1Client
) -> None:
    connection = await stored_expired_connection(store, oauth)
    oauth.grant_of(refresh_of(connection)).revoked = True
    tokens = manager(store, oauth, http)
    outcomes = await asyncio.gather(
        *(tokens.ensure_fresh(connection) for _ in range(50)), return_exceptions=True
    )
    assert all(isinstance(o, ConnectionNeedsReauthorization) for o in outcomes)
    first = outcomes[0]
    assert isinstance(first, ConnectionNeedsReauthorization)
    assert first.context["groupRef"] == "group-1" and first.context["connectionId"] == connection.id
    stored = await store.get_connection_by_id(connection.id)
    assert stored is not None and stored.status == "bad_credentials"
    with pytest.raises(ConnectionNeedsReauthorization):
        await manager(store, oauth, http).ensure_fresh(stored)
    assert oauth.refresh_calls == 1


async def test_failed_refresh_cools_down_instead_of_retrying(
    store: MemoryStore, oauth: OAuthServer, http: Http1Client
) -> None:
    connection = await stored_expired_connection(store, oauth)
    tokens = manager(store, oauth, http, refresh_cooldown=30)
    oauth.token_failures = [503]
    outcomes = await asyncio.gather(
        *(tokens.ensure_fresh(connection) for _ in range(20)), return_exceptions=True
    )
    assert all(isinstance(o, Exception) for o in outcomes)
    with pytest.raises(TokenRefreshCoolingDown) as cooling:
        await tokens.ensure_fresh(connection)
    assert cooling.value.retry_after is not None and 0 < cooling.value.retry_after <= 30
    assert oauth.refresh_calls == 1
    stored = await store.get_connection_by_id(connection.id)
    assert stored is not None and stored.status == "working"


async def test_failed_proactive_refresh_still_uses_a_token_that_has_not_expired(
    store: MemoryStore, oauth: OAuthServer, http: Http1Client
) -> None:
    access, refresh = oauth.new_grant()
    connection = await store.create_connection(
        # Issued 40 s ago, 20 s left: due (the margin is capped at half of its 60 s life).
        make_connection(access_token=access, refresh_token=refresh, expires_in=60, now=_ago(40))
    )
    oauth.token_failures = [500]
    tokens = manager(store, oauth, http, refresh_margin=60)
    assert access_of(await tokens.ensure_fresh(connection)) == access
    assert access_of(await tokens.ensure_fresh(connection)) == access  # cooling down, no call
    assert oauth.refresh_calls == 1


async def test_rejected_token_is_refreshed_once_and_a_stale_rejection_reuses_the_new_token(
    store: MemoryStore, oauth: OAuthServer, http: Http1Client
) -> None:
    access, refresh = oauth.new_grant()
    connection = await store.create_connection(
        make_connection(access_token=access, refresh_token=refresh, expires_in=3600)
    )
    oauth.revoke_access_token(access)
    assert await resource_status(http, oauth, access) == 401
    tokens = manager(store, oauth, http)
    results = await asyncio.gather(
        *(tokens.refresh_after_rejection(connection, access) for _ in range(20))
    )
    assert {access_of(r) for r in results} == {access_of(results[0])}
    assert await resource_status(http, oauth, access_of(results[0])) == 200
    late = await tokens.refresh_after_rejection(connection, access)  # a late 401 on the old token
    assert access_of(late) == access_of(results[0])
    assert oauth.refresh_calls == 1


async def test_dead_holders_lease_expires_and_the_next_process_refreshes(
    store: MemoryStore, oauth: OAuthServer, http: Http1Client
) -> None:
    connection = await stored_expired_connection(store, oauth)
    assert await store.acquire_refresh_lease(connection.id, "dead", datetime.now(UTC), 1.0)
    started = asyncio.get_running_loop().time()
    fresh = await manager(store, oauth, http, refresh_lease_ttl=1.0).ensure_fresh(connection)
    assert asyncio.get_running_loop().time() - started >= 0.9
    assert access_of(fresh) != access_of(connection)
    assert oauth.refresh_calls == 1


async def test_client_credentials_token_is_issued_at_once_and_reissued_when_expired(
    store: MemoryStore, oauth: OAuthServer, http: Http1Client
) -> None:
    tokens = manager(store, oauth, http)
    provider = oauth_catalog(oauth.url).get(CC_PROVIDER)
    assert provider is not None
    credentials = await tokens.issue_initial_token(
        provider=provider,
        scheme="oauth2/clientCredentials",
        credentials=Credentials(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, scopes=("a",)),
        template_values={},
    )
    assert credentials.access_token is not None
    assert await resource_status(http, oauth, credentials.access_token.token) == 200
    now = datetime.now(UTC)
    expired = dataclasses.replace(
        credentials,
        access_token=dataclasses.replace(credentials.access_token, expires_at=now),
    )
    connection = await store.create_connection(
        dataclasses.replace(
            make_connection(
                access_token="x",
                refresh_token=None,
                expires_in=0,
                provider=CC_PROVIDER,
                scheme="oauth2/clientCredentials",
            ),
            credentials=expired,
        )
    )
    fresh = await tokens.ensure_fresh(connection)
    assert access_of(fresh) != credentials.access_token.token
    assert oauth.counters["client_credentials"] == 2


async def test_wrong_client_secret_is_a_clear_client_error(
    store: MemoryStore, oauth: OAuthServer, http: Http1Client
) -> None:
    provider = oauth_catalog(oauth.url).get(CC_PROVIDER)
    assert provider is not None
    with pytest.raises(InvalidClientCredentials) as rejected:
        await manager(store, oauth, http).issue_initial_token(
            provider=provider,
            scheme="oauth2/clientCredentials",
            credentials=Credentials(client_id=CLIENT_ID, client_secret="wrong-secret"),
            template_values={},
        )
    assert rejected.value.status == 400
    assert "invalid_client" in rejected.value.detail
    assert "wrong-secret" not in rejected.value.detail


async def test_password_grant_issues_tokens_and_bad_password_is_rejected(
    store: MemoryStore, oauth: OAuthServer, http: Http1Client
) -> None:
    provider = oauth_catalog(oauth.url).get(CC_PROVIDER)
    assert provider is not None
    tokens = manager(store, oauth, http)
    good = Credentials(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, username="alice", password="wonderland"
    )
    issued = await tokens.issue_initial_token(
        provider=provider, scheme="oauth2/password", credentials=good, template_values={}
    )
    assert issued.refresh_token is not None and issued.password == "wonderland"
    with pytest.raises(InvalidClientCredentials, match="invalid_grant"):
        await tokens.issue_initial_token(
            provider=provider,
            scheme="oauth2/password",
            credentials=dataclasses.replace(good, password="nope"),
            template_values={},
        )


@pytest.mark.parametrize("server_auth", ["basic", "body"])
async def test_client_authenticates_the_way_the_token_endpoint_requires(
    store: MemoryStore, http: Http1Client, server_auth: str
) -> None:
    server = OAuthServer(client_auth=server_auth)  # type: ignore[arg-type]
    await server.start()
    try:
        connection = await stored_expired_connection(store, server)
        fresh = await manager(store, server, http).ensure_fresh(connection)
        assert await resource_status(http, server, access_of(fresh)) == 200
    finally:
        await server.close()


def test_expiry_margin_decision_uses_the_injected_clock() -> None:
    """The manager reads time only through its clock (so the margin is testable)."""
    now = datetime(2030, 1, 1, tzinfo=UTC)
    connection = make_connection(
        access_token="a", refresh_token="r", expires_in=120, now=now - timedelta(seconds=90)
    )
    tokens = TokenManager(
        store=MemoryStore(),
        catalog=oauth_catalog("http://127.0.0.1:9"),
        http=None,  # type: ignore[arg-type]  # never used: the decision needs no I/O
        settings=Settings(refresh_margin=10),
        clock=lambda: now,
    )
    assert not tokens._expiring(connection)
    assert TokenManager(
        store=MemoryStore(),
        catalog=oauth_catalog("http://127.0.0.1:9"),
        http=None,  # type: ignore[arg-type]
        settings=Settings(refresh_margin=60),
        clock=lambda: now,
    )._expiring(connection)


async def test_token_write_survives_a_concurrent_change_of_other_fields(
    store: MemoryStore, oauth: OAuthServer, http: Http1Client
) -> None:
    connection = await stored_expired_connection(store, oauth)
    oauth.hold_token_calls = "before"
    refreshing = asyncio.ensure_future(manager(store, oauth, http).ensure_fresh(connection))
    await asyncio.wait_for(oauth.held.wait(), 15)
    renamed = await store.update_connection(
        dataclasses.replace(connection, group_name="Renamed"), expected_version=connection.version
    )
    oauth.release.set()
    fresh = await refreshing
    assert fresh.group_name == "Renamed" and fresh.version == renamed.version + 1
    assert access_of(fresh) != access_of(connection)


async def test_revoked_grant_does_not_mark_a_connection_reauthorized_meanwhile(
    store: MemoryStore, oauth: OAuthServer, http: Http1Client
) -> None:
    connection = await stored_expired_connection(store, oauth)
    oauth.hold_token_calls = "before"
    refreshing = asyncio.ensure_future(manager(store, oauth, http).ensure_fresh(connection))
    await asyncio.wait_for(oauth.held.wait(), 15)
    oauth.grant_of(refresh_of(connection)).revoked = True
    new_access, new_refresh = oauth.new_grant()  # the customer re-authorized meanwhile
    reauthorized = make_connection(
        access_token=new_access, refresh_token=new_refresh, expires_in=3600
    )
    await store.update_connection(
        dataclasses.replace(connection, credentials=reauthorized.credentials),
        expected_version=connection.version,
    )
    oauth.release.set()
    with pytest.raises(ConnectionNeedsReauthorization):
        await refreshing
    stored = await store.get_connection_by_id(connection.id)
    assert stored is not None and stored.status == "working"
    assert access_of(stored) == new_access


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def shared_fleets(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Fleet, Fleet]]:
    """The fleets of two workers sharing one backend (an in-memory hub, or Redis)."""
    if request.param == "memory":
        hub = MemoryHub()
        yield MemoryFleet(hub), MemoryFleet(hub)
        return
    url = os.environ.get("PASSWAY_TEST_REDIS_URL")
    if not url:
        pytest.skip("PASSWAY_TEST_REDIS_URL is not set")
    prefix = f"passway:test-{secrets.token_hex(6)}:"
    one, two = RedisFleet.from_url(url, prefix=prefix), RedisFleet.from_url(url, prefix=prefix)
    try:
        yield one, two
    finally:
        await one.aclose()
        await two.aclose()


async def test_a_cooldown_started_by_one_worker_stops_the_others_refresh(
    store: MemoryStore,
    oauth: OAuthServer,
    http: Http1Client,
    shared_fleets: tuple[Fleet, Fleet],
) -> None:
    connection = await stored_expired_connection(store, oauth)
    settings = Settings(refresh_lease_ttl=5.0, refresh_cooldown=30.0)
    catalog = oauth_catalog(oauth.url)
    one, two = (
        TokenManager(store=store, catalog=catalog, http=http, settings=settings, fleet=fleet)
        for fleet in shared_fleets
    )
    oauth.token_failures = [503]
    with pytest.raises(TokenEndpointError):
        await one.ensure_fresh(connection)
    with pytest.raises(TokenRefreshCoolingDown):
        await two.ensure_fresh(connection)
    assert oauth.refresh_calls == 1

    one.forget_cooldown(connection.id)  # re-authorized: every worker may refresh again

    for _ in range(100):  # the shared copy is removed in the background
        try:
            fresh = await two.ensure_fresh(connection)
            break
        except TokenRefreshCoolingDown:
            await asyncio.sleep(0.02)
    else:
        pytest.fail("the cooldown was not forgotten by the other worker")
    assert access_of(fresh) != access_of(connection)
    assert oauth.refresh_calls == 2
