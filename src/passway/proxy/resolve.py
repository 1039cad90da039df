"""From the proxy headers to everything a call needs: API key → project → installation →
integration → connection → provider → base URL and credential placement. Cached, so the steady
state makes no database trip and no per-call credential work.

Two caches, both per project (``ProjectCache``): whether a raw API key (by its SHA-256) is an active
key of the project, and the resolved target of a selector (installation id, or integration name and
group ref). Failures are cached too (as the error to raise again), so repeated bad calls do not
reach the database either; every change of the project drops them.

Tenant isolation: every store read is scoped by the project of the header, and the key must belong
to that project, so project A's key can never reach project B's installation. Not found and "in
another project" give the same answer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from passway import apikeys
from passway.catalog import Catalog, Provider
from passway.core.credentials import (
    CredentialPlacement,
    credential_header_names,
    place_credentials,
)
from passway.core.target import render_base_url
from passway.egress import EgressPolicy
from passway.errors import (
    InstallationNotFound,
    PasswayError,
    ProviderUnsupported,
    ProxyNotEnabled,
    Unauthenticated,
)
from passway.proxy.cache import ProjectCache
from passway.proxy.request import Selector
from passway.records import Change, Connection, Installation, Integration
from passway.store.protocol import Store


@dataclass(frozen=True, slots=True)
class ProxyTarget:
    """One installation resolved down to the provider, with what each call derives from it."""

    installation: Installation
    integration: Integration
    connection: Connection
    provider: Provider
    base_url: str
    credential_headers: frozenset[bytes]
    # None when the credentials cannot be placed yet (an OAuth connection waiting for its first
    # token): the call places them after the token step, raising there if they are still missing.
    credentials: CredentialPlacement | None
    # The egress guard for this provider's calls: the global policy plus its own ``egressAllow``
    # (None: the proxy client's own guard).
    egress: EgressPolicy | None = None


@dataclass(frozen=True, slots=True)
class _Failure:
    """A cached refusal: raised again as a fresh exception (never the same object twice)."""

    error: type[PasswayError]
    detail: str
    context: dict[str, Any]

    def raise_(self) -> None:
        raise self.error(self.detail, context=self.context)


def _derive(
    provider: Provider, integration: Integration, connection: Connection
) -> tuple[str, CredentialPlacement | None]:
    """What every call through this connection shares, computed once per connection version:
    the rendered base URL, and the credentials' placement (None while an OAuth connection waits
    for its first token; the call then places them after its token step)."""
    base_url = render_base_url(provider, integration, connection)
    try:
        return base_url, place_credentials(provider, connection)
    except PasswayError:
        return base_url, None


def proxy_enabled(integration: Integration, installation: Installation) -> bool:
    """The integration's ``proxy.enabled``, unless the installation's config turns it off."""
    if not integration.proxy_enabled:
        return False
    content = installation.config.get("content")
    proxy = content.get("proxy") if isinstance(content, Mapping) else None
    return not (isinstance(proxy, Mapping) and proxy.get("enabled") is False)


class Resolver:
    def __init__(
        self,
        store: Store,
        catalog: Catalog,
        *,
        max_entries: int = 10_000,
        egress: EgressPolicy | None = None,
    ) -> None:
        self._store = store
        self._catalog = catalog
        self._egress = egress
        self._egress_by_provider: dict[str, EgressPolicy] = {}
        self._keys: ProjectCache[bool] = ProjectCache(max_entries)
        self._targets: ProjectCache[ProxyTarget | _Failure] = ProjectCache(max_entries)

    # invalidation ------------------------------------------------------------------------------
    def on_change(self, change: Change) -> None:
        """Drop the changed project's entries (store listener and change-feed callback)."""
        self._keys.drop_project(change.project_id)
        self._targets.drop_project(change.project_id)

    def clear(self) -> None:
        self._keys.clear()
        self._targets.clear()

    def cache_counts(self) -> tuple[int, int]:
        """Hits and misses of both caches so far (metrics sample them)."""
        return self._keys.hits + self._targets.hits, self._keys.misses + self._targets.misses

    # API keys ----------------------------------------------------------------------------------
    async def authenticate(self, project_id: str, raw_key: str) -> None:
        """Return if ``raw_key`` is an active key of the project, else raise ``Unauthenticated``.

        Unknown, revoked and other-project keys get the same answer.
        """
        digest = hashlib.sha256(raw_key.encode("utf-8")).digest()
        ok = self._keys.get(project_id, digest)
        if ok is None:
            ok = await self._keys.get_or_load(
                project_id, digest, lambda: self._check_key(project_id, raw_key)
            )
        if not ok:
            raise Unauthenticated()

    async def _check_key(self, project_id: str, raw_key: str) -> bool:
        prefix = apikeys.lookup_prefix(raw_key)
        if prefix is None:
            return False
        key = apikeys.active_key_for(raw_key, await self._store.find_api_keys_by_prefix(prefix))
        return key is not None and key.project_id == project_id

    # targets -----------------------------------------------------------------------------------
    def cached_target(
        self, project_id: str, raw_key: str, selector: Selector
    ) -> ProxyTarget | None:
        """The target when the key's check and the target are both cached and good (the steady
        state, answered without awaiting); None otherwise: then ``authenticate`` and
        ``resolve_target`` load what is missing, or raise the cached refusal."""
        digest = hashlib.sha256(raw_key.encode("utf-8")).digest()
        if self._keys.peek(project_id, digest) is not True:
            return None
        found = self._targets.peek(project_id, selector)
        if not isinstance(found, ProxyTarget):
            return None
        self._keys.hits += 1  # counted here only when answered here (else by the steps)
        self._targets.hits += 1
        return found

    async def resolve_target(self, project_id: str, selector: Selector) -> ProxyTarget:
        """The installation's target, or the refusal: 404, 403 ``proxy_not_enabled``, 422..."""
        found = self._targets.get(project_id, selector)
        if found is None:
            found = await self._targets.get_or_load(
                project_id, selector, lambda: self._load_target(project_id, selector)
            )
        if isinstance(found, _Failure):
            found.raise_()
        assert isinstance(found, ProxyTarget)
        return found

    async def _load_target(self, project_id: str, selector: Selector) -> ProxyTarget | _Failure:
        store = self._store
        if selector[0] == "id":
            installation = await store.get_installation(project_id, selector[1])
        else:
            installation = await store.find_installation(project_id, selector[1], selector[2])
        if installation is None or installation.project_id != project_id:
            return _Failure(InstallationNotFound, "Installation not found.", {})
        integration = await store.get_integration(project_id, installation.integration_id)
        connection = await store.get_connection(project_id, installation.connection_id)
        if integration is None or connection is None:
            return _Failure(InstallationNotFound, "Installation not found.", {})
        if not proxy_enabled(integration, installation):
            return _Failure(
                ProxyNotEnabled,
                f"Proxy is not enabled for integration {integration.name!r}.",
                {"integration": integration.name},
            )
        provider = self._catalog.get(integration.provider)
        if provider is None:
            return _Failure(
                ProviderUnsupported,
                f"The provider {integration.provider!r} is not in the catalog.",
                {"provider": integration.provider},
            )
        try:
            return self._target(installation, integration, connection, provider)
        except PasswayError as exc:
            return _Failure(type(exc), exc.detail, exc.context)

    def _target(
        self,
        installation: Installation,
        integration: Integration,
        connection: Connection,
        provider: Provider,
    ) -> ProxyTarget:
        base_url, credentials = _derive(provider, integration, connection)
        return ProxyTarget(
            installation=installation,
            integration=integration,
            connection=connection,
            provider=provider,
            base_url=base_url,
            credential_headers=credential_header_names(provider),
            credentials=credentials,
            egress=self._egress_for(provider),
        )

    def _egress_for(self, provider: Provider) -> EgressPolicy | None:
        """The global policy extended by the provider's own hosts (built once per provider)."""
        if self._egress is None or not provider.egress_allow:
            return None
        policy = self._egress_by_provider.get(provider.name)
        if policy is None:
            policy = self._egress.extended(provider.egress_allow)
            self._egress_by_provider[provider.name] = policy
        return policy

    def with_connection(
        self, project_id: str, selector: Selector, target: ProxyTarget, connection: Connection
    ) -> ProxyTarget:
        """``target`` with a refreshed connection, remembered for the next calls.

        Only if the entry is still the one resolved before: when the project's entries were
        dropped meanwhile (the refresh's own write is a change), the next call re-reads the store
        rather than risk putting back something another change made stale.
        """
        if connection is target.connection:
            return target
        base_url, credentials = _derive(target.provider, target.integration, connection)
        updated = replace(target, connection=connection, base_url=base_url, credentials=credentials)
        if self._targets.peek(project_id, selector) is target:
            self._targets.put(project_id, selector, updated)
        return updated
