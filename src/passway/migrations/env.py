"""Alembic environment: runs on the connection ``passway.store.migrate`` hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from passway.store import (
    connect_sessions,  # noqa: F401 - registers its tables on the metadata
    notification_tables,  # noqa: F401 - its tables join ``metadata``
)
from passway.store import operations as _operations  # noqa: F401 - registers its tables
from passway.store.tables import metadata


def run_migrations() -> None:
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise RuntimeError("run migrations with `passway migrate` (passway.store.migrate.upgrade)")
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
