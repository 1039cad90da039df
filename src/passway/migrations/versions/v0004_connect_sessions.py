"""Connect page: connect sessions (only a hash of each token is kept) and per-project connect
settings (allowed redirect URLs, logo).

Revision ID: 0004
Revises: 0001
Create Date: 2026-12-02 05:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "connect_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=128), nullable=False),
        sa.Column("integration_id", sa.String(length=64), nullable=True),
        sa.Column("group_ref", sa.String(length=256), nullable=False),
        sa.Column("group_name", sa.String(length=256), nullable=True),
        sa.Column("consumer_ref", sa.String(length=256), nullable=False),
        sa.Column("consumer_name", sa.String(length=256), nullable=True),
        sa.Column("redirect_url", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("connection_id", sa.String(length=64), nullable=True),
        sa.Column("installation_id", sa.String(length=64), nullable=True),
        sa.Column("oauth_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_connect_sessions_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connect_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_connect_sessions_token_hash")),
    )
    with op.batch_alter_table("connect_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_connect_sessions_expires_at"), ["expires_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_connect_sessions_project_id"), ["project_id"], unique=False
        )
    op.create_table(
        "connect_settings",
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("allowed_redirect_urls", sa.JSON(), nullable=False),
        sa.Column("logo_url", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_connect_settings_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("project_id", name=op.f("pk_connect_settings")),
    )


def downgrade() -> None:
    op.drop_table("connect_settings")
    with op.batch_alter_table("connect_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_connect_sessions_project_id"))
        batch_op.drop_index(batch_op.f("ix_connect_sessions_expires_at"))
    op.drop_table("connect_sessions")
