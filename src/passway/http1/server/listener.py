"""A listener: one port served by Passway's own HTTP/1.1 server, without uvicorn.

``passway serve`` opens every port with it (``passway.frontdoor``: the main port, the optional
admin port, the deprecated ``PASSWAY_PROXY_PORT``). Each connection is a plain
``asyncio.Protocol`` (``connection``) that hands each request to the port's ASGI handler, writes
each small answer to the socket in one piece and skips a general-purpose server's per-request
work. On a 2-core machine a small proxied call costs about a quarter less CPU than through uvicorn
(``bench/README.md``).

What it serves: every request goes to the handler it is given (the application puts ``/healthz``
and ``/readyz`` in front, ``passway.asgi.with_ops_endpoints``), except that, with ``header_route``,
the requests carrying that header go to a handler of their own (the proxy calls, by
``x-amp-proxy-version``). A head must complete within the
header timeout of its first byte, and an idle connection closes after the keep-alive timeout.

Each worker process binds the port with ``SO_REUSEPORT`` and the kernel spreads connections over
them. On shut-down the listener stops accepting, lets calls in progress finish for up to
``grace`` seconds, then drops what is left.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from passway.http1.server.connection import ClientConnection
from passway.http1.server.shared import ConnectionSettings, Handler

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
        header_timeout: float | None = None,
        label: str = "proxy listener",
        reuse_port: bool = True,
        header_route: tuple[bytes, Handler] | None = None,
    ) -> None:
        self.label = label
        # SO_REUSEPORT: every worker binds the port and the kernel spreads connections. It also
        # lets any other process of the same user bind it, so a single worker does without.
        self._reuse_port = reuse_port
        self._handler = handler
        # Requests carrying this header (lower case) go to this handler (the proxy calls).
        self._header_route = header_route
        self._header_timeout = keep_alive_timeout if header_timeout is None else header_timeout
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
            header_timeout=self._header_timeout,
            header_route=self._header_route,
        )
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: ClientConnection(shared),
            self._host,
            self._port,
            reuse_port=self._reuse_port,
            backlog=2048,
        )
        sockets = self._server.sockets
        bound = sockets[0].getsockname() if sockets else (self._host, self._port)
        self.port = int(bound[1])
        shared.server = (str(bound[0]), self.port)
        self._shared = shared
        self._sweeper = asyncio.create_task(self._sweep_idle(shared))
        logger.info("%s on %s:%d", self.label, self._host, self.port)

    async def _sweep_idle(self, shared: ConnectionSettings) -> None:
        """Close connections idle past the keep-alive timeout, and those whose request head has
        not completed within the header timeout (one clock for all connections, instead of a
        timer per request), checking a few times per timeout."""
        timeout = self._keep_alive_timeout
        header_timeout = self._header_timeout
        interval = min(1.0, timeout / 4, header_timeout / 4)
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(interval)
            now = loop.time()
            cutoff, head_cutoff = now - timeout, now - header_timeout
            for conn in list(shared.connections):
                conn.close_if_idle_since(cutoff, head_cutoff)

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
