"""The composition root picks the store from the database URL."""

from __future__ import annotations

from pathlib import Path

from passway.bootstrap import open_store
from passway.crypto import Keyring
from passway.settings import load_settings
from passway.store import MemoryStore, SqlStore
from support.records import Records


async def test_memory_url_selects_the_in_memory_store(tmp_path: Path) -> None:
    settings = load_settings({}, data_dir=tmp_path, database_url="memory://")
    store = await open_store(settings, Keyring.load_or_create(settings))
    try:
        assert isinstance(store, MemoryStore)
        created = await store.create_project(Records().project("mem"))
        assert await store.get_project("mem") == created
    finally:
        await store.close()
    assert not (tmp_path / "passway.db").exists()


async def test_the_default_url_selects_sqlite_in_the_data_directory(tmp_path: Path) -> None:
    settings = load_settings({}, data_dir=tmp_path)
    store = await open_store(settings, Keyring.load_or_create(settings))
    try:
        assert isinstance(store, SqlStore)
    finally:
        await store.close()
    assert (tmp_path / "passway.db").exists()
