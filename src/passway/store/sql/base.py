"""The SQL store's foundation: engine, reads, write transactions, the change feed and the
reference checks every concern shares.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from passway.crypto import Keyring
from passway.errors import Conflict, NotFound
from passway.records import Change, Installation, ProviderApp
from passway.store.changes import Listeners
from passway.store.engine import WRITE_OPTION
from passway.store.notifications import NotificationEvent, OutboxSignal
from passway.store.sql.notifications import SqlNotificationStore
from passway.store.sql.outbox import write_outbox
from passway.store.tables import (
    changes,
    projects,
    provider_apps,
)

CHANGE_RETENTION = timedelta(hours=1)


_PRUNE_EVERY = 256


_PG_CHANGE_LOCK = 0x70617373_7761_0002


@dataclass(slots=True)
class Tx:
    """An open write transaction and the changes it will append at its end."""

    conn: AsyncConnection
    pending: list[tuple[str, str, str]] = field(default_factory=list)
    # Notification events written to the outbox at the end, in this transaction.
    events: list[NotificationEvent] = field(default_factory=list)

    def changed(self, project_id: str, kind: str, entity_id: str) -> None:
        self.pending.append((project_id, kind, entity_id))

    def emit(self, events: Sequence[NotificationEvent]) -> None:
        self.events.extend(events)

    async def one(self, stmt: sa.Executable) -> RowMapping | None:
        return (await self.conn.execute(stmt)).mappings().first()

    async def all(self, stmt: sa.Executable) -> Sequence[RowMapping]:
        return (await self.conn.execute(stmt)).mappings().all()

    async def rowcount(self, stmt: sa.Executable) -> int:
        result: Any = await self.conn.execute(stmt)
        return int(result.rowcount)

    async def require_project(self, project_id: str) -> None:
        found = await self.one(sa.select(projects.c.id).where(projects.c.id == project_id))
        if found is None:
            raise NotFound("project not found")


async def _prune_changes(tx: Tx, cutoff: datetime) -> int:
    """Keeps the newest row so that ``latest_change_seq`` never moves backwards."""
    newest = sa.select(sa.func.max(changes.c.seq)).scalar_subquery()
    return await tx.rowcount(
        changes.delete().where(changes.c.time < cutoff, changes.c.seq < newest)
    )


_R = TypeVar("_R", Installation, ProviderApp)


def with_create_time(record: _R, create_time: datetime) -> _R:
    """The record as stored: its create time is the stored one (an update never changes it)."""
    return dataclasses.replace(record, create_time=create_time)


class SqlBase:
    """Engine, reads, write transactions and the change feed (``ChangeFeed``)."""

    def __init__(self, engine: AsyncEngine, keyring: Keyring) -> None:
        self._engine = engine
        self._keyring = keyring
        self._writer = engine.execution_options(**{WRITE_OPTION: True})
        self._listeners = Listeners()
        self._postgres = engine.dialect.name == "postgresql"
        self._appends = 0
        self._outbox_signal = OutboxSignal()
        # The notification outbox, deliveries and destinations (written by ``Tx.emit`` too).
        self.notifications = SqlNotificationStore(engine, keyring, self._outbox_signal)

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    async def close(self) -> None:
        await self._engine.dispose()

    async def _one(self, stmt: sa.Executable) -> RowMapping | None:
        async with self._engine.connect() as conn:
            return (await conn.execute(stmt)).mappings().first()

    async def _all(self, stmt: sa.Executable) -> Sequence[RowMapping]:
        async with self._engine.connect() as conn:
            return (await conn.execute(stmt)).mappings().all()

    @contextlib.asynccontextmanager
    async def _write(self, conflict: str = "a conflicting record exists") -> AsyncIterator[Tx]:
        """One write transaction; ``conflict`` is the detail of the Conflict a constraint raises."""
        try:
            async with self._writer.begin() as conn:
                tx = Tx(conn)
                yield tx
                await write_outbox(conn, tx.events)
                committed = await self._append_changes(tx)
        except IntegrityError:
            raise Conflict(conflict) from None
        self._listeners.notify(committed)
        if tx.events:
            self._outbox_signal.notify()

    async def _append_changes(self, tx: Tx) -> list[Change]:
        if not tx.pending:
            return []
        if self._postgres:
            await tx.conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_CHANGE_LOCK)))
        now = datetime.now(UTC)
        out = []
        for project_id, kind, entity_id in tx.pending:
            stmt = (
                changes.insert()
                .values(project_id=project_id, kind=kind, entity_id=entity_id, time=now)
                .returning(changes.c.seq)
            )
            seq = (await tx.conn.execute(stmt)).scalar_one()
            out.append(Change(int(seq), project_id, kind, entity_id))
        self._appends += 1
        if self._appends % _PRUNE_EVERY == 0:
            await _prune_changes(tx, now - CHANGE_RETENTION)
        return out

    async def prune_changes(self, older_than: datetime) -> int:
        """Drop change rows written before ``older_than`` (done by itself every few hundred
        writes, keeping the last hour); the newest row always stays. Returns rows dropped."""
        async with self._write() as tx:
            return await _prune_changes(tx, older_than)

    def subscribe(self, listener: Callable[[Change], None]) -> None:
        self._listeners.add(listener)

    async def latest_change_seq(self) -> int:
        row = await self._one(sa.select(sa.func.coalesce(sa.func.max(changes.c.seq), 0).label("s")))
        return int(row["s"]) if row is not None else 0

    async def changes_since(self, seq: int, limit: int = 1000) -> list[Change]:
        rows = await self._all(
            sa.select(changes.c.seq, changes.c.project_id, changes.c.kind, changes.c.entity_id)
            .where(changes.c.seq > seq)
            .order_by(changes.c.seq)
            .limit(limit)
        )
        return [Change(int(r["seq"]), r["project_id"], r["kind"], r["entity_id"]) for r in rows]

    async def _require_app(self, tx: Tx, project_id: str, app_id: str | None) -> None:
        if app_id is None:
            return
        found = await tx.one(
            sa.select(provider_apps.c.id).where(
                provider_apps.c.id == app_id, provider_apps.c.project_id == project_id
            )
        )
        if found is None:
            raise NotFound("provider app not found")
