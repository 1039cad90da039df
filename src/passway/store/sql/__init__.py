"""``SqlStore``: the ``Store`` protocols on SQLite (default, one file) or PostgreSQL.

Secrets are sealed by ``passway.store.sealed`` before they reach a column; every project-scoped
query filters by ``project_id``; every mutation writes its change rows in the same transaction.
Leases and OAuth states are single conditional statements, so they stay exclusive across worker
processes and instances, not only across coroutines. One module per concern:

    base.py           engine, transactions, change feed (``ChangeFeed``)
    projects.py       projects and API keys (``ProjectStore``)
    installations.py  integrations and installations (``InstallationStore``)
    connections.py    connections and refresh leases (``ConnectionStore``)
    oauth.py          provider apps and OAuth states (``OAuthStore``)
"""

from __future__ import annotations

from passway.crypto import Keyring
from passway.store.engine import create_engine
from passway.store.migrate import upgrade_engine
from passway.store.rewrap import rewrap_all
from passway.store.sql.connections import SqlConnections
from passway.store.sql.installations import SqlInstallations
from passway.store.sql.oauth import SqlOAuth
from passway.store.sql.projects import SqlProjects

__all__ = ["SqlStore"]


class SqlStore(SqlProjects, SqlInstallations, SqlConnections, SqlOAuth):
    """Every store concern over SQL. Open with ``await SqlStore.open(url, keyring)``."""

    @classmethod
    async def open(cls, url: str, keyring: Keyring) -> SqlStore:
        """Connect, migrate to the newest schema (safe with several processes), and return."""
        engine = create_engine(url)
        try:
            await upgrade_engine(engine)
        except BaseException:
            await engine.dispose()
            raise
        return cls(engine, keyring)

    async def reencrypt_all(self) -> int:
        """Rewrap every secret not sealed with the primary key; returns how many were rewrapped."""
        async with self._write() as tx:
            return await rewrap_all(tx, self._keyring)
