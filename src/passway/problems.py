"""The one place where errors become ``application/problem+json`` (RFC 9457).

The raw-ASGI proxy and Passway's HTTP/1.1 server answer with ``send_problem``, the management API
wraps ``problem_body`` / ``problem_headers`` in its framework's response, and a request the server
cannot even read gets the same two pieces written raw: every error Passway itself answers looks the
same and carries the ``x-passway-error`` marker header (its value is the error code), which a
provider never sends.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from passway.asgi_types import Send
from passway.errors import PasswayError

CONTENT_TYPE = "application/problem+json"
MARKER_HEADER = "x-passway-error"
REQUEST_ID_HEADER = "x-passway-request-id"


def problem_document(
    error: PasswayError, *, instance: str, request_id: str, subsystem: str
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "type": f"urn:passway:problem:{error.code}",
        "title": error.title,
        "status": error.status,
        "detail": error.detail,
        "instance": instance,
        "code": error.code,
        "subsystem": subsystem,
        "time": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "requestId": request_id,
        "retryable": error.retryable,
    }
    if error.remedy:
        doc["remedy"] = error.remedy
    if error.retry_after is not None:
        doc["retryAfter"] = error.retry_after
    if error.context:
        doc["context"] = error.context
    if error.issues:
        doc["issues"] = [issue.to_json() for issue in error.issues]
    return doc


def problem_body(error: PasswayError, *, instance: str, request_id: str, subsystem: str) -> bytes:
    document = problem_document(
        error, instance=instance, request_id=request_id, subsystem=subsystem
    )
    return json.dumps(document, separators=(",", ":")).encode()


def problem_headers(
    error: PasswayError, body_length: int, request_id: str
) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"content-type", CONTENT_TYPE.encode()),
        (b"content-length", str(body_length).encode()),
        (MARKER_HEADER.encode(), error.code.encode()),
        (REQUEST_ID_HEADER.encode(), request_id.encode()),
        (b"cache-control", b"no-store"),
    ]
    if error.retry_after is not None:
        headers.append((b"retry-after", str(max(0, int(error.retry_after + 0.999))).encode()))
    for name, value in error.headers.items():
        headers.append((name.lower().encode("latin-1"), value.encode("latin-1")))
    return headers


async def send_problem(
    send: Send, error: PasswayError, *, instance: str, request_id: str, subsystem: str
) -> None:
    """Answer ``error`` on an ASGI ``send``: the head, then the whole body in one message."""
    body = problem_body(error, instance=instance, request_id=request_id, subsystem=subsystem)
    headers = problem_headers(error, len(body), request_id)
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})
