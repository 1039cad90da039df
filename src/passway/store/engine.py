"""Building the async SQLAlchemy engine for SQLite (aiosqlite) or PostgreSQL (asyncpg).

SQLite is shared by several worker processes, so every connection waits on a busy database instead
of failing (``busy_timeout``), uses WAL (readers never block the writer) and enforces foreign keys.
Write transactions start with ``BEGIN IMMEDIATE``: a deferred transaction that reads first and then
writes can fail at once with "database is locked" when another process wrote in between, whereas
an immediate one simply queues for the write lock.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from passway.store.file_modes import prepare_sqlite_file

WRITE_OPTION = "passway_write"
SQLITE_BUSY_TIMEOUT_MS = 30_000

_DRIVERS = {
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "sqlite": "sqlite+aiosqlite",
}


def async_url(url: str) -> URL:
    """``postgresql://`` and ``sqlite://`` URLs mapped to their async drivers."""
    parsed = make_url(url)
    driver = _DRIVERS.get(parsed.drivername)
    return parsed.set(drivername=driver) if driver else parsed


def sqlite_path(url: URL) -> Path | None:
    """The database file of a SQLite URL, or None for an in-memory database."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


def create_engine(url: str) -> AsyncEngine:
    parsed = async_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_async_engine(parsed, pool_size=10, max_overflow=20, pool_pre_ping=True)
    path = sqlite_path(parsed)
    if path is not None:
        prepare_sqlite_file(path)  # 0600 in a 0700 directory, before SQLite creates it
    engine = create_async_engine(parsed, pool_size=8, max_overflow=8)
    event.listen(engine.sync_engine, "connect", _sqlite_connect)
    event.listen(engine.sync_engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Take transaction control away from the driver so that _sqlite_begin decides the BEGIN.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    write = connection.get_execution_options().get(WRITE_OPTION, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
