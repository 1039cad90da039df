"""What a running worker holds: built once by the composition root (``passway.bootstrap``).

Kept apart from the root so that the layers it is handed to (the proxy, the management API) can
name its type without importing the module that builds everything.
"""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp

from passway.catalog import Catalog
from passway.crypto import Keyring
from passway.egress import EgressPolicy
from passway.fleet import Fleet
from passway.http1.client.pool import Http1Client
from passway.oauth.manager import TokenManager
from passway.observability.metrics import Metrics
from passway.operations.recorder import OperationRecorder
from passway.settings import Settings
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
    http: aiohttp.ClientSession
    tokens: TokenManager
    fleet: Fleet
    # The proxy's own HTTP/1.1 client (``http`` serves token endpoints and other calls).
    upstream: Http1Client
    # Observability: metrics, the operations recorder (fed by the proxy) and their store.
    metrics: Metrics
    operations: OperationRecorder
    operation_store: OperationStore

    async def aclose(self) -> None:
        await self.operations.aclose()
        await self.operation_store.close()
        self.metrics.close()
        await self.fleet.aclose()
        await self.upstream.aclose()
        await self.http.close()
        await self.store.close()
