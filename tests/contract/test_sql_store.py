"""What only the SQL store does: sealed secrets, rewrap under a new key, key rotation, migrations.

Run against SQLite and PostgreSQL (``database_url``).
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from passway.crypto import Keyring, encode_key_entry, new_key, read_key_file
from passway.errors import ConfigurationError
from passway.settings import Settings
from passway.store.engine import create_engine
from passway.store.maintenance import rewrap, rotate_keys
from passway.store.migrate import HEAD, alembic_config, current_revision, upgrade
from passway.store.sql import SqlStore
from passway.store.tables import connections, metadata
from support.records import Records


async def _seed(store: SqlStore, make: Records) -> tuple[str, str, str, str]:
    """One project with a connection, a provider app and an OAuth state with a code verifier."""
    p = make.project()
    await store.create_project(p)
    app = await store.create_provider_app(make.provider_app(p.id))
    conn = await store.create_connection(make.connection(p.id, provider_app_id=app.id))
    state = make.oauth_state(p.id)
    await store.save_oauth_state(state)
    return p.id, conn.id, app.id, state.id


async def test_reencrypt_all_moves_every_secret_to_the_primary_key(
    database_url: str, make: Records
):
    old = new_key()
    store = await SqlStore.open(database_url, Keyring([old]))
    project_id, conn_id, app_id, state_id = await _seed(store, make)
    conn = await store.get_connection(project_id, conn_id)
    app = await store.get_provider_app(project_id, app_id)
    await store.close()

    fresh = new_key()
    store = await SqlStore.open(database_url, Keyring([old, fresh]))
    try:
        assert await store.reencrypt_all() == 3
        assert await store.reencrypt_all() == 0
    finally:
        await store.close()

    # The old key is no longer needed to read anything.
    store = await SqlStore.open(database_url, Keyring([fresh]))
    try:
        assert await store.get_connection(project_id, conn_id) == conn
        assert await store.get_provider_app(project_id, app_id) == app
        state = await store.consume_oauth_state(state_id, make.oauth_state(project_id).create_time)
        assert state is not None and state.code_verifier is not None
    finally:
        await store.close()


async def test_ciphertext_moved_to_another_row_does_not_decrypt(database_url: str, make: Records):
    store = await SqlStore.open(database_url, Keyring.generate())
    try:
        p = make.project()
        await store.create_project(p)
        a = await store.create_connection(make.connection(p.id, "ga"))
        b = await store.create_connection(make.connection(p.id, "gb"))
        async with store.engine.begin() as conn:
            sealed_a = (
                await conn.execute(
                    sa.select(connections.c.credentials_enc).where(connections.c.id == a.id)
                )
            ).scalar_one()
            await conn.execute(
                connections.update()
                .where(connections.c.id == b.id)
                .values(credentials_enc=sealed_a)
            )
        with pytest.raises(ConfigurationError) as caught:
            await store.get_connection(p.id, b.id)
        assert a.credentials.client_secret not in str(caught.value)
    finally:
        await store.close()


async def test_values_sealed_with_an_unknown_key_are_refused_clearly(
    database_url: str, make: Records
):
    store = await SqlStore.open(database_url, Keyring.generate())
    p = make.project()
    await store.create_project(p)
    conn = await store.create_connection(make.connection(p.id))
    await store.close()

    store = await SqlStore.open(database_url, Keyring.generate())
    try:
        with pytest.raises(ConfigurationError, match="not configured"):
            await store.get_connection(p.id, conn.id)
    finally:
        await store.close()


def test_head_constant_is_alembics_head():
    scripts = ScriptDirectory.from_config(alembic_config())
    assert scripts.get_heads() == [HEAD]


async def test_migrations_reach_head_and_are_idempotent(database_url: str):
    engine = create_engine(database_url)
    try:
        assert await current_revision(engine) is None
        await upgrade(database_url)
        await upgrade(database_url)
        assert await current_revision(engine) == HEAD
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: set(sa.inspect(c).get_table_names()))
        assert set(metadata.tables) <= tables
    finally:
        await engine.dispose()
    store = await SqlStore.open(database_url, Keyring.generate())
    await store.close()


def _settings(tmp_path: Path, database_url: str, **kw: Any) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=database_url, **kw)


async def test_rotate_keys_adds_a_key_and_rewraps_everything(
    database_url: str, tmp_path: Path, make: Records
):
    settings = _settings(tmp_path, database_url)
    store = await SqlStore.open(database_url, Keyring.load_or_create(settings))
    project_id, conn_id, _, _ = await _seed(store, make)
    before = await store.get_connection(project_id, conn_id)
    old_kid = Keyring.load_or_create(settings).primary_key_id

    new_kid, count = await rotate_keys(settings)
    assert new_kid != old_kid
    assert count == 3
    rotated = Keyring.load_or_create(settings)
    assert rotated.primary_key_id == new_kid
    assert rotated.key_ids == (old_kid, new_kid)

    # A worker opened before the rotation reads values sealed with the new key (it re-reads the
    # key file) and seals its own writes with it from then on.
    assert await store.get_connection(project_id, conn_id) == before
    assert before is not None
    updated = await store.update_connection(
        dataclasses.replace(before, status="bad_credentials"), expected_version=before.version
    )
    await store.close()
    assert await rewrap(settings) == 0

    only_new = Keyring([k for k in _file_keys(settings) if k[0] == new_kid])
    store = await SqlStore.open(database_url, only_new)
    try:
        assert await store.get_connection(project_id, conn_id) == updated
    finally:
        await store.close()


def _file_keys(settings: Settings) -> list[tuple[str, bytes]]:
    return read_key_file(settings.resolved_key_file)


async def test_rotation_is_refused_when_keys_come_from_the_environment(
    database_url: str, tmp_path: Path
):
    settings = _settings(tmp_path, database_url, encryption_keys=(encode_key_entry(*new_key()),))
    with pytest.raises(ConfigurationError, match="PASSWAY_ENCRYPTION_KEYS"):
        await rotate_keys(settings)
    assert not settings.resolved_key_file.exists()


async def test_rewrap_with_environment_keys_moves_values_to_the_last_key(
    database_url: str, tmp_path: Path, make: Records
):
    first, second = new_key(), new_key()
    store = await SqlStore.open(database_url, Keyring([first]))
    await _seed(store, make)
    await store.close()
    entries = (encode_key_entry(*first), encode_key_entry(*second))
    assert await rewrap(_settings(tmp_path, database_url, encryption_keys=entries)) == 3


async def test_pruning_the_change_feed_keeps_the_newest_change(sql_store: SqlStore, make: Records):
    for _ in range(3):
        await sql_store.create_project(make.project())
    latest = await sql_store.latest_change_seq()
    assert await sql_store.prune_changes(datetime.now(UTC) - timedelta(hours=1)) == 0
    assert len(await sql_store.changes_since(0)) == 3

    assert await sql_store.prune_changes(datetime.now(UTC) + timedelta(hours=1)) == 2
    assert await sql_store.latest_change_seq() == latest
    assert [c.seq for c in await sql_store.changes_since(0)] == [latest]
    # Sequence numbers are never reused after pruning.
    p = make.project()
    await sql_store.create_project(p)
    [after] = await sql_store.changes_since(latest)
    assert after.seq > latest and after.entity_id == p.id
