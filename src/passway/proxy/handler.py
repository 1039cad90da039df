"""The proxy's raw ASGI entry. Each call follows one straight line:

    parse proxy headers (``request``) → authenticate the API key and resolve the installation down
    to the provider (``resolve``, cached) → make sure an OAuth token is fresh (``runtime.tokens``)
    → build the upstream request (``core.target``, ``core.headers``, ``core.credentials``: pure)
    → send it with the proxy's HTTP/1.1 client and relay the answer as it streams (``upstream``)
    → on a provider 401 with a replayable body: refresh the token and replay once.

Every answer Passway makes itself is a problem+json document (``passway.problems``) with the
``x-passway-error`` header, so a client can always tell Passway's errors from the provider's.
Unexpected exceptions become a generic 500 and are logged here, never shown.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from passway.asgi_types import CANCELS_ON_DISCONNECT
from passway.core.credentials import place_credentials, set_query_params
from passway.core.headers import upstream_request_headers
from passway.core.target import build_upstream_url
from passway.core.throttle import window_after_429
from passway.errors import PasswayError, Throttled
from passway.http1.client.response import Http1Response
from passway.observability.request_ids import (
    REQUEST_ID_HEADER_BYTES,
    CallContext,
    current_call,
    new_request_id,
    request_id_time,
)
from passway.operations.record import OperationRecord
from passway.problems import send_problem
from passway.proxy.body import ClientBody, ClientDisconnected
from passway.proxy.invalidation import ChangeWatcher
from passway.proxy.request import ProxyHeaders, parse_proxy_headers
from passway.proxy.resolve import ProxyTarget, Resolver
from passway.proxy.timeouts import UpstreamTimeouts
from passway.proxy.token_step import TokenSteps
from passway.proxy.upstream import (
    AsgiWriter,
    Body,
    UpstreamAborted,
    open_upstream,
    relay_response,
)
from passway.records import Change
from passway.store.outage import is_store_outage, store_unavailable

if TYPE_CHECKING:
    from passway.asgi_types import Receive, ResponseWriter, Scope, Send
    from passway.runtime import Runtime

logger = logging.getLogger(__name__)

WATCH_AFTER = 0.25  # seconds before a running call starts watching for the client leaving
_NO_EXTENSIONS: dict[str, Any] = {}


class _Exchange:
    """What has happened in one call: on the client's side, and what its operation records.

    This and ``_Outgoing`` are plain classes, not dataclasses, for the reason ``ProxyHeaders``
    gives: one of each is built per call, natively when compiled."""

    __slots__ = (
        "body",
        "disconnected",
        "error_code",
        "finished",
        "project_id",
        "replayed",
        "request_id",
        "response_bytes",
        "started",
        "status",
        "target",
        "token_refreshed",
        "upstream_ms",
        "upstream_status",
        "writer",
    )

    def __init__(self, writer: ResponseWriter, request_id: str) -> None:
        self.writer = writer
        self.request_id = request_id
        self.started = False
        self.finished = False
        self.disconnected = False
        self.status = 0
        self.response_bytes = 0
        self.project_id = ""
        self.target: ProxyTarget | None = None
        self.error_code: str | None = None
        self.upstream_status: int | None = None
        self.upstream_ms: float | None = None
        self.token_refreshed = False
        self.replayed = False
        self.body: ClientBody | None = None


class _DisconnectWatch:
    """Cancels the call (``victim``) when the client goes away before its answer is complete."""

    def __init__(self, body: ClientBody, victim: asyncio.Task[Any], exchange: _Exchange) -> None:
        self._body = body
        self._victim = victim
        self._exchange = exchange
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None and not self._exchange.finished:
            self._task = asyncio.create_task(self._watch())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _watch(self) -> None:
        await self._body.wait_disconnect()
        if not self._exchange.finished:
            self._exchange.disconnected = True
            self._victim.cancel()


def _body_framing(headers: Sequence[tuple[bytes, bytes]]) -> tuple[bytes | None, bool]:
    """The request's ``Content-Length`` and whether it is chunked (neither: it has no body)."""
    length: bytes | None = None
    chunked = False
    for name, value in headers:
        if name == b"content-length" and length is None:
            length = value
        elif name == b"transfer-encoding":
            chunked = True
    return length, chunked


class _Outgoing:
    """The upstream request of one call: its URL and headers, and the access token it carries."""

    __slots__ = ("access_token", "headers", "url")

    def __init__(self, url: str, headers: list[tuple[str, str]], access_token: str | None) -> None:
        self.url = url
        self.headers = headers
        self.access_token = access_token


class ProxyHandler:
    """The proxy application for one worker: its caches and change watcher (throttle windows are
    the fleet's, ``runtime.fleet``)."""

    def __init__(self, runtime: Runtime) -> None:
        settings = runtime.settings
        self._runtime = runtime
        self._max_timeout = settings.max_timeout
        self._replay_limit = settings.replay_buffer_limit
        self._resolver = Resolver(runtime.store, runtime.catalog, egress=runtime.egress)
        self._token_steps = TokenSteps(runtime.http, timeout=min(settings.read_timeout, 60.0))
        self._timeouts = UpstreamTimeouts(settings.connect_timeout, settings.read_timeout)
        self._fleet = runtime.fleet
        self._watcher = ChangeWatcher(
            runtime.store,
            self._resolver.on_change,
            self._resolver.clear,
            settings.cache_poll_interval,
            stale_ttl=settings.stale_cache_ttl,
        )
        self._recorder = runtime.operations
        self.in_flight = 0  # sampled into http_server_active_requests
        self._sampled = (0, 0)  # cache hits and misses already counted in the metrics

    async def start(self) -> None:
        """Listen for changes: this process's at once, other processes' as the fleet announces
        them (with Redis) and by polling the feed (always: the safety net)."""
        self._runtime.store.subscribe(self._on_local_change)
        await self._watcher.start()
        await self._fleet.listen_changes(self._on_local_change)

    def _on_local_change(self, change: Change) -> None:
        """A change committed here, or announced by another process: drop, and skip when polled."""
        self._resolver.on_change(change)
        self._watcher.note_local(change)

    async def aclose(self) -> None:
        await self._watcher.stop()

    def sample_metrics(self) -> None:
        """Calls in flight and cache hits and misses, into the metrics (the writer's loop)."""
        metrics = self._runtime.metrics
        metrics.active_requests.set(self.in_flight)
        hits, misses = self._resolver.cache_counts()
        seen_hits, seen_misses = self._sampled
        if hits > seen_hits:
            metrics.cache_lookups.labels("hit").inc(hits - seen_hits)
        if misses > seen_misses:
            metrics.cache_lookups.labels("miss").inc(misses - seen_misses)
        self._sampled = (hits, misses)

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        """The ASGI entry (uvicorn): the answer leaves as ASGI messages."""
        return self._serve(scope, receive, AsgiWriter(send))

    def serve(self, scope: Scope, receive: Receive, writer: ResponseWriter) -> Awaitable[None]:
        """The entry of Passway's own server (``DirectApp``): the answer is written through the
        server's ``writer``, without messages."""
        return self._serve(scope, receive, writer)

    async def _serve(self, scope: Scope, receive: Receive, writer: ResponseWriter) -> None:
        request_id = new_request_id()
        started = time.perf_counter()
        # Log lines written during the call carry its id (and are kept with its operation).
        context = current_call.set(CallContext(request_id, collect=self._recorder.collect_logs))
        exchange = _Exchange(writer, request_id)
        self.in_flight += 1
        try:
            await self._proxy(scope, receive, exchange)
        except PasswayError as exc:
            await self._answer_problem(scope, exchange, exc)
        except ClientDisconnected:
            exchange.error_code = "client_disconnected"
            return
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if exchange.disconnected and task is not None:
                task.uncancel()
                exchange.error_code = "client_disconnected"
                return
            raise
        except UpstreamAborted:
            # The answer has started and cannot be completed: returning without the final body
            # makes the server close the connection, so the client sees a broken response (never a
            # clean short one), and the log gets one line instead of a traceback.
            exchange.error_code = "provider_aborted"
            return
        except Exception as exc:
            if exchange.started:
                raise
            if is_store_outage(exc):
                # An outage, not a bug: the client may retry (cached calls go on meanwhile).
                logger.warning("proxy call refused: the database is unavailable (%s)", exc)
                await self._answer_problem(scope, exchange, store_unavailable())
                return
            logger.exception("proxy call failed unexpectedly")
            await self._answer_problem(scope, exchange, PasswayError())
        finally:
            self.in_flight -= 1
            self._record(scope, exchange, started)
            current_call.reset(context)

    def _record(self, scope: Scope, exchange: _Exchange, started: float) -> None:
        """Hand the call to the operations recorder: one tuple, no await."""
        target = exchange.target
        call = current_call.get()
        self._recorder.append(
            OperationRecord(
                exchange.request_id,
                exchange.project_id,
                target.integration.id if target is not None else None,
                target.installation.id if target is not None else None,
                target.connection.id if target is not None else None,
                target.installation.group_ref if target is not None else None,
                target.provider.name if target is not None else None,
                scope["method"],
                scope["path"],
                exchange.status or 499,  # 499: the client left before any answer
                exchange.error_code or (None if exchange.status else "client_disconnected"),
                exchange.upstream_status,
                (time.perf_counter() - started) * 1000,
                exchange.upstream_ms,
                exchange.body.received if exchange.body is not None else 0,
                exchange.response_bytes,
                exchange.token_refreshed,
                exchange.replayed,
                request_id_time(exchange.request_id),
                call.logs if call is not None else None,
            )
        )

    async def _proxy(self, scope: Scope, receive: Receive, exchange: _Exchange) -> None:
        call = parse_proxy_headers(scope["headers"], max_timeout=self._max_timeout)
        exchange.project_id = call.project_id
        resolver = self._resolver
        # The steady state is answered from the caches without awaiting; anything else (a miss,
        # a cached refusal) takes the steps that load, and raise, in order.
        target = resolver.cached_target(call.project_id, call.api_key, call.selector)
        if target is None:
            await resolver.authenticate(call.project_id, call.api_key)
            target = await resolver.resolve_target(call.project_id, call.selector)
        exchange.target = target
        if call.throttle:
            await self._check_throttle(target)
        oauth = target.provider.auth_type == "oauth2"
        if oauth:
            fresh = await self._fresh_token(call, target)
            exchange.token_refreshed = fresh.connection is not target.connection
            target = fresh
        elif target.provider.token_request is not None:
            target = await self._token_steps.with_token(target)
        length, chunked = _body_framing(scope["headers"])
        body: ClientBody | None = None
        data: Body = None
        replayable = True
        if length is not None or chunked:
            body, data, replayable = await self._read_body(receive, length, chunked)
        exchange.body = body
        outgoing = self._outgoing(scope, target)
        method: str = scope["method"]

        watcher: _DisconnectWatch | None = None
        timer: asyncio.TimerHandle | None = None
        if CANCELS_ON_DISCONNECT not in scope.get("extensions", _NO_EXTENSIONS):
            task = asyncio.current_task()
            assert task is not None
            watched = body if body is not None else ClientBody(receive, empty=True)
            watcher = _DisconnectWatch(watched, task, exchange)
            # Most calls are over in milliseconds: watching for the client leaving costs a task,
            # so it starts only for calls still running after WATCH_AFTER seconds.
            timer = asyncio.get_running_loop().call_later(WATCH_AFTER, watcher.start)
        try:
            sent = time.perf_counter()
            response = await self._send(call, target, exchange, scope, outgoing, data, replayable)
            try:
                exchange.upstream_ms = (time.perf_counter() - sent) * 1000
                exchange.upstream_status = response.status
                extra = [(REQUEST_ID_HEADER_BYTES, exchange.request_id.encode())]
                if response.status == 429:
                    extra.extend(await self._after_429(call, target, response))
                await relay_response(
                    response, exchange.writer, exchange, head=method == "HEAD", extra_headers=extra
                )
                exchange.finished = True
            finally:
                if exchange.finished:
                    response.release()
                else:
                    response.close()
        finally:
            if timer is not None:
                timer.cancel()
            if watcher is not None:
                watcher.stop()

    async def _send(
        self,
        call: ProxyHeaders,
        target: ProxyTarget,
        exchange: _Exchange,
        scope: Scope,
        outgoing: _Outgoing,
        data: Body,
        replayable: bool,
    ) -> Http1Response:
        """The provider's answer, once its head is in; after a 401 to an OAuth call whose body can
        be sent again, the token is refreshed and the call replayed once. Whatever is not returned
        is closed."""
        http = self._runtime.http
        method: str = scope["method"]
        timeout = self._timeouts.for_call(call.timeout)
        response = await open_upstream(
            http, method, outgoing.url, outgoing.headers, data, timeout, target.egress
        )
        oauth = target.provider.auth_type == "oauth2"
        if response.status == 401 and oauth and replayable and outgoing.access_token:
            try:
                replay = await self._after_rejection(call, target, outgoing.access_token)
            except BaseException:
                response.close()
                raise
            if replay is not None:
                response.close()
                logger.info(
                    "provider answered 401; token refreshed, call replayed once",
                    extra={"connection_id": target.connection.id},
                )
                exchange.replayed = exchange.token_refreshed = True
                outgoing = self._outgoing(scope, replay)
                response = await open_upstream(
                    http, method, outgoing.url, outgoing.headers, data, timeout, replay.egress
                )
        if response.status == 401 and target.provider.token_request is not None:
            self._token_steps.refused(target.connection)
        return response

    # the steps -----------------------------------------------------------------------------------
    async def _check_throttle(self, target: ProxyTarget) -> None:
        now = datetime.now(UTC)
        window = await self._fleet.throttle_window(target.connection.id, now)
        if window is not None:
            raise Throttled(
                "The provider asked to slow down; this call was not sent.",
                retry_after=window.seconds_left(now),
                headers={k.decode(): v.decode() for k, v in window.headers()},
            )

    async def _after_429(
        self, call: ProxyHeaders, target: ProxyTarget, response: Http1Response
    ) -> Sequence[tuple[bytes, bytes]]:
        now = datetime.now(UTC)
        window = window_after_429(response.header(b"retry-after"), now)
        await self._fleet.open_throttle_window(target.connection.id, window, now)
        logger.info(
            "provider answered 429; throttle window set for %.0f s",
            window.seconds_left(now),
            extra={"connection_id": target.connection.id},
        )
        return window.headers() if call.throttle else ()

    async def _fresh_token(self, call: ProxyHeaders, target: ProxyTarget) -> ProxyTarget:
        fresh = await self._runtime.tokens.ensure_fresh(target.connection)
        return self._resolver.with_connection(call.project_id, call.selector, target, fresh)

    async def _after_rejection(
        self, call: ProxyHeaders, target: ProxyTarget, rejected: str
    ) -> ProxyTarget | None:
        """The target to replay with after a provider 401, or None when the token is unchanged."""
        refreshed = await self._runtime.tokens.refresh_after_rejection(
            target.connection, rejected_access_token=rejected
        )
        token = refreshed.credentials.access_token
        if token is None or token.token == rejected:
            return None
        return self._resolver.with_connection(call.project_id, call.selector, target, refreshed)

    async def _read_body(
        self, receive: Receive, length: bytes | None, chunked: bool
    ) -> tuple[ClientBody, Body, bool]:
        """The body to send, and whether it is buffered (so the call can be replayed)."""
        body = ClientBody(receive)
        small = length is not None and length.isdigit() and int(length) <= self._replay_limit
        if small and not chunked:
            return body, await body.read_all(), True
        return body, body.stream(), False

    def _outgoing(self, scope: Scope, target: ProxyTarget) -> _Outgoing:
        placement = target.credentials or place_credentials(target.provider, target.connection)
        query: bytes = scope.get("query_string", b"")
        if placement.query:
            query = set_query_params(query, placement.query)
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode("utf-8")
        url = build_upstream_url(target.base_url, raw_path.partition(b"?")[0], query)
        headers = upstream_request_headers(scope["headers"], target.credential_headers)
        headers.extend(placement.headers)
        token = target.connection.credentials.access_token
        return _Outgoing(url, headers, token.token if token is not None else None)

    async def _answer_problem(self, scope: Scope, exchange: _Exchange, error: PasswayError) -> None:
        if exchange.started:
            raise UpstreamAborted(error.code)
        if error.status >= 500:
            logger.info("proxy call answered %s %s: %s", error.status, error.code, error.detail)
        exchange.status = error.status
        exchange.error_code = error.code
        await send_problem(
            exchange.writer.send,
            error,
            instance=scope["path"],
            request_id=exchange.request_id,
            subsystem="proxy",
        )
