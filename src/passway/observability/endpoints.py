"""``/healthz``, ``/readyz`` and ``/metrics`` as one raw ASGI app, the same on every port.

- ``GET /healthz``: 200 ``{"status":"ok"}`` while the process lives (no I/O).
- ``GET /readyz``: 200 when every readiness check passes (the database reachable and migrated,
  Redis reachable when configured), else 503 with which failed.
- ``GET /metrics``: the Prometheus text format (``Metrics.render``); mounted where the composition
  root says (the main port today; an admin listener when there is one).

Every answer carries ``x-passway-request-id``, like every other answer Passway gives.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from passway.observability.request_ids import REQUEST_ID_HEADER_BYTES, new_request_id

ReadyCheck = Callable[[], Awaitable[Mapping[str, bool]]]
Render = Callable[[], tuple[bytes, str]]

HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"
METRICS_PATH = "/metrics"
_HEALTH_BODY = b'{"status":"ok"}'


async def _answer(send: Any, status: int, body: bytes, content_type: bytes, head: bool) -> None:
    headers = [
        (b"content-type", content_type),
        (b"content-length", b"%d" % len(body)),
        (b"cache-control", b"no-store"),
        (REQUEST_ID_HEADER_BYTES, new_request_id().encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else body})


async def answer_health(send: Any, head: bool = False) -> None:
    await _answer(send, 200, _HEALTH_BODY, b"application/json", head)


class OpsEndpoints:
    """Answers the paths in ``paths`` (GET and HEAD); ``serves(scope)`` tells which."""

    def __init__(
        self, ready: ReadyCheck, render_metrics: Render | None, *, metrics: bool = True
    ) -> None:
        self._ready = ready
        self._render = render_metrics
        self.paths = frozenset(
            {HEALTH_PATH, READY_PATH} | ({METRICS_PATH} if metrics and render_metrics else set())
        )

    def serves(self, scope: Mapping[str, Any]) -> bool:
        return scope["path"] in self.paths and scope["method"] in ("GET", "HEAD")

    async def __call__(self, scope: Mapping[str, Any], receive: Any, send: Any) -> None:
        path = scope["path"]
        head = scope["method"] == "HEAD"
        if path == HEALTH_PATH:
            await answer_health(send, head)
        elif path == READY_PATH:
            checks = dict(await self._ready())
            ok = all(checks.values())
            body = json.dumps(
                {"status": "ready" if ok else "unavailable", "checks": checks},
                separators=(",", ":"),
            ).encode()
            await _answer(send, 200 if ok else 503, body, b"application/json", head)
        elif path == METRICS_PATH and self._render is not None:
            body, content_type = self._render()
            await _answer(send, 200, body, content_type.encode(), head)
