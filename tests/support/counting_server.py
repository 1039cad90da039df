"""A raw TCP server on loopback that counts the connections it accepts.

Unlike ``RecordingUpstream`` (which records HTTP requests), this observes the TCP level, so a test
can show that a refused target saw no connection attempt at all. It answers ``200 ok`` to any
request and closes the connection.
"""

from __future__ import annotations

import asyncio


class CountingServer:
    """``async with CountingServer() as server``: ``server.port``, ``server.connections``,
    ``server.requests`` (the raw request heads received)."""

    def __init__(self) -> None:
        self.connections = 0
        self.requests: list[bytes] = []
        self.port = 0
        self._server: asyncio.Server | None = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            self.requests.append(await reader.readuntil(b"\r\n\r\n"))
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def __aenter__(self) -> CountingServer:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()
