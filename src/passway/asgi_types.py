"""The ASGI vocabulary shared by every layer: type aliases and Passway's scope extensions.

One home for them, at the bottom of the import ladder, so that the HTTP/1.1 server
(``passway.http1.server``), the proxy and the top-level application speak the same types without
importing each other.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Scope extension set by a server that cancels a call's task itself when its client goes away
# (Passway's own HTTP/1.1 server does): the application then needs no disconnect watcher.
CANCELS_ON_DISCONNECT = "passway.cancels_on_disconnect"
