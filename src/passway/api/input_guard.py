"""The management API's edge guard: input no part of Passway can keep is refused up front.

- Text with a NUL character or an unpaired UTF-16 surrogate (JSON allows ``"\\u0000"`` and
  ``"\\ud800"``) cannot be stored: PostgreSQL rejects NUL in text, and a lone surrogate cannot be
  encoded as UTF-8 by any driver. Such text is a 400 ``invalid_request`` naming the field, in the
  JSON body (``find_bad_text``, run by ``schemas.RequestBody``), the path or the query string
  (``InputGuardMiddleware``), instead of a 500 from deep inside the store.
- A body larger than ``MAX_BODY_BYTES`` is a 413 ``payload_too_large`` before it is read into
  memory (the largest legitimate body, a 1 MiB amp.yaml, stays well under it even JSON-escaped).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from passway.api.errors import problem_response
from passway.errors import InvalidRequest, Issue, IssueLocation, PayloadTooLarge

MAX_BODY_BYTES = 8 * 1024 * 1024
BAD_TEXT = "must not contain NUL characters or unpaired surrogates"
_BAD_CHARS = re.compile("[\x00\ud800-\udfff]")


def has_bad_text(text: str) -> bool:
    return _BAD_CHARS.search(text) is not None


def find_bad_text(value: Any, path: str = "") -> str | None:
    """The dotted path of the first string (key or value) in JSON data that cannot be stored."""
    stack: list[tuple[str, Any]] = [(path, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            if has_bad_text(item):
                return where
        elif isinstance(item, dict):
            for key, inner in item.items():
                name = f"{where}.{key}" if where else str(key)
                if isinstance(key, str) and has_bad_text(key):
                    return where or "(key)"
                stack.append((name, inner))
        elif isinstance(item, list):
            stack.extend((f"{where}[{index}]", inner) for index, inner in enumerate(item))
    return None


def bad_text_error(location: IssueLocation, name: str) -> InvalidRequest:
    return InvalidRequest(
        f"{name or 'The input'} {BAD_TEXT}.", issues=[Issue(location, name, BAD_TEXT)]
    )


def url_text_error(path: str, query_string: bytes) -> InvalidRequest | None:
    """A NUL in the percent-decoded path or query (``%00``); other bytes decode to U+FFFD."""
    if "\x00" in path:
        return bad_text_error("path", "path")
    if b"%00" in query_string or b"\x00" in query_string:
        for name, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
            if "\x00" in name or "\x00" in value:
                return bad_text_error("query", name.replace("\x00", ""))
    return None


class InputGuardMiddleware:
    """Refuses NUL in the URL and oversized bodies; passes every other request through, with its
    body (at most ``max_body`` bytes) read once and replayed to the application."""

    def __init__(self, app: ASGIApp, max_body: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        url_error = url_text_error(scope.get("path", ""), scope.get("query_string", b""))
        if url_error is not None:
            await problem_response(url_error, scope)(scope, receive, send)
            return
        too_large = PayloadTooLarge(
            f"The request body is larger than {self.max_body} bytes.",
            context={"maxBytes": self.max_body},
        )
        if _declared_length(scope) > self.max_body:
            await problem_response(too_large, scope)(scope, receive, send)
            return
        body, complete = await _read_body(receive, self.max_body)
        if not complete:
            await problem_response(too_large, scope)(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)


def _declared_length(scope: Scope) -> int:
    for name, value in scope.get("headers", ()):
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0
    return 0


async def _read_body(receive: Receive, limit: int) -> tuple[bytes, bool]:
    """The whole body, or ``(partial, False)`` once it grows past ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), True
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return b"", False
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), True


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
