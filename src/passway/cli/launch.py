"""Start uvicorn for ``passway serve``, saying "listening" only once it is true.

What ``uvicorn.run`` does, with one difference: the "Passway listening on ..." line is printed
after the port is bound (and, with one worker, after the application started: catalog loaded,
database migrated, proxy port open), never before, so a busy port or a bad catalog does not
announce a server that is not there. ``check_before_start`` reads what can be wrong in the settings
(log level, catalog file) into one ``ConfigurationError`` line before anything starts.
"""

from __future__ import annotations

import contextlib
import socket
import sys
from collections.abc import Callable
from typing import Any

import click
import uvicorn
from uvicorn.supervisors import Multiprocess

from passway.catalog import load_catalog
from passway.cli.settings_options import check_log_level
from passway.errors import ConfigurationError
from passway.settings import Settings

STARTUP_FAILURE = 3


def check_before_start(settings: Settings) -> None:
    """Raise ``ConfigurationError`` (one line) for a setting that would stop the start."""
    bad_level = check_log_level(settings)
    if bad_level:
        raise ConfigurationError(bad_level)
    load_catalog(settings.catalog_file)


def announcement(settings: Settings) -> str:
    proxy_note = (
        f"; proxy calls also on http://{settings.host}:{settings.proxy_port}"
        if settings.proxy_port is not None
        else ""
    )
    workers = f"{settings.workers} worker{'s' if settings.workers != 1 else ''}"
    return (
        f"Passway listening on http://{settings.host}:{settings.port} ({workers}); "
        f"API docs at /docs{proxy_note}"
    )


class AnnouncingServer(uvicorn.Server):
    """A uvicorn server that calls ``on_started`` once its own start-up has completed."""

    def __init__(self, config: uvicorn.Config, on_started: Callable[[], None] | None) -> None:
        super().__init__(config)
        self._on_started = on_started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started and not self.should_exit and self._on_started is not None:
            self._on_started()


def run_uvicorn(settings: Settings, **options: Any) -> None:
    """``uvicorn.run(**options)`` announcing Passway once the port is bound."""

    def announce() -> None:
        click.echo(announcement(settings), err=True)

    config = uvicorn.Config(**options)
    if config.workers > 1:
        # The supervisor binds the port, then starts the workers (each loads the application).
        sock = config.bind_socket()
        announce()
        with contextlib.suppress(KeyboardInterrupt):
            Multiprocess(config, sockets=[sock]).run()
        return
    server = AnnouncingServer(config, announce)
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    if not server.started:
        sys.exit(STARTUP_FAILURE)
