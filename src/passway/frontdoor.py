"""The ports ``passway serve`` opens, every one served by Passway's own HTTP/1.1 server
(``passway.http1.server``), so every one has the same limits: a 64 KiB request head, a head
complete within ``PASSWAY_HEADER_TIMEOUT``, idle keep-alive closed after
``PASSWAY_KEEP_ALIVE_TIMEOUT``, trailers dropped, malformed framing answered 400.

- **Main port** (``PASSWAY_HOST``:``PASSWAY_PORT``): a request carrying ``x-amp-proxy-version``
  goes straight to the raw-ASGI proxy handler (the fast path); ``GET /healthz`` answers for load
  balancers; anything else goes to the management app (API, OAuth callback, pages).
- **Admin port** (``PASSWAY_ADMIN_HOST``:``PASSWAY_ADMIN_PORT``, optional): the management app and
  ``/healthz``. When it is set the main port serves proxy calls and ``/healthz`` only, so the
  management API can be kept off the interface proxy traffic uses.

The app's lifespan is driven here (start-up before the ports open, shut-down after they close
and calls in progress had their grace period), not by the server. With several workers the parent
process starts them and each binds every port with ``SO_REUSEPORT``; the kernel spreads
connections over them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import logging.config
import multiprocessing
import signal
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

from passway.asgi import PasswayApp
from passway.asgi_types import ASGIApp
from passway.http1.server.listener import ProxyListener
from passway.proxy.request import PROXY_VERSION_HEADER
from passway.settings import Settings

logger = logging.getLogger(__name__)

GRACE = 10.0  # seconds calls in progress get to finish on shut-down


class FrontDoor:
    """The app and the ports serving it, started and stopped together."""

    def __init__(self, app: PasswayApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.main: ProxyListener | None = None
        self.admin: ProxyListener | None = None

    def _listener(
        self,
        handler: ASGIApp,
        host: str,
        port: int,
        label: str,
        proxy: ASGIApp | None = None,
    ) -> ProxyListener:
        """A port answering with ``handler``, and with ``proxy`` the requests that are proxy calls
        (the listener tells them by their ``x-amp-proxy-version`` header as it parses them)."""
        settings = self.settings
        return ProxyListener(
            handler,
            host=host,
            port=port,
            keep_alive_timeout=settings.keep_alive_timeout,
            header_timeout=settings.header_timeout,
            access_log=settings.access_log,
            grace=GRACE,
            label=label,
            reuse_port=settings.workers > 1,
            header_route=None if proxy is None else (PROXY_VERSION_HEADER, proxy),
        )

    async def start(self) -> None:
        settings = self.settings
        await self.app.startup()
        try:
            handlers = self.app.handlers()
            # Requests that are not proxy calls: the management app, or, when it has a port of
            # its own, the probes and the proxy's refusal.
            rest = handlers.proxy_port if settings.admin_port is not None else handlers.management
            self.main = self._listener(
                rest, settings.host, settings.port, "main port", proxy=handlers.proxy
            )
            await self.main.start()
            if settings.admin_port is not None:
                self.admin = self._listener(
                    handlers.management, settings.admin_port_host, settings.admin_port, "admin port"
                )
                await self.admin.start()
        except BaseException:
            await self.aclose()
            raise

    async def aclose(self) -> None:
        """Stop accepting; calls in progress get up to ``GRACE`` to finish; shut the app down."""
        listeners = [listener for listener in (self.main, self.admin) if listener is not None]
        self.main = self.admin = None
        try:
            # Both listeners are closed before the app shuts down, even if closing one fails.
            closed = await asyncio.gather(
                *(listener.aclose() for listener in listeners), return_exceptions=True
            )
            for result in closed:
                if isinstance(result, BaseException):
                    raise result
        finally:
            await self.app.shutdown()

    @property
    def main_port(self) -> int:
        assert self.main is not None and self.main.port is not None
        return self.main.port

    @property
    def admin_port(self) -> int | None:
        return None if self.admin is None else self.admin.port


@contextlib.asynccontextmanager
async def open_front_door(app: PasswayApp, settings: Settings) -> AsyncIterator[FrontDoor]:
    """``async with open_front_door(app, settings) as door``: serving inside the block."""
    door = FrontDoor(app, settings)
    await door.start()
    try:
        yield door
    finally:
        await door.aclose()


async def serve(
    settings: Settings,
    *,
    on_ready: Callable[[], None] | None = None,
    metrics_dir: str | None = None,
) -> None:
    """Serve until SIGTERM or SIGINT, then shut down gracefully (one worker process)."""
    from passway.bootstrap import create_app

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    app = create_app(settings, freeze_gc=True, metrics_dir=metrics_dir)
    async with open_front_door(app, settings):
        if on_ready is not None:
            on_ready()
        await stop.wait()


def configure_logging(config: dict[str, Any] | None) -> None:
    """Apply the log configuration, and leave out of every log record what no Passway line shows:
    the process id (a ``getpid()`` system call per record, about a tenth of a proxied call's CPU
    once each call has its line), thread and multiprocessing names, and the caller's file and line
    (a stack walk per record); the logging module documents these switches for this purpose."""
    logging.logProcesses = False
    logging.logThreads = False
    logging.logMultiprocessing = False
    logging._srcfile = None  # the documented switch for the caller lookup
    if config is not None:
        logging.config.dictConfig(config)


def run_worker(
    settings: Settings,
    log_config: dict[str, Any] | None = None,
    ready: Any = None,  # a multiprocessing Event, set once the ports are open
    metrics_dir: str | None = None,
) -> None:
    """One worker process: its own event loop (uvloop), the app and its ports."""
    import uvloop

    configure_logging(log_config)
    on_ready = None if ready is None else ready.set
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(serve(settings, on_ready=on_ready, metrics_dir=metrics_dir))


def run(
    settings: Settings,
    log_config: dict[str, Any] | None = None,
    *,
    on_ready: Callable[[], None] | None = None,
    metrics_dir: str | None = None,
) -> int:
    """Serve with ``settings.workers`` processes; returns the exit status. ``on_ready`` is called
    once every port is open in every worker (the application started, the catalog loaded)."""
    if settings.workers == 1:
        configure_logging(log_config)
        import uvloop

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(serve(settings, on_ready=on_ready, metrics_dir=metrics_dir))
        return 0
    return _Supervisor(settings, log_config, on_ready, metrics_dir).run()


def ports_in_use(settings: Settings) -> list[str]:
    """The ``host:port`` of each configured port that cannot be bound right now (plain bind,
    no SO_REUSEPORT: a port someone else listens on fails)."""
    wanted = [(settings.host, settings.port)]
    if settings.admin_port is not None:
        wanted.append((settings.admin_port_host, settings.admin_port))
    taken = []
    for host, port in wanted:
        if port == 0:
            continue
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
            family, kind, proto, _, address = infos[0]
            with socket.socket(family, kind, proto) as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                probe.bind(address)
        except OSError:
            taken.append(f"{host}:{port}")
    return taken


class _Supervisor:
    """Starts the workers, replaces one that dies after it was ready, and stops them all on
    SIGTERM/SIGINT. A worker that dies before it is ready (bad configuration, port taken) stops
    the whole server: starting it again would fail the same way."""

    def __init__(
        self,
        settings: Settings,
        log_config: dict[str, Any] | None,
        on_ready: Callable[[], None] | None = None,
        metrics_dir: str | None = None,
    ) -> None:
        self._settings = settings
        self._log_config = log_config
        self._on_ready = on_ready
        self._metrics_dir = metrics_dir
        self._context = multiprocessing.get_context("spawn")
        self._stopping = False

    def _spawn(self) -> tuple[Any, Any]:
        ready = self._context.Event()
        process = self._context.Process(
            target=run_worker,
            args=(self._settings, self._log_config, ready, self._metrics_dir),
            daemon=False,
        )
        process.start()
        return process, ready

    def _stop(self, signum: int, _frame: Any) -> None:
        self._stopping = True

    def run(self) -> int:
        configure_logging(self._log_config)
        taken = ports_in_use(self._settings)
        if taken:
            # The workers bind with SO_REUSEPORT, which would share a port another process of
            # this user already serves (and let the kernel split its connections with it).
            logger.error("cannot listen on %s: address already in use", ", ".join(taken))
            return 1
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._stop)
        workers = [self._spawn() for _ in range(self._settings.workers)]
        status = 0
        announced = False
        try:
            while not self._stopping:
                if not announced and all(ready.is_set() for _, ready in workers):
                    announced = True
                    if self._on_ready is not None:
                        self._on_ready()
                for index, (process, ready) in enumerate(workers):
                    process.join(timeout=0.2 / len(workers))
                    if process.exitcode is None or self._stopping:
                        continue
                    if not ready.is_set():
                        logger.error("worker %d exited during start-up", process.pid)
                        self._stopping = True
                        status = 1
                        break
                    logger.warning(
                        "worker %d exited (%s); starting another", process.pid, process.exitcode
                    )
                    workers[index] = self._spawn()
        finally:
            for process, _ in workers:
                if process.exitcode is None:
                    process.terminate()  # SIGTERM: the worker shuts down gracefully
            for process, _ in workers:
                process.join(GRACE + 5)
                if process.exitcode is None:
                    process.kill()
                    process.join()
        return status
