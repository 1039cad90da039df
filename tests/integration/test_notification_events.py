"""Connection events from the token manager, against a real loopback OAuth2 server.

A refresh writes ``connection.refreshed`` with the new tokens; a revoked grant writes one
``connection.error`` with the ``bad_credentials`` transition however many callers hit it; a failed
refresh that changes nothing stored writes a ``connection.error`` of its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from passway.errors import ConnectionNeedsReauthorization, PasswayError
from passway.http1.client.pool import Http1Client
from passway.oauth.manager import TokenManager
from passway.records import Connection, Project
from passway.settings import Settings
from passway.store.memory import MemoryStore
from support.oauth_server import OAuthServer, make_connection, oauth_catalog


@pytest.fixture
async def oauth() -> AsyncIterator[OAuthServer]:
    server = OAuthServer(access_ttl=3600)
    await server.start()
    yield server
    await server.close()


@pytest.fixture
async def store() -> MemoryStore:
    memory = MemoryStore()
    now = datetime.now(UTC)
    await memory.create_project(Project("p1", "proj-one", None, now, now))
    return memory


def manager(store: MemoryStore, oauth: OAuthServer, http: Http1Client) -> TokenManager:
    settings: dict[str, Any] = {"refresh_lease_ttl": 5.0, "refresh_cooldown": 30.0}
    return TokenManager(
        store=store,
        catalog=oauth_catalog(oauth.url),
        http=http,
        settings=Settings(**settings),
        notifications=store.notifications,
    )


async def expired_connection(store: MemoryStore, oauth: OAuthServer) -> Connection:
    access, refresh = oauth.new_grant()
    oauth.expire_access_token(access)
    connection = make_connection(access_token=access, refresh_token=refresh, expires_in=-5)
    return await store.create_connection(connection)


async def types_of(store: MemoryStore) -> list[str]:
    return [e.type for e in reversed(await store.notifications.list_events("p1"))]


async def test_a_refresh_writes_connection_refreshed_without_tokens(
    store: MemoryStore, oauth: OAuthServer, http: Http1Client
) -> None:
    connection = await expired_connection(store, oauth)
    fresh = await manager(store, oauth, http).ensure_fresh(connection)
    [event] = await store.notifications.list_events("p1")
    assert event.type == "connection.refreshed"
    assert event.data["connectionId"] == connection.id and "accessTokenExpiresAt" in event.data
    token = fresh.credentials.access_token
    assert token is not None and token.token not in str(event.data)


async def test_a_revoked_grant_writes_one_connection_error_for_many_callers(
    store: MemoryStore, oauth: OAuthServer, http: Http1Client
) -> None:
    connection = await expired_connection(store, oauth)
    refresh = connection.credentials.refresh_token
    assert refresh is not None
    oauth.grant_of(refresh.token).revoked = True
    tokens = manager(store, oauth, http)
    outcomes = await asyncio.gather(
        *(tokens.ensure_fresh(connection) for _ in range(20)), return_exceptions=True
    )
    assert all(isinstance(o, ConnectionNeedsReauthorization) for o in outcomes)
    [event] = await store.notifications.list_events("p1")
    assert event.type == "connection.error" and event.data["status"] == "bad_credentials"
    assert event.data["error"] == [
        "Authentication failed: the token endpoint answered invalid_grant"
    ]


async def test_a_failed_refresh_writes_connection_error_on_its_own(
    store: MemoryStore, oauth: OAuthServer, http: Http1Client
) -> None:
    connection = await expired_connection(store, oauth)
    await oauth.close()  # the token endpoint is down: nothing is stored, the event is alone
    with pytest.raises(PasswayError):
        await manager(store, oauth, http).refresh(connection, force=True)
    assert await types_of(store) == ["connection.error"]
    [event] = await store.notifications.list_events("p1")
    assert event.data["error"][0].startswith("Token refresh error:")
    stored = await store.get_connection_by_id(connection.id)
    assert stored is not None and stored.status == "working"
