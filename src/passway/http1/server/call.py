"""One request on a proxy-listener connection: the ASGI ``receive`` and ``send`` the handler
drives, written straight to the client's socket; for a ``DirectApp`` (the proxy handler) the call
is also its ``ResponseWriter``: ``start``, ``body`` and ``drain`` without ASGI messages (``send``
is built on them).

The response head is not written on ``start``: it waits for the first body piece and leaves with
it in one write (for a small answer: head, body and end in one system call). Framing follows the
head the handler sends: its ``Content-Length`` when there is one, otherwise chunked (HTTP/1.1
clients) or the end of the connection (HTTP/1.0 clients); ``HEAD``, 1xx, 204 and 304 answers carry
no body. ``Connection: close`` is added whenever the connection will not be reused.

Request body pieces are queued by the connection as they are parsed; ``receive`` hands them out
(``http1.pieces``: small ones joined, large ones one by one, never copied into a new buffer),
answering ``Expect: 100-continue`` when the body is first asked for. Past ``BODY_HIGH_WATER``
queued bytes the connection stops reading the socket until the handler catches up. ``body`` says
when the socket's write buffer is full and ``drain`` waits for it (``send`` does both), so a slow
client slows the provider down.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from passway.http1.pieces import Pieces

if TYPE_CHECKING:
    from passway.asgi_types import ASGIApp, DirectApp
    from passway.errors import PasswayError
    from passway.http1.server.connection import ClientConnection

BODY_HIGH_WATER = 256 * 1024  # queued request-body bytes before the socket stops being read
_WRITE_JOIN_LIMIT = 64 * 1024  # smaller writes are joined into one buffer; larger go out as a list

_REASONS = {s.value: s.phrase.encode("ascii") for s in HTTPStatus}
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_NO_BODY_STATUSES = frozenset({204, 304})
_CHUNK_END = b"\r\n"
_LAST_CHUNK = b"0\r\n\r\n"


def status_line(status: int) -> bytes:
    return b"HTTP/1.1 %d %s\r\n" % (status, _REASONS.get(status, b""))


class ListenerCall:
    """The state of one request and its response."""

    __slots__ = (
        "_conn",
        "_drain",
        "_final_sent",
        "_waiter",
        "body_done",
        "chunked",
        "direct",
        "disconnected",
        "expect_continue",
        "finished",
        "handler",
        "head_only",
        "http10",
        "keep_alive",
        "pending_head",
        "pieces",
        "refusal",
        "running",
        "scope",
        "started",
        "status",
        "task",
    )

    def __init__(
        self,
        conn: ClientConnection,
        handler: ASGIApp,
        direct: DirectApp | None,
        scope: dict[str, Any],
        *,
        keep_alive: bool,
        expect_continue: bool,
        http10: bool,
    ) -> None:
        self._conn = conn
        self.handler = handler  # the ASGI app that answers it
        self.direct = direct  # the same app, when it answers through the call itself (no messages)
        self.scope = scope
        self.keep_alive = keep_alive
        self.expect_continue = expect_continue
        self.http10 = http10
        self.head_only = scope["method"] == "HEAD"
        self.pieces = Pieces()
        self.body_done = False
        self._final_sent = False
        self._waiter: asyncio.Future[None] | None = None
        self._drain: asyncio.Future[None] | None = None
        self.started = False
        self.finished = False
        self.disconnected = False
        self.chunked = False
        self.pending_head: bytes | None = None
        self.status = 0
        self.task: asyncio.Task[None] | None = None
        self.running = False  # its handler has started
        # Why the request turned out unreadable (malformed body framing): answered instead.
        self.refusal: PasswayError | None = None

    @property
    def unwritten(self) -> bool:
        """Nothing of the response has been written yet (its head waits for the first body)."""
        return not self.started or self.pending_head is not None

    # fed by the connection -----------------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        self.pieces.add(data)
        self.wake()

    def end_body(self) -> None:
        self.body_done = True
        self.wake()

    def lost(self) -> None:
        self.disconnected = True
        self.wake()
        self.wake_drain()

    def wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def wake_drain(self) -> None:
        waiter = self._drain
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # ASGI receive --------------------------------------------------------------------------------
    async def receive(self) -> dict[str, Any]:
        while True:
            if self.disconnected:
                return {"type": "http.disconnect"}
            pieces = self.pieces
            if pieces:
                data = pieces.take()
                self._conn.body_drained()
                more = bool(pieces) or not self.body_done
                self._final_sent = not more
                return {"type": "http.request", "body": data, "more_body": more}
            if self.body_done and not self._final_sent:
                self._final_sent = True
                return {"type": "http.request", "body": b"", "more_body": False}
            if self.expect_continue and not self.body_done and not self.started:
                self.expect_continue = False
                self._conn.write(_CONTINUE)
            # Either the body's next piece, or (once it is all in) the client going away.
            waiter = self._waiter = self._conn.loop.create_future()
            try:
                await waiter
            finally:
                self._waiter = None

    # the response: written directly (ResponseWriter), or through ASGI messages ------------------
    def start(self, status: int, headers: Sequence[tuple[bytes, bytes]]) -> bool:
        """Keep the head: it leaves with the first body piece. Never asks for a drain."""
        if self.started:
            raise RuntimeError("http.response.start sent twice")
        self.started = True
        self.status = status
        self.pending_head = self._head(status, headers)
        return False

    def body(self, data: bytes, more: bool) -> bool:
        """Write a body piece (after the head when it is the first); True when the socket's buffer
        is full and the caller must await ``drain``."""
        if not self.started or self.finished:
            raise RuntimeError("http.response.body outside a response")
        out: list[bytes] = []
        if self.pending_head is not None:
            out.append(self.pending_head)
            self.pending_head = None
        if data and not self.head_only and self.status not in _NO_BODY_STATUSES:
            if self.chunked:
                out += (b"%x\r\n" % len(data), data, _CHUNK_END)
            else:
                out.append(data)
        if not more:
            self.finished = True
            if self.chunked:
                out.append(_LAST_CHUNK)
        if self.disconnected:
            return False
        conn = self._conn
        if len(out) == 1:
            conn.write(out[0])
        elif out:
            if sum(map(len, out)) <= _WRITE_JOIN_LIMIT:
                conn.write(b"".join(out))
            else:
                conn.writelines(out)
        return conn.write_paused

    async def send(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            self.start(message["status"], message.get("headers", ()))
        elif kind == "http.response.body":
            if self.body(message.get("body", b""), message.get("more_body", False)):
                await self.drain()
        else:
            raise RuntimeError(f"unexpected ASGI message {kind!r}")

    async def drain(self) -> None:
        """Until the socket's write buffer has room again (or the client is gone)."""
        conn = self._conn
        while conn.write_paused and not self.disconnected:
            self._drain = self._conn.loop.create_future()
            try:
                await self._drain
            finally:
                self._drain = None

    def _head(self, status: int, headers: Sequence[tuple[bytes, bytes]]) -> bytes:
        """The status line and headers, with the framing and connection headers this side owns."""
        lines = [status_line(status)]
        framed = False
        for name, value in headers:
            if len(name) == 14 and name.lower() == b"content-length":
                framed = True
            lines += (name, b": ", value, b"\r\n")
        bodyless = self.head_only or status in _NO_BODY_STATUSES or status < 200
        if not bodyless and not framed:
            if self.http10:
                self.keep_alive = False  # the body ends with the connection
            else:
                self.chunked = True
                lines.append(b"transfer-encoding: chunked\r\n")
        if not self.body_done:
            # Answered before the request body was all read: the rest cannot be told apart from
            # a next request, so this connection ends with this response.
            self.keep_alive = False
        if self._conn.closing:
            # The connection ends after this response (shut-down began, or an Upgrade request):
            # say so, so the client does not send another request on it.
            self.keep_alive = False
        if not self.keep_alive:
            lines.append(b"connection: close\r\n")
        elif self.http10:
            lines.append(b"connection: keep-alive\r\n")
        lines.append(b"\r\n")
        return b"".join(lines)
