"""The floor for a Python proxy on this machine: a bare asyncio reverse proxy (``bare-1w`` target).

uvloop, httptools to find message boundaries, one pooled keep-alive upstream connection per client
connection, a fixed ``Authorization`` header injected; response bytes are relayed as they come,
unparsed. No API keys, no lookups, no header filtering, no timeouts: it shows what Passway's own
work costs on top of the unavoidable part (two HTTP/1.1 hops through one Python event loop).

Content-Length request bodies only (what the benchmark sends). ``python bench/bare_proxy.py PORT
UPSTREAM_PORT TOKEN``.
"""

from __future__ import annotations

import asyncio
import sys
from typing import cast

import httptools
import uvloop

HIGH_WATER = 1 << 20


class Upstream(asyncio.Protocol):
    """The provider side: relays bytes to the client until the response message is complete."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.transport.set_write_buffer_limits(HIGH_WATER)

    def data_received(self, data: bytes) -> None:
        self.client.transport.write(data)
        self.parser.feed_data(data)

    def on_message_complete(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.client.resume()

    def connection_lost(self, exc: Exception | None) -> None:
        self.client.upstream_lost()

    def pause_writing(self) -> None:
        self.client.transport.pause_reading()

    def resume_writing(self) -> None:
        self.client.transport.resume_reading()


class Client(asyncio.Protocol):
    """The client side: rewrites each request head, streams its body to the upstream."""

    def __init__(self, upstream_port: int, token: bytes) -> None:
        self.upstream_port = upstream_port
        self.auth = b"Authorization: Bearer " + token + b"\r\n"
        self.parser = httptools.HttpRequestParser(self)
        self.headers: list[bytes] = []
        self.url = b""
        self.upstream: Upstream | None = None
        self.pending: list[bytes] = []
        self.transport: asyncio.Transport

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.transport.set_write_buffer_limits(HIGH_WATER)

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() != b"authorization":
            self.headers.append(name + b": " + value + b"\r\n")

    def on_headers_complete(self) -> None:
        method = self.parser.get_method()
        head = b"".join(
            [method, b" ", self.url, b" HTTP/1.1\r\n", *self.headers, self.auth, b"\r\n"]
        )
        self.url, self.headers = b"", []
        self._send(head)

    def on_body(self, body: bytes) -> None:
        self._send(body)

    def _send(self, data: bytes) -> None:
        if self.upstream is not None and self.upstream.transport is not None:
            self.upstream.transport.write(data)
            return
        self.pending.append(data)
        if len(self.pending) == 1:
            asyncio.get_running_loop().create_task(self._connect())

    async def _connect(self) -> None:
        loop = asyncio.get_running_loop()
        _, protocol = await loop.create_connection(
            lambda: Upstream(self), "127.0.0.1", self.upstream_port
        )
        self.upstream = protocol
        assert protocol.transport is not None
        protocol.transport.write(b"".join(self.pending))
        self.pending.clear()

    def resume(self) -> None:
        """The response is complete; the next request may reuse the upstream connection."""

    def upstream_lost(self) -> None:
        self.upstream = None
        self.transport.close()

    def pause_writing(self) -> None:
        if self.upstream is not None and self.upstream.transport is not None:
            self.upstream.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.upstream is not None and self.upstream.transport is not None:
            self.upstream.transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.upstream is not None and self.upstream.transport is not None:
            self.upstream.transport.close()


async def serve(port: int, upstream_port: int, token: bytes) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: Client(upstream_port, token), "127.0.0.1", port, backlog=4096
    )
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    uvloop.install()
    asyncio.run(serve(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3].encode()))
