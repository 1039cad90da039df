"""A real webhook receiver on loopback for the notification tests (aiohttp on 127.0.0.1).

``async with running_receiver() as receiver``: ``receiver.url`` takes POSTs and records each one
(headers and raw body). ``receiver.answer`` is the status it answers with; ``await receiver.stop()``
closes its socket (the receiver is down: connections are refused) and ``await receiver.start()``
brings it back on the same port. ``verified(secret)`` checks every recorded signature with the
``standardwebhooks`` package and returns the payloads; ``wait_for(n)`` waits for ``n`` distinct
``webhook-id``s. With ``hold`` set it takes requests without answering (a receiver hanging).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from standardwebhooks.webhooks import Webhook


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    @property
    def payload(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


@dataclass
class WebhookReceiver:
    port: int
    answer: int = 200
    received: list[Received] = field(default_factory=list)
    # While ``hold`` is set, requests are taken (``held``) and not answered until ``release()``.
    hold: bool = False
    held: list[Received] = field(default_factory=list)
    _released: asyncio.Event = field(default_factory=asyncio.Event)
    _runner: web.AppRunner | None = None
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if self.hold:
            self.held.append(Received({k.lower(): v for k, v in request.headers.items()}, body))
            async with self._changed:
                self._changed.notify_all()
            await self._released.wait()
            return web.Response(status=503)
        if 200 <= self.answer < 300:
            self.received.append(Received({k.lower(): v for k, v in request.headers.items()}, body))
            async with self._changed:
                self._changed.notify_all()
        if 300 <= self.answer < 400:
            return web.Response(status=self.answer, headers={"Location": "http://127.0.0.1:9/"})
        return web.Response(status=self.answer, text="ok")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hooks", self._handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", self.port, reuse_address=True)
        await site.start()
        self._runner = runner

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def release(self) -> None:
        self.hold = False
        self._released.set()

    def held_ids(self) -> list[str]:
        return [r.webhook_id for r in self.held]

    async def wait_held(self, count: int, timeout: float = 30.0) -> None:
        async def reached() -> None:
            async with self._changed:
                await self._changed.wait_for(lambda: len(self.held) >= count)

        await asyncio.wait_for(reached(), timeout)

    async def pause(self) -> None:
        await asyncio.sleep(0.05)

    def ids(self) -> list[str]:
        return [r.webhook_id for r in self.received]

    def of_type(self, notification_type: str) -> list[Received]:
        return [r for r in self.received if r.payload["notificationType"] == notification_type]

    def verified(self, secret: str) -> list[dict[str, Any]]:
        """Every recorded request's payload, after its signature was checked."""
        hook = Webhook(secret)
        return [hook.verify(r.body, r.headers) for r in self.received]

    async def wait_for(self, distinct: int, timeout: float = 30.0) -> None:
        """Wait until ``distinct`` different webhook ids arrived (a bound against a hang only)."""

        async def reached() -> None:
            async with self._changed:
                await self._changed.wait_for(lambda: len(set(self.ids())) >= distinct)

        await asyncio.wait_for(reached(), timeout)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def running_receiver() -> AsyncIterator[WebhookReceiver]:
    receiver = WebhookReceiver(_free_port())
    await receiver.start()
    try:
        yield receiver
    finally:
        receiver.release()
        await receiver.stop()
