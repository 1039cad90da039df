"""One client connection written and read as bytes (where a client library would hide what
happens on the connection): ``async with open_wire(url) as conn``."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

WAIT = 15.0  # ceiling for any single wait on the wire (never a timing assertion)


@dataclass
class RawResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        return values[0] if values else None

    def json(self) -> Any:
        return json.loads(self.body)


class Wire:
    """One client connection, written and read as bytes."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, url: str) -> Wire:
        host, port = url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        return cls(reader, writer)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def read_head(self) -> tuple[int, list[tuple[str, str]]]:
        head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), WAIT)
        status_line, *lines = head[:-4].decode("latin-1").split("\r\n")
        assert status_line.startswith("HTTP/1.1 "), status_line
        headers = [(k.strip(), v.strip()) for k, _, v in (line.partition(":") for line in lines)]
        return int(status_line.split(" ", 2)[1]), headers

    async def read_response(self, *, method: str = "GET") -> RawResponse:
        """One complete response, read by its framing (a broken one raises)."""
        status, headers = await self.read_head()
        response = RawResponse(status, headers, b"")
        if method == "HEAD" or status in (204, 304) or status < 200:
            return response
        length = response.header("content-length")
        if length is not None:
            response.body = await asyncio.wait_for(self.reader.readexactly(int(length)), WAIT)
        elif response.header("transfer-encoding") == "chunked":
            response.body = await self._read_chunks()
        else:
            response.body = await self.read_to_end()
        return response

    async def _read_chunks(self) -> bytes:
        pieces = []
        while True:
            size_line = await asyncio.wait_for(self.reader.readuntil(b"\r\n"), WAIT)
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                assert await asyncio.wait_for(self.reader.readuntil(b"\r\n"), WAIT) == b"\r\n"
                return b"".join(pieces)
            pieces.append(await asyncio.wait_for(self.reader.readexactly(size), WAIT))
            assert await asyncio.wait_for(self.reader.readexactly(2), WAIT) == b"\r\n"

    async def read_to_end(self) -> bytes:
        """Everything until the server closes the connection."""
        return await asyncio.wait_for(self.reader.read(), WAIT)

    async def closed_by_server(self) -> bool:
        """Whether the server ends the connection (EOF or reset) with nothing more sent."""
        try:
            rest = await asyncio.wait_for(self.reader.read(), WAIT)
        except ConnectionResetError:
            return True
        return rest == b""

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()


@contextlib.asynccontextmanager
async def open_wire(url: str) -> AsyncIterator[Wire]:
    connection = await Wire.open(url)
    try:
        yield connection
    finally:
        await connection.close()


def raw_request(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: passway.test"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body
