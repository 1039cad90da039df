"""A real HTTP server on loopback that plays "the provider" in tests and records what it receives.

``RecordingUpstream`` is an ``aiohttp.web`` server on ``127.0.0.1`` (port 0). Every request is
recorded (method, raw path, raw query, headers as ``(name, value)`` pairs in wire order and case,
body bytes) before its handler runs. By default it answers with a JSON echo of what it received;
``set_handler`` installs a custom aiohttp handler for one method and path (``"*"`` matches any).

    async with RecordingUpstream() as upstream:
        upstream.set_handler("GET", "/teapot", lambda request: web.Response(status=418))
        ...
        assert upstream.requests[-1].header("authorization") == "Bearer t0k3n"
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class RecordedRequest:
    """One request as the upstream saw it on the wire."""

    method: str
    raw_path: str
    query: str
    headers: list[tuple[str, str]]
    body: bytes = b""
    body_complete: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def target(self) -> str:
        return f"{self.raw_path}?{self.query}" if self.query else self.raw_path

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or None."""
        values = self.header_values(name)
        return values[0] if values else None

    def header_values(self, name: str) -> list[str]:
        lowered = name.lower()
        return [value for key, value in self.headers if key.lower() == lowered]

    def header_names(self) -> set[str]:
        return {key.lower() for key, _ in self.headers}


def echo_document(recorded: RecordedRequest) -> dict[str, Any]:
    """What the default handler answers: the request as JSON (body as text and base64)."""
    try:
        text: str | None = recorded.body.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    return {
        "method": recorded.method,
        "path": recorded.raw_path,
        "query": recorded.query,
        "headers": [[k, v] for k, v in recorded.headers],
        "body": text,
        "bodyBase64": base64.b64encode(recorded.body).decode("ascii"),
    }


class RecordingUpstream:
    """Loopback upstream server recording every request. Use as an async context manager."""

    def __init__(self, *, client_max_size: int = 64 * 1024 * 1024) -> None:
        self.requests: list[RecordedRequest] = []
        self._routes: dict[tuple[str, str], tuple[Handler, bool]] = {}
        self._client_max_size = client_max_size
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.request_arrived = asyncio.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def set_handler(
        self, method: str, path: str, handler: Handler, *, read_body: bool = True
    ) -> None:
        """Answer ``method`` (or ``"*"``) on raw ``path`` (no query) with ``handler``.

        With ``read_body=True`` the body is read and recorded before the handler runs (the handler
        can still call ``await request.read()``); pass False for handlers that stream the body
        themselves (they may set ``upstream.requests[-1].body``).
        """
        self._routes[(method.upper(), path)] = (handler, read_body)

    def clear(self) -> None:
        self.requests.clear()
        self.request_arrived.clear()

    def _find(self, method: str, path: str) -> tuple[Handler, bool] | None:
        return (
            self._routes.get((method, path))
            or self._routes.get(("*", path))
            or self._routes.get((method, "*"))
            or self._routes.get(("*", "*"))
        )

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        raw_path, _, query = request.raw_path.partition("?")
        recorded = RecordedRequest(
            method=request.method,
            raw_path=raw_path,
            query=query,
            headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.raw_headers],
        )
        recorded.extra["peer"] = (
            request.transport.get_extra_info("peername") if request.transport else None
        )
        self.requests.append(recorded)
        self.request_arrived.set()
        route = self._find(request.method, raw_path)
        if route is None or route[1]:
            recorded.body = await request.read()
            recorded.body_complete = True
        if route is None:
            return web.json_response(echo_document(recorded))
        return await route[0](request)

    async def __aenter__(self) -> RecordingUpstream:
        app = web.Application(client_max_size=self._client_max_size)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


async def client_leaves(request: web.Request, seconds: float) -> bool:
    """Watch the request's connection for up to ``seconds``: True once it closes (the proxy
    dropped its side), False if it is still open then."""
    for _ in range(max(1, round(seconds / 0.05))):
        if request.transport is None or request.transport.is_closing():
            return True
        await asyncio.sleep(0.05)
    return False


def json_handler(document: Any, *, status: int = 200) -> Handler:
    """A handler answering a fixed JSON document."""

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(
            status=status, body=json.dumps(document).encode(), content_type="application/json"
        )

    return handler


def status_handler(
    status: int, *, body: bytes = b"", headers: list[tuple[str, str]] | None = None
) -> Handler:
    """A handler answering a fixed status, body and header list (repeats allowed)."""

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.Response(status=status, body=body or None)
        for name, value in headers or ():
            response.headers.add(name, value)
        return response

    return handler


def reset_mid_body_handler(framing: str) -> Handler:
    """An answer that starts (1000 bytes of a 100,000-byte ``Content-Length``, or of a chunked
    body) and then breaks: the connection is reset instead of finishing."""

    async def broken(request: web.Request) -> web.StreamResponse:
        headers = {"Content-Length": "100000"} if framing == "content-length" else {}
        response = web.StreamResponse(headers=headers)
        if framing == "chunked":
            response.enable_chunked_encoding()
        await response.prepare(request)
        await response.write(b"a" * 1000)
        await asyncio.sleep(0.1)
        assert request.transport is not None
        request.transport.abort()
        return response

    return broken
