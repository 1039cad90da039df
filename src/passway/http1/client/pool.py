"""A pooled HTTP/1.1 client whose every connection is first cleared by an address guard.

- Pool: idle keep-alive connections per (scheme, host, port), newest reused first; at most
  ``pool_size`` connections open in all (a call beyond that waits, after closing an idle connection
  of another origin if there is one); idle connections expire after ``idle_timeout`` seconds; a
  connection is pooled again only when its answer was read to the end
  (``Http1Connection.reusable``).
- Retry: a reused connection that breaks before any byte of the answer (the provider closed it
  while idle) is replaced by a new one once, only when the request is idempotent or no byte of its
  body has been taken yet (a stream already read from cannot be sent again).
- Connecting: the host is resolved with ``loop.getaddrinfo`` and every address goes through the
  ``AddressGuard`` (IP literals too) before a socket is opened to an allowed one; ``https`` uses
  ``ssl.create_default_context()`` (certificate and host name checked, SNI sent). The connect
  timeout covers resolution, connection and TLS handshake.
- Request bodies: ``bytes`` are written with the head; streams are written by a task, chunk by
  chunk, waiting while the socket's write buffer is full.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections import deque
from collections.abc import AsyncIterator, Hashable, Sequence
from typing import Protocol

from passway.http1.client.connection import Http1Connection
from passway.http1.client.deadlines import Deadlines
from passway.http1.client.errors import StaleConnection, UpstreamConnectError
from passway.http1.client.request import IDEMPOTENT_METHODS, Origin, encode_head, framing, split_url
from passway.http1.client.response import BodyStream, Http1Response, send_stream

# (scheme, host, port, the guard that cleared the connection): a connection opened under one
# provider's guard is never handed to a call under another's.
Key = tuple[str, str, int, "AddressGuard"]
_ONE_WRITE = 64 * 1024  # bodies up to this size go out in the same write as the head


class AddressGuard(Protocol):
    """Decides which resolved addresses of a host may be connected to (Passway's egress policy).
    Hashable: it is part of the pool key."""

    def __hash__(self) -> int: ...

    def check(self, host: str, addresses: Sequence[str]) -> list[str]:
        """The usable addresses, in order; raises an ``OSError`` when none may be used."""
        ...


def _may_retry(method: str, data: bytes | None, stream: BodyStream | None) -> bool:
    """Whether the request may go again on a new connection: idempotent, or nothing of its body
    consumed (a stream nobody read from yet; a buffered body only for idempotent methods)."""
    if stream is not None:
        return not stream.started
    return not data or method in IDEMPOTENT_METHODS


class Http1Client:
    """One per worker process; see the module docstring."""

    def __init__(
        self,
        guard: AddressGuard,
        *,
        pool_size: int,
        idle_timeout: float = 15.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._guard = guard
        self._cap = max(1, pool_size)
        self._idle_timeout = idle_timeout
        self._ssl = ssl_context
        self._idle: dict[Hashable, list[Http1Connection]] = {}
        self._open = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._sweeper: asyncio.TimerHandle | None = None
        self._deadlines = Deadlines()
        self._closed = False

    @property
    def open_connections(self) -> int:
        return self._open

    async def request(
        self,
        method: str,
        url: str,
        headers: Sequence[tuple[str, str]],
        body: bytes | AsyncIterator[bytes] | None,
        *,
        connect_timeout: float | None,
        read_timeout: float | None,
        guard: AddressGuard | None = None,
    ) -> Http1Response:
        """Send the request; return once the final status and headers are in. ``guard`` replaces
        the client's own for this call (a provider allowed more hosts than the others)."""
        origin, target = split_url(url)
        if guard is None:
            guard = self._guard
        key: Key = (origin.scheme, origin.host, origin.port, guard)
        data = body if isinstance(body, bytes) else None
        stream = None if body is None or isinstance(body, bytes) else BodyStream(body)
        frame = framing(method, headers, data, stream is not None)
        head = encode_head(method, target, origin, headers, frame)
        chunked = frame.startswith("Transfer-Encoding")
        conn = self._take_idle(key)
        retried = False
        while True:
            if conn is None:
                conn = await self._connect(origin, key, guard, connect_timeout)
            reused = conn.exchanges > 0
            writer: asyncio.Task[None] | None = None
            try:
                if data and len(data) > _ONE_WRITE:
                    conn.begin(head, head_only=method == "HEAD")
                    conn.write(data)
                else:
                    conn.begin(head + data if data else head, head_only=method == "HEAD")
                if stream is not None:
                    writer = asyncio.create_task(send_stream(conn, stream, chunked))
                await conn.wait_head(read_timeout)
                return Http1Response(conn, self.release, writer, read_timeout)
            except StaleConnection:
                if writer is not None:
                    writer.cancel()
                conn.close()
                if retried or not reused or not _may_retry(method, data, stream):
                    raise
                retried = True
                conn = None
            except BaseException:
                if writer is not None:
                    writer.cancel()
                conn.close()
                raise

    def release(self, conn: Http1Connection) -> None:
        """Pool ``conn`` again if its exchange ended cleanly; close it otherwise."""
        if self._closed or not conn.reusable:
            conn.close()
            return
        conn.finish()
        conn.idle_since = conn.loop.time()
        idle = self._idle.get(conn.key)  # (setdefault would build a list on every call)
        if idle is None:
            self._idle[conn.key] = [conn]
        else:
            idle.append(conn)
        if self._sweeper is None:
            loop = asyncio.get_running_loop()
            self._sweeper = loop.call_later(self._idle_timeout, self._sweep)
        self._wake_one()

    async def aclose(self) -> None:
        self._closed = True
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle.clear()

    # the pool ----------------------------------------------------------------------------------
    def _take_idle(self, key: Hashable) -> Http1Connection | None:
        idle = self._idle.get(key)
        if not idle:
            return None
        now = idle[-1].loop.time()
        while idle:
            conn = idle.pop()
            if not conn.open:
                continue
            if now - conn.idle_since > self._idle_timeout:
                conn.close()
                continue
            return conn
        return None

    def _sweep(self) -> None:
        self._sweeper = None
        now = asyncio.get_running_loop().time()
        for key, idle in list(self._idle.items()):
            fresh = [c for c in idle if not c.closed and now - c.idle_since <= self._idle_timeout]
            for conn in idle:
                if conn not in fresh:
                    conn.close()
            if fresh:
                self._idle[key] = fresh
            else:
                del self._idle[key]
        if self._idle and not self._closed:
            loop = asyncio.get_running_loop()
            self._sweeper = loop.call_later(self._idle_timeout, self._sweep)

    def _evict_one_idle(self) -> bool:
        for idle in self._idle.values():
            while idle:
                conn = idle.pop(0)  # the oldest
                if not conn.closed:
                    conn.close()
                    return True
        return False

    async def _reserve(self) -> None:
        """Count a new connection, waiting while ``pool_size`` are open."""
        while self._open >= self._cap:
            self._evict_one_idle()
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
        self._open += 1

    def _lost(self, conn: Http1Connection) -> None:
        self._open -= 1
        self._wake_one()

    def _wake_one(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def _connect(
        self, origin: Origin, key: Key, guard: AddressGuard, connect_timeout: float | None
    ) -> Http1Connection:
        await self._reserve()
        try:
            async with asyncio.timeout(connect_timeout):
                return await self._open_connection(origin, key, guard)
        except BaseException:
            self._open -= 1
            self._wake_one()
            raise

    async def _open_connection(
        self, origin: Origin, key: Key, guard: AddressGuard
    ) -> Http1Connection:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(origin.host, origin.port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise UpstreamConnectError(f"cannot resolve {origin.host}") from exc
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        allowed = guard.check(origin.host, addresses)  # raises the guard's refusal
        tls = self._tls() if origin.scheme == "https" else None
        deadlines = self._deadlines
        error: OSError | None = None
        for address in allowed:
            try:
                _, conn = await loop.create_connection(
                    lambda: Http1Connection(key, self._lost, deadlines),
                    host=address,
                    port=origin.port,
                    ssl=tls,
                    server_hostname=origin.host if tls is not None else None,
                )
            except OSError as exc:  # ssl.SSLError included
                error = exc
                continue
            return conn
        raise UpstreamConnectError(f"cannot connect to {origin.host}") from error

    def _tls(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = ssl.create_default_context()
        return self._ssl
