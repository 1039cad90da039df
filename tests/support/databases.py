"""Fresh databases for tests, and store fixtures over every backend.

- ``sqlite_url(tmp_path)``: a SQLite file URL inside the test's directory.
- ``async with fresh_postgres_database() as url``: a new, uniquely named PostgreSQL database
  (``passway_t_<random>``) on the server of ``PASSWAY_TEST_POSTGRES_URL``, dropped afterwards. Other
  test runs share that server, so nothing else on it is ever touched.
- Fixtures (import them into a test module or conftest to use them):
  ``database_url`` (params ``sqlite``, ``postgres``), ``any_store`` (params ``memory``, ``sqlite``,
  ``postgres``; an open ``Store``, closed afterwards) and ``sql_store`` (``sqlite``, ``postgres``).
  The ``postgres`` cases skip cleanly when the variable is unset.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information
import pytest
from sqlalchemy.engine import make_url

from passway.crypto import Keyring
from passway.store.memory import MemoryStore
from passway.store.protocol import Store
from passway.store.sql import SqlStore

POSTGRES_ENV = "PASSWAY_TEST_POSTGRES_URL"


def postgres_server_url() -> str | None:
    return os.environ.get(POSTGRES_ENV) or None


def requires_postgres() -> str:
    url = postgres_server_url()
    if url is None:
        pytest.skip(f"{POSTGRES_ENV} is not set")
    return url


def sqlite_url(directory: Path, name: str = "passway.db") -> str:
    return f"sqlite+aiosqlite:///{directory / name}"


def _plain(url: str, database: str | None = None) -> str:
    """An asyncpg-style ``postgresql://`` URL, optionally pointing at another database."""
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


@contextlib.asynccontextmanager
async def fresh_postgres_database(server_url: str | None = None) -> AsyncIterator[str]:
    """Create ``passway_t_<random>``, yield its ``postgresql://`` URL, drop it afterwards."""
    server = server_url or requires_postgres()
    name = f"passway_t_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(_plain(server))
    try:
        for attempt in range(10):
            try:
                await admin.execute(f'CREATE DATABASE "{name}"')
                break
            except asyncpg.ObjectInUseError:
                # Concurrent CREATE DATABASE calls briefly hold the template database.
                if attempt == 9:
                    raise
                await asyncio.sleep(0.2 + 0.1 * attempt)
    finally:
        await admin.close()
    try:
        yield _plain(server, name)
    finally:
        admin = await asyncpg.connect(_plain(server))
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


SQL_BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
ALL_BACKENDS = ["memory", *SQL_BACKENDS]


@contextlib.asynccontextmanager
async def database_for(backend: str, directory: Path) -> AsyncIterator[str]:
    if backend == "sqlite":
        yield sqlite_url(directory)
    else:
        async with fresh_postgres_database() as url:
            yield url


@contextlib.asynccontextmanager
async def open_store(
    backend: str, directory: Path, keyring: Keyring | None = None
) -> AsyncIterator[Store]:
    if backend == "memory":
        yield MemoryStore()
        return
    async with database_for(backend, directory) as url:
        store = await SqlStore.open(url, keyring or Keyring.generate())
        try:
            yield store
        finally:
            await store.close()


@pytest.fixture(params=SQL_BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    async with database_for(request.param, tmp_path) as url:
        yield url


@pytest.fixture(params=ALL_BACKENDS)
async def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    async with open_store(request.param, tmp_path) as store:
        yield store


@pytest.fixture(params=SQL_BACKENDS)
async def sql_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SqlStore]:
    async with open_store(request.param, tmp_path) as store:
        assert isinstance(store, SqlStore)
        yield store
