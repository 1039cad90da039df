"""Connect sessions and a project's connect settings: a small protocol, its SQL implementation and
its in-memory twin.

A connect session is what the hosted connect page works from: created by a team's backend, opened
by its end customer. Only a SHA-256 hash of the session's token is kept (``token_hash``), never the
token. A session moves ``open`` -> ``busy`` (one browser request is storing its connection) ->
``done``; ``claim_session`` and ``finish_session`` are single conditional statements, so a session
is used once even when two requests race, across worker processes too.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncEngine

from passway.store.engine import WRITE_OPTION
from passway.store.tables import UtcDateTime, metadata

SessionStatus = Literal["open", "busy", "done"]
# Sessions are dropped this long after they expire (done or not).
KEEP_EXPIRED = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class ConnectSession:
    id: str
    project_id: str
    token_hash: str
    provider: str
    integration_id: str | None
    group_ref: str
    group_name: str | None
    consumer_ref: str
    consumer_name: str | None
    redirect_url: str | None
    status: SessionStatus
    connection_id: str | None
    installation_id: str | None
    # When the page last sent the customer to the OAuth provider (a connection written after it
    # for this session's group, consumer and provider is the flow's result).
    oauth_started_at: datetime | None
    expires_at: datetime
    create_time: datetime
    update_time: datetime


@dataclass(frozen=True, slots=True)
class ConnectSettings:
    """A project's settings for its connect page."""

    project_id: str
    allowed_redirect_urls: tuple[str, ...] = ()
    logo_url: str | None = None


class ConnectSessionStore(Protocol):
    async def create_session(self, session: ConnectSession) -> None: ...

    async def find_session(self, token_hash: str) -> ConnectSession | None: ...

    async def get_session(self, session_id: str) -> ConnectSession | None: ...

    async def mark_oauth_started(self, session_id: str, now: datetime) -> None: ...

    async def claim_session(self, session_id: str, now: datetime) -> bool:
        """``open`` and unexpired -> ``busy``; False when it was not (used, busy or expired)."""
        ...

    async def release_session(self, session_id: str, now: datetime) -> None:
        """``busy`` -> ``open``: storing the connection failed, the customer may try again."""
        ...

    async def finish_session(
        self, session_id: str, connection_id: str, installation_id: str | None, now: datetime
    ) -> None:
        """``busy`` -> ``done``, with what was stored."""
        ...

    async def get_settings(self, project_id: str) -> ConnectSettings: ...

    async def put_settings(self, settings: ConnectSettings) -> ConnectSettings: ...


connect_sessions = sa.Table(
    "connect_sessions",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column(
        "project_id",
        sa.String(64),
        sa.ForeignKey("projects.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("provider", sa.String(128), nullable=False),
    sa.Column("integration_id", sa.String(64)),
    sa.Column("group_ref", sa.String(256), nullable=False),
    sa.Column("group_name", sa.String(256)),
    sa.Column("consumer_ref", sa.String(256), nullable=False),
    sa.Column("consumer_name", sa.String(256)),
    sa.Column("redirect_url", sa.Text),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("connection_id", sa.String(64)),
    sa.Column("installation_id", sa.String(64)),
    sa.Column("oauth_started_at", UtcDateTime()),
    sa.Column("expires_at", UtcDateTime(), nullable=False, index=True),
    sa.Column("create_time", UtcDateTime(), nullable=False),
    sa.Column("update_time", UtcDateTime(), nullable=False),
)

connect_settings = sa.Table(
    "connect_settings",
    metadata,
    sa.Column(
        "project_id",
        sa.String(64),
        sa.ForeignKey("projects.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("allowed_redirect_urls", sa.JSON, nullable=False),
    sa.Column("logo_url", sa.Text),
)

_SESSION_FIELDS = [f.name for f in dataclasses.fields(ConnectSession)]


def _session(row: RowMapping) -> ConnectSession:
    return ConnectSession(**{name: row[name] for name in _SESSION_FIELDS})


class SqlConnectSessions:
    """``ConnectSessionStore`` over the server's SQL engine (SQLite or PostgreSQL)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._writer = engine.execution_options(**{WRITE_OPTION: True})

    async def _one(self, stmt: sa.Executable) -> RowMapping | None:
        async with self._engine.connect() as conn:
            return (await conn.execute(stmt)).mappings().first()

    async def _rowcount(self, stmt: sa.Executable) -> int:
        async with self._writer.begin() as conn:
            result: Any = await conn.execute(stmt)
            return int(result.rowcount)

    async def create_session(self, session: ConnectSession) -> None:
        async with self._writer.begin() as conn:
            await conn.execute(
                connect_sessions.delete().where(
                    connect_sessions.c.expires_at < session.create_time - KEEP_EXPIRED
                )
            )
            await conn.execute(connect_sessions.insert().values(dataclasses.asdict(session)))

    async def find_session(self, token_hash: str) -> ConnectSession | None:
        row = await self._one(
            connect_sessions.select().where(connect_sessions.c.token_hash == token_hash)
        )
        return None if row is None else _session(row)

    async def get_session(self, session_id: str) -> ConnectSession | None:
        row = await self._one(connect_sessions.select().where(connect_sessions.c.id == session_id))
        return None if row is None else _session(row)

    async def mark_oauth_started(self, session_id: str, now: datetime) -> None:
        await self._rowcount(
            connect_sessions.update()
            .where(connect_sessions.c.id == session_id)
            .values(oauth_started_at=now, update_time=now)
        )

    async def claim_session(self, session_id: str, now: datetime) -> bool:
        claimed = await self._rowcount(
            connect_sessions.update()
            .where(
                connect_sessions.c.id == session_id,
                connect_sessions.c.status == "open",
                connect_sessions.c.expires_at > now,
            )
            .values(status="busy", update_time=now)
        )
        return claimed == 1

    async def release_session(self, session_id: str, now: datetime) -> None:
        await self._rowcount(
            connect_sessions.update()
            .where(connect_sessions.c.id == session_id, connect_sessions.c.status == "busy")
            .values(status="open", update_time=now)
        )

    async def finish_session(
        self, session_id: str, connection_id: str, installation_id: str | None, now: datetime
    ) -> None:
        await self._rowcount(
            connect_sessions.update()
            .where(connect_sessions.c.id == session_id, connect_sessions.c.status == "busy")
            .values(
                status="done",
                connection_id=connection_id,
                installation_id=installation_id,
                update_time=now,
            )
        )

    async def get_settings(self, project_id: str) -> ConnectSettings:
        row = await self._one(
            connect_settings.select().where(connect_settings.c.project_id == project_id)
        )
        if row is None:
            return ConnectSettings(project_id)
        return ConnectSettings(project_id, tuple(row["allowed_redirect_urls"]), row["logo_url"])

    async def put_settings(self, settings: ConnectSettings) -> ConnectSettings:
        values = {
            "allowed_redirect_urls": list(settings.allowed_redirect_urls),
            "logo_url": settings.logo_url,
        }
        async with self._writer.begin() as conn:
            updated: Any = await conn.execute(
                connect_settings.update()
                .where(connect_settings.c.project_id == settings.project_id)
                .values(values)
            )
            if updated.rowcount == 0:
                await conn.execute(
                    connect_settings.insert().values(project_id=settings.project_id, **values)
                )
        return settings


class MemoryConnectSessions:
    """The in-memory twin (one event loop: each method is atomic, having no ``await``)."""

    def __init__(self) -> None:
        self._sessions: dict[str, ConnectSession] = {}
        self._settings: dict[str, ConnectSettings] = {}

    async def create_session(self, session: ConnectSession) -> None:
        cutoff = session.create_time - KEEP_EXPIRED
        for stale in [s.id for s in self._sessions.values() if s.expires_at < cutoff]:
            del self._sessions[stale]
        self._sessions[session.id] = session

    async def find_session(self, token_hash: str) -> ConnectSession | None:
        found: Sequence[ConnectSession] = [
            s for s in self._sessions.values() if s.token_hash == token_hash
        ]
        return found[0] if found else None

    async def get_session(self, session_id: str) -> ConnectSession | None:
        return self._sessions.get(session_id)

    def _change(self, session_id: str, **values: object) -> None:
        session = self._sessions.get(session_id)
        if session is not None:
            self._sessions[session_id] = dataclasses.replace(session, **values)  # type: ignore[arg-type]

    async def mark_oauth_started(self, session_id: str, now: datetime) -> None:
        self._change(session_id, oauth_started_at=now, update_time=now)

    async def claim_session(self, session_id: str, now: datetime) -> bool:
        session = self._sessions.get(session_id)
        if session is None or session.status != "open" or session.expires_at <= now:
            return False
        self._change(session_id, status="busy", update_time=now)
        return True

    async def release_session(self, session_id: str, now: datetime) -> None:
        session = self._sessions.get(session_id)
        if session is not None and session.status == "busy":
            self._change(session_id, status="open", update_time=now)

    async def finish_session(
        self, session_id: str, connection_id: str, installation_id: str | None, now: datetime
    ) -> None:
        session = self._sessions.get(session_id)
        if session is not None and session.status == "busy":
            self._change(
                session_id,
                status="done",
                connection_id=connection_id,
                installation_id=installation_id,
                update_time=now,
            )

    async def get_settings(self, project_id: str) -> ConnectSettings:
        return self._settings.get(project_id, ConnectSettings(project_id))

    async def put_settings(self, settings: ConnectSettings) -> ConnectSettings:
        self._settings[settings.project_id] = settings
        return settings
