"""Passway's own errors, raised as exceptions.

Passway answers every error of its own as ``application/problem+json`` with the header
``x-passway-error: <code>``; a provider's answer relayed by the proxy never carries that header and
is never raised (it is returned as the provider's response). The class is chosen by the HTTP status;
``code`` is the stable machine-readable reason (Passway's README, "Errors")::

    PasswayError
    ├── InvalidRequestError            400, 422 (``issues`` names each bad field)
    ├── AuthenticationError            401
    ├── PermissionDeniedError          403
    ├── NotFoundError                  404
    ├── MethodNotAllowedError          405
    ├── ConflictError                  409
    ├── PayloadTooLargeError           413, 431
    ├── ReauthorizationNeededError     424 (the customer must connect again)
    ├── ThrottledError                 429
    ├── ServerError                    500
    └── UpstreamError                  502, 503, 504 (the provider or its token endpoint)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx

MARKER_HEADER = "x-passway-error"
REQUEST_ID_HEADER = "x-passway-request-id"


@dataclass(frozen=True, slots=True)
class Issue:
    """One input problem: where (``location``: body, header, path, query), which field, what."""

    location: str
    name: str
    detail: str
    value: Any = None


class PasswayError(Exception):
    """An error Passway answered (problem+json with ``x-passway-error``)."""

    def __init__(self, problem: dict[str, Any], *, status: int, code: str) -> None:
        self.problem = problem
        self.status = status
        self.code = code
        self.title: str = str(problem.get("title") or "")
        self.detail: str = str(problem.get("detail") or self.title or code)
        self.request_id: str | None = problem.get("requestId")
        self.retryable: bool = bool(problem.get("retryable", False))
        self.retry_after: float | None = problem.get("retryAfter")
        self.remedy: str | None = problem.get("remedy")
        self.context: dict[str, Any] = dict(problem.get("context") or {})
        self.issues: tuple[Issue, ...] = tuple(
            Issue(
                str(item.get("in", "")),
                str(item.get("name", "")),
                str(item.get("detail", "")),
                item.get("value"),
            )
            for item in problem.get("issues") or ()
            if isinstance(item, dict)
        )
        super().__init__(self._message())

    def _message(self) -> str:
        parts = [f"{self.status} {self.code}: {self.detail}"]
        parts += [f"{issue.name}: {issue.detail}" for issue in self.issues]
        return "; ".join(parts)


class InvalidRequestError(PasswayError):
    """400 or 422: the request (headers, body, amp.yaml, target path) is not acceptable."""


class AuthenticationError(PasswayError):
    """401: the API key is missing, unknown, revoked or of another project."""


class PermissionDeniedError(PasswayError):
    """403: not allowed (operator-only action, proxy not enabled, egress denied)."""


class NotFoundError(PasswayError):
    """404: no such resource in this project (or no such installation for a proxy call)."""


class MethodNotAllowedError(PasswayError):
    """405: the route does not take this verb."""


class ConflictError(PasswayError):
    """409: a name or install already exists, or a concurrent write won."""


class PayloadTooLargeError(PasswayError):
    """413 or 431: the body or the request head is too large."""


class ReauthorizationNeededError(PasswayError):
    """424: the connection's grant was revoked; the customer must connect again."""


class ThrottledError(PasswayError):
    """429: throttle mode held the call back; ``retry_after`` says for how long."""


class ServerError(PasswayError):
    """500: a bug in Passway; its log has the details under ``request_id``."""


class UpstreamError(PasswayError):
    """502, 503 or 504: the provider or its token endpoint failed, or a refresh is cooling down."""


_BY_STATUS: dict[int, type[PasswayError]] = {
    400: InvalidRequestError,
    422: InvalidRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    405: MethodNotAllowedError,
    409: ConflictError,
    413: PayloadTooLargeError,
    431: PayloadTooLargeError,
    424: ReauthorizationNeededError,
    429: ThrottledError,
    500: ServerError,
    502: UpstreamError,
    503: UpstreamError,
    504: UpstreamError,
}


def is_passway_error(response: httpx.Response) -> bool:
    """True when Passway itself answered with an error (not a provider's relayed answer)."""
    return MARKER_HEADER in response.headers


def error_from_response(response: httpx.Response) -> PasswayError:
    """The exception for a Passway error answer (its body must have been read)."""
    code = response.headers.get(MARKER_HEADER) or "unknown"
    try:
        document = json.loads(response.content)
    except ValueError:
        document = None
    problem: dict[str, Any] = document if isinstance(document, dict) else {}
    problem.setdefault("requestId", response.headers.get(REQUEST_ID_HEADER))
    status = response.status_code
    kind = _BY_STATUS.get(status, ServerError if status >= 500 else InvalidRequestError)
    return kind(problem, status=status, code=code)


def raise_for_passway_error(response: httpx.Response) -> None:
    """Raise the ``PasswayError`` that ``response`` carries, if Passway answered an error."""
    if is_passway_error(response):
        response.read()
        raise error_from_response(response)


async def araise_for_passway_error(response: httpx.Response) -> None:
    """``raise_for_passway_error`` for an ``httpx.AsyncClient`` response."""
    if is_passway_error(response):
        await response.aread()
        raise error_from_response(response)
