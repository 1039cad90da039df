"""How the management API answers errors: always ``application/problem+json`` via
``passway.problems``, with the request's id, never a stack trace or a secret.

- ``PasswayError``: its own status and code.
- Request validation (pydantic): 400 ``invalid_request``, one issue per problem; the offending value
  is echoed only when it is a short scalar outside any secret field.
- Starlette's HTTP errors (unknown route, wrong method): 404 ``not_found`` / 405
  ``method_not_allowed``.
- Anything else: logged with its traceback, answered as a bare 500 ``internal_error``
  (``RequestContextMiddleware`` catches it, so the body says nothing about the cause).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from passway import problems
from passway.errors import (
    InvalidRequest,
    IssueLocation,
    MethodNotAllowed,
    NotFound,
    PasswayError,
    PermissionDenied,
    Unauthenticated,
)
from passway.errors import Issue as IssueRecord
from passway.observability.request_ids import CallContext, current_call, new_request_id
from passway.store.outage import is_store_outage, store_unavailable

log = logging.getLogger("passway.api")
SUBSYSTEM = "api"
REQUEST_ID_KEY = "passway_request_id"
SECRET_FIELDS = frozenset(
    {
        "apiKey",
        "password",
        "clientSecret",
        "token",
        "accessToken",
        "refreshToken",
        "customAuth",
        "key",
        "x-api-key",
        "X-Api-Key",
    }
)
_LOCATIONS: dict[str, IssueLocation] = {
    "body": "body",
    "query": "query",
    "path": "path",
    "header": "header",
    "cookie": "header",
}


def request_id_of(scope: Scope) -> str:
    return str(scope.get(REQUEST_ID_KEY) or "-")


def problem_response(error: PasswayError, scope: Scope) -> Response:
    request_id = request_id_of(scope)
    body = problems.problem_body(
        error, instance=scope.get("path", ""), request_id=request_id, subsystem=SUBSYSTEM
    )
    headers = problems.problem_headers(error, len(body), request_id)
    response = Response(content=body, status_code=error.status)
    response.raw_headers = headers
    return response


def issues_from_validation(errors: Sequence[Any]) -> list[IssueRecord]:
    issues = []
    for error in errors:
        loc = [part for part in error.get("loc", ()) if part != "__root__"]
        location = _LOCATIONS.get(str(loc[0]), "body") if loc else "body"
        name = _dotted(loc[1:])
        secret = any(str(part) in SECRET_FIELDS for part in loc)
        value = error.get("input")
        shown = (
            value
            if not secret
            and error.get("type") != "missing"
            and isinstance(value, str | int | float | bool)
            and len(str(value)) <= 200
            else None
        )
        issues.append(IssueRecord(location, name or location, error.get("msg", "invalid"), shown))
    return issues


def _dotted(parts: Sequence[Any]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


async def _passway_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PasswayError)
    return problem_response(exc, request.scope)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    issues = issues_from_validation(exc.errors())
    error = InvalidRequest("The request is not valid.", issues=issues)
    return problem_response(error, request.scope)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> str:
    """Every method some route takes on this path (Starlette's own ``Allow`` names only those of
    the first route matching the path, and FastAPI makes one route per method). Only a 405
    pays for asking each route about each method."""
    routes = request.app.router.routes
    allowed = [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes
        )
    ]
    return ", ".join(allowed)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    error: PasswayError
    if exc.status_code == 404:
        error = NotFound(f"No route for {request.method} {request.url.path}.")
    elif exc.status_code == 405:
        # RFC 9110 15.5.6: a 405 names the methods the resource takes.
        allow = allowed_methods(request)
        error = MethodNotAllowed(
            f"{request.method} is not allowed on {request.url.path}.",
            headers={"Allow": allow} if allow else None,
        )
    elif exc.status_code == 401:
        error = Unauthenticated()
    elif exc.status_code == 403:
        error = PermissionDenied()
    elif 400 <= exc.status_code < 500:
        error = InvalidRequest(str(exc.detail))
    else:
        error = PasswayError()
    return problem_response(error, request.scope)


async def _store_error(request: Request, exc: Exception) -> Response:
    """A database outage is a 503 ``store_unavailable`` (retry later); anything else is a bug."""
    if not is_store_outage(exc):
        raise exc
    log.warning(
        "%s %s refused: the database is unavailable (%s)", request.method, request.url.path, exc
    )
    return problem_response(store_unavailable(), request.scope)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(OSError, _store_error)
    app.add_exception_handler(SQLAlchemyError, _store_error)
    app.add_exception_handler(PasswayError, _passway_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)


class RequestContextMiddleware:
    """Gives each request an id (``x-passway-request-id`` on every answer) and turns any exception
    that escaped the handlers into a logged, generic 500 problem."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_request_id()
        scope = {**scope, REQUEST_ID_KEY: request_id}
        context = current_call.set(CallContext(request_id))  # log lines carry the id
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.lower() != problems.REQUEST_ID_HEADER.encode()
                ]
                headers.append((problems.REQUEST_ID_HEADER.encode(), request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception(
                "unhandled error in %s %s (request %s)",
                scope.get("method"),
                scope.get("path"),
                request_id,
            )
            if started:
                raise
            await problem_response(PasswayError(), scope)(scope, receive, send_with_id)
        finally:
            current_call.reset(context)
