"""Persistence: small protocols by concern (``protocol``), their SQL implementation (``sql``) and
their in-memory twin (``memory``, selected with the database URL ``memory://``)."""

from passway.store.memory import MemoryStore
from passway.store.protocol import Store
from passway.store.sql import SqlStore

MEMORY_URL = "memory://"

__all__ = ["MEMORY_URL", "MemoryStore", "SqlStore", "Store"]
