"""The connect-session store contract, on every backend: the in-memory twin, SQLite and
PostgreSQL (when ``PASSWAY_TEST_POSTGRES_URL`` is set)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from passway.store.connect_sessions import (
    ConnectSession,
    ConnectSessionStore,
    ConnectSettings,
    MemoryConnectSessions,
    SqlConnectSessions,
)
from passway.store.protocol import Store
from support.records import Records

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def pair(any_store: Store, make: Records) -> AsyncIterator[tuple[ConnectSessionStore, str]]:
    """A connect-session store beside ``any_store`` (same database), and a project id."""
    project = await any_store.create_project(make.project())
    engine = getattr(any_store, "engine", None)
    sessions: ConnectSessionStore = (
        MemoryConnectSessions() if engine is None else SqlConnectSessions(engine)
    )
    yield sessions, project.id


def session(project_id: str, **changes: object) -> ConnectSession:
    values: dict[str, object] = {
        "id": uuid.uuid4().hex,
        "project_id": project_id,
        "token_hash": uuid.uuid4().hex * 2,
        "provider": "test-basic",
        "integration_id": None,
        "group_ref": "acme",
        "group_name": None,
        "consumer_ref": "ann",
        "consumer_name": "Ann",
        "redirect_url": None,
        "status": "open",
        "connection_id": None,
        "installation_id": None,
        "oauth_started_at": None,
        "expires_at": NOW + timedelta(minutes=15),
        "create_time": NOW,
        "update_time": NOW,
        **changes,
    }
    return ConnectSession(**values)  # type: ignore[arg-type]


async def test_a_session_is_found_by_its_token_hash_and_id(
    pair: tuple[ConnectSessionStore, str],
) -> None:
    sessions, project_id = pair
    created = session(project_id)
    await sessions.create_session(created)
    assert await sessions.find_session(created.token_hash) == created
    assert await sessions.get_session(created.id) == created
    assert await sessions.find_session("0" * 64) is None


async def test_a_session_is_claimed_once_even_by_racing_requests(
    pair: tuple[ConnectSessionStore, str],
) -> None:
    sessions, project_id = pair
    created = session(project_id)
    await sessions.create_session(created)
    claims = await asyncio.gather(*(sessions.claim_session(created.id, NOW) for _ in range(5)))
    assert sorted(claims) == [False, False, False, False, True]
    await sessions.finish_session(created.id, "conn-1", "inst-1", NOW)
    done = await sessions.get_session(created.id)
    assert done is not None
    assert (done.status, done.connection_id, done.installation_id) == ("done", "conn-1", "inst-1")
    assert not await sessions.claim_session(created.id, NOW)


async def test_a_released_claim_can_be_retried_and_an_expired_session_cannot(
    pair: tuple[ConnectSessionStore, str],
) -> None:
    sessions, project_id = pair
    created = session(project_id)
    await sessions.create_session(created)
    assert await sessions.claim_session(created.id, NOW)
    await sessions.release_session(created.id, NOW)
    assert await sessions.claim_session(created.id, NOW)
    await sessions.release_session(created.id, NOW)
    assert not await sessions.claim_session(created.id, created.expires_at)


async def test_oauth_start_is_recorded(pair: tuple[ConnectSessionStore, str]) -> None:
    sessions, project_id = pair
    created = session(project_id)
    await sessions.create_session(created)
    await sessions.mark_oauth_started(created.id, NOW + timedelta(seconds=5))
    found = await sessions.get_session(created.id)
    assert found is not None and found.oauth_started_at == NOW + timedelta(seconds=5)


async def test_long_expired_sessions_are_dropped_when_new_ones_are_made(
    pair: tuple[ConnectSessionStore, str],
) -> None:
    sessions, project_id = pair
    old = session(project_id, expires_at=NOW - timedelta(days=2))
    await sessions.create_session(old)
    await sessions.create_session(session(project_id))
    assert await sessions.get_session(old.id) is None


async def test_settings_default_to_empty_and_are_replaced_whole(
    pair: tuple[ConnectSessionStore, str],
) -> None:
    sessions, project_id = pair
    assert await sessions.get_settings(project_id) == ConnectSettings(project_id)
    first = ConnectSettings(project_id, ("https://a.example/x",), "https://a.example/logo.png")
    await sessions.put_settings(first)
    assert await sessions.get_settings(project_id) == first
    second = ConnectSettings(project_id, ("https://b.example/y", "https://c.example/z"))
    await sessions.put_settings(second)
    assert await sessions.get_settings(project_id) == second
