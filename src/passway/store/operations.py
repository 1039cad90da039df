"""Where operations are kept: ``OperationStore`` (a small protocol), ``SqlOperationStore`` (the
``operations`` and ``operation_installation_status`` tables, on the server's engine) and
``MemoryOperationStore`` (the in-memory twin, for tests and ``memory://``).

Only the background writer (``passway.operations.recorder``) writes, in batches (one
``executemany`` per batch); the API and CLI read. Every read is scoped by project.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncEngine

from passway.observability.request_ids import first_id_at
from passway.operations.record import InstallationStatus, OperationRecord, result_of
from passway.store.engine import SQLITE_BUSY_TIMEOUT_MS, WRITE_OPTION, sqlite_path
from passway.store.tables import UtcDateTime, metadata, projects

operations = sa.Table(
    "operations",
    metadata,
    # Unique by construction (``new_request_id``); not a key of its own: every read names the
    # project, so one index serves them all, and each index costs every insert.
    sa.Column("id", sa.String(32), nullable=False),
    sa.Column("project_id", sa.String(64), nullable=False),
    sa.Column("integration_id", sa.String(64)),
    sa.Column("installation_id", sa.String(64)),
    sa.Column("connection_id", sa.String(64)),
    sa.Column("group_ref", sa.String(256)),
    sa.Column("provider", sa.String(128)),
    sa.Column("method", sa.String(16), nullable=False),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("result", sa.String(16), nullable=False),
    sa.Column("error_code", sa.String(64)),
    sa.Column("upstream_status", sa.Integer),
    sa.Column("duration_ms", sa.Float, nullable=False),
    sa.Column("upstream_duration_ms", sa.Float),
    sa.Column("request_bytes", sa.BigInteger, nullable=False),
    sa.Column("response_bytes", sa.BigInteger, nullable=False),
    sa.Column("token_refreshed", sa.Boolean, nullable=False),
    sa.Column("replayed", sa.Boolean, nullable=False),
    # Milliseconds since the epoch (UTC): an integer costs nothing to write, unlike a timestamp.
    sa.Column("create_time_ms", sa.BigInteger, nullable=False),
    # The call's own log lines, as a JSON array (null when it wrote none).
    sa.Column("logs", sa.Text),
    # The one index. Ids start with their time, so time ranges (since/until, pruning) are id
    # ranges on it; other filters (installation, provider, ...) are checked while walking a
    # project's operations newest first. One index: an insert costs a third of what three did.
    sa.Index(None, "project_id", "id"),
)

operation_installation_status = sa.Table(
    "operation_installation_status",
    metadata,
    sa.Column("installation_id", sa.String(64), primary_key=True),
    sa.Column("project_id", sa.String(64), nullable=False),
    sa.Column("last_operation_id", sa.String(32), nullable=False),
    sa.Column("last_operation_status", sa.String(16), nullable=False),
    sa.Column("health_status", sa.String(16), nullable=False),
    sa.Column("update_time", UtcDateTime, nullable=False),
)


@dataclass(frozen=True, slots=True)
class OperationFilter:
    """What ``list_operations`` narrows to (every field optional)."""

    integration_id: str | None = None
    installation_id: str | None = None
    group_ref: str | None = None
    provider: str | None = None
    result: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def matches(self, record: OperationRecord) -> bool:
        created = record.created
        return (
            (self.integration_id is None or record.integration_id == self.integration_id)
            and (self.installation_id is None or record.installation_id == self.installation_id)
            and (self.group_ref is None or record.group_ref == self.group_ref)
            and (self.provider is None or record.provider == self.provider)
            and (self.result is None or record.result == self.result)
            and (self.since is None or created >= self.since)
            and (self.until is None or created < self.until)
        )


class OperationStore(Protocol):
    async def insert_operations(self, records: Sequence[OperationRecord]) -> None: ...

    async def list_operations(
        self, project_id: str, where: OperationFilter, *, limit: int, before_id: str | None
    ) -> list[OperationRecord]:
        """Newest first (by id, which starts with the time), ids below ``before_id`` only."""
        ...

    async def get_operation(self, project_id: str, operation_id: str) -> OperationRecord | None: ...

    async def prune_operations(self, older_than: datetime) -> int: ...

    async def save_installation_statuses(self, statuses: Iterable[InstallationStatus]) -> None: ...

    async def installation_statuses(
        self, project_id: str, installation_ids: Sequence[str]
    ) -> dict[str, InstallationStatus]: ...

    async def close(self) -> None: ...


# Inserted through the driver's own executemany, with tuples (the SQLAlchemy statement path costs
# about three times as much CPU per row, and recording must stay cheap next to the calls).
_COLUMNS = tuple(c.name for c in operations.columns)


def _id_at(when: datetime) -> str:
    """The smallest id made at ``when`` (ids start with their millisecond)."""
    return first_id_at(when.timestamp())


def _row(r: OperationRecord) -> tuple[Any, ...]:
    """An operation as the insert's parameters, in ``_COLUMNS`` order."""
    return (
        *r[:9],
        r.status,
        result_of(r.status, r.error_code),
        r.error_code,
        r.upstream_status,
        r.duration_ms,
        r.upstream_duration_ms,
        r.request_bytes,
        r.response_bytes,
        r.token_refreshed,
        r.replayed,
        int(r.create_time * 1000),
        json.dumps(r.logs, separators=(",", ":")) if r.logs else None,
    )


def _record(row: RowMapping) -> OperationRecord:
    return OperationRecord(
        id=row["id"],
        project_id=row["project_id"],
        integration_id=row["integration_id"],
        installation_id=row["installation_id"],
        connection_id=row["connection_id"],
        group_ref=row["group_ref"],
        provider=row["provider"],
        method=row["method"],
        path=row["path"],
        status=row["status"],
        error_code=row["error_code"],
        upstream_status=row["upstream_status"],
        duration_ms=row["duration_ms"],
        upstream_duration_ms=row["upstream_duration_ms"],
        request_bytes=row["request_bytes"],
        response_bytes=row["response_bytes"],
        token_refreshed=bool(row["token_refreshed"]),
        replayed=bool(row["replayed"]),
        create_time=row["create_time_ms"] / 1000,
        logs=json.loads(row["logs"]) if row["logs"] else None,
    )


# The distinct project ids of the operations table, one index probe each (a loose index scan:
# neither SQLite nor PostgreSQL skips through an index for DISTINCT by itself).
_PROJECTS_WITH_OPERATIONS = sa.text(
    "WITH RECURSIVE p(id) AS ("
    " SELECT MIN(project_id) FROM operations"
    " UNION ALL"
    " SELECT (SELECT MIN(project_id) FROM operations WHERE project_id > p.id)"
    " FROM p WHERE p.id IS NOT NULL"
    ") SELECT id FROM p"
)


def _same(value: None) -> None:
    return value


class _SqliteBatches:
    """Inserts on a SQLite file through the standard library's ``sqlite3``, from one thread of
    its own: the async driver's hand-offs between threads cost more CPU than the rows do."""

    def __init__(self, path: str) -> None:
        # ``sqlite3`` binds int, float, str and bytearray parameters as they are; any other value
        # (None, a bool) first goes through its adapter lookup, which, finding none, raises and
        # clears two AttributeErrors: some 3,000 instructions per such parameter, a fifth of a
        # row's insert (``bench/instructions.py``). With these adapters the lookup finds one at
        # once, and what is stored is unchanged (NULL; 1 or 0, as sqlite3 binds a bool anyway).
        # Adapters are the process's: any other ``sqlite3`` connection binds the same with them.
        sqlite3.register_adapter(type(None), _same)
        sqlite3.register_adapter(bool, int)
        self._path = path
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="passway-operations")
        self._connection: sqlite3.Connection | None = None

    def _insert(self, sql: str, rows: Iterable[tuple[Any, ...]]) -> None:
        conn = self._connection
        if conn is None:
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA synchronous = NORMAL")
            self._connection = conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany(sql, rows)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    async def insert(self, sql: str, rows: Iterable[tuple[Any, ...]]) -> None:
        await asyncio.get_running_loop().run_in_executor(self._executor, self._insert, sql, rows)

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._executor, self._close)
        self._executor.shutdown(wait=False)


class SqlOperationStore:
    """``OperationStore`` on the server's SQLAlchemy engine (SQLite or PostgreSQL)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        path = sqlite_path(engine.url)
        self._sqlite = _SqliteBatches(str(path)) if path is not None else None
        self._writer = engine.execution_options(**{WRITE_OPTION: True})
        self._postgres = engine.dialect.name == "postgresql"
        style = engine.dialect.paramstyle
        marks = [
            f"${n}" if style == "numeric_dollar" else "?" if style == "qmark" else "%s"
            for n in range(1, len(_COLUMNS) + 1)
        ]
        # Only the table's own column names and placeholders: no value is ever in the text.
        self._insert_sql = (
            f"INSERT INTO operations ({', '.join(_COLUMNS)}) VALUES ({', '.join(marks)})"  # noqa: S608
        )

    async def insert_operations(self, records: Sequence[OperationRecord]) -> None:
        if not records:
            return
        if self._sqlite is not None:
            # The rows are made as the insert takes them, in the writer's thread.
            await self._sqlite.insert(self._insert_sql, map(_row, records))
            return
        rows = [_row(r) for r in records]
        async with self._writer.begin() as conn:
            await conn.exec_driver_sql(self._insert_sql, rows)

    async def close(self) -> None:
        if self._sqlite is not None:
            await self._sqlite.close()

    async def list_operations(
        self, project_id: str, where: OperationFilter, *, limit: int, before_id: str | None
    ) -> list[OperationRecord]:
        c = operations.c
        conditions = [c.project_id == project_id]
        for column, value in (
            (c.integration_id, where.integration_id),
            (c.installation_id, where.installation_id),
            (c.group_ref, where.group_ref),
            (c.provider, where.provider),
            (c.result, where.result),
        ):
            if value is not None:
                conditions.append(column == value)
        if where.since is not None:
            conditions.append(c.id >= _id_at(where.since))
        if where.until is not None:
            conditions.append(c.id < _id_at(where.until))
        if before_id is not None:
            conditions.append(c.id < before_id)
        stmt = sa.select(operations).where(*conditions).order_by(c.id.desc()).limit(limit)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [_record(r) for r in rows]

    async def get_operation(self, project_id: str, operation_id: str) -> OperationRecord | None:
        stmt = sa.select(operations).where(
            operations.c.project_id == project_id, operations.c.id == operation_id
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(stmt)).mappings().first()
        return None if row is None else _record(row)

    async def prune_operations(self, older_than: datetime) -> int:
        """Per project (a range of the index each): operations older than ``older_than``, and
        every operation of a project that no longer exists."""
        cutoff = _id_at(older_than)
        removed = 0
        async with self._writer.begin() as conn:
            found = await conn.execute(_PROJECTS_WITH_OPERATIONS)
            present = [row[0] for row in found if row[0] is not None]
            known = set(
                (
                    await conn.execute(sa.select(projects.c.id).where(projects.c.id.in_(present)))
                ).scalars()
            )
            for project_id in present:
                where = [operations.c.project_id == project_id]
                if project_id in known:
                    where.append(operations.c.id < cutoff)
                result: Any = await conn.execute(operations.delete().where(*where))
                removed += int(result.rowcount)
        return removed

    async def save_installation_statuses(self, statuses: Iterable[InstallationStatus]) -> None:
        rows = [
            {
                "installation_id": s.installation_id,
                "project_id": s.project_id,
                "last_operation_id": s.last_operation_id,
                "last_operation_status": s.last_operation_status,
                "health_status": s.health_status,
                "update_time": s.update_time,
            }
            for s in statuses
        ]
        if not rows:
            return
        insert: Any
        if self._postgres:
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        stmt = insert(operation_installation_status)
        excluded = stmt.excluded
        # A later operation wins; an earlier one (another worker's late batch) leaves it alone.
        stmt = stmt.on_conflict_do_update(
            index_elements=["installation_id"],
            set_={
                name: excluded[name]
                for name in (
                    "last_operation_id",
                    "last_operation_status",
                    "health_status",
                    "update_time",
                )
            },
            where=operation_installation_status.c.last_operation_id < excluded.last_operation_id,
        )
        async with self._writer.begin() as conn:
            await conn.execute(stmt, rows)

    async def installation_statuses(
        self, project_id: str, installation_ids: Sequence[str]
    ) -> dict[str, InstallationStatus]:
        if not installation_ids:
            return {}
        t = operation_installation_status
        stmt = sa.select(t).where(
            t.c.project_id == project_id, t.c.installation_id.in_(list(installation_ids))
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return {r["installation_id"]: InstallationStatus(**dict(r)) for r in rows}


class MemoryOperationStore:
    """The in-memory twin (tests, ``memory://``)."""

    def __init__(self) -> None:
        self._operations: dict[str, OperationRecord] = {}
        self._statuses: dict[str, InstallationStatus] = {}

    async def close(self) -> None:
        return None

    async def insert_operations(self, records: Sequence[OperationRecord]) -> None:
        for record in records:
            self._operations[record.id] = record

    async def list_operations(
        self, project_id: str, where: OperationFilter, *, limit: int, before_id: str | None
    ) -> list[OperationRecord]:
        found = [
            r
            for r in self._operations.values()
            if r.project_id == project_id
            and (before_id is None or r.id < before_id)
            and where.matches(r)
        ]
        found.sort(key=lambda r: r.id, reverse=True)
        return found[:limit]

    async def get_operation(self, project_id: str, operation_id: str) -> OperationRecord | None:
        found = self._operations.get(operation_id)
        return found if found is not None and found.project_id == project_id else None

    async def prune_operations(self, older_than: datetime) -> int:
        cutoff = _id_at(older_than)
        old = [k for k, r in self._operations.items() if r.id < cutoff]
        for key in old:
            del self._operations[key]
        return len(old)

    async def save_installation_statuses(self, statuses: Iterable[InstallationStatus]) -> None:
        for status in statuses:
            known = self._statuses.get(status.installation_id)
            if known is None or known.last_operation_id < status.last_operation_id:
                self._statuses[status.installation_id] = status

    async def installation_statuses(
        self, project_id: str, installation_ids: Sequence[str]
    ) -> dict[str, InstallationStatus]:
        return {
            i: s
            for i in installation_ids
            if (s := self._statuses.get(i)) is not None and s.project_id == project_id
        }
