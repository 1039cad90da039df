"""Experiment, not product code: a minimal pooled HTTP/1.1 upstream client in place of aiohttp's.

``make_variant.py lean`` copies ``src/`` and swaps ``passway.proxy.upstream.open_upstream`` for
``open_lean`` below, to measure what aiohttp's client costs per proxied request. It speaks just
enough HTTP/1.1 for the benchmark: bytes or empty request bodies, Content-Length or chunked
responses, keep-alive reuse. No egress guard, no timeouts, no TLS: a measurement, not a candidate.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

_POOL: dict[tuple[str, int], list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]] = {}


class _Content:
    """The subset of aiohttp's StreamReader that ``relay_response`` uses."""

    def __init__(self, reader: asyncio.StreamReader, length: int | None, done: Any) -> None:
        self._reader = reader
        self._left = length  # None means chunked
        self._chunk_left = 0
        self._eof = length == 0
        self._done = done

    def at_eof(self) -> bool:
        return self._eof

    async def readany(self) -> bytes:
        if self._eof:
            return b""
        if self._left is not None:
            data = await self._reader.read(min(self._left, 65536))
            self._left -= len(data)
            if not data:
                raise ConnectionError("upstream closed mid-body")
            if self._left == 0:
                self._eof = True
                self._done()
            return data
        if self._chunk_left == 0:
            size = int((await self._reader.readline()).split(b";")[0], 16)
            if size == 0:
                await self._reader.readline()
                self._eof = True
                self._done()
                return b""
            self._chunk_left = size
        data = await self._reader.read(min(self._chunk_left, 65536))
        self._chunk_left -= len(data)
        if self._chunk_left == 0:
            await self._reader.readexactly(2)
        return data


class LeanResponse:
    def __init__(self, status: int, raw_headers: list[tuple[bytes, bytes]], content: _Content):
        self.status = status
        self.raw_headers = raw_headers
        self.headers = {k.decode().lower(): v.decode() for k, v in raw_headers}
        self.content = content

    def release(self) -> None:
        pass

    def close(self) -> None:
        pass


async def open_lean(
    session: Any,
    method: str,
    url: str,
    headers: Sequence[tuple[str, str]],
    body: Any,
    client_timeout: Any,
) -> LeanResponse:
    parts = urlsplit(url)
    key = (parts.hostname or "127.0.0.1", parts.port or 80)
    pool = _POOL.setdefault(key, [])
    reader, writer = pool.pop() if pool else await asyncio.open_connection(*key, limit=1 << 17)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    lines = [f"{method} {target} HTTP/1.1", f"Host: {key[0]}:{key[1]}"]
    lines += [f"{name}: {value}" for name, value in headers if name.lower() != "host"]
    payload = body if isinstance(body, bytes) else b""
    if payload and not any(n.lower() == "content-length" for n, _ in headers):
        lines.append(f"Content-Length: {len(payload)}")
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload)
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head[:-4].split(b"\r\n")
    raw_headers = []
    length: int | None = 0
    for line in header_lines:
        name, _, value = line.partition(b":")
        value = value.strip()
        raw_headers.append((name, value))
        lowered = name.lower()
        if lowered == b"content-length":
            length = int(value)
        elif lowered == b"transfer-encoding":
            length = None

    def done() -> None:
        pool.append((reader, writer))

    content = _Content(reader, length, done)
    if length == 0:
        done()
    return LeanResponse(int(status_line.split(b" ", 2)[1]), raw_headers, content)
