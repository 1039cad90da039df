"""``passway serve`` keeps idle client connections for ``PASSWAY_KEEP_ALIVE_TIMEOUT`` seconds."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from support.server import make_settings, run_passway_process, settings_env

REQUEST = b"GET /healthz HTTP/1.1\r\nHost: passway\r\n\r\n"


async def _idle_lifetime(base_url: str, limit: float) -> float:
    """Seconds an idle keep-alive connection stays open after one answered request."""
    host, port = base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(REQUEST)
        await reader.readuntil(b"\r\n\r\n")
        started = time.monotonic()
        try:
            while await asyncio.wait_for(reader.read(65536), timeout=limit):
                pass
        except TimeoutError:
            pass
        return time.monotonic() - started
    finally:
        writer.close()


async def test_idle_client_connections_close_after_the_configured_keep_alive(
    tmp_path: Path,
) -> None:
    """With ``PASSWAY_KEEP_ALIVE_TIMEOUT=2`` an idle connection outlives 1 s and is closed by 4 s
    (so the value reaches uvicorn, whose own default would close it after 5 s)."""
    env = settings_env(make_settings(tmp_path, keep_alive_timeout=2.0))
    async with run_passway_process(env, via_cli=True) as base_url:
        lifetime = await _idle_lifetime(base_url, limit=6.0)
    assert 1.0 < lifetime < 4.0
