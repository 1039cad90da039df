"""Operations: one row per proxy call, and each installation's latest operation status.

Revision ID: 0002
Revises: 0003
Create Date: 2026-12-02 05:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "operations",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("integration_id", sa.String(length=64), nullable=True),
        sa.Column("installation_id", sa.String(length=64), nullable=True),
        sa.Column("connection_id", sa.String(length=64), nullable=True),
        sa.Column("group_ref", sa.String(length=256), nullable=True),
        sa.Column("provider", sa.String(length=128), nullable=True),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("result", sa.String(length=16), nullable=False),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("upstream_status", sa.Integer(), nullable=True),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.Column("upstream_duration_ms", sa.Float(), nullable=True),
        sa.Column("request_bytes", sa.BigInteger(), nullable=False),
        sa.Column("response_bytes", sa.BigInteger(), nullable=False),
        sa.Column("token_refreshed", sa.Boolean(), nullable=False),
        sa.Column("replayed", sa.Boolean(), nullable=False),
        sa.Column("create_time_ms", sa.BigInteger(), nullable=False),
        sa.Column("logs", sa.Text(), nullable=True),
    )
    with op.batch_alter_table("operations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_operations_project_id_id"), ["project_id", "id"], unique=False
        )
    op.create_table(
        "operation_installation_status",
        sa.Column("installation_id", sa.String(length=64), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("last_operation_id", sa.String(length=32), nullable=False),
        sa.Column("last_operation_status", sa.String(length=16), nullable=False),
        sa.Column("health_status", sa.String(length=16), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("installation_id", name=op.f("pk_operation_installation_status")),
    )


def downgrade() -> None:
    op.drop_table("operation_installation_status")
    with op.batch_alter_table("operations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_operations_project_id_id"))
    op.drop_table("operations")
