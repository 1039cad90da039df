"""One exchange of the proxy's HTTP/1.1 client, as the caller sees it: the request body stream
going out (``send_stream``, with flow control) and the answer coming in (``Http1Response``).

``Http1Response.release`` hands the connection back to the pool, which keeps it only if the answer
was read to the end; ``close`` drops it (client gone, answer abandoned).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

from passway.http1.client.connection import Http1Connection


class BodyStream:
    """A request body stream that remembers whether anything has been taken from it."""

    def __init__(self, source: AsyncIterator[bytes]) -> None:
        self._source = source
        self.started = False

    def __aiter__(self) -> BodyStream:
        return self

    async def __anext__(self) -> bytes:
        self.started = True
        return await self._source.__anext__()


class Http1Response:
    """The provider's answer: status and raw headers are in; the body is read with ``read``."""

    __slots__ = ("_conn", "_release", "_settled", "_timeout", "_writer", "raw_headers", "status")

    def __init__(
        self,
        conn: Http1Connection,
        release: Callable[[Http1Connection], None],
        writer: asyncio.Task[None] | None,
        timeout: float | None,
    ) -> None:
        self.status = conn.status
        self.raw_headers = conn.headers
        self._conn = conn
        self._release = release
        self._writer = writer
        self._timeout = timeout
        self._settled = False

    @property
    def complete(self) -> bool:
        """The whole body has been received and read (``read`` has nothing more to give)."""
        return self._conn.drained

    async def read(self) -> bytes:
        """The next body bytes, ``b""`` at the end; ``TimeoutError`` after a silence, or a
        ``ConnectionError`` if the answer broke off."""
        return await self._conn.read(self._timeout)

    def ready(self) -> bytes | None:
        """What ``read`` would return at once (the body bytes already in, ``b""`` at the end), or
        None when it would have to wait: a relay calls this first and awaits only then."""
        return self._conn.ready()

    def header(self, name: bytes) -> str | None:
        """The first value of header ``name`` (given lower-case), decoded as latin-1."""
        for key, value in self.raw_headers:
            if key.lower() == name:
                return value.decode("latin-1")
        return None

    def release(self) -> None:
        """Done with the answer: the connection is pooled again if it can be, closed otherwise."""
        if self._settled:
            return
        self._settled = True
        writer = self._writer
        if writer is not None and not writer.done():
            writer.cancel()  # the provider answered before taking the whole body
            self._conn.close()
            return
        self._release(self._conn)

    def close(self) -> None:
        """Abandon the answer: the connection is closed, never reused."""
        if self._settled:
            return
        self._settled = True
        if self._writer is not None:
            self._writer.cancel()
        self._conn.close()


async def send_stream(conn: Http1Connection, body: BodyStream, chunked: bool) -> None:
    try:
        async for chunk in body:
            if not chunk:
                continue
            if chunked:
                conn.write(b"%x\r\n" % len(chunk))
                conn.write(chunk)
                conn.write(b"\r\n")
            else:
                conn.write(chunk)
            await conn.drain()
        if chunked:
            conn.write(b"0\r\n\r\n")
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001 - handed on: whoever waits for the answer raises it
        conn.fail(exc)  # the client left (ClientDisconnected), the socket broke, ...
