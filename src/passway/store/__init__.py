"""Persistence: the ``Store`` protocol, its SQL implementation and its in-memory twin."""

from passway.store.memory import MemoryStore
from passway.store.protocol import Store

__all__ = ["MemoryStore", "Store"]
