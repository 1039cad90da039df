"""The SQL schema (SQLAlchemy Core), shared by ``SqlStore`` and the Alembic migrations.

Secret values live only in the ``*_enc`` columns, sealed by ``passway.crypto.Keyring``. Times are
stored as UTC; ``UtcDateTime`` hands back timezone-aware values on SQLite too.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from passway.records import MetadataValue

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UtcDateTime(sa.types.TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on every backend.

    SQLite keeps naive fixed-width text, so UTC values compare correctly as strings (lease expiry,
    state expiry); PostgreSQL keeps ``timestamptz``.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass a UTC-aware one")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class JsonTuple(sa.types.TypeDecorator[tuple[str, ...]]):
    """A tuple of strings (scopes), kept as a JSON list."""

    impl = sa.JSON
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return None if value is None else list(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> tuple[str, ...] | None:
        return None if value is None else tuple(value)


class MetadataJson(sa.types.TypeDecorator[dict[str, MetadataValue]]):
    """A connection's provider metadata: each value with where it came from, as JSON."""

    impl = sa.JSON
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        return {k: {"value": v.value, "source": v.source} for k, v in value.items()}

    def process_result_value(self, value: Any, dialect: Dialect) -> dict[str, MetadataValue] | None:
        if value is None:
            return None
        return {k: MetadataValue(v["value"], v.get("source", "input")) for k, v in value.items()}


def _id(name: str = "id", **kw: Any) -> sa.Column[str]:
    return sa.Column(name, sa.String(64), **kw)


def _project_fk() -> sa.Column[str]:
    return sa.Column(
        "project_id",
        sa.String(64),
        sa.ForeignKey("projects.id", ondelete="CASCADE"),
        nullable=False,
    )


def _times() -> tuple[sa.Column[datetime], sa.Column[datetime]]:
    return (
        sa.Column("create_time", UtcDateTime(), nullable=False),
        sa.Column("update_time", UtcDateTime(), nullable=False),
    )


projects = sa.Table(
    "projects",
    metadata,
    _id(primary_key=True),
    sa.Column("name", sa.String(128), nullable=False, unique=True),
    sa.Column("app_name", sa.String(256)),
    *_times(),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    _id(primary_key=True),
    _project_fk(),
    sa.Column("prefix", sa.String(64), nullable=False, index=True),
    sa.Column("key_hash", sa.String(128), nullable=False),
    sa.Column("label", sa.String(256), nullable=False),
    sa.Column("scopes", JsonTuple, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    *_times(),
    sa.Index(None, "project_id"),
)

integrations = sa.Table(
    "integrations",
    metadata,
    _id(primary_key=True),
    _project_fk(),
    sa.Column("name", sa.String(256), nullable=False),
    sa.Column("display_name", sa.String(256)),
    sa.Column("provider", sa.String(128), nullable=False),
    sa.Column("module", sa.String(256)),
    sa.Column("proxy_enabled", sa.Boolean, nullable=False),
    sa.Column("use_module", sa.Boolean, nullable=False),
    sa.Column("spec", sa.JSON, nullable=False),
    *_times(),
    sa.UniqueConstraint("project_id", "name"),
)

provider_apps = sa.Table(
    "provider_apps",
    metadata,
    _id(primary_key=True),
    _project_fk(),
    sa.Column("provider", sa.String(128), nullable=False),
    sa.Column("client_id", sa.String(1024), nullable=False),
    sa.Column("client_secret_enc", sa.Text, nullable=False),
    sa.Column("scopes", JsonTuple, nullable=False),
    sa.Column("external_ref", sa.String(256)),
    *_times(),
    sa.Index(None, "project_id"),
)

connections = sa.Table(
    "connections",
    metadata,
    _id(primary_key=True),
    _project_fk(),
    sa.Column("provider", sa.String(128), nullable=False),
    sa.Column("group_ref", sa.String(256), nullable=False),
    sa.Column("group_name", sa.String(256)),
    sa.Column("consumer_ref", sa.String(256), nullable=False),
    sa.Column("consumer_name", sa.String(256)),
    sa.Column("provider_workspace_ref", sa.String(1024)),
    sa.Column("provider_consumer_ref", sa.String(1024)),
    sa.Column("provider_metadata", MetadataJson, nullable=False),
    sa.Column("auth_scheme", sa.String(64), nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("credentials_enc", sa.Text, nullable=False),
    sa.Column(
        "provider_app_id", sa.String(64), sa.ForeignKey("provider_apps.id", ondelete="RESTRICT")
    ),
    sa.Column("version", sa.Integer, nullable=False),
    *_times(),
    # One refresher per connection across processes: see SqlStore.acquire_refresh_lease.
    sa.Column("refresh_owner", sa.String(256)),
    sa.Column("refresh_lease_until", UtcDateTime()),
    sa.Index(None, "project_id", "provider", "group_ref"),
    sa.Index(None, "project_id", "group_ref"),
    sa.Index(None, "provider_app_id"),
)

installations = sa.Table(
    "installations",
    metadata,
    _id(primary_key=True),
    _project_fk(),
    sa.Column(
        "integration_id",
        sa.String(64),
        sa.ForeignKey("integrations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("group_ref", sa.String(256), nullable=False),
    sa.Column("group_name", sa.String(256)),
    sa.Column(
        "connection_id",
        sa.String(64),
        sa.ForeignKey("connections.id", ondelete="RESTRICT"),
        nullable=False,
    ),
    sa.Column("health_status", sa.String(64), nullable=False),
    sa.Column("config", sa.JSON, nullable=False),
    *_times(),
    sa.UniqueConstraint("integration_id", "group_ref"),
    sa.Index(None, "project_id"),
    sa.Index(None, "connection_id"),
)

oauth_states = sa.Table(
    "oauth_states",
    metadata,
    _id(primary_key=True),
    _project_fk(),
    sa.Column("provider", sa.String(128), nullable=False),
    sa.Column("group_ref", sa.String(256), nullable=False),
    sa.Column("group_name", sa.String(256)),
    sa.Column("consumer_ref", sa.String(256), nullable=False),
    sa.Column("consumer_name", sa.String(256)),
    sa.Column("provider_workspace_ref", sa.String(1024)),
    sa.Column("provider_metadata", sa.JSON, nullable=False),
    sa.Column("provider_app_id", sa.String(64)),
    sa.Column("code_verifier_enc", sa.Text),
    sa.Column("redirect_uri", sa.Text, nullable=False),
    sa.Column("redirect_after", sa.Text),
    sa.Column("connection_id", sa.String(64)),
    sa.Column("expires_at", UtcDateTime(), nullable=False, index=True),
    sa.Column("create_time", UtcDateTime(), nullable=False),
)

changes = sa.Table(
    "changes",
    metadata,
    sa.Column(
        "seq",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column("project_id", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("entity_id", sa.String(64), nullable=False),
    sa.Column("time", UtcDateTime(), nullable=False, index=True),
    # Never reuse a sequence number, even after pruning: pollers remember the last one they saw.
    sqlite_autoincrement=True,
)
