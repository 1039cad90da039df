"""Schema migrations (Alembic, configured in code: no alembic.ini is needed at run time).

``upgrade_engine`` brings a database to the newest revision and is safe when several worker
processes start at once: on PostgreSQL they queue on an advisory lock, on SQLite on a file lock
next to the database file. ``upgrade(url)`` is what ``passway migrate`` runs.

New revision (development): ``alembic -c /dev/null -x url=... revision`` is not wired; write the
file by hand in ``passway/migrations/versions`` using ``script.py.mako``, with ``down_revision``
set to the previous head.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from collections.abc import AsyncIterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from passway.store.engine import WRITE_OPTION, create_engine, sqlite_path

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
# Any constant the application owns; two processes asking for it queue behind each other.
_PG_MIGRATION_LOCK = 0x70617373_7761_0001


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


async def upgrade(url: str) -> None:
    """Migrate the database at ``url`` to the newest revision."""
    engine = create_engine(url)
    try:
        await upgrade_engine(engine)
    finally:
        await engine.dispose()


async def upgrade_engine(engine: AsyncEngine) -> None:
    writer = engine.execution_options(**{WRITE_OPTION: True})
    async with _migration_lock(engine), writer.begin() as conn:
        if engine.dialect.name == "postgresql":
            await conn.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK}
            )
        await conn.run_sync(_upgrade_to_head)


async def current_revision(engine: AsyncEngine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    def read(conn: Connection) -> str | None:
        return MigrationContext.configure(conn).get_current_revision()

    async with engine.connect() as conn:
        return await conn.run_sync(read)


def _upgrade_to_head(conn: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = conn
    command.upgrade(config, "head")


@contextlib.asynccontextmanager
async def _migration_lock(engine: AsyncEngine) -> AsyncIterator[None]:
    """On SQLite, an exclusive ``flock`` on ``<db>.lock`` held across the first connection (which
    switches the file to WAL) and the migration. Elsewhere, nothing: PostgreSQL locks in SQL."""
    path = sqlite_path(engine.url)
    if path is None:
        yield
        return
    fd = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        await asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
