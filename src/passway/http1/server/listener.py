"""The proxy listener: a port that serves proxy calls only, without going through uvicorn.

Enabled with ``PASSWAY_PROXY_PORT`` (``passway serve --proxy-port``). The main port keeps serving
everything (management API and proxy calls, through uvicorn); this port answers proxy calls from a
plain ``asyncio.Protocol`` (``listener_connection``) that hands each request to the same proxy
handler, but writes each small answer to the socket in one piece and skips the general-purpose
server's per-request work. On a 2-core machine a small proxied call costs about a quarter less CPU
than through uvicorn (``bench/README.md``).

What it serves: every request goes to the handler it is given (the composition root hands it the
proxy handler with ``/healthz`` and ``/readyz`` in front, ``passway.asgi.with_ops_endpoints``).

Each worker process binds the port with ``SO_REUSEPORT`` and the kernel spreads connections over
them. On shut-down the listener stops accepting, lets calls in progress finish for up to
``grace`` seconds, then drops what is left.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from passway.http1.server.connection import ClientConnection, ConnectionSettings, Handler

logger = logging.getLogger(__name__)


class ProxyListener:
    """Accepts connections on ``host:port`` and serves each with ``handler``."""

    def __init__(
        self,
        handler: Handler,
        *,
        host: str,
        port: int,
        keep_alive_timeout: float,
        access_log: bool = False,
        grace: float = 10.0,
    ) -> None:
        self._handler = handler
        self._host = host
        self._port = port
        self._keep_alive_timeout = keep_alive_timeout
        self._access_log = access_log
        self._grace = grace
        self._server: asyncio.AbstractServer | None = None
        self._shared: ConnectionSettings | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self.port: int | None = None

    async def start(self) -> None:
        shared = ConnectionSettings(
            self._handler,
            keep_alive_timeout=self._keep_alive_timeout,
            access_log=self._access_log,
        )
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: ClientConnection(shared),
            self._host,
            self._port,
            reuse_port=True,
            backlog=2048,
        )
        sockets = self._server.sockets
        bound = sockets[0].getsockname() if sockets else (self._host, self._port)
        self.port = int(bound[1])
        shared.server = (str(bound[0]), self.port)
        self._shared = shared
        self._sweeper = asyncio.create_task(self._sweep_idle(shared))
        logger.info("proxy listener on %s:%d", self._host, self.port)

    async def _sweep_idle(self, shared: ConnectionSettings) -> None:
        """Close connections idle past the keep-alive timeout (one clock for all connections,
        instead of a timer per request), checking a few times per timeout."""
        timeout = self._keep_alive_timeout
        interval = min(1.0, timeout / 4)
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(interval)
            cutoff = loop.time() - timeout
            for conn in list(shared.connections):
                conn.close_if_idle_since(cutoff)

    async def aclose(self) -> None:
        """Stop accepting; let calls in progress finish (up to ``grace`` seconds); drop the rest."""
        server, shared = self._server, self._shared
        self._server = None
        if server is None or shared is None:
            return
        server.close()
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        for conn in list(shared.connections):
            conn.close_when_idle()
        if shared.connections:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(shared.all_closed.wait(), self._grace)
        for conn in list(shared.connections):
            if conn.transport is not None:
                conn.transport.abort()
        await asyncio.sleep(0)  # let the aborted connections' calls see their cancellation
        await server.wait_closed()
