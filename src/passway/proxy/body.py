"""The client's request body, read from ASGI ``receive``, and the client's disconnect.

Small bodies whose ``Content-Length`` is known and at most ``PASSWAY_REPLAY_BUFFER_LIMIT`` bytes
(default 1 MiB) are read whole before the call, so it can be replayed once after an OAuth refresh.
Larger bodies and bodies of unknown length (chunked) are streamed to the provider as they arrive,
never held in memory, and a 401 on them is relayed as it is. ``Expect: 100-continue`` works: the
server answers ``100 Continue`` when the body is first read.

Once the body is in, ``wait_disconnect`` keeps listening to ``receive`` for the client going away,
so the call to the provider can be cancelled and its connection released.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from passway.asgi_types import Receive


class ClientDisconnected(Exception):
    """The client went away while its body was being read."""


class ClientBody:
    def __init__(self, receive: Receive, *, empty: bool = False) -> None:
        self._receive = receive
        self._settled = empty  # the body is all read (or the client left)
        # Created only if someone waits for the body to settle (most calls never do).
        self._settled_event: asyncio.Event | None = None
        self.disconnected = False
        self.received = 0  # body bytes read so far (the operation's requestBytes)

    def _settle(self) -> None:
        self._settled = True
        if self._settled_event is not None:
            self._settled_event.set()

    def _disconnect(self) -> ClientDisconnected:
        self.disconnected = True
        self._settle()
        return ClientDisconnected()

    async def read_all(self) -> bytes:
        """The whole body (for bodies known to be small)."""
        chunks: list[bytes] = []
        while True:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                raise self._disconnect()
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        self._settle()
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        self.received = len(body)
        return body

    def stream(self) -> AsyncIterator[bytes]:
        """The body piece by piece, as the client sends it (awaiting each: backpressure)."""
        return _Pieces(self)

    async def wait_disconnect(self) -> None:
        """Return when the client disconnects (only listens once the body has been read)."""
        if not self._settled:
            if self._settled_event is None:
                self._settled_event = asyncio.Event()
            await self._settled_event.wait()
        while not self.disconnected:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                self.disconnected = True


class _Pieces:
    """``ClientBody.stream``: an iterator class rather than an async generator, which mypyc
    cannot compile (this module is on the hot path of every upload)."""

    def __init__(self, body: ClientBody) -> None:
        self._body = body
        self._done = False

    def __aiter__(self) -> _Pieces:
        return self

    async def __anext__(self) -> bytes:
        body = self._body
        while not self._done:
            message = await body._receive()
            if message["type"] == "http.disconnect":
                raise body._disconnect()
            if not message.get("more_body", False):
                self._done = True
                body._settle()  # all of it is in: the disconnect watch may listen now
            chunk: bytes = message.get("body", b"")
            if chunk:
                body.received += len(chunk)
                return chunk
        raise StopAsyncIteration
