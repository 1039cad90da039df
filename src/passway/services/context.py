"""What every service function works over: the store, the catalog, the settings, a clock, and the
token manager (for OAuth grants that need a call to the provider).

The FastAPI routes build one ``ServiceContext`` from the server's runtime; the CLI builds one
through the same composition root, token manager included (it runs the client-credentials and
password grants when it imports such a connection). Keeping this a small value instead of the whole
runtime lets the services be used, and tested, without a server.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from passway.catalog import Catalog, Provider
from passway.records import AuthScheme, Connection, Credentials
from passway.settings import Settings
from passway.store.protocol import Store


class TokenService(Protocol):
    """The part of the OAuth token manager the management services call."""

    async def issue_initial_token(
        self,
        *,
        provider: Provider,
        scheme: AuthScheme,
        credentials: Credentials,
        template_values: dict[str, str],
    ) -> Credentials:
        """Get the first access token of a client-credentials or password-grant connection."""
        ...

    async def refresh(self, connection: Connection, *, force: bool) -> Connection:
        """Refresh the connection's access token (``force`` even if it is not near expiry)."""
        ...

    def forget_cooldown(self, connection_id: str) -> None:
        """Forget a failed refresh (the connection's credentials were just replaced)."""
        ...


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class ServiceContext:
    store: Store
    catalog: Catalog
    settings: Settings
    tokens: TokenService | None = None
    clock: Callable[[], datetime] = field(default=utc_now)

    def now(self) -> datetime:
        return self.clock()
