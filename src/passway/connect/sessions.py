"""Connect sessions: created by a team's backend, used once by its end customer's browser.

- ``create_session`` checks everything the page will need before the customer sees it: the
  provider (or the integration, whose provider it is), an OAuth provider app when the provider
  signs in with OAuth, the refs, and that ``redirectUrl`` is on the project's allowed list.
- The token is random (256 bits) and only its SHA-256 hash is stored. The browser keeps the token
  in an HttpOnly, SameSite=Lax cookie scoped to ``/connect/``; every form post must carry that
  cookie and a CSRF value derived from the token (``csrf_value``), so a post from another site
  (which has neither) is refused.
- ``store_credentials`` (API key, basic, custom, client and password grants) and ``finish_oauth``
  (back from the provider) claim the session first, so it yields at most one connection.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from passway.catalog import Provider
from passway.connect import forms
from passway.errors import InvalidRequest, Issue, PasswayError
from passway.oauth import flow
from passway.oauth.authorize import is_acceptable_redirect
from passway.oauth.credentials_source import find_provider_app
from passway.records import Connection, Project
from passway.services import installations
from passway.services.connection_input import check_refs
from passway.services.connections import NewConnection, generate_connection
from passway.services.context import ServiceContext
from passway.store.connect_sessions import ConnectSession, ConnectSessionStore, ConnectSettings

TOKEN_PREFIX = "pwcs_"  # noqa: S105 - a marker on every session token, not a secret
DEFAULT_TTL = 900
MIN_TTL = 60
MAX_TTL = 3600
MAX_ALLOWED_URLS = 50
COOKIE_PREFIX = "passway_connect_"


class SessionUnusable(Exception):
    """The link cannot be used (unknown, expired, used); ``reason`` names which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class NewConnectSession:
    group_ref: str
    consumer_ref: str
    provider: str | None = None
    integration: str | None = None
    group_name: str | None = None
    consumer_name: str | None = None
    redirect_url: str | None = None
    expires_in: int = DEFAULT_TTL


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_value(token: str, session_id: str) -> str:
    """The CSRF form value of one session: only a holder of the token can compute it."""
    message = b"passway-connect-csrf:" + session_id.encode()
    return hmac.new(token.encode(), message, hashlib.sha256).hexdigest()


def cookie_name(session_id: str) -> str:
    return COOKIE_PREFIX + session_id


def check_csrf(token: str, session: ConnectSession, cookie: str | None, given: str | None) -> bool:
    """The post comes from a page this browser got for this session."""
    return (
        cookie is not None
        and given is not None
        and hmac.compare_digest(cookie.encode(), token.encode())
        and hmac.compare_digest(given.encode(), csrf_value(token, session.id).encode())
    )


def page_url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/connect/{token}"


def result_url(public_url: str, session_id: str) -> str:
    return f"{public_url.rstrip('/')}/connect/result/{session_id}"


def _same_target(url: str, allowed: str) -> bool:
    a, b = urlsplit(url), urlsplit(allowed)
    return (a.scheme, a.netloc.lower(), a.path or "/") == (
        b.scheme,
        b.netloc.lower(),
        b.path or "/",
    ) and not a.fragment


def is_allowed_redirect(url: str, allowed: tuple[str, ...]) -> bool:
    """On the list: same scheme, host, port and path as an allowed URL (the query may differ)."""
    return is_acceptable_redirect(url) and any(_same_target(url, a) for a in allowed)


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.lower()}"


def check_settings(allowed: list[str], logo_url: str | None) -> list[Issue]:
    issues = [
        Issue("body", f"allowedRedirectUrls[{i}]", "must be an absolute http(s) URL, no fragment")
        for i, url in enumerate(allowed)
        if not is_acceptable_redirect(url) or urlsplit(url).fragment or len(url) > 2048
    ]
    if len(allowed) > MAX_ALLOWED_URLS:
        issues.append(Issue("body", "allowedRedirectUrls", f"at most {MAX_ALLOWED_URLS} URLs"))
    if logo_url is not None and (not is_acceptable_redirect(logo_url) or len(logo_url) > 2048):
        issues.append(Issue("body", "logoUrl", "must be an absolute http(s) URL"))
    return issues


async def update_settings(
    sessions: ConnectSessionStore, project: Project, allowed: list[str], logo_url: str | None
) -> ConnectSettings:
    issues = check_settings(allowed, logo_url)
    if issues:
        raise InvalidRequest("The connect settings are not valid.", issues=issues)
    return await sessions.put_settings(
        ConnectSettings(project.id, tuple(dict.fromkeys(allowed)), logo_url)
    )


async def _session_provider(
    ctx: ServiceContext, project: Project, new: NewConnectSession, issues: list[Issue]
) -> tuple[Provider | None, str | None]:
    """The provider (and integration id) the session is for."""
    integration_id = None
    name = new.provider
    if (new.provider is None) == (new.integration is None):
        issues.append(Issue("body", "provider", "give exactly one of provider and integration"))
        return None, None
    if new.integration is not None:
        integration = await ctx.store.get_integration(project.id, new.integration)
        if integration is None:
            issues.append(Issue("body", "integration", "not an integration of this project"))
            return None, None
        integration_id, name = integration.id, integration.provider
    field = "integration" if new.integration is not None else "provider"
    provider = ctx.catalog.get(name or "")
    if provider is None:
        issues.append(Issue("body", field, "not a provider in the catalog"))
        return None, None
    if forms.connect_form(provider) is None:
        issues.append(Issue("body", field, f"{provider.name} cannot be connected on the page"))
    elif forms.is_code_flow(provider):
        app = await find_provider_app(ctx.store, project.id, provider.name, None)
        if app is None:
            issues.append(Issue("body", field, f"no provider app for {provider.name} yet"))
    return provider, integration_id


async def create_session(
    ctx: ServiceContext, sessions: ConnectSessionStore, project: Project, new: NewConnectSession
) -> tuple[ConnectSession, str]:
    """Store a new session; returns it with its token (shown once, never stored)."""
    issues = check_refs(new.group_ref, new.consumer_ref, new.group_name, new.consumer_name)
    provider, integration_id = await _session_provider(ctx, project, new, issues)
    if not MIN_TTL <= new.expires_in <= MAX_TTL:
        issues.append(Issue("body", "expiresIn", f"seconds, from {MIN_TTL} to {MAX_TTL}"))
    if new.redirect_url is not None:
        settings = await sessions.get_settings(project.id)
        if not is_allowed_redirect(new.redirect_url, settings.allowed_redirect_urls):
            issues.append(Issue("body", "redirectUrl", "not on the project's allowedRedirectUrls"))
    if issues or provider is None:
        raise InvalidRequest("The connect session is not valid.", issues=issues)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = ctx.now()
    session = ConnectSession(
        id=uuid.uuid4().hex,
        project_id=project.id,
        token_hash=token_hash(token),
        provider=provider.name,
        integration_id=integration_id,
        group_ref=new.group_ref,
        group_name=new.group_name,
        consumer_ref=new.consumer_ref,
        consumer_name=new.consumer_name,
        redirect_url=new.redirect_url,
        status="open",
        connection_id=None,
        installation_id=None,
        oauth_started_at=None,
        expires_at=now + timedelta(seconds=new.expires_in),
        create_time=now,
        update_time=now,
    )
    await sessions.create_session(session)
    return session, token


def usable(session: ConnectSession | None, now: datetime) -> ConnectSession:
    """The session, if the customer can still connect with it."""
    if session is None:
        raise SessionUnusable("unknown")
    if session.status == "done":
        raise SessionUnusable("used")
    if session.expires_at <= now:
        raise SessionUnusable("expired")
    return session


async def open_session(
    ctx: ServiceContext, sessions: ConnectSessionStore, token: str
) -> ConnectSession:
    if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        raise SessionUnusable("unknown")
    return usable(await sessions.find_session(token_hash(token)), ctx.now())


async def _project(ctx: ServiceContext, session: ConnectSession) -> Project:
    project = await ctx.store.get_project(session.project_id)
    if project is None:
        raise SessionUnusable("unknown")
    return project


def provider_and_form(
    ctx: ServiceContext, session: ConnectSession
) -> tuple[Provider, forms.ConnectForm]:
    provider = ctx.catalog.get(session.provider)
    form = None if provider is None else forms.connect_form(provider)
    if provider is None or form is None:
        raise SessionUnusable("unknown")
    return provider, form


async def start_oauth(
    ctx: ServiceContext,
    sessions: ConnectSessionStore,
    session: ConnectSession,
    values: Mapping[str, str],
) -> str:
    """Validate the page's inputs like ``POST /v1/oauth-connect`` does; the authorization URL.

    The provider sends the customer back to ``/callbacks/v1/oauth``, which then redirects to this
    session's result page."""
    project = await _project(ctx, session)
    provider, form = provider_and_form(ctx, session)
    submission = forms.read_submission(form, values)
    if submission.issues:
        raise InvalidRequest("Some fields need attention.", issues=submission.issues)
    await sessions.mark_oauth_started(session.id, ctx.now())
    return await flow.start_connect(
        ctx,
        project,
        flow.ConnectRequest(
            provider=provider.name,
            group_ref=session.group_ref,
            consumer_ref=session.consumer_ref,
            group_name=session.group_name,
            consumer_name=session.consumer_name,
            provider_workspace_ref=submission.workspace,
            provider_metadata=submission.metadata,
            redirect_url=result_url(ctx.settings.public_url, session.id),
        ),
    )


async def _install_and_finish(
    ctx: ServiceContext,
    sessions: ConnectSessionStore,
    session: ConnectSession,
    project: Project,
    connection: Connection,
) -> ConnectSession:
    installation_id = None
    if session.integration_id is not None:
        existing = await ctx.store.list_installations(
            project.id, session.integration_id, group_ref=session.group_ref
        )
        if existing:
            # A customer connecting again (a new key): the installation moves to the new
            # connection, so the proxy uses what was just entered.
            installation_id = existing[0].id
            if existing[0].connection_id != connection.id:
                await installations.update_installation(
                    ctx,
                    project,
                    session.integration_id,
                    installation_id,
                    ["connectionId"],
                    connection_id=connection.id,
                )
        else:
            view = await installations.create_installation(
                ctx,
                project,
                session.integration_id,
                group_ref=session.group_ref,
                group_name=session.group_name,
                config={},
                connection_id=connection.id,
            )
            installation_id = view.installation.id
    await sessions.finish_session(session.id, connection.id, installation_id, ctx.now())
    done = await sessions.get_session(session.id)
    assert done is not None
    return done


async def store_credentials(
    ctx: ServiceContext,
    sessions: ConnectSessionStore,
    session: ConnectSession,
    values: Mapping[str, str],
) -> ConnectSession:
    """Check and store the typed credential (``connections:generate`` rules); the done session."""
    project = await _project(ctx, session)
    provider, form = provider_and_form(ctx, session)
    submission = forms.read_submission(form, values)
    if submission.issues:
        raise InvalidRequest("Some fields need attention.", issues=submission.issues)
    if not await sessions.claim_session(session.id, ctx.now()):
        raise SessionUnusable("used")
    try:
        connection = await generate_connection(
            ctx,
            project,
            NewConnection(
                provider=provider.name,
                group_ref=session.group_ref,
                consumer_ref=session.consumer_ref,
                credentials=submission.credentials,
                group_name=session.group_name,
                consumer_name=session.consumer_name,
                provider_workspace_ref=submission.workspace,
                provider_metadata=submission.metadata,
            ),
        )
        return await _install_and_finish(ctx, sessions, session, project, connection)
    except BaseException:
        await sessions.release_session(session.id, ctx.now())
        raise


async def finish_oauth(
    ctx: ServiceContext,
    sessions: ConnectSessionStore,
    session: ConnectSession,
    connection_id: str,
) -> ConnectSession:
    """Back from the provider: the connection the callback stored for this session, if it is."""
    project = await _project(ctx, session)
    connection = await ctx.store.get_connection(project.id, connection_id[:64])
    started = session.oauth_started_at
    if (
        connection is None
        or started is None
        or connection.provider != session.provider
        or connection.group_ref != session.group_ref
        or connection.consumer_ref != session.consumer_ref
        or connection.update_time < started
    ):
        raise SessionUnusable("unknown")
    # A flow started before the session expired may finish after it (the provider's sign-in
    # took a while): the OAuth state's own lifetime bounds how long.
    claim_at = min(ctx.now(), session.expires_at - timedelta(microseconds=1))
    if not await sessions.claim_session(session.id, claim_at):
        raise SessionUnusable("used")
    try:
        return await _install_and_finish(ctx, sessions, session, project, connection)
    except BaseException:
        await sessions.release_session(session.id, ctx.now())
        raise


def plain_error(error: PasswayError) -> str:
    """A sentence for the customer: the error's detail without codes."""
    return error.detail
