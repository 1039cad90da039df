"""The ASGI vocabulary shared by every layer: type aliases and Passway's scope extensions.

One home for them, at the bottom of the import ladder, so that the HTTP/1.1 server
(``passway.http1.server``), the proxy and the top-level application speak the same types without
importing each other.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol, runtime_checkable

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Scope extension set by a server that cancels a call's task itself when its client goes away
# (Passway's own HTTP/1.1 server does): the application then needs no disconnect watcher.
CANCELS_ON_DISCONNECT = "passway.cancels_on_disconnect"


class ResponseWriter(Protocol):
    """One response, written without ASGI messages: what Passway's own HTTP/1.1 server offers an
    application that asks for it (``DirectApp``), and what the proxy relays an answer through.

    ``start`` and ``body`` write (or keep) at once and return whether the caller must await
    ``drain`` before the next step: a server whose socket buffer is full says so, which is how a
    slow client slows the reading from the provider. ``send`` is the same response's ASGI
    ``send``, for answers built as messages (problems)."""

    def start(self, status: int, headers: Sequence[tuple[bytes, bytes]]) -> bool: ...

    def body(self, data: bytes, more: bool) -> bool: ...

    async def drain(self) -> None: ...

    async def send(self, message: Message) -> None: ...


@runtime_checkable
class DirectApp(Protocol):
    """An ASGI application that also answers through a ``ResponseWriter`` (``serve``): a server
    that has one calls ``serve`` instead, and no ASGI response message is built."""

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]: ...

    def serve(self, scope: Scope, receive: Receive, writer: ResponseWriter) -> Awaitable[None]: ...
