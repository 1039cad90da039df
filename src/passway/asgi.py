"""The top-level ASGI application: lifespan, and the split between proxy and management calls.

Any HTTP request carrying ``x-amp-proxy-version`` is a proxy call, whatever its path, and goes to
the raw-ASGI proxy handler; everything else goes to the management application. ``passway serve``
does not call this app per request: its front door (``passway.frontdoor``) drives start-up and
shut-down and routes each port's requests to ``handlers()`` itself; the app as a whole serves
those who run it under uvicorn. With the deprecated ``PASSWAY_PROXY_PORT`` set, start-up also
opens one more port serving proxy calls only.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from passway.asgi_types import ASGIApp, Receive, Scope, Send
from passway.observability.endpoints import OpsEndpoints
from passway.proxy.request import PROXY_VERSION_HEADER, is_proxy_call

if TYPE_CHECKING:
    from passway.catalog import Catalog
    from passway.http1.server.listener import ProxyListener
    from passway.runtime import Runtime
    from passway.settings import Settings

RuntimeFactory = Callable[["Settings", "Catalog"], Awaitable["Runtime"]]


def with_ops_endpoints(ops: OpsEndpoints, proxy: ASGIApp) -> ASGIApp:
    """The proxy handler, with ``ops``'s paths answered for requests that are not proxy calls
    (the proxy port). A plain function handing back the awaitable: no extra coroutine a call."""

    def serve(scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        if ops.serves(scope) and not is_proxy_call(scope):
            return ops(scope, receive, send)
        return proxy(scope, receive, send)

    return serve


class PortHandlers(NamedTuple):
    """The handlers of the ports ``passway serve`` opens."""

    proxy: ASGIApp  # requests known to be proxy calls
    # Everything on a port that serves the proxy only: ``/healthz`` and ``/readyz``, else the proxy.
    proxy_port: ASGIApp
    # The management app, with ``/healthz``, ``/readyz`` and ``/metrics`` in front of it.
    management: ASGIApp


GC_THRESHOLDS = (20_000, 50, 100)  # served processes (see PasswayApp.startup)
READY_TIMEOUT = 2.0  # seconds a readiness check may take before it counts as failed


class PasswayApp:
    """Dispatches proxy calls and management requests; owns start-up and shut-down."""

    def __init__(
        self,
        settings: Settings,
        catalog: Catalog,
        build_runtime: RuntimeFactory,
        *,
        freeze_gc: bool = False,
    ) -> None:
        self.settings = settings
        # A served process: after start-up, move everything alive to the collector's permanent
        # generation (``gc.freeze``). The ~150,000 objects of the loaded libraries are then never
        # scanned again; a full collection of them took about 0.2 s, stalling every call in flight.
        self._freeze_gc = freeze_gc
        self.catalog = catalog
        self._build_runtime = build_runtime
        self.runtime: Runtime | None = None
        self._proxy: ASGIApp | None = None
        self._management: ASGIApp | None = None
        self._ops: OpsEndpoints | None = None
        self._stack: contextlib.AsyncExitStack | None = None
        self.proxy_listener: ProxyListener | None = None

    async def startup(self) -> None:
        from passway.api.app import create_management_app
        from passway.proxy.handler import ProxyHandler

        stack = contextlib.AsyncExitStack()
        runtime = await self._build_runtime(self.settings, self.catalog)
        stack.push_async_callback(runtime.aclose)
        if self.settings.webhooks_enabled:
            runtime.deliverer.start()
        proxy = ProxyHandler(runtime)
        await proxy.start()
        stack.push_async_callback(proxy.aclose)
        if self.settings.proxy_port is not None:
            from passway.http1.server.listener import ProxyListener

            listener = ProxyListener(
                with_ops_endpoints(OpsEndpoints(self.readiness, None), proxy),
                header_route=(PROXY_VERSION_HEADER, proxy),
                host=self.settings.host,
                port=self.settings.proxy_port,
                keep_alive_timeout=self.settings.keep_alive_timeout,
                header_timeout=self.settings.header_timeout,
                access_log=self.settings.access_log,
            )
            await listener.start()
            stack.push_async_callback(listener.aclose)
            self.proxy_listener = listener
        self.runtime = runtime
        self._proxy = proxy
        runtime.metrics.add_sampler(proxy.sample_metrics)
        self._ops = OpsEndpoints(self.readiness, runtime.metrics.render)
        # FastAPI's own ASGI signature is looser than ours; it is a conforming ASGI app.
        self._management = cast(ASGIApp, create_management_app(runtime))
        self._stack = stack
        if self._freeze_gc:
            gc.collect()
            gc.freeze()
            # Young collections every 20,000 net allocations instead of 700: the objects of the
            # calls in flight are what they scan, and almost all of them are freed by reference
            # counting anyway (bench/run.py A/B, 3 rounds: 76 -> 70 us CPU per 1 KB GET).
            gc.set_threshold(*GC_THRESHOLDS)

    async def shutdown(self) -> None:
        if self._stack is not None:
            await self._stack.aclose()
        self._stack = None
        self.runtime = None
        self.proxy_listener = None
        self._proxy = None
        self._management = None
        self._ops = None

    def handlers(self) -> PortHandlers:
        """What servers that route by port (``passway.frontdoor``) answer with; available between
        start-up and shut-down."""
        if self._proxy is None or self._management is None or self._ops is None:
            raise RuntimeError("Passway has not started")
        probes = OpsEndpoints(self.readiness, None)
        return PortHandlers(
            proxy=self._proxy,
            proxy_port=with_ops_endpoints(probes, self._proxy),
            management=with_ops_endpoints(self._ops, self._management),
        )

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[PasswayApp]:
        """Start and stop the app around a block (tests drive the app in-process with this)."""
        await self.startup()
        try:
            yield self
        finally:
            await self.shutdown()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            if self._proxy is None or self._management is None or self._ops is None:
                raise RuntimeError("Passway received a request before start-up completed")
            # The head's headers, frozen now: a server may hand over the list its parser keeps
            # appending a chunked body's trailers to (uvicorn does); trailers are not headers.
            scope["headers"] = list(scope["headers"])
            if is_proxy_call(scope):
                await self._proxy(scope, receive, send)
            elif self._ops.serves(scope):
                await self._ops(scope, receive, send)
            else:
                await self._management(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        elif kind == "websocket":
            await send({"type": "websocket.close", "code": 1003})

    async def readiness(self) -> dict[str, bool]:
        """``/readyz``: the database reachable and migrated; Redis reachable when configured."""
        runtime = self.runtime
        if runtime is None:
            return {"started": False}
        checks = {"database": await _within(_database_ready(runtime.store), READY_TIMEOUT)}
        runtime.metrics.database_up.set(1 if checks["database"] else 0)
        if self.settings.redis_url:
            checks["redis"] = await _within(runtime.fleet.reachable(), READY_TIMEOUT)
        return checks

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:  # noqa: BLE001 - reported to the server, which exits
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return


async def _database_ready(store: Any) -> bool:
    from passway.store.migrate import HEAD, current_revision

    engine = getattr(store, "engine", None)
    if engine is None:
        return True  # in memory: nothing to reach
    return await current_revision(engine) == HEAD


async def _within(check: Awaitable[bool], seconds: float) -> bool:
    try:
        return await asyncio.wait_for(check, seconds)
    except Exception:  # noqa: BLE001 - any failure (unreachable, timed out) means not ready
        return False
