"""Run a real Passway server for tests: in-process uvicorn, or worker subprocesses.

- ``make_settings(tmp_path, **overrides)``: settings for a test (data in ``tmp_path``, loopback
  allowed through the egress guard, port 0, a known admin key ``ADMIN_KEY``).
- ``async with run_passway(settings) as base_url``: uvicorn in this process on 127.0.0.1 (a real
  socket); ``serve_passway`` yields the ``PasswayApp`` too (its ``runtime`` for white-box checks).
- ``async with run_passway_process(settings_env(settings), workers=2) as base_url``: ``uvicorn
  --factory passway.bootstrap:create_app_from_env`` (or ``python -m passway serve`` with
  ``via_cli=True``) as a subprocess with N workers, stopped on exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx
import uvicorn

from passway.asgi import PasswayApp
from passway.http1.server.uvicorn_protocol import TrailerSafeHttpToolsProtocol
from passway.settings import Settings

ADMIN_KEY = "pw-test-admin-key-0123456789abcdefghijklmnopqrstuvwxyz"
LOOPBACK = ("127.0.0.1", "::1", "localhost")


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings for one test: everything under ``tmp_path``, loopback egress allowed, port 0."""
    values: dict[str, Any] = {
        "data_dir": tmp_path,
        "egress_allow": LOOPBACK,
        "port": 0,
        "admin_api_key": ADMIN_KEY,
        "cache_poll_interval": 0.1,
        "public_url": "http://127.0.0.1:8080",
    }
    values.update(overrides)
    return Settings(**values)


def settings_env(settings: Settings) -> dict[str, str]:
    """The ``PASSWAY_*`` variables that reproduce ``settings`` in a subprocess."""
    env: dict[str, str] = {}
    for name in Settings.model_fields:
        value = getattr(settings, name)
        if value is None:
            continue
        if isinstance(value, tuple):
            text = ",".join(str(v) for v in value)
        elif isinstance(value, bool):
            text = "true" if value else "false"
        else:
            text = str(value)
        env[f"PASSWAY_{name.upper()}"] = text
    return env


@dataclass
class ServedPassway:
    url: str
    app: PasswayApp


@contextlib.asynccontextmanager
async def serve_passway(settings: Settings) -> AsyncIterator[ServedPassway]:
    """uvicorn in this event loop on 127.0.0.1 (real socket); stopped on exit."""
    from passway.bootstrap import create_app

    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        lifespan="on",
        log_level="warning",
        ws="none",
        server_header=False,
        date_header=False,
        timeout_graceful_shutdown=2,
        http=TrailerSafeHttpToolsProtocol,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("uvicorn stopped before it started")
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield ServedPassway(url=f"http://127.0.0.1:{port}", app=app)
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=10)


@contextlib.asynccontextmanager
async def run_passway(settings: Settings) -> AsyncIterator[str]:
    """``async with run_passway(settings) as base_url``: see ``serve_passway``."""
    async with serve_passway(settings) as served:
        yield served.url


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _wait_until_up(base_url: str, process: subprocess.Popen[bytes], deadline: float) -> None:
    async with httpx.AsyncClient(timeout=1.0) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"Passway exited with code {process.returncode} during start-up")
            try:
                await client.get(f"{base_url}/healthz")
                return
            except httpx.TransportError:
                await asyncio.sleep(0.1)
    raise TimeoutError(f"Passway did not answer on {base_url} in time")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


@contextlib.asynccontextmanager
async def run_passway_process(
    env: Mapping[str, str],
    *,
    workers: int = 1,
    startup_timeout: float = 30.0,
    via_cli: bool = False,
    output: Path | None = None,
) -> AsyncIterator[str]:
    """Passway as ``uvicorn --factory`` with ``workers`` processes; yields its base URL.

    ``env`` holds the ``PASSWAY_*`` variables (see ``settings_env``); the port is chosen here.
    With ``via_cli`` the server is started the way operators do, ``python -m passway serve``.
    With ``output`` its stdout and stderr (the logs) go to that file.
    Waits until ``/healthz`` answers (any HTTP answer), and stops the process group on exit.
    """
    port = free_port()
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("PASSWAY_")}
    full_env.update(env)
    full_env["PASSWAY_HOST"] = "127.0.0.1"
    full_env["PASSWAY_PORT"] = str(port)
    full_env["PASSWAY_WORKERS"] = str(workers)
    src = str(Path(__file__).resolve().parents[2] / "src")
    full_env["PYTHONPATH"] = os.pathsep.join(p for p in (src, full_env.get("PYTHONPATH")) if p)
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "passway.bootstrap:create_app_from_env",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        "--no-server-header",
        "--no-date-header",
        "--ws",
        "none",
    ]
    if via_cli:
        command = [sys.executable, "-m", "passway", "serve"]
    log = open(output, "wb") if output is not None else None  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        command,
        env=full_env,
        start_new_session=True,
        stdout=log,
        stderr=subprocess.STDOUT if log else None,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        await _wait_until_up(base_url, process, time.monotonic() + startup_timeout)
        yield base_url
    finally:
        await asyncio.to_thread(_stop, process)
        if log is not None:
            log.close()


# Where proxy calls go in a test: "uvicorn" serves the ASGI app (every route on one port);
# "passway" is ``passway serve``'s main port (Passway's own server, every route on one port);
# "admin" is ``passway serve`` with an admin port (management there, proxy calls on the main
# port); "listener" is the deprecated proxy-only port next to uvicorn.
FrontDoor = Literal["uvicorn", "passway", "admin", "listener"]
FRONT_DOORS: tuple[FrontDoor, ...] = ("uvicorn", "passway")


@dataclass
class ServedFrontDoor:
    url: str  # the main port
    admin_url: str  # the admin port (the main port when there is none)
    app: PasswayApp


@contextlib.asynccontextmanager
async def serve_front_door(settings: Settings) -> AsyncIterator[ServedFrontDoor]:
    """What ``passway serve`` runs in one worker, in this event loop: the app and its ports
    (``settings.port`` and ``settings.admin_port``, 0 for any free port) on 127.0.0.1."""
    from passway.bootstrap import create_app
    from passway.frontdoor import open_front_door

    app = create_app(settings)
    async with open_front_door(app, settings) as door:
        url = f"http://127.0.0.1:{door.main_port}"
        admin = door.admin_port
        yield ServedFrontDoor(url, url if admin is None else f"http://127.0.0.1:{admin}", app)


@dataclass
class ProxyWorld:
    """A recording upstream, a Passway in this process whose catalog points at it, and clients.

    ``url``/``client`` are where the management API is (seeding); ``proxy_url``/``proxy_client``
    are where proxy calls go (see ``FrontDoor``).
    """

    upstream: Any
    url: str
    app: PasswayApp
    client: httpx.AsyncClient
    settings: Settings
    proxy_url: str
    proxy_client: httpx.AsyncClient
    front_door: FrontDoor = "uvicorn"


@contextlib.asynccontextmanager
async def proxy_world(
    tmp_path: Path, *, front_door: FrontDoor = "uvicorn", **overrides: Any
) -> AsyncIterator[ProxyWorld]:
    """``async with proxy_world(tmp_path) as world``: upstream + Passway (SQLite) + httpx clients,
    served through ``front_door``."""
    from support.catalog import write_test_catalog
    from support.upstream import RecordingUpstream

    if front_door == "listener":
        overrides.setdefault("proxy_port", 0)
    elif front_door == "admin":
        overrides.setdefault("admin_port", 0)
    elif front_door not in FRONT_DOORS:
        raise ValueError(f"unknown front door {front_door!r}")
    async with RecordingUpstream() as upstream:
        catalog_file = write_test_catalog(tmp_path / "catalog.json", upstream.url)
        settings = make_settings(tmp_path, catalog_file=catalog_file, **overrides)
        if front_door in ("passway", "admin"):
            async with (
                serve_front_door(settings) as door,
                httpx.AsyncClient(base_url=door.admin_url, timeout=30) as client,
                httpx.AsyncClient(base_url=door.url, timeout=30) as proxy_client,
            ):
                yield ProxyWorld(
                    upstream,
                    door.admin_url,
                    door.app,
                    client,
                    settings,
                    door.url,
                    proxy_client,
                    front_door,
                )
            return
        async with (
            serve_passway(settings) as served,
            httpx.AsyncClient(base_url=served.url, timeout=30) as client,
        ):
            if front_door == "uvicorn":
                yield ProxyWorld(
                    upstream, served.url, served.app, client, settings, served.url, client
                )
                return
            listener = served.app.proxy_listener
            assert listener is not None and listener.port is not None
            proxy_url = f"http://127.0.0.1:{listener.port}"
            async with httpx.AsyncClient(base_url=proxy_url, timeout=30) as proxy_client:
                yield ProxyWorld(
                    upstream,
                    served.url,
                    served.app,
                    client,
                    settings,
                    proxy_url,
                    proxy_client,
                    front_door,
                )
