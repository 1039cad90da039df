"""The composition root: the only place that builds engines, HTTP sessions, caches and locks.

``create_app(settings)`` returns the ASGI application; its lifespan builds a ``Runtime`` (everything
with a connection or a loop behind it) and closes it on shutdown. ``create_app_from_env`` is what
uvicorn imports in each worker process: the environment is read there, once.
"""

from __future__ import annotations

import os

from passway.asgi import PasswayApp
from passway.catalog import Catalog, load_catalog
from passway.crypto import Keyring
from passway.egress import EgressPolicy
from passway.fleet import Fleet, MemoryFleet
from passway.http1.client.pool import Http1Client
from passway.notifications.deliverer import Deliverer
from passway.notifications.retry import RetryPolicy
from passway.oauth.manager import TokenManager
from passway.observability.logs import install_call_log_collector
from passway.observability.metrics import Metrics, multiprocess_dir
from passway.operations.recorder import OperationRecorder
from passway.runtime import Runtime
from passway.settings import Settings, load_settings
from passway.store import MEMORY_URL, MemoryStore, SqlStore, Store
from passway.store.connect_sessions import (
    ConnectSessionStore,
    MemoryConnectSessions,
    SqlConnectSessions,
)
from passway.store.key_guard import ensure_keys_for_sealed_data
from passway.store.operations import MemoryOperationStore, OperationStore, SqlOperationStore


async def open_store(settings: Settings, keyring: Keyring) -> Store:
    """SQLite or PostgreSQL from the database URL; ``memory://`` keeps everything in this process
    (development and tests: nothing survives a restart, and each worker has its own)."""
    if settings.database_url.strip() == MEMORY_URL:
        return MemoryStore()
    return await SqlStore.open(settings.resolved_database_url, keyring)


def open_connect_sessions(store: Store) -> ConnectSessionStore:
    """In the store's own database when it has one, else in memory beside a memory store."""
    if isinstance(store, SqlStore):
        return SqlConnectSessions(store.engine)
    return MemoryConnectSessions()


def open_fleet(settings: Settings, metrics: Metrics | None = None) -> Fleet:
    """State shared by every worker and instance: through Redis when configured, else in-process."""
    if not settings.redis_url:
        return MemoryFleet()
    from passway.fleet.redis import RedisFleet

    fleet = RedisFleet.from_url(settings.redis_url, prefix=settings.redis_key_prefix)
    if metrics is not None:
        metrics.add_sampler(lambda: metrics.redis_up.set(1 if fleet.available else 0))
    return fleet


def open_operation_store(store: Store) -> OperationStore:
    """Operations live next to everything else: the SQL store's engine, or in memory."""
    if isinstance(store, SqlStore):
        return SqlOperationStore(store.engine)
    return MemoryOperationStore()


async def build_runtime(
    settings: Settings, catalog: Catalog, metrics: Metrics | None = None
) -> Runtime:
    await ensure_keys_for_sealed_data(settings)  # never a new key beside sealed data
    keyring = Keyring.load_or_create(settings)
    store = await open_store(settings, keyring)
    egress = EgressPolicy.from_settings(settings.egress_allow)
    http = Http1Client(egress, pool_size=settings.upstream_pool_size)
    metrics = metrics if metrics is not None else Metrics()
    fleet = open_fleet(settings, metrics)
    # Each change this process commits is published for the other processes (after the commit).
    store.subscribe(fleet.publish_change)
    install_call_log_collector()
    notifications = store.notifications
    tokens = TokenManager(
        store=store,
        catalog=catalog,
        http=http,
        settings=settings,
        fleet=fleet,
        notifications=notifications,
        metrics=metrics,
    )
    deliverer = Deliverer(
        notifications,
        http,
        policy=RetryPolicy(
            base_seconds=settings.webhook_backoff_base,
            cap_seconds=settings.webhook_backoff_max,
            window_seconds=settings.webhook_retry_hours * 3600,
        ),
        timeout=settings.webhook_timeout,
        poll_interval=settings.webhook_poll_interval,
        retention_seconds=settings.webhook_event_retention_days * 86400,
    )
    deliverer.on_attempt = metrics.observe_webhook
    operation_store = open_operation_store(store)
    recorder = OperationRecorder(
        operation_store,
        metrics,
        retention_days=settings.operations_retention_days,
        queue_size=settings.operations_queue_size,
        log_calls=settings.log_level.lower() in ("debug", "info"),
    )
    await recorder.start()
    return Runtime(
        settings=settings,
        catalog=catalog,
        keyring=keyring,
        store=store,
        egress=egress,
        http=http,
        tokens=tokens,
        fleet=fleet,
        connect_sessions=open_connect_sessions(store),
        notifications=notifications,
        deliverer=deliverer,
        metrics=metrics,
        operations=recorder,
        operation_store=operation_store,
    )


def create_app(
    settings: Settings, *, freeze_gc: bool = False, metrics_dir: str | None = None
) -> PasswayApp:
    """The ASGI app. The catalog is loaded (and validated) here so a bad file stops start-up.

    ``metrics_dir``: the directory the workers of one instance share metrics in (several workers).
    """
    catalog = load_catalog(settings.catalog_file)

    async def build(settings: Settings, catalog: Catalog) -> Runtime:
        return await build_runtime(settings, catalog, Metrics(metrics_dir))

    return PasswayApp(settings, catalog, build, freeze_gc=freeze_gc)


def create_app_from_env() -> PasswayApp:
    """Entry point for uvicorn (``factory=True``), run in every worker process: the process serves
    this one app until it exits, so what start-up built is moved out of the collector's way."""
    settings = load_settings(os.environ)
    metrics_dir = multiprocess_dir(os.environ, settings.workers)
    return create_app(settings, freeze_gc=True, metrics_dir=metrics_dir)
