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
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def read_response(self) -> RawResponse:
        """One response framed by its Content-Length (Passway's own answers always have one)."""
        head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), WAIT)
        status_line, *lines = head[:-4].decode("latin-1").split("\r\n")
        headers = [(k.strip(), v.strip()) for k, _, v in (line.partition(":") for line in lines)]
        response = RawResponse(int(status_line.split(" ", 2)[1]), headers, b"")
        length = response.header("content-length")
        if length is not None:
            response.body = await asyncio.wait_for(self.reader.readexactly(int(length)), WAIT)
        return response

    async def closed_by_server(self) -> bool:
        """Whether the server ends the connection (EOF or reset) with nothing more sent."""
        try:
            rest = await asyncio.wait_for(self.reader.read(), WAIT)
        except ConnectionResetError:
            return True
        return rest == b""


@contextlib.asynccontextmanager
async def open_wire(url: str) -> AsyncIterator[Wire]:
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        yield Wire(reader, writer)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


def raw_request(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: passway.test"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body
