"""One client connection to the proxy listener: an ``asyncio.Protocol`` parsing HTTP/1.1 requests
with httptools and running the proxy handler for each, one at a time.

- **Keep-alive and pipelining.** Requests are answered in order. When a second request arrives
  while one is being answered, it waits in a queue and the socket stops being read until the queue
  is empty, so a pipelining client cannot make Passway buffer without bound.
- **Limits.** A request head larger than ``MAX_HEAD`` bytes is answered 431; a head that is not
  HTTP/1.1, or a body whose framing is broken (chunk sizes, bare LF, too much chunk data), is
  answered 400 (both problem+json, then the connection closes; a call whose body turns out broken
  is stopped and answered 400 if nothing of its answer was written yet). An idle connection is
  closed after the keep-alive timeout, a head still incomplete after the header timeout (counted
  from its first byte, however slowly the rest trickles in). A chunked body's trailers are dropped.
- **Bodies.** Once the head of a ``Content-Length`` request is parsed, the rest of its body is
  counted off as it arrives and handed to the call as read, without the parser (which would copy
  every byte): a fresh parser takes the next request.
- **Failures.** A client that goes away cancels its call (the handler's ``finally`` blocks release
  the provider's connection). A call that ends without completing its response (the provider's
  answer broke off) closes the connection, so the client sees a broken response, never a clean
  short one. An unexpected exception before the response started is a 500 problem, logged once.
- **Routing.** A listener may send the requests carrying one header (``header_route``: the proxy
  calls, which carry ``x-amp-proxy-version``) to a handler of their own, noted while the head is
  parsed, so such a request reaches its handler without a dispatcher scanning its headers again.
- **Access log.** When enabled, one line per response on uvicorn's ``uvicorn.access`` logger, in
  its format (the path without its query), so both ports log alike.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Any, cast
from urllib.parse import unquote

import httptools

from passway.asgi_types import CANCELS_ON_DISCONNECT
from passway.errors import InvalidRequest, PasswayError, RequestHeadTooLarge
from passway.http1.server.call import BODY_HIGH_WATER, ListenerCall, status_line
from passway.http1.server.shared import ConnectionSettings
from passway.observability.request_ids import new_request_id
from passway.problems import problem_body, problem_headers, send_problem

logger = logging.getLogger(__name__)
access_logger = logging.getLogger("uvicorn.access")

MAX_HEAD = 64 * 1024  # bytes of request line and headers
# This server cancels a call when its client goes away (the handler need not watch for it).
_EXTENSIONS: dict[str, Any] = {CANCELS_ON_DISCONNECT: {}}
_ASGI = {"version": "3.0", "spec_version": "2.3"}  # shared by every scope, as the extensions


class ClientConnection(asyncio.Protocol):
    def __init__(self, shared: ConnectionSettings) -> None:
        self._shared = shared
        self.loop = shared.loop  # (asyncio.get_running_loop() costs a getpid() each time)
        self.transport: asyncio.Transport | None = None
        self._parser = httptools.HttpRequestParser(self)
        self._client: tuple[str, int] | None = None
        self._url = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._expect_continue = False
        self._in_head = True
        self._head_bytes = 0  # bytes read while a head was incomplete (a head arriving slowly)
        self._head_size = 0  # the parsed request line and headers (a head read in one go)
        self._parsing: ListenerCall | None = None  # the request whose bytes are being parsed
        # The request's Content-Length and what else frames it, noted while its head is parsed.
        self._content_length: bytes | None = None
        self._other_framing = False  # Transfer-Encoding or Upgrade: the parser reads the body
        self._routed = False  # the request carries the settings' route header
        # Body bytes still to come of a Content-Length request whose body is taken past the parser
        # (-1: none, or the parser reads it).
        self._body_left = -1
        self._current: ListenerCall | None = None  # the request being answered
        self._queue: deque[ListenerCall] = deque()
        self._read_paused = False
        self._last_read = False  # a request not keeping the connection alive was read
        self.write_paused = False
        # Since when the connection waits for a request head (None while a call runs); the
        # listener's sweep closes it after the keep-alive timeout.
        self.idle_since: float | None = None
        # Since when the bytes of a request head have been arriving (None: no head under way).
        self.head_since: float | None = None
        self._refused = False  # a refusal was answered (or is about to be): read nothing more
        self.closing = False  # no request after the current one (shutdown, broken stream)

    # asyncio.Protocol -----------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple) and len(peer) >= 2:
            self._client = (str(peer[0]), int(peer[1]))
        self._shared.connections.add(self)
        self._shared.all_closed.clear()
        self._mark_idle()

    def connection_lost(self, exc: Exception | None) -> None:
        self._shared.connections.discard(self)
        self._mark_busy()
        self.closing = True
        for queued in self._queue:
            queued.lost()
        self._queue.clear()
        call = self._current
        if call is not None:
            call.lost()
            if call.task is not None and not call.finished:
                call.task.cancel()  # the client left: stop working for it
        if not self._shared.connections:
            self._shared.all_closed.set()

    def eof_received(self) -> bool | None:
        # The end of what the client sends is taken as the client leaving, as uvicorn and nginx do:
        # a half-close cannot be told from a close, and a client that closed while its call waits
        # on a slow provider must not keep that call (and the provider's connection) running.
        return None  # close the transport: connection_lost cancels the call in progress

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self._body_left > 0:
            data = self._take_body(data)
            if not data:
                return
        if self._in_head:
            self._head_bytes += len(data)
            if self.head_since is None:
                self.head_since = self.loop.time()
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._after_upgrade()
            return
        except httptools.HttpParserError as exc:
            if self._last_read:
                # Bytes after a request asking to close (which the parser refuses): they are
                # not processed (RFC 9112 9.6), and that request's answer still goes out.
                return
            if isinstance(exc.__context__, RequestHeadTooLarge):  # from on_headers_complete
                self._refuse(exc.__context__)
            else:
                self._refuse(InvalidRequest("The request is not valid HTTP/1.1."))
            return
        if self._in_head and self._head_bytes > MAX_HEAD:
            self._refuse(RequestHeadTooLarge(f"The request head is larger than {MAX_HEAD} bytes."))

    def _take_body(self, data: bytes) -> bytes:
        """The next bytes of a Content-Length body whose head the parser has read: handed on as
        they are, without the parser's copy of every body byte (a large upload costs one copy
        less). Returns what follows the body in ``data`` (a pipelined request)."""
        left = self._body_left
        piece, rest = (data, b"") if len(data) <= left else (data[:left], data[left:])
        self.on_body(piece)
        if self._body_left > 0:
            return b""
        # The body is complete. The parser, which saw only the head, still waits for it: the next
        # request gets a fresh one.
        self._parser = httptools.HttpRequestParser(self)
        self.on_message_complete()
        if self._last_read:
            return b""  # bytes after a request asking to close are not processed (RFC 9112 9.6)
        return rest

    def pause_writing(self) -> None:
        self.write_paused = True

    def resume_writing(self) -> None:
        self.write_paused = False
        if self._current is not None:
            self._current.wake_drain()

    # httptools callbacks --------------------------------------------------------------------------
    def on_message_begin(self) -> None:
        self._url = b""
        self._headers = []
        self._expect_continue = False
        self._head_size = 0
        self._content_length = None
        self._other_framing = False
        self._routed = False

    def on_url(self, url: bytes) -> None:
        self._url += url
        self._head_size += len(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self._in_head:
            # A chunked body's trailer section: never a request header (RFC 9110 6.5). The list
            # was handed to the call as its scope's headers, so nothing is added to it now.
            return
        name = name.lower()
        self._headers.append((name, value))
        self._head_size += len(name) + len(value)
        if name == b"expect" and value.lower() == b"100-continue":
            self._expect_continue = True
        elif name == b"content-length":
            self._content_length = value
        elif name == b"transfer-encoding" or name == b"upgrade":
            self._other_framing = True
        elif name == self._shared.route_header:
            self._routed = True

    def on_headers_complete(self) -> None:
        if self._head_size > MAX_HEAD:
            # A head that ends in the read that takes it past the limit escapes the byte count in
            # data_received; raising stops the parser (feed_data re-raises it as its __context__).
            raise RequestHeadTooLarge(f"The request head is larger than {MAX_HEAD} bytes.")
        self._in_head = False
        self._head_bytes = 0
        self.head_since = None
        parser = self._parser
        method = parser.get_method().decode("ascii")
        if method == "CONNECT":
            self._parsing = None  # refused once the parser reports the tunnel (_after_upgrade)
            return
        # Any: the stubs say bytes, but an absent path or query is None (compiled code checks).
        parsed: Any = httptools.parse_url(self._url)
        query: bytes = parsed.query or b""
        raw_path: bytes = parsed.path or b"/"
        http_version = parser.get_http_version()
        path = raw_path.decode("latin-1")
        shared = self._shared
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": _ASGI,
            "http_version": http_version,
            "method": method,
            "scheme": "http",
            "path": unquote(path) if "%" in path else path,
            "raw_path": raw_path,
            "query_string": query,
            "root_path": "",
            "headers": self._headers,
            "client": self._client,
            "server": shared.server,
            "extensions": _EXTENSIONS,
        }
        routed = self._routed
        call = ListenerCall(
            self,
            shared.route_handler if routed else shared.handler,
            shared.route_direct if routed else shared.direct,
            scope,
            keep_alive=parser.should_keep_alive() and not self.closing,
            expect_continue=self._expect_continue,
            http10=http_version == "1.0",
        )
        self._parsing = call
        length = self._content_length
        if length is not None and not self._other_framing and length.strip().isdigit():
            # (The parser has checked it: one value, digits.) Its bytes are counted from here.
            self._body_left = int(length)
        if self._current is None:
            self._start(call)
        else:
            self._queue.append(call)
            self._update_reading()

    def on_body(self, body: bytes) -> None:
        if self._body_left > 0:
            self._body_left -= len(body)
        call = self._parsing
        if call is not None:
            call.feed(body)
            if call.pieces.size > BODY_HIGH_WATER:
                self._update_reading()

    def on_message_complete(self) -> None:
        self._body_left = -1
        call = self._parsing
        if call is not None:
            call.end_body()
            if not call.keep_alive:
                self._last_read = True
                self._update_reading(force_pause=True)
        self._parsing = None
        self._in_head = True  # what comes next is the next request's head

    # for the calls --------------------------------------------------------------------------------
    def write(self, data: bytes) -> None:
        transport = self.transport
        if transport is not None and not transport.is_closing():
            transport.write(data)

    def writelines(self, data: list[bytes]) -> None:
        transport = self.transport
        if transport is not None and not transport.is_closing():
            transport.writelines(data)

    def body_drained(self) -> None:
        if self._read_paused:
            self._update_reading()

    def close_when_idle(self) -> None:
        """Shut-down: finish the current response, take no further request."""
        self.closing = True
        if self._current is None and self.transport is not None:
            self.transport.close()

    # the request cycle ----------------------------------------------------------------------------
    def _start(self, call: ListenerCall) -> None:
        self._mark_busy()
        self._current = call
        call.task = self.loop.create_task(self._run(call))

    async def _run(self, call: ListenerCall) -> None:
        call.running = True
        try:
            if call.refusal is None:
                direct = call.direct
                if direct is not None:
                    await direct.serve(call.scope, call.receive, call)
                else:
                    await call.handler(call.scope, call.receive, call.send)
        except asyncio.CancelledError:
            if not call.disconnected and call.refusal is None:
                raise  # shut-down, not the client leaving
        except Exception:
            if call.started:
                logger.exception("proxy call failed after its response started")
            else:
                logger.exception("proxy call failed unexpectedly")
                await self._answer_problem(call, PasswayError())
        finally:
            if call.refusal is not None and not call.finished and call.unwritten:
                # Its body could not be read (malformed framing): the answer is the refusal.
                self._write_refusal(call.refusal)
            self._finish(call)

    def _finish(self, call: ListenerCall) -> None:
        self._current = None
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        if self._shared.access_log and call.started:
            self._log_access(call)
        if not call.finished:
            # The response broke off (or never started): end the connection so the client cannot
            # mistake what it got for a complete answer.
            transport.close()
            return
        if not call.keep_alive or self.closing or not call.body_done:
            transport.close()
            return
        if self._queue:
            self._start(self._queue.popleft())
            self._update_reading()
        else:
            self._mark_idle()

    async def _answer_problem(self, call: ListenerCall, error: PasswayError) -> None:
        await send_problem(
            call.send,
            error,
            instance=call.scope["path"],
            request_id=new_request_id(),
            subsystem="proxy",
        )

    def _refuse(self, error: PasswayError) -> None:
        """Answer a request that could not be read, then close (its remaining bytes are noise)."""
        self.closing = True
        self._refused = True
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        current = self._current
        if current is not None and not current.finished:
            if current is self._parsing and current.unwritten:
                # The body of the call in progress is malformed (chunk framing): the call stops
                # and its answer is the refusal, written once its handler has let go.
                self._update_reading(force_pause=True)
                current.refusal = error
                if current.running and current.task is not None:
                    current.task.cancel()
                return
            transport.close()  # mid-exchange: the current answer cannot be followed by another
            return
        self._write_refusal(error)

    def _write_refusal(self, error: PasswayError) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        request_id = new_request_id()
        body = problem_body(error, instance="-", request_id=request_id, subsystem="proxy")
        headers = problem_headers(error, len(body), request_id)
        head = [status_line(error.status)]
        head += [name + b": " + value + b"\r\n" for name, value in headers]
        head.append(b"connection: close\r\n\r\n")
        transport.write(b"".join(head) + body)
        transport.close()

    def _after_upgrade(self) -> None:
        """``Upgrade``/``CONNECT``: the request was read and is answered as plain HTTP (Passway
        relays no other protocol); what follows on the connection is not HTTP, so it then closes."""
        self.closing = True
        if self._current is None or self._current.scope["method"] == "CONNECT":
            self._refuse(InvalidRequest("Passway relays HTTP requests only (no CONNECT)."))
            return
        self._update_reading(force_pause=True)

    def _update_reading(self, *, force_pause: bool = False) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        parsing = self._parsing
        pause = (
            force_pause
            or self._last_read
            or bool(self._queue)
            or (parsing is not None and parsing.pieces.size > BODY_HIGH_WATER)
            or (self.closing and self._parsing is None)
        )
        if pause and not self._read_paused:
            self._read_paused = True
            transport.pause_reading()
        elif not pause and self._read_paused:
            self._read_paused = False
            transport.resume_reading()

    def _mark_idle(self) -> None:
        self.idle_since = now = self.loop.time()
        if self.head_since is not None:
            self.head_since = now  # a next head read while a call ran: its time starts now

    def _mark_busy(self) -> None:
        self.idle_since = None

    def close_if_idle_since(self, cutoff: float, head_cutoff: float | None = None) -> None:
        """Close the connection if it has waited for a request head since before ``cutoff``, or
        (with ``head_cutoff``) if the head it is receiving began before ``head_cutoff``."""
        if self._current is not None or self.transport is None:
            return
        since = self.idle_since
        started = self.head_since
        if (since is not None and since < cutoff) or (
            head_cutoff is not None and started is not None and started < head_cutoff
        ):
            self.transport.close()

    def _log_access(self, call: ListenerCall) -> None:
        scope = call.scope
        path = scope["path"]  # never the query: its values may be secrets
        client = "%s:%d" % self._client if self._client else "-"  # noqa: UP031 - log format
        access_logger.info(
            '%s - "%s %s HTTP/%s" %d',
            client,
            scope["method"],
            path,
            scope["http_version"],
            call.status,
        )
