"""The storage interfaces: one small protocol per concern, and ``Store``, all of them together.

``SqlStore`` (SQLite, PostgreSQL; ``passway.store.sql``) and ``MemoryStore`` (``memory://``;
``passway.store.memory``) implement every one, each concern in a module of its own; one contract
suite (``tests/contract/test_store.py``) holds both to them. Code that needs one concern asks for
that protocol (the refresh coordination a ``ConnectionStore``, the cache watcher a ``ChangeFeed``).

Rules every implementation keeps:
- Reads scoped by ``project_id`` never return another project's rows (tenant isolation lives here).
- Every mutation of an api key, integration, connection or installation appends a ``Change`` for its
  project in the same transaction, so workers can drop stale cache entries (``changes_since``).
- Uniqueness violations raise ``passway.errors.Conflict``; nothing is half-written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from passway.records import (
    ApiKey,
    Change,
    Connection,
    Installation,
    Integration,
    OAuthState,
    Project,
    ProviderApp,
)
from passway.store.notifications import NotificationEvent, NotificationStore


class ProjectStore(Protocol):
    """Projects and their API keys."""

    async def create_project(self, project: Project) -> Project:
        """Conflict if the name is taken."""
        ...

    async def get_project(self, id_or_name: str) -> Project | None: ...

    async def list_projects(self) -> list[Project]: ...

    async def create_api_key(self, key: ApiKey) -> ApiKey: ...

    async def find_api_keys_by_prefix(self, prefix: str) -> list[ApiKey]:
        """All keys (any project, active or not) whose lookup prefix is ``prefix``."""
        ...

    async def get_api_key(self, project_id: str, key_id: str) -> ApiKey | None: ...

    async def list_api_keys(self, project_id: str) -> list[ApiKey]: ...

    async def update_api_key(self, key: ApiKey) -> ApiKey: ...

    async def delete_api_key(self, project_id: str, key_id: str) -> bool: ...


class InstallationStore(Protocol):
    """Integrations (deployed amp.yaml entries) and the installations of them."""

    async def upsert_integrations(
        self, project_id: str, integrations: Sequence[Integration]
    ) -> list[Integration]:
        """Create or update by name, all or nothing. Existing ids and create times are kept."""
        ...

    async def list_integrations(self, project_id: str) -> list[Integration]: ...

    async def get_integration(self, project_id: str, id_or_name: str) -> Integration | None: ...

    async def delete_integration(
        self, project_id: str, integration_id: str, *, events: Sequence[NotificationEvent] = ()
    ) -> bool:
        """Deletes the integration and its installations."""
        ...

    async def create_installation(
        self, installation: Installation, *, events: Sequence[NotificationEvent] = ()
    ) -> Installation:
        """Conflict if the group already installed this integration."""
        ...

    async def get_installation(
        self, project_id: str, installation_id: str
    ) -> Installation | None: ...

    async def find_installation(
        self, project_id: str, integration_name: str, group_ref: str
    ) -> Installation | None: ...

    async def list_installations(
        self, project_id: str, integration_id: str, *, group_ref: str | None = None
    ) -> list[Installation]: ...

    async def update_installation(
        self, installation: Installation, *, events: Sequence[NotificationEvent] = ()
    ) -> Installation: ...

    async def delete_installation(
        self, project_id: str, installation_id: str, *, events: Sequence[NotificationEvent] = ()
    ) -> bool:
        """``events`` are written only if the installation was deleted."""
        ...


class ConnectionStore(Protocol):
    """Connections (a customer's credentials) and the leases that serialize their refreshes."""

    async def create_connection(
        self, connection: Connection, *, events: Sequence[NotificationEvent] = ()
    ) -> Connection:
        """``events`` go to the notification outbox in the same transaction (every write taking
        ``events`` does the same)."""
        ...

    async def get_connection(self, project_id: str, connection_id: str) -> Connection | None: ...

    async def get_connection_by_id(self, connection_id: str) -> Connection | None:
        """Unscoped read for internal use (token refresh), never for a request's own input."""
        ...

    async def list_connections(
        self,
        project_id: str,
        *,
        provider: str | None = None,
        group_ref: str | None = None,
        consumer_ref: str | None = None,
    ) -> list[Connection]:
        """Newest first."""
        ...

    async def update_connection(
        self,
        connection: Connection,
        *,
        expected_version: int,
        events: Sequence[NotificationEvent] = (),
    ) -> Connection:
        """Write every field of ``connection``; version becomes ``expected_version + 1``.

        Raises Conflict if the stored version is not ``expected_version`` (someone wrote first).
        """
        ...

    async def delete_connection(self, project_id: str, connection_id: str) -> bool:
        """Conflict if an installation still uses it."""
        ...

    # one refresher per connection across processes and instances
    async def acquire_refresh_lease(
        self, connection_id: str, owner: str, now: datetime, ttl_seconds: float
    ) -> bool:
        """Atomically take the lease if it is free or expired. True if ``owner`` now holds it."""
        ...

    async def release_refresh_lease(self, connection_id: str, owner: str) -> None: ...


class OAuthStore(Protocol):
    """OAuth provider apps (a project's client id and secret) and pending connect states."""

    async def create_provider_app(self, app: ProviderApp) -> ProviderApp: ...

    async def get_provider_app(self, project_id: str, app_id: str) -> ProviderApp | None: ...

    async def list_provider_apps(self, project_id: str) -> list[ProviderApp]: ...

    async def update_provider_app(self, app: ProviderApp) -> ProviderApp: ...

    async def delete_provider_app(self, project_id: str, app_id: str) -> bool: ...

    async def save_oauth_state(self, state: OAuthState) -> None: ...

    async def consume_oauth_state(self, state_id: str, now: datetime) -> OAuthState | None:
        """Return and delete the state if it exists and has not expired; single use, atomic."""
        ...


class ChangeFeed(Protocol):
    """Every committed change, in order, so that caches in every process can be dropped."""

    def subscribe(self, listener: Callable[[Change], None]) -> None:
        """Call ``listener`` with each change this process commits, right after the commit, so the
        local cache is dropped at once; other processes learn of it by polling ``changes_since``."""
        ...

    async def latest_change_seq(self) -> int: ...

    async def changes_since(self, seq: int, limit: int = 1000) -> list[Change]: ...


class Store(ProjectStore, InstallationStore, ConnectionStore, OAuthStore, ChangeFeed, Protocol):
    """Every concern together: what the composition root opens and hands down."""

    @property
    def notifications(self) -> NotificationStore:
        """Destinations, routes and the delivery side of the outbox (events are written by the
        mutations that cause them, in their transaction)."""
        ...

    async def close(self) -> None: ...
