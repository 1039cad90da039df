"""The end of a successful connect flow: the token response becomes a stored connection.

Token-response metadata is captured per the catalog (``tokenMetadataFields``): the workspace (made
to fit the provider's URL templates, e.g. Salesforce's ``instance_url`` gives its host label), the
consumer ref, the granted scopes, and the other fields as ``providerMetadata`` with source
``token``. The connection being re-authorized (``oauth-update``), or else the one this group and
consumer already have for the provider, keeps its id and becomes ``working``; otherwise a new
connection is created.
"""

from __future__ import annotations

import uuid
from dataclasses import replace

from passway.catalog import Provider
from passway.core import templates
from passway.core.tokens import (
    TokenResponse,
    capture_token_metadata,
    credentials_after_token_response,
)
from passway.errors import Conflict, NotFound
from passway.notifications import events
from passway.records import (
    AuthScheme,
    Connection,
    Credentials,
    MetadataValue,
    OAuthState,
    ProviderApp,
)
from passway.services.context import ServiceContext


async def save_authorized_connection(
    ctx: ServiceContext,
    provider: Provider,
    app: ProviderApp,
    state: OAuthState,
    response: TokenResponse,
) -> Connection:
    """Create the connection, or re-authorize the existing one in place (same id)."""
    now = ctx.now()
    captured = capture_token_metadata(response.raw, provider.token_metadata_fields)
    workspace = state.provider_workspace_ref
    if captured.workspace_ref:
        workspace = (
            templates.workspace_ref_from_token_value(provider, captured.workspace_ref) or workspace
        )
    metadata = {k: MetadataValue(v, "input") for k, v in state.provider_metadata.items()}
    metadata.update({k: MetadataValue(v, "token") for k, v in captured.other.items()})
    credentials = credentials_after_token_response(Credentials(scopes=app.scopes), response, now)
    if captured.scopes:
        credentials = replace(credentials, scopes=captured.scopes)
    scheme: AuthScheme = (
        "oauth2/authorizationCodePKCE"
        if provider.grant_type == "authorizationCodePKCE"
        else "oauth2/authorizationCode"
    )
    existing = await _existing_connection(ctx, state)
    if existing is None:
        created = Connection(
            id=str(uuid.uuid4()),
            project_id=state.project_id,
            provider=provider.name,
            group_ref=state.group_ref,
            group_name=state.group_name,
            consumer_ref=state.consumer_ref,
            consumer_name=state.consumer_name,
            provider_workspace_ref=workspace,
            provider_consumer_ref=captured.consumer_ref,
            provider_metadata=metadata,
            auth_scheme=scheme,
            status="working",
            credentials=credentials,
            provider_app_id=app.id,
            version=1,
            create_time=now,
            update_time=now,
        )
        return await ctx.store.create_connection(
            created, events=[events.connection_created(created, now)]
        )
    for _ in range(5):
        updated = replace(
            existing,
            group_name=state.group_name or existing.group_name,
            consumer_name=state.consumer_name or existing.consumer_name,
            provider_workspace_ref=workspace,
            provider_consumer_ref=captured.consumer_ref or existing.provider_consumer_ref,
            provider_metadata={**existing.provider_metadata, **metadata},
            auth_scheme=scheme,
            status="working",
            credentials=credentials,
            provider_app_id=app.id,
            update_time=now,
        )
        try:
            # A re-authorization establishes the connection anew: receivers hear of it as created.
            stored = await ctx.store.update_connection(
                updated,
                expected_version=existing.version,
                events=[events.connection_created(updated, now)],
            )
        except Conflict:
            latest = await ctx.store.get_connection(state.project_id, existing.id)
            if latest is None:
                break
            existing = latest
            continue
        if ctx.tokens is not None:
            ctx.tokens.forget_cooldown(stored.id)
        return stored
    raise Conflict("The connection changed while it was being re-authorized; connect again.")


async def _existing_connection(ctx: ServiceContext, state: OAuthState) -> Connection | None:
    if state.connection_id is not None:
        connection = await ctx.store.get_connection(state.project_id, state.connection_id)
        if connection is None:
            raise NotFound("The connection being re-authorized no longer exists.")
        return connection
    same = await ctx.store.list_connections(
        state.project_id,
        provider=state.provider,
        group_ref=state.group_ref,
        consumer_ref=state.consumer_ref,
    )
    return same[0] if same else None
