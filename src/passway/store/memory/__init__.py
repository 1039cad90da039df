"""``MemoryStore``: the in-memory twin of ``SqlStore``, for tests and throw-away servers
(``PASSWAY_DATABASE_URL=memory://``: nothing survives a restart, and each worker has its own).

It keeps the same rules as the SQL store (the contract suite runs against both): tenant scoping,
``Conflict`` on uniqueness, version checks, leases, single-use OAuth states, change feed. Every
method body runs without an ``await`` between its checks and its writes, so on one event loop each
call is atomic, which is what a transaction gives the SQL store. One module per concern, as in
``passway.store.sql``.
"""

from __future__ import annotations

from passway.store.memory.connections import MemoryConnections
from passway.store.memory.installations import MemoryInstallations
from passway.store.memory.oauth import MemoryOAuth
from passway.store.memory.projects import MemoryProjects

__all__ = ["MemoryStore"]


class MemoryStore(MemoryProjects, MemoryInstallations, MemoryConnections, MemoryOAuth):
    """Every store concern with dicts."""
