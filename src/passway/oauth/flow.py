"""The authorization-code connect flow: start (authorization URL) and callback (code for tokens).

``start_connect`` checks everything the flow needs before the customer leaves (provider, provider
app, workspace), stores a single-use expiring state bound to project, group, consumer and provider,
and returns the provider's authorization URL. ``complete_connect`` consumes that state, exchanges
the code at the token endpoint, captures the token-response metadata and stores the connection.
A reused, expired or forged state, or a provider error, stores nothing.

Re-authorization keeps the connection's id (installations keep working): ``oauth-update`` binds the
state to the connection, and a plain connect for a group, consumer and provider that already have
a connection replaces that connection's tokens in place. Either makes it ``working`` again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta

from passway.catalog import Provider
from passway.core import templates
from passway.errors import (
    InvalidRequest,
    Issue,
    NotFound,
    OAuthProviderDenied,
    OAuthStateInvalid,
    ProviderUnsupported,
)
from passway.http1.client.pool import Http1Client
from passway.oauth import authorize, grants
from passway.oauth.client import TokenRejected, request_token
from passway.oauth.connection_writer import save_authorized_connection
from passway.oauth.credentials_source import find_provider_app
from passway.records import (
    Connection,
    OAuthState,
    Project,
)
from passway.services.connection_input import check_refs
from passway.services.context import ServiceContext

_CODE_GRANTS = ("authorizationCode", "authorizationCodePKCE")


@dataclass(frozen=True, slots=True)
class ConnectRequest:
    """What ``POST /v1/oauth-connect`` (or ``:oauth-update``) asks for."""

    provider: str
    group_ref: str
    consumer_ref: str
    group_name: str | None = None
    consumer_name: str | None = None
    provider_workspace_ref: str | None = None
    provider_metadata: Mapping[str, str] = field(default_factory=dict)
    provider_app_id: str | None = None
    redirect_url: str | None = None
    connection_id: str | None = None


@dataclass(frozen=True, slots=True)
class ConnectResult:
    connection: Connection
    redirect_after: str | None


def _code_provider(ctx: ServiceContext, name: str) -> Provider:
    provider = ctx.catalog.get(name)
    if provider is None:
        raise InvalidRequest(
            "Unknown provider.", issues=[Issue("body", "provider", "not in the catalog", name)]
        )
    if provider.auth_type != "oauth2" or provider.grant_type not in _CODE_GRANTS:
        raise ProviderUnsupported(
            f"Provider {name} does not use the OAuth2 authorization-code flow.",
            context={"provider": name},
        )
    return provider


async def start_connect(ctx: ServiceContext, project: Project, request: ConnectRequest) -> str:
    """Validate, store a fresh state, and return the provider's authorization URL."""
    issues = check_refs(
        request.group_ref, request.consumer_ref, request.group_name, request.consumer_name
    )
    provider = _code_provider(ctx, request.provider)
    app = await find_provider_app(ctx.store, project.id, provider.name, request.provider_app_id)
    if app is None:
        name = "providerAppId" if request.provider_app_id else "provider"
        issues.append(Issue("body", name, f"no provider app for {provider.name} in this project"))
    if app is not None and provider.explicit_scopes_required and not app.scopes:
        issues.append(
            Issue("body", "providerAppId", f"{provider.name} needs scopes on the provider app")
        )
    if provider.explicit_workspace_required and not request.provider_workspace_ref:
        issues.append(
            Issue("body", "providerWorkspaceRef", f"required by provider {provider.name}")
        )
    if request.redirect_url is not None and not authorize.is_acceptable_redirect(
        request.redirect_url
    ):
        issues.append(Issue("body", "redirectUrl", "must be an absolute http(s) URL"))
    if issues or app is None:
        raise InvalidRequest("The OAuth connect request is not valid.", issues=issues)
    values = templates.template_values(
        provider, request.provider_workspace_ref, request.provider_metadata
    )
    issues = templates.check_connection_values(
        provider, request.provider_workspace_ref, request.provider_metadata
    )
    if issues:
        raise InvalidRequest("The OAuth connect request is not valid.", issues=issues)
    base = grants.authorization_url_base(provider, values)
    state = authorize.new_state()
    verifier = authorize.new_code_verifier() if authorize.uses_pkce(provider) else None
    redirect_uri = authorize.callback_url(ctx.settings.public_url)
    now = ctx.now()
    await ctx.store.save_oauth_state(
        OAuthState(
            id=authorize.state_id(state),
            project_id=project.id,
            provider=provider.name,
            group_ref=request.group_ref,
            group_name=request.group_name,
            consumer_ref=request.consumer_ref,
            consumer_name=request.consumer_name,
            provider_workspace_ref=request.provider_workspace_ref,
            provider_metadata=dict(request.provider_metadata),
            provider_app_id=app.id,
            code_verifier=verifier,
            redirect_uri=redirect_uri,
            redirect_after=request.redirect_url,
            connection_id=request.connection_id,
            expires_at=now + timedelta(seconds=ctx.settings.oauth_state_ttl),
            create_time=now,
        )
    )
    return authorize.authorization_url(
        base,
        provider,
        client_id=app.client_id,
        redirect_uri=redirect_uri,
        scopes=app.scopes,
        state=state,
        challenge=None if verifier is None else authorize.code_challenge(verifier),
    )


async def start_reauthorization(
    ctx: ServiceContext, project: Project, connection_id: str, request: ConnectRequest
) -> str:
    """``:oauth-update``: a new authorization URL bound to an existing connection."""
    connection = await ctx.store.get_connection(project.id, connection_id)
    if connection is None:
        raise NotFound(f"Connection {connection_id!r} not found.")
    metadata = {k: v.value for k, v in connection.provider_metadata.items() if v.source == "input"}
    metadata.update(request.provider_metadata)
    return await start_connect(
        ctx,
        project,
        replace(
            request,
            provider=connection.provider,
            group_ref=connection.group_ref,
            consumer_ref=connection.consumer_ref,
            group_name=connection.group_name,
            consumer_name=connection.consumer_name,
            provider_workspace_ref=(
                request.provider_workspace_ref or connection.provider_workspace_ref
            ),
            provider_metadata=metadata,
            provider_app_id=request.provider_app_id or connection.provider_app_id,
            connection_id=connection.id,
        ),
    )


async def consume_state(ctx: ServiceContext, raw_state: str | None) -> OAuthState:
    """The flow a callback belongs to; a state is good once, and only before it expires."""
    if not raw_state:
        raise OAuthStateInvalid("The callback has no state.")
    state = await ctx.store.consume_oauth_state(authorize.state_id(raw_state), ctx.now())
    if state is None:
        raise OAuthStateInvalid("The state is unknown, expired or already used.")
    return state


async def complete_connect(
    ctx: ServiceContext,
    http: Http1Client,
    state: OAuthState,
    code: str | None,
) -> ConnectResult:
    """Exchange the code, capture the token metadata, store the connection."""
    if not code:
        raise InvalidRequest("The callback has no authorization code.")
    provider = _code_provider(ctx, state.provider)
    app = await find_provider_app(ctx.store, state.project_id, provider.name, state.provider_app_id)
    if app is None:
        raise OAuthStateInvalid("The provider app of this flow no longer exists.")
    values = templates.template_values(
        provider, state.provider_workspace_ref, state.provider_metadata
    )
    try:
        response = await request_token(
            http,
            grants.token_url(provider, values),
            grants.authorization_code_form(
                code, state.redirect_uri, state.code_verifier, provider.token_params
            ),
            grants.client_auth(provider, app.client_id, app.client_secret),
            timeout=min(ctx.settings.read_timeout, 60.0),
        )
    except TokenRejected as rejected:
        raise OAuthProviderDenied(
            f"The provider refused the authorization code ({rejected.error or rejected.status})"
            + (f": {rejected.description}" if rejected.description else ""),
            context={"provider": provider.name, "error": rejected.error},
        ) from None
    connection = await save_authorized_connection(ctx, provider, app, state, response)
    return ConnectResult(connection, state.redirect_after)
