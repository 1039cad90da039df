"""Send the call to the provider with the proxy's HTTP/1.1 client, and relay its answer.

The client (``http1_pool.Http1Client``, one per worker) pools keep-alive connections, opens new
ones through the egress guard, never decompresses and never follows redirects: a 3xx and its
``Location`` go back to the client as they are. The answer is relayed as it arrives, each piece
sent (and awaited: a slow client slows the reading from the provider) before the next is read, so
server-sent events arrive one by one and a large download never sits in memory.

Failures before the client's response has started become problems: 504 ``provider_timeout``,
502 ``provider_unreachable``, 403 ``egress_denied``. Once it has started, a broken provider answer
raises ``UpstreamAborted`` so that the server drops the client's connection: a clean but short body
would be a lie.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from typing import Protocol

from passway.asgi_types import Message, ResponseWriter, Send
from passway.core.headers import downstream_response_headers
from passway.egress import egress_denial
from passway.errors import PasswayError, UpstreamError, UpstreamTimeout
from passway.http1.client.errors import UpstreamConnectError
from passway.http1.client.pool import AddressGuard, Http1Client
from passway.http1.client.response import Http1Response
from passway.proxy.timeouts import CallTimeouts

logger = logging.getLogger(__name__)

Body = bytes | AsyncIterator[bytes] | None

_NO_BODY_STATUSES = frozenset({204, 304})


class UpstreamAborted(Exception):
    """The provider's answer broke off after the client's response had started."""


def upstream_failure(exc: BaseException) -> PasswayError:
    """The problem to answer for an error raised before the provider's answer started."""
    denial = egress_denial(exc)
    if denial is not None:
        return denial
    if isinstance(exc, TimeoutError):
        return UpstreamTimeout("The provider did not answer in time.")
    if isinstance(exc, UpstreamConnectError):
        return UpstreamError("Could not connect to the provider.")
    return UpstreamError("The provider closed the connection without a complete answer.")


async def open_upstream(
    client: Http1Client,
    method: str,
    url: str,
    headers: Sequence[tuple[str, str]],
    body: Body,
    timeouts: CallTimeouts,
    guard: AddressGuard | None = None,
) -> Http1Response:
    """Send the request; return once the provider's status and headers are in. ``guard`` is the
    provider's own egress guard when it has one."""
    try:
        return await client.request(
            method,
            url,
            headers,
            body,
            connect_timeout=timeouts.connect,
            read_timeout=timeouts.read,
            guard=guard,
        )
    except (TimeoutError, OSError) as exc:
        raise upstream_failure(exc) from None


class RelayProgress(Protocol):
    """What the caller learns as the answer is relayed (noted before each step is written)."""

    started: bool  # the response head went out
    status: int
    response_bytes: int  # body bytes handed to the client


class AsgiWriter:
    """A ``ResponseWriter`` over an ASGI ``send`` (a server without one of its own: uvicorn): each
    step becomes its message, sent when the relay awaits ``drain``."""

    __slots__ = ("_pending", "_send")

    def __init__(self, send: Send) -> None:
        self._send = send
        self._pending: list[Message] = []

    def start(self, status: int, headers: Sequence[tuple[bytes, bytes]]) -> bool:
        self._pending.append({"type": "http.response.start", "status": status, "headers": headers})
        return True

    def body(self, data: bytes, more: bool) -> bool:
        self._pending.append({"type": "http.response.body", "body": data, "more_body": more})
        return True

    async def drain(self) -> None:
        pending, self._pending = self._pending, []
        for message in pending:
            await self._send(message)

    async def send(self, message: Message) -> None:
        await self._send(message)


async def relay_response(
    response: Http1Response,
    writer: ResponseWriter,
    progress: RelayProgress,
    *,
    head: bool,
    extra_headers: Sequence[tuple[bytes, bytes]] = (),
) -> None:
    """Stream the provider's status, headers and body to the client: each piece written (and, when
    the client's socket is full, drained) before the next is read."""
    bodyless = response.status in _NO_BODY_STATUSES
    headers = downstream_response_headers(response.raw_headers, bodyless_status=bodyless)
    if extra_headers:
        headers.extend(extra_headers)
    progress.started = True
    progress.status = response.status
    if writer.start(response.status, headers):
        await writer.drain()
    if head or bodyless or response.status < 200:
        if writer.body(b"", False):
            await writer.drain()
        return
    try:
        while True:
            chunk = response.ready()  # what has arrived already, without an await
            if chunk is None:
                chunk = await response.read()
            if not chunk:
                break
            # The last piece carries the end of the body: one step fewer for small answers.
            last = response.complete
            progress.response_bytes += len(chunk)
            if writer.body(chunk, not last):
                await writer.drain()
            if last:
                return
    except (TimeoutError, OSError) as exc:
        logger.warning("provider answer broke off mid-body: %s", type(exc).__name__)
        raise UpstreamAborted(type(exc).__name__) from None
    if writer.body(b"", False):
        await writer.drain()
