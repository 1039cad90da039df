"""The composition root: the only place that builds engines, HTTP sessions, caches and locks.

``create_app(settings)`` returns the ASGI application; its lifespan builds a ``Runtime`` (everything
with a connection or a loop behind it) and closes it on shutdown. ``create_app_from_env`` is what
uvicorn imports in each worker process: the environment is read there, once.
"""

from __future__ import annotations

import os

import aiohttp

from passway.asgi import PasswayApp
from passway.catalog import Catalog, load_catalog
from passway.crypto import Keyring
from passway.egress import EgressPolicy, GuardedConnector
from passway.fleet import Fleet, MemoryFleet
from passway.http1.client.pool import Http1Client
from passway.oauth.manager import TokenManager
from passway.runtime import Runtime
from passway.settings import Settings, load_settings
from passway.store.key_guard import ensure_keys_for_sealed_data
from passway.store.protocol import Store


def build_http_session(settings: Settings, egress: EgressPolicy) -> aiohttp.ClientSession:
    """One pooled keep-alive session for the calls Passway makes itself (token endpoints)."""
    # The guarded connector checks every address it is about to connect to (after DNS, IP literals
    # included) against the egress policy.
    connector = GuardedConnector(
        egress=egress,
        limit=settings.upstream_pool_size,
        limit_per_host=0,
        ttl_dns_cache=60,
        enable_cleanup_closed=True,
    )
    return aiohttp.ClientSession(
        connector=connector,
        auto_decompress=False,
        skip_auto_headers=("User-Agent", "Accept-Encoding", "Accept", "Content-Type"),
        timeout=aiohttp.ClientTimeout(
            total=None, sock_connect=settings.connect_timeout, sock_read=settings.read_timeout
        ),
        cookie_jar=aiohttp.DummyCookieJar(),
    )


async def open_store(settings: Settings, keyring: Keyring) -> Store:
    from passway.store.sql import SqlStore

    return await SqlStore.open(settings.resolved_database_url, keyring)


def open_fleet(settings: Settings) -> Fleet:
    """State shared by every worker and instance: through Redis when configured, else in-process."""
    if not settings.redis_url:
        return MemoryFleet()
    from passway.fleet.redis import RedisFleet

    return RedisFleet.from_url(settings.redis_url, prefix=settings.redis_key_prefix)


async def build_runtime(settings: Settings, catalog: Catalog) -> Runtime:
    await ensure_keys_for_sealed_data(settings)  # never a new key beside sealed data
    keyring = Keyring.load_or_create(settings)
    store = await open_store(settings, keyring)
    egress = EgressPolicy.from_settings(settings.egress_allow)
    http = build_http_session(settings, egress)
    fleet = open_fleet(settings)
    # Each change this process commits is published for the other processes (after the commit).
    store.subscribe(fleet.publish_change)
    tokens = TokenManager(store=store, catalog=catalog, http=http, settings=settings, fleet=fleet)
    return Runtime(
        settings=settings,
        catalog=catalog,
        keyring=keyring,
        store=store,
        egress=egress,
        http=http,
        tokens=tokens,
        fleet=fleet,
        upstream=Http1Client(egress, pool_size=settings.upstream_pool_size),
    )


def create_app(settings: Settings, *, freeze_gc: bool = False) -> PasswayApp:
    """The ASGI app. The catalog is loaded (and validated) here so a bad file stops start-up."""
    catalog = load_catalog(settings.catalog_file)
    return PasswayApp(settings, catalog, build_runtime, freeze_gc=freeze_gc)


def create_app_from_env() -> PasswayApp:
    """Entry point for uvicorn (``factory=True``), run in every worker process: the process serves
    this one app until it exits, so what start-up built is moved out of the collector's way."""
    return create_app(load_settings(os.environ), freeze_gc=True)
