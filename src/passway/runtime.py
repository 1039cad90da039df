"""What a running worker holds: built once by the composition root (``passway.bootstrap``).

Kept apart from the root so that the layers it is handed to (the proxy, the management API) can
name its type without importing the module that builds everything.
"""

from __future__ import annotations

from dataclasses import dataclass

from passway.catalog import Catalog
from passway.crypto import Keyring
from passway.egress import EgressPolicy
from passway.fleet import Fleet
from passway.http1.client.pool import Http1Client
from passway.notifications.deliverer import Deliverer
from passway.oauth.manager import TokenManager
from passway.observability.metrics import Metrics
from passway.operations.recorder import OperationRecorder
from passway.settings import Settings
from passway.store.connect_sessions import ConnectSessionStore
from passway.store.notifications import NotificationStore
from passway.store.operations import OperationStore
from passway.store.protocol import Store


@dataclass(slots=True)
class Runtime:
    """Everything a running server holds, built once per worker process."""

    settings: Settings
    catalog: Catalog
    keyring: Keyring
    store: Store
    egress: EgressPolicy
    # The one HTTP client for everything Passway sends (proxied calls, token endpoints, webhooks),
    # every connection cleared by the egress policy.
    http: Http1Client
    tokens: TokenManager
    fleet: Fleet
    # The hosted connect page's sessions and per-project settings.
    connect_sessions: ConnectSessionStore
    # Destinations, routes and the outbox; the deliverer sends it (started by the server only).
    notifications: NotificationStore
    deliverer: Deliverer
    # Observability: metrics, the operations recorder (fed by the proxy) and their store.
    metrics: Metrics
    operations: OperationRecorder
    operation_store: OperationStore

    async def aclose(self) -> None:
        await self.operations.aclose()
        await self.operation_store.close()
        self.metrics.close()
        await self.deliverer.aclose()
        await self.tokens.aclose()
        await self.fleet.aclose()
        await self.http.aclose()
        await self.store.close()
