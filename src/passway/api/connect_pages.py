"""The connect page's routes, for the end customer's browser (no API key: the session's token,
then its cookie, is the credential).

- ``GET /connect/{token}`` (the link handed out): puts the token in the session's cookie
  (HttpOnly, SameSite=Lax, ``Path=/connect/``) and redirects to ``/connect/s/{sessionId}``, so
  the token leaves the address bar and the history after the first request.
- ``GET /connect/s/{sessionId}``: the form, for the browser holding the cookie.
- ``POST /connect/s/{sessionId}``: with the cookie and the page's CSRF value, stores the credential
  (then 303 to the result page), or, for OAuth, checks the inputs and 303s to the provider; the
  provider returns through ``/callbacks/v1/oauth``, which redirects to the result page.
- ``GET /connect/result/{sessionId}``: success (or the provider's refusal, with a way to retry);
  only for the browser holding the session's cookie.
"""

from __future__ import annotations

import hmac
import re
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from passway.api.auth import Services
from passway.api.connect import connect_store as _sessions
from passway.connect import forms, pages
from passway.connect import sessions as connect
from passway.connect.sessions import SessionUnusable
from passway.errors import InvalidRequest, PasswayError
from passway.oauth.pages import with_query
from passway.services.context import ServiceContext
from passway.store.connect_sessions import ConnectSession, ConnectSessionStore

router = APIRouter(include_in_schema=False)

MAX_FORM_BYTES = 64 * 1024
_ERROR_CODE = re.compile(r"^[a-z0-9_.-]{1,64}$")
_UNUSABLE = {
    "unknown": (404, "This link does not work", "The connect link is not valid."),
    "expired": (410, "This link has expired", "For your security, connect links expire soon."),
    "used": (410, "This link was already used", "Each connect link works only once."),
}


@router.get("/connect/static/{name}")
async def connect_static(name: str) -> Response:
    body = pages.static_file(name)
    if body is None:
        return Response(status_code=404)
    return Response(
        body,
        media_type=pages.STATIC_TYPES[name],
        headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )


async def _branding(
    services: ServiceContext, store: ConnectSessionStore, session: ConnectSession | None
) -> tuple[pages.Branding, str | None]:
    if session is None:
        return pages.Branding("Passway"), None
    project = await services.store.get_project(session.project_id)
    settings = await store.get_settings(session.project_id)
    provider = services.catalog.get(session.provider)
    app_name = (project.app_name or project.name) if project is not None else "Passway"
    name = provider.display_name if provider is not None else session.provider
    return pages.Branding(app_name, name, settings.logo_url), settings.logo_url


def _html(body: str, status: int = 200, *, logo_url: str | None = None, **kw: Any) -> HTMLResponse:
    return HTMLResponse(body, status_code=status, headers=pages.headers(logo_url=logo_url, **kw))


async def _unusable(
    services: ServiceContext,
    store: ConnectSessionStore,
    reason: str,
    session: ConnectSession | None = None,
) -> HTMLResponse:
    status, title, detail = _UNUSABLE.get(reason, _UNUSABLE["unknown"])
    branding, logo = await _branding(services, store, session)
    return _html(pages.problem_page(branding, title, detail, None), status, logo_url=logo)


def _with_cookie(
    response: Response,
    services: ServiceContext,
    session: ConnectSession,
    token: str,
    now: datetime,
) -> Response:
    response.set_cookie(
        connect.cookie_name(session.id),
        token,
        max_age=max(1, int((session.expires_at - now).total_seconds())),
        path="/connect/",
        secure=services.settings.public_url.startswith("https://"),
        httponly=True,
        samesite="lax",
    )
    return response


async def _form_response(
    services: ServiceContext,
    store: ConnectSessionStore,
    session: ConnectSession,
    token: str,
    *,
    status: int = 200,
    values: dict[str, str] | None = None,
    issues: list[Any] | None = None,
    summary: list[str] | None = None,
) -> Response:
    provider, form = connect.provider_and_form(services, session)
    branding, logo = await _branding(services, store, session)
    errors, other = forms.field_errors(form, list(issues or []))
    body = pages.form_page(
        branding,
        form,
        action=_form_path(session),
        csrf=connect.csrf_value(token, session.id),
        values=values,
        errors=errors,
        summary=[*(summary or []), *other],
    )
    form_to = pages.form_targets(provider) if form.oauth else ()
    return _html(body, status, logo_url=logo, form_to=form_to)


def _form_path(session: ConnectSession) -> str:
    return f"/connect/s/{session.id}"


@router.get("/connect/{token}", response_class=HTMLResponse)
async def connect_link(token: str, request: Request, services: Services) -> Response:
    """The link the team hands out: the token moves into the session's cookie, and the browser
    goes on to the form's own address, so the token leaves the address bar and history."""
    store = _sessions(request)
    try:
        session = await connect.open_session(services, store, token)
    except SessionUnusable as unusable:
        found = await store.find_session(connect.token_hash(token))
        return await _unusable(services, store, unusable.reason, found)
    response = RedirectResponse(_form_path(session), 303, headers=pages.headers())
    return _with_cookie(response, services, session, token, services.now())


async def _browser_session(
    request: Request, services: ServiceContext, store: ConnectSessionStore, session_id: str
) -> tuple[ConnectSession, str] | Response:
    """The session and its token, when this browser holds the session's cookie; else the page to
    show instead."""
    session = await store.get_session(session_id[:64])
    if session is None:
        return await _unusable(services, store, "unknown")
    token = request.cookies.get(connect.cookie_name(session.id))
    if token is None or not hmac.compare_digest(connect.token_hash(token), session.token_hash):
        branding, logo = await _branding(services, store, session)
        page = pages.problem_page(
            branding,
            "Open your link again",
            "This browser does not have this page's cookie. Allow cookies for this site, then "
            "open the link you were given again.",
            None,
        )
        return _html(page, 403, logo_url=logo)
    return session, token


@router.get("/connect/s/{session_id}", response_class=HTMLResponse)
async def connect_form(session_id: str, request: Request, services: Services) -> Response:
    store = _sessions(request)
    found = await _browser_session(request, services, store, session_id)
    if isinstance(found, Response):
        return found
    session, token = found
    try:
        connect.usable(session, services.now())
    except SessionUnusable as unusable:
        return await _unusable(services, store, unusable.reason, session)
    return await _form_response(services, store, session, token)


async def _read_form(request: Request) -> dict[str, str] | None:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        return None
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return None
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=200)
    except (UnicodeDecodeError, ValueError):
        return None
    values: dict[str, str] = {}
    for name, value in pairs:
        values.setdefault(name, value.replace("\x00", ""))
    return values


@router.post("/connect/s/{session_id}", response_class=HTMLResponse)
async def connect_submit(session_id: str, request: Request, services: Services) -> Response:
    store = _sessions(request)
    found = await _browser_session(request, services, store, session_id)
    if isinstance(found, Response):
        return found
    session, token = found
    try:
        connect.usable(session, services.now())
    except SessionUnusable as unusable:
        return await _unusable(services, store, unusable.reason, session)
    values = await _read_form(request)
    cookie = request.cookies.get(connect.cookie_name(session.id))
    if values is None or not connect.check_csrf(token, session, cookie, values.get("csrf")):
        branding, logo = await _branding(services, store, session)
        page = pages.problem_page(
            branding,
            "Please try again",
            "This form could not be accepted: it was not sent from this page. Open the form "
            "again and resend it.",
            _form_path(session),
        )
        return _html(page, 403, logo_url=logo)
    _, form = connect.provider_and_form(services, session)
    try:
        if form.oauth:
            url = await connect.start_oauth(services, store, session, values)
            return RedirectResponse(url, 303, headers=pages.headers())
        done = await connect.store_credentials(services, store, session, values)
    except SessionUnusable as unusable:
        return await _unusable(services, store, unusable.reason, session)
    except InvalidRequest as invalid:
        return await _form_response(
            services, store, session, token, status=400, values=values, issues=list(invalid.issues)
        )
    except PasswayError as failure:
        return await _form_response(
            services, store, session, token, status=failure.status, values=values,
            summary=[connect.plain_error(failure)],
        )  # fmt: skip
    return RedirectResponse(f"/connect/result/{done.id}", 303, headers=pages.headers())


def _denied_detail(provider_name: str, error: str | None) -> str:
    if error == "access_denied":
        return f"Access was not granted on {provider_name}. Nothing was connected."
    code = f" ({error})" if error and _ERROR_CODE.match(error) else ""
    return f"{provider_name} did not finish connecting your account{code}. Nothing was connected."


@router.get("/connect/result/{session_id}", response_class=HTMLResponse)
async def connect_result(
    session_id: str,
    request: Request,
    services: Services,
    status: str | None = None,
    connectionId: str | None = None,
    error: str | None = None,
) -> Response:
    store = _sessions(request)
    found = await _browser_session(request, services, store, session_id)
    if isinstance(found, Response):
        return found
    session, _token = found
    if session.status != "done" and status == "success" and connectionId:
        try:
            session = await connect.finish_oauth(services, store, session, connectionId)
        except SessionUnusable as unusable:
            return await _unusable(services, store, unusable.reason, session)
        except PasswayError as failure:
            branding, logo = await _branding(services, store, session)
            page = pages.problem_page(
                branding, "Not connected", connect.plain_error(failure), _form_path(session)
            )
            return _html(page, failure.status, logo_url=logo)
    if session.status == "done":
        return await _done(services, store, session)
    try:
        connect.usable(session, services.now())
    except SessionUnusable as unusable:
        return await _unusable(services, store, unusable.reason, session)
    if status == "error":
        branding, logo = await _branding(services, store, session)
        page = pages.problem_page(
            branding,
            "Not connected",
            _denied_detail(branding.provider_name or session.provider, error),
            _form_path(session),
        )
        return _html(page, 400, logo_url=logo)
    return RedirectResponse(_form_path(session), 303, headers=pages.headers())


async def _done(
    services: ServiceContext, store: ConnectSessionStore, session: ConnectSession
) -> Response:
    branding, logo = await _branding(services, store, session)
    assert session.connection_id is not None
    message: dict[str, Any] = {
        "type": "passway:connect",
        "status": "success",
        "sessionId": session.id,
        "connectionId": session.connection_id,
        "provider": session.provider,
        "groupRef": session.group_ref,
        "consumerRef": session.consumer_ref,
    }
    result = {"status": "success", "connectionId": session.connection_id}
    if session.installation_id is not None:
        message["installationId"] = session.installation_id
        result["installationId"] = session.installation_id
    if session.redirect_url is not None:
        origins = [connect.origin_of(session.redirect_url)]
        continue_url: str | None = with_query(session.redirect_url, result)
    else:
        settings = await store.get_settings(session.project_id)
        origins = list(dict.fromkeys(connect.origin_of(u) for u in settings.allowed_redirect_urls))
        continue_url = None
    body = pages.done_page(
        branding, message=message, target_origins=origins, continue_url=continue_url
    )
    return _html(body, logo_url=logo)
