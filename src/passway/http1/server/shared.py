"""What every connection of one listener shares (``ConnectionSettings``): the handlers, with the
header that routes a request to the second one, the timeouts, the access-log switch, the event
loop, and the set of open connections the listener sweeps and waits for at shut-down.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from passway.asgi_types import ASGIApp, DirectApp

if TYPE_CHECKING:
    from passway.http1.server.connection import ClientConnection

Handler = ASGIApp


def _direct(handler: Handler) -> DirectApp | None:
    return handler if isinstance(handler, DirectApp) else None


class ConnectionSettings:
    """What every connection of one listener shares."""

    __slots__ = (
        "access_log",
        "all_closed",
        "connections",
        "direct",
        "handler",
        "header_timeout",
        "keep_alive_timeout",
        "loop",
        "route_direct",
        "route_handler",
        "route_header",
        "server",
    )

    def __init__(
        self,
        handler: Handler,
        *,
        keep_alive_timeout: float,
        access_log: bool,
        server: tuple[str, int] | None = None,
        header_timeout: float | None = None,
        header_route: tuple[bytes, Handler] | None = None,
    ) -> None:
        self.handler = handler
        # Requests carrying this header (lower case) go to this handler instead.
        self.route_header, self.route_handler = header_route or (b"", handler)
        # The same handlers when they answer through the call itself, without ASGI messages.
        self.direct = _direct(handler)
        self.route_direct = _direct(self.route_handler)
        self.keep_alive_timeout = keep_alive_timeout
        # A request head must be complete this long after its first byte arrived.
        self.header_timeout = keep_alive_timeout if header_timeout is None else header_timeout
        self.access_log = access_log
        self.server = server
        self.loop = asyncio.get_running_loop()
        self.connections: set[ClientConnection] = set()
        self.all_closed = asyncio.Event()  # set whenever the last connection closes
