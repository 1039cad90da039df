"""Shared by the client tests: a real Passway (uvicorn on 127.0.0.1, SQLite in a temporary
directory) and a real loopback upstream playing the provider, both served from one background
thread with its own event loop, so that the synchronous client under test can block on its calls.

Each test makes its own project (``fresh``), so tests share one server without sharing data.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from passway_client import Passway
from support import catalog as tc
from support.server import make_settings, serve_passway
from support.upstream import RecordingUpstream


@dataclass
class Served:
    url: str
    upstream: RecordingUpstream
    loop: asyncio.AbstractEventLoop
    openapi_paths: frozenset[str]

    def supports(self, path: str) -> bool:
        return path in self.openapi_paths


class _Background:
    """Runs the upstream and Passway in a thread until ``stop``."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.ready: Future[tuple[str, RecordingUpstream, asyncio.AbstractEventLoop]] = Future()
        self.loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self.thread = threading.Thread(target=self._run, name="passway-under-test", daemon=True)

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            async with RecordingUpstream() as upstream:
                catalog = tc.write_test_catalog(self.data_dir / "catalog.json", upstream.url)
                settings = make_settings(self.data_dir, catalog_file=catalog)
                async with serve_passway(settings) as served:
                    self.ready.set_result((served.url, upstream, self.loop))
                    await self._stop.wait()
        except BaseException as error:  # reported to the waiting test instead of the thread
            if not self.ready.done():
                self.ready.set_exception(error)
            else:
                raise

    def stop(self) -> None:
        if self.loop is not None and self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
        self.thread.join(timeout=30)


@dataclass
class Fresh:
    """A new project with its own API key, a client for it, and the operator client."""

    admin: Passway
    passway: Passway
    project: dict[str, Any]
    api_key: str
    upstream: RecordingUpstream
    url: str

    def install(
        self,
        provider: str,
        credentials: dict[str, Any],
        *,
        integration: str = "crm",
        group_ref: str = "customer-42",
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Deploy an integration of ``provider``, connect ``group_ref`` and install it; answers
        the connection and the installation."""
        self.passway.integrations.deploy(
            f"specVersion: 1.0.0\nintegrations:\n  - name: {integration}\n"
            f"    provider: {provider}\n    proxy:\n      enabled: true\n"
        )
        connection = self.passway.connections.generate(
            provider=provider,
            group_ref=group_ref,
            consumer_ref="user-7",
            credentials=credentials,
        )
        installation = self.passway.installations.create(
            integration, group_ref=group_ref, connection_id=connection["id"]
        )
        return dict(connection), dict(installation)
