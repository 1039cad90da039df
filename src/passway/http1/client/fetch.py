"""``fetch``: one whole request and answer, bodies in memory, for the small calls Passway makes
itself (token endpoints, webhooks), over the same pooled client and address guard as the proxy.

The answer's body is read whole up to ``max_body`` bytes (a larger one is refused, never buffered);
``timeout`` bounds the entire exchange (connect, send, wait, read). Redirects are never followed:
a 3xx is an answer like any other.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from passway.http1.client.pool import Http1Client
from passway.http1.client.response import Http1Response


class AnswerTooLarge(ValueError):
    """The answer's body is larger than the caller accepts."""


@dataclass(frozen=True, slots=True)
class Fetched:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes

    def header(self, name: bytes) -> str | None:
        """The first value of header ``name`` (given lower-case), decoded as latin-1."""
        for key, value in self.headers:
            if key.lower() == name:
                return value.decode("latin-1")
        return None


async def fetch(
    client: Http1Client,
    method: str,
    url: str,
    headers: Sequence[tuple[str, str]],
    body: bytes | None = None,
    *,
    timeout: float,  # noqa: ASYNC109 - one budget for the whole exchange, applied below
    max_body: int = 1024 * 1024,
) -> Fetched:
    """Send the request and read the whole answer; ``TimeoutError`` past ``timeout`` seconds."""
    async with asyncio.timeout(timeout):
        response = await client.request(
            method, url, headers, body, connect_timeout=timeout, read_timeout=timeout
        )
        try:
            data = await _read_all(response, max_body)
        except BaseException:
            response.close()
            raise
        response.release()
        return Fetched(response.status, list(response.raw_headers), data)


async def _read_all(response: Http1Response, max_body: int) -> bytes:
    parts: list[bytes] = []
    size = 0
    while chunk := await response.read():
        size += len(chunk)
        if size > max_body:
            raise AnswerTooLarge(f"answer body over {max_body} bytes")
        parts.append(chunk)
    return b"".join(parts)
