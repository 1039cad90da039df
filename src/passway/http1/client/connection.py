"""One HTTP/1.1 connection to a provider: an ``asyncio.Protocol`` parsing answers with httptools.

Passway sends everything with this small client (``pool`` pools the connections and opens them
through the address guard; ``fetch`` serves whole small exchanges such as token calls): aiohttp's
general-purpose client cost about half the CPU time of a proxied call.

A connection serves one exchange at a time (no pipelining). ``begin`` arms a fresh parser and writes
the request head; the caller then awaits ``wait_head`` and reads the body with ``read``. Body pieces
are kept as they arrive; past ``HIGH_WATER`` buffered bytes the socket stops being read until the
caller catches up, so a slow client slows the provider down instead of filling memory. The body of
a ``Content-Length`` answer is counted off the socket's reads past the parser, which would copy
every byte (a large download costs one copy less); ``read`` hands large pieces on one by one, never
joined into a new buffer. Every wait is
bounded by the read timeout (the longest silence allowed; ``http1_deadlines`` keeps the clock). A
connection is reusable only when its answer was read to the end, the provider allowed keep-alive,
and nothing unexpected arrived.

Failures are typed: ``StaleConnection`` when the connection broke before any byte of the answer
(a reused connection the provider had closed: safe to retry for some requests), ``BrokenAnswer``
when it broke later or the answer could not be parsed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable
from typing import cast

import httptools

from passway.http1.client.deadlines import Deadlines, expire
from passway.http1.client.errors import BrokenAnswer, StaleConnection
from passway.http1.pieces import Pieces

HIGH_WATER = 256 * 1024  # buffered answer bytes before reading from the provider pauses
_BODYLESS = frozenset({204, 304})
_FRAMING_NAMES = frozenset({b"content-length", b"transfer-encoding"})
_FRAMING_NAME_LENGTHS = frozenset(len(name) for name in _FRAMING_NAMES)


class Http1Connection(asyncio.Protocol):
    """The protocol side of one pooled connection; ``key`` is its pool's key (scheme, host, port,
    and the guard that cleared it)."""

    def __init__(
        self,
        key: Hashable,
        on_lost: Callable[[Http1Connection], None],
        deadlines: Deadlines,
    ) -> None:
        self.key = key
        self._deadlines = deadlines
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.exchanges = 0  # how many requests this connection has carried
        self.idle_since = 0.0
        self._on_lost = on_lost
        # Kept: asyncio.get_running_loop() costs a getpid() system call each time (CPython 3.11).
        self.loop = asyncio.get_running_loop()
        self._parser: httptools.HttpResponseParser | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._drain: asyncio.Future[None] | None = None
        self._write_paused = False
        self._reading_paused = False
        self._active = False
        self._head_only = False
        self._error: BaseException | None = None
        self._got_bytes = False
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self._framed = False  # the answer has Content-Length or Transfer-Encoding
        self._head_done = False
        self.complete = False
        self._keep_alive = False
        self._until_close = False
        self._pieces = Pieces()
        self._content_length: bytes | None = None  # the answer's, noted while its head is parsed
        self._chunked = False
        # Body bytes still to come of a Content-Length answer taken past the parser (-1: none, or
        # the parser reads it).
        self._body_left = -1
        self._second_answer = False  # the provider sent more than one answer to this request

    # asyncio.Protocol ---------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        if not self._active or self._parser is None:
            self._fail(BrokenAnswer("data from the provider while no request was pending"))
            return
        self._got_bytes = True
        if self._body_left > 0:
            data = self._take_body(data)
            if not data:
                self._wake()
                return
        try:
            self._parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade) as exc:
            self._fail(BrokenAnswer(f"invalid answer from the provider: {type(exc).__name__}"))
            return
        self._wake()

    def _take_body(self, data: bytes) -> bytes:
        """The next bytes of a Content-Length body: kept as they are, without the parser. Returns
        what follows the body in ``data`` (nothing, from a well-behaved provider)."""
        left = self._body_left
        piece, rest = (data, b"") if len(data) <= left else (data[:left], data[left:])
        self._body_left = left - len(piece)
        self._keep(piece)
        if self._body_left == 0:
            self._body_left = -1
            self.complete = True
            # The parser, which saw only the head, still waits for the body: anything more on the
            # connection goes to a fresh one, which sees a second answer (never reused) or junk.
            self._parser = httptools.HttpResponseParser(self)
        return rest

    def eof_received(self) -> bool | None:
        return None  # close the transport; connection_lost settles the exchange

    def connection_lost(self, exc: Exception | None) -> None:
        was_closed, self.closed = self.closed, True
        if self._active and not self.complete and self._error is None:
            if self._head_done and self._until_close and exc is None:
                self.complete = True  # a body delimited by the end of the connection (not a reset)
                self._keep_alive = False
            elif not self._got_bytes:
                self._error = StaleConnection("the provider closed the connection")
            else:
                self._error = BrokenAnswer("the provider closed the connection mid-answer")
        self._wake()
        self._wake_drain()
        if not was_closed:
            self._on_lost(self)

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        self._wake_drain()

    # httptools callbacks -----------------------------------------------------------------------
    def on_message_begin(self) -> None:
        if self.complete:
            # A second answer to one request: its head and body are ignored (never added to the
            # answer being relayed), and the connection is not trusted again.
            self._second_answer = True
        else:
            self.headers = []
            self._framed = False
            self._content_length = None
            self._chunked = False

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._second_answer:
            return
        # The parser drops the spaces before a value, not those after it (rare): strip() only
        # then, not for every header (a method call is a tenth of a header's cost compiled).
        if value and (_ows(value[-1]) or _ows(value[0])):
            value = value.strip(b" \t")
        self.headers.append((name, value))
        if len(name) in _FRAMING_NAME_LENGTHS:
            lowered = name.lower()
            if lowered == b"content-length":
                self._framed = True
                self._content_length = value
            elif lowered == b"transfer-encoding":
                self._framed = self._chunked = True

    def on_headers_complete(self) -> None:
        assert self._parser is not None
        if self._second_answer:
            return
        status = self._parser.get_status_code()
        self.status = status
        if status < 200:
            return  # an interim answer (100 Continue, 103 Early Hints): skipped
        self._head_done = True
        self._keep_alive = self._parser.should_keep_alive()
        if self._head_only or status in _BODYLESS:
            self.complete = True
            return
        self._until_close = not self._framed
        length = self._content_length
        if length is not None and not self._chunked and length.isdigit() and int(length) > 0:
            # (The parser has checked it: one value, digits.) Its bytes are counted from here;
            # the part of the body in this same read still comes through on_body.
            self._body_left = int(length)

    def on_body(self, body: bytes) -> None:
        if self.complete:
            return
        if self._body_left > 0:
            self._body_left -= len(body)  # the part of a counted body read with its head
        self._keep(body)

    def _keep(self, body: bytes) -> None:
        self._pieces.add(body)
        if self._pieces.size > HIGH_WATER and not self._reading_paused and self.transport:
            self._reading_paused = True
            self.transport.pause_reading()

    def on_message_complete(self) -> None:
        if self.status >= 200:
            self.complete = True
            self._body_left = -1

    # the exchange ------------------------------------------------------------------------------
    def begin(self, head: bytes, *, head_only: bool) -> None:
        """Start an exchange: a fresh parser, then the request head (and small body) written."""
        if self.closed or self.transport is None or self.transport.is_closing():
            raise StaleConnection("the pooled connection is closed")
        self.exchanges += 1
        self._parser = httptools.HttpResponseParser(self)
        self._active = True
        self._head_only = head_only
        self._error = None
        self._got_bytes = False
        self.status = 0
        self.headers = []
        self._head_done = self.complete = self._keep_alive = self._until_close = False
        self._framed = self._chunked = False
        self._content_length = None
        self._body_left = -1
        self._second_answer = False
        self._pieces.clear()
        self.transport.write(head)

    def write(self, data: bytes) -> None:
        if self.transport is not None and not self.closed:
            self.transport.write(data)

    async def drain(self) -> None:
        """Wait while the socket's write buffer is full (flow control for request bodies)."""
        while self._write_paused and not self.closed:
            self._drain = self.loop.create_future()
            try:
                await self._drain
            finally:
                self._drain = None
        if self.closed:
            raise self._error or BrokenAnswer("the provider closed the connection")

    async def wait_head(self, read_timeout: float | None) -> None:
        """Return once the final status and headers are in."""
        while not self._head_done:
            if self._error is not None:
                raise self._error
            await self._wait(read_timeout)

    async def read(self, read_timeout: float | None) -> bytes:
        """The body bytes buffered so far (waiting for some), or ``b""`` at the end."""
        while True:
            data = self.ready()
            if data is not None:
                return data
            if self._error is not None:
                raise self._error
            await self._wait(read_timeout)

    def ready(self) -> bytes | None:
        """What ``read`` would return without waiting: the body bytes buffered, ``b""`` at the
        end; None when it would wait (or raise)."""
        pieces = self._pieces
        if pieces:
            data = pieces.take()
            if self._reading_paused and pieces.size <= HIGH_WATER and self.transport:
                self._reading_paused = False
                self.transport.resume_reading()
            return data
        if self.complete:
            return b""
        return None

    @property
    def drained(self) -> bool:
        """The whole body was received and handed on by ``read`` (the next read returns b"")."""
        return self.complete and not self._pieces

    @property
    def open(self) -> bool:
        """Neither closed nor closing (an idle connection that can take a request)."""
        return not self.closed and self.transport is not None and not self.transport.is_closing()

    @property
    def reusable(self) -> bool:
        return (
            self.complete
            and self._keep_alive
            and not self._second_answer
            and not self.closed
            and self._error is None
        )

    def finish(self) -> None:
        """The exchange is over and the connection goes back to the pool."""
        self._active = False
        self._parser = None

    def fail(self, error: BaseException) -> None:
        """Abandon the exchange with ``error`` (seen by whoever waits) and drop the connection."""
        self._fail(error)

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.abort()  # never reused; abort also skips a TLS close handshake wait

    # internals ---------------------------------------------------------------------------------
    def _fail(self, error: BaseException) -> None:
        if self._error is None and not self.complete:
            self._error = error
        self._keep_alive = False
        self._wake()
        self.close()

    async def _wait(self, read_timeout: float | None) -> None:
        """Until the protocol has news, or ``TimeoutError`` after ``read_timeout`` seconds."""
        waiter = self.loop.create_future()
        self._waiter = waiter
        if read_timeout is not None:
            self._deadlines.add(waiter, read_timeout, expire)
        try:
            await waiter
        finally:
            self._deadlines.discard(waiter)
            self._waiter = None

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _wake_drain(self) -> None:
        waiter = self._drain
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


def _ows(byte: int) -> bool:
    """Whether ``byte`` is optional white space: a space or a tab."""
    return byte == 32 or byte == 9
