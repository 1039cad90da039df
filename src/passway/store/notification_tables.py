"""The notification tables (SQLAlchemy Core), on the same ``MetaData`` as the rest of the schema.

The webhook signing secret lives only in ``secret_enc``, sealed by the keyring and bound to its row.
"""

from __future__ import annotations

import sqlalchemy as sa

from passway.store.tables import UtcDateTime, metadata


def _project_fk() -> sa.Column[str]:
    return sa.Column(
        "project_id",
        sa.String(64),
        sa.ForeignKey("projects.id", ondelete="CASCADE"),
        nullable=False,
    )


def _destination_fk() -> sa.Column[str]:
    return sa.Column(
        "destination_id",
        sa.String(64),
        sa.ForeignKey("destinations.id", ondelete="CASCADE"),
        nullable=False,
    )


destinations = sa.Table(
    "destinations",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    _project_fk(),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("type", sa.String(32), nullable=False),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("headers", sa.JSON, nullable=False),
    sa.Column("secret_enc", sa.Text, nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("failing_since", UtcDateTime()),
    sa.Column("disabled_reason", sa.Text),
    sa.Column("create_time", UtcDateTime(), nullable=False),
    sa.Column("update_time", UtcDateTime(), nullable=False),
    sa.UniqueConstraint("project_id", "name"),
)

notification_routes = sa.Table(
    "notification_routes",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    _project_fk(),
    sa.Column("event_type", sa.String(64), nullable=False),
    _destination_fk(),
    sa.Column("create_time", UtcDateTime(), nullable=False),
    sa.UniqueConstraint("project_id", "event_type", "destination_id"),
    sa.Index(None, "destination_id"),
)

notification_events = sa.Table(
    "notification_events",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    _project_fk(),
    sa.Column("type", sa.String(64), nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("create_time", UtcDateTime(), nullable=False),
    sa.Index(None, "project_id", "create_time"),
)

notification_deliveries = sa.Table(
    "notification_deliveries",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column(
        "event_id",
        sa.String(64),
        sa.ForeignKey("notification_events.id", ondelete="CASCADE"),
        nullable=False,
    ),
    _project_fk(),
    _destination_fk(),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_time", UtcDateTime()),
    sa.Column("retry_from", UtcDateTime(), nullable=False),
    sa.Column("last_error", sa.Text),
    sa.Column("last_status_code", sa.Integer),
    sa.Column("delivered_time", UtcDateTime()),
    # The deliverer holding the delivery, until when (a conditional UPDATE takes it).
    sa.Column("lease_owner", sa.String(256)),
    sa.Column("lease_until", UtcDateTime()),
    sa.Column("create_time", UtcDateTime(), nullable=False),
    sa.Column("update_time", UtcDateTime(), nullable=False),
    sa.Index(None, "status", "next_attempt_time"),
    sa.Index(None, "event_id"),
    sa.Index(None, "destination_id"),
    sa.Index(None, "project_id", "create_time"),
)
