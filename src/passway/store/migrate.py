"""Schema migrations (Alembic, configured in code: no alembic.ini is needed at run time).

``upgrade_engine`` brings a database to the newest revision and is safe when several worker
processes start at once: on PostgreSQL they queue on an advisory lock, on SQLite on a file lock
next to the database file. ``upgrade(url)`` is what ``passway migrate`` runs.

A database already at ``HEAD`` is recognised with one query, without importing Alembic, so worker
start-up stays quick. Adding a revision: write ``passway/migrations/versions/v<NNNN>_<slug>.py``
(``alembic.command.revision`` with ``alembic_config()`` and a connection in
``config.attributes["connection"]`` can autogenerate it from ``passway.store.tables``), then move
``HEAD`` to its id; ``tests/contract/test_sql_store.py`` checks that ``HEAD`` is Alembic's head.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from passway.store.engine import WRITE_OPTION, create_engine, sqlite_path

if TYPE_CHECKING:
    from alembic.config import Config

HEAD = "0002"
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
# Any constant the application owns; two processes asking for it queue behind each other.
_PG_MIGRATION_LOCK = 0x70617373_7761_0001


def alembic_config() -> Config:
    from alembic.config import Config

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
    async with _migration_lock(engine):
        if await current_revision(engine) == HEAD:
            return
        async with writer.begin() as conn:
            if engine.dialect.name == "postgresql":
                await conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_MIGRATION_LOCK)))
            await conn.run_sync(_upgrade_to_head)


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at, or None for a database never migrated."""
    version = sa.table("alembic_version", sa.column("version_num"))
    async with engine.connect() as conn:
        try:
            rows = (await conn.execute(sa.select(version.c.version_num))).scalars().all()
        except DBAPIError:
            return None
    return rows[0] if len(rows) == 1 else None


def _upgrade_to_head(conn: Connection) -> None:
    from alembic import command

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
