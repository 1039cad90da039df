"""``TokenManager``: keeps OAuth2 connections' access tokens usable, refreshing each exactly once.

Entry points (the proxy and the management API call these):

- ``ensure_fresh`` before a proxied call (proactive refresh within ``settings.refresh_margin``);
- ``refresh_after_rejection`` after a provider 401 (reactive; the proxy replays the call once);
- ``refresh`` for ``GET .../connections/{id}?refresh=ifExpired|force``;
- ``issue_initial_token`` for client-credentials / password connections being created.

Every refresh runs through ``SingleFlight`` then ``LeasedRefresh`` (see ``coordination``). The new
tokens are written to the store (with the old refresh token kept when the response has none) before
anyone uses the new access token. Failures:

- a revoked grant (``invalid_grant`` and friends) marks the connection ``bad_credentials``; after
  that no token call is made until the customer re-authorizes, and callers get
  ``ConnectionNeedsReauthorization``;
- other failures (network, 5xx, unexpected 4xx) start a cooldown of ``settings.refresh_cooldown``
  seconds during which Passway answers ``TokenRefreshCoolingDown`` instead of retrying. The
  cooldown is shared through the fleet (Redis when configured, see ``cooldown``); without Redis
  each worker tries at most once per cooldown.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from datetime import UTC, datetime

from passway.catalog import Catalog, Provider
from passway.core.templates import connection_template_values
from passway.core.tokens import (
    TokenResponse,
    credentials_after_token_response,
    expires_within,
    is_grant_revoked,
)
from passway.errors import (
    ConnectionNeedsReauthorization,
    InvalidClientCredentials,
    InvalidRequest,
    PasswayError,
    ProviderUnsupported,
    TokenEndpointError,
)
from passway.fleet import Fleet, MemoryFleet
from passway.http1.client.pool import Http1Client
from passway.notifications import events
from passway.oauth import grants
from passway.oauth.client import TokenRejected, request_token
from passway.oauth.cooldown import Cooldowns
from passway.oauth.coordination import Clock, LeasedRefresh, NeedsRefresh, SingleFlight
from passway.oauth.credentials_source import client_auth_for
from passway.oauth.persist import mark_revoked, reauthorization_error, store_new_tokens
from passway.oauth.unstored import UnstoredTokens
from passway.observability.metrics import Metrics
from passway.records import AuthScheme, Connection, Credentials
from passway.settings import Settings
from passway.store.notifications import NotificationStore
from passway.store.outage import is_store_outage, store_unavailable
from passway.store.protocol import Store

logger = logging.getLogger("passway.oauth")


def _utcnow() -> datetime:
    return datetime.now(UTC)


class TokenManager:
    """Refreshes and issues OAuth2 tokens; one instance per worker process (built in bootstrap)."""

    def __init__(
        self,
        *,
        store: Store,
        catalog: Catalog,
        http: Http1Client,
        settings: Settings,
        clock: Clock = _utcnow,
        fleet: Fleet | None = None,
        notifications: NotificationStore | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self._store = store
        # Where a failed refresh that changes nothing stored is reported (connection.error).
        self._notifications = notifications
        self._metrics = metrics
        self._catalog = catalog
        self._http = http
        self._settings = settings
        self._clock = clock
        self._flights = SingleFlight()
        self._unstored = UnstoredTokens(store, clock)
        self._cooldowns = Cooldowns(
            settings.refresh_cooldown, fleet if fleet is not None else MemoryFleet()
        )
        # The holder renews its lease while the token call runs; the call is bounded by how long
        # anyone is willing to wait for it.
        self._token_timeout = max(1.0, min(settings.read_timeout, settings.refresh_wait))
        owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        self._leased = LeasedRefresh(
            store,
            owner=owner,
            lease_ttl=settings.refresh_lease_ttl,
            wait_limit=settings.refresh_wait,
            clock=clock,
        )

    # ---------------------------------------------------------------------------------- public

    async def ensure_fresh(self, connection: Connection) -> Connection:
        """The connection with an access token good for the call (refreshed first if expiring).

        Cheap when nothing is due: no I/O. If a due proactive refresh fails while the current
        token has not expired yet, the current token is used.
        """
        if not grants.is_oauth2(connection):
            return connection
        if connection.status == "bad_credentials":
            raise reauthorization_error(connection, "its grant was revoked")
        margin = self._settings.refresh_margin
        if not expires_within(connection.credentials.access_token, self._clock(), margin):
            return connection
        if not grants.is_self_issued(connection) and connection.credentials.refresh_token is None:
            return connection  # nothing to refresh with; the provider decides
        try:
            return await self._coordinated(
                connection.id, self._expiring, "the access token expires within the margin"
            )
        except ConnectionNeedsReauthorization:
            raise
        except PasswayError:
            if not expires_within(connection.credentials.access_token, self._clock(), 0):
                return connection  # still valid: use it, the next call tries again
            raise

    async def refresh_after_rejection(
        self, connection: Connection, rejected_access_token: str
    ) -> Connection:
        """After a provider 401 on ``rejected_access_token``: a connection with a different token.

        If the stored token already differs (someone refreshed meanwhile) it is returned without a
        token call. If the connection cannot be refreshed (no refresh token), the connection comes
        back with the same token: the caller then relays the provider's 401 as it is.
        """
        if not grants.is_oauth2(connection):
            return connection
        if connection.status == "bad_credentials":
            raise reauthorization_error(connection, "its grant was revoked")
        if not grants.is_self_issued(connection) and connection.credentials.refresh_token is None:
            stored = await self._store.get_connection_by_id(connection.id)
            return stored or connection

        def still_rejected(current: Connection) -> bool:
            token = current.credentials.access_token
            return token is None or token.token == rejected_access_token

        return await self._coordinated(
            connection.id, still_rejected, "the provider rejected the access token (401)"
        )

    async def refresh(self, connection: Connection, *, force: bool) -> Connection:
        """On-demand refresh: ``force`` always gets a new token, otherwise only when expiring."""
        if not grants.is_oauth2(connection):
            if force:
                raise InvalidRequest("Only OAuth2 connections have tokens to refresh")
            return connection
        if connection.status == "bad_credentials":
            raise reauthorization_error(connection, "its grant was revoked")
        if not grants.is_self_issued(connection) and connection.credentials.refresh_token is None:
            if force:
                raise InvalidRequest("The connection has no refresh token")
            return connection
        if not force:
            return await self._coordinated(connection.id, self._expiring, "asked for, if expiring")
        seen = connection.credentials.access_token
        seen_token = seen.token if seen is not None else None

        def unchanged(current: Connection) -> bool:
            token = current.credentials.access_token
            return token is None or token.token == seen_token

        return await self._coordinated(connection.id, unchanged, "asked for (force)")

    async def issue_initial_token(
        self,
        *,
        provider: Provider,
        scheme: AuthScheme,
        credentials: Credentials,
        template_values: dict[str, str],
    ) -> Credentials:
        """Obtain the first token of a client-credentials or password connection, now.

        A rejection becomes ``InvalidClientCredentials`` (400) and the caller stores nothing.
        """
        try:
            response = await self._self_issue(provider, scheme, credentials, template_values)
        except TokenRejected as rejected:
            raise InvalidClientCredentials(
                f"The {provider.name} token endpoint rejected the credentials "
                f"({rejected.status} {rejected.error or 'no error code'})"
                + (f": {rejected.description}" if rejected.description else ""),
                context={"provider": provider.name, "error": rejected.error},
            ) from None
        return credentials_after_token_response(credentials, response, self._clock())

    def forget_cooldown(self, connection_id: str) -> None:
        """Drop a cooldown (the connection was re-authorized or its credentials replaced)."""
        self._cooldowns.clear(connection_id)

    # ------------------------------------------------------------------------------ internals

    def _expiring(self, connection: Connection) -> bool:
        return expires_within(
            connection.credentials.access_token, self._clock(), self._settings.refresh_margin
        )

    async def _coordinated(
        self, connection_id: str, needs_refresh: NeedsRefresh, reason: str
    ) -> Connection:
        """Share an in-flight refresh; join it, then start another only if ours is still due.

        A database outage is ``StoreUnavailable``: no refresh starts when its result could not be
        stored (the lease itself is a write), and a token answer kept during an outage is stored
        before this process refreshes the connection again."""
        try:
            if connection_id in self._unstored:
                await self._unstored.flush(connection_id)
            return await self._coordinated_once(connection_id, needs_refresh, reason)
        except Exception as exc:
            if not isinstance(exc, PasswayError) and is_store_outage(exc):
                raise store_unavailable() from None
            raise

    async def _coordinated_once(
        self, connection_id: str, needs_refresh: NeedsRefresh, reason: str
    ) -> Connection:
        async def refresh(current: Connection) -> Connection:
            return await self._refresh_holding_lease(current, reason)

        for _ in range(2):
            joined = connection_id in self._flights
            result = await self._flights.run(
                connection_id,
                lambda: self._leased.run(connection_id, needs_refresh, self._check_usable, refresh),
            )
            if not joined or not needs_refresh(result):
                return result
        return result

    def _check_usable(self, connection: Connection) -> None:
        if connection.status == "bad_credentials":
            raise reauthorization_error(connection, "its grant was revoked")
        self._cooldowns.check(connection.id, self._clock())

    async def _refresh_holding_lease(self, current: Connection, reason: str) -> Connection:
        # Another worker or instance may have failed just now (shared cooldown, read under lease).
        await self._cooldowns.check_shared(current.id, self._clock())
        provider = self._provider(current.provider)
        ids = {"connection_id": current.id, "provider": current.provider}
        try:
            response = await self._obtain(current, provider)
        except TokenRejected as rejected:
            revoked = is_grant_revoked(rejected.error) or (
                grants.is_self_issued(current) and rejected.error == "invalid_client"
            )
            if revoked:
                why = f"the token endpoint answered {rejected.error}"
                await mark_revoked(
                    self._store, current, self._clock(), f"Authentication failed: {why}"
                )
                self._count("revoked")
                logger.warning(
                    "token refresh refused (%s); connection is now bad_credentials until the "
                    "customer re-authorizes",
                    rejected.error,
                    extra={**ids, "reason": reason},
                )
                raise reauthorization_error(current, why) from None
            error = TokenEndpointError(
                f"The token endpoint refused the refresh ({rejected.status} "
                f"{rejected.error or 'no error code'})",
                context={"connectionId": current.id},
            )
            await self._start_cooldown(current, f"{rejected.status} {rejected.error}", reason)
            await self._report_refresh_error(current, error)
            raise error from None
        except PasswayError as error:
            await self._start_cooldown(current, error.code, reason)
            await self._report_refresh_error(current, error)
            raise
        self._cooldowns.clear(current.id)
        try:
            refreshed = await store_new_tokens(self._store, current, response, self._clock())
        except Exception as exc:
            if not is_store_outage(exc):
                raise
            self._unstored.keep(current, response)  # stored when the database is back
            logger.warning(
                "token refreshed while the database is down; kept, stored when it is back",
                extra=ids,
            )
            raise store_unavailable() from None
        self._count("success")
        logger.info("token refreshed: %s", reason, extra={**ids, "reason": reason})
        return refreshed

    async def aclose(self) -> None:
        await self._unstored.aclose()

    async def _report_refresh_error(self, connection: Connection, error: PasswayError) -> None:
        """A ``connection.error`` for a failed refresh (once per cooldown: the next attempt waits
        for it). Nothing else is written, so the event goes to the outbox on its own."""
        if self._notifications is None:
            return
        reason = f"Token refresh error: {error.detail}"
        await self._notifications.emit(
            [events.connection_error(connection, [reason], self._clock())]
        )

    async def _start_cooldown(self, current: Connection, failure: str, reason: str) -> None:
        await self._cooldowns.start(current.id, self._clock())
        self._count("failure")
        logger.warning(
            "token refresh failed (%s); no retry for %.0f s (cooldown)",
            failure,
            self._settings.refresh_cooldown,
            extra={"connection_id": current.id, "provider": current.provider, "reason": reason},
        )

    def _count(self, outcome: str) -> None:
        if self._metrics is not None:
            self._metrics.token_refreshes.labels(outcome).inc()

    async def _obtain(self, connection: Connection, provider: Provider) -> TokenResponse:
        values = connection_template_values(provider, connection)
        if grants.is_self_issued(connection):
            return await self._self_issue(
                provider, connection.auth_scheme, connection.credentials, values
            )
        refresh_token = connection.credentials.refresh_token
        if refresh_token is None:
            raise reauthorization_error(connection, "it has no refresh token")
        client = await client_auth_for(self._store, provider, connection)
        return await request_token(
            self._http,
            grants.token_url(provider, values),
            grants.refresh_form(refresh_token.token),
            client,
            timeout=self._token_timeout,
        )

    async def _self_issue(
        self,
        provider: Provider,
        scheme: AuthScheme,
        credentials: Credentials,
        values: dict[str, str],
    ) -> TokenResponse:
        if not credentials.client_id:
            raise InvalidRequest("clientId is required")
        if scheme == "oauth2/clientCredentials":
            form = grants.client_credentials_form(provider, credentials)
        elif scheme == "oauth2/password":
            form = grants.password_form(provider, credentials)
        else:
            raise InvalidRequest(f"{scheme} connections are not issued tokens directly")
        return await request_token(
            self._http,
            grants.token_url(provider, values),
            form,
            grants.client_auth(provider, credentials.client_id, credentials.client_secret),
            timeout=self._token_timeout,
        )

    def _provider(self, name: str) -> Provider:
        provider = self._catalog.get(name)
        if provider is None or provider.auth_type != "oauth2":
            raise ProviderUnsupported(f"Provider {name} is not an OAuth2 provider in the catalog")
        return provider
