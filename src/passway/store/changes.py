"""The change feed's vocabulary and the in-process listener list, shared by every store.

A change names the kind of record that was written and its id; a cache keyed by either can drop
the entry. Every store calls ``Listeners.notify`` after its transaction commits, never before, so a
listener that re-reads the store sees the new state.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from passway.records import Change

logger = logging.getLogger(__name__)

PROJECT = "project"
API_KEY = "api_key"
INTEGRATION = "integration"
CONNECTION = "connection"
INSTALLATION = "installation"
PROVIDER_APP = "provider_app"

KINDS = (PROJECT, API_KEY, INTEGRATION, CONNECTION, INSTALLATION, PROVIDER_APP)


class Listeners:
    """Callbacks told of each committed change in this process. One failing listener is logged and
    does not stop the others (the write itself has already been committed)."""

    def __init__(self) -> None:
        self._listeners: list[Callable[[Change], None]] = []

    def add(self, listener: Callable[[Change], None]) -> None:
        self._listeners.append(listener)

    def notify(self, changes: Iterable[Change]) -> None:
        for change in changes:
            for listener in self._listeners:
                try:
                    listener(change)
                except Exception:
                    logger.exception("change listener failed on %s %s", change.kind, change.seq)
