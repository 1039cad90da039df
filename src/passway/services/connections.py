"""Connections: create or import (``connections:generate``), list, read, patch, delete.

Everything is checked before anything is written: an unknown provider, a missing or wrong
credential, a template value the provider's URLs need, all come back together as one 400 with
``issues[]``. Client-credentials and password-grant connections get their first access token from
the provider before they are stored; if the provider refuses, nothing is stored. Imported
credentials (and freshly issued tokens) give status ``working``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from passway.catalog import Provider
from passway.core import templates
from passway.errors import InvalidRequest, Issue, NotFound, ProviderUnsupported
from passway.notifications import events
from passway.records import AuthScheme, Connection, Credentials, MetadataValue, Project
from passway.services import connection_input as check
from passway.services.context import ServiceContext

RefreshMode = Literal["ifExpired", "force"]
UPDATE_MASKS = (
    "providerWorkspaceRef",
    "providerMetadata",
    "apiKey",
    "basicAuth",
    "oauth2ClientCredentials",
    "oauth2PasswordCredentials",
)
_TOKEN_SCHEMES = ("oauth2/clientCredentials", "oauth2/password")


@dataclass(frozen=True, slots=True)
class NewConnection:
    """The body of ``connections:generate``. ``credentials`` maps the credential field that was
    given (``apiKey``, ``basicAuth``, ...) to its value; exactly one is expected."""

    provider: str
    group_ref: str
    consumer_ref: str
    credentials: Mapping[str, Credentials]
    group_name: str | None = None
    consumer_name: str | None = None
    provider_workspace_ref: str | None = None
    provider_metadata: Mapping[str, str] = field(default_factory=dict)


def _provider(ctx: ServiceContext, name: str, issues: list[Issue]) -> Provider | None:
    provider = ctx.catalog.get(name)
    if provider is None:
        issues.append(Issue("body", "provider", "not a provider in the catalog", name[:200]))
    return provider


def check_template_values(
    provider: Provider, workspace_ref: str | None, metadata: Mapping[str, MetadataValue]
) -> list[Issue]:
    """Values the provider's URL templates need: present (unless the provider learns them later,
    from the token response or after authentication) and fit for the slot they fill.

    ``workspace`` comes from ``providerWorkspaceRef``, other variables from ``providerMetadata``; a
    catalog ``defaultValue`` counts as given.
    """
    plain = _plain(metadata)
    later = set(provider.metadata_post_authentication)
    if provider.token_metadata_fields is not None:
        tmf = provider.token_metadata_fields
        later |= {f.name for f in tmf.other_fields}
        if tmf.workspace_ref_field:
            later |= {"workspace", tmf.workspace_ref_field}
    supplied = set(templates.template_values(provider, workspace_ref, plain)) | later
    issues = [
        Issue(
            "body",
            "providerWorkspaceRef" if var == "workspace" else f"providerMetadata.{var}",
            f"required by provider {provider.name}'s URLs",
        )
        for var in templates.missing_variables(provider, supplied)
    ]
    return issues + templates.check_connection_values(provider, workspace_ref, plain)


def _plain(metadata: Mapping[str, MetadataValue]) -> dict[str, str]:
    return {name: item.value for name, item in metadata.items()}


async def generate_connection(
    ctx: ServiceContext, project: Project, new: NewConnection
) -> Connection:
    issues = check.check_refs(
        new.group_ref,
        new.consumer_ref,
        new.group_name,
        new.consumer_name,
        new.provider_workspace_ref,
    )
    provider = _provider(ctx, new.provider, issues)
    metadata = check.input_metadata(new.provider_metadata)
    choice = None
    if provider is not None:
        choice, cred_issues = check.check_credentials(provider, new.credentials)
        issues += cred_issues
        issues += check_template_values(provider, new.provider_workspace_ref, metadata)
    if issues or provider is None or choice is None:
        raise InvalidRequest("The connection is not valid.", issues=issues)
    credentials = await _issue_tokens(
        ctx,
        provider,
        choice.scheme,
        new.credentials[choice.field],
        new.provider_workspace_ref,
        metadata,
    )
    now = ctx.now()
    connection = Connection(
        id=str(uuid.uuid4()),
        project_id=project.id,
        provider=provider.name,
        group_ref=new.group_ref,
        group_name=new.group_name,
        consumer_ref=new.consumer_ref,
        consumer_name=new.consumer_name,
        provider_workspace_ref=new.provider_workspace_ref,
        provider_consumer_ref=None,
        provider_metadata=metadata,
        auth_scheme=choice.scheme,
        status="working",
        credentials=credentials,
        provider_app_id=None,
        version=1,
        create_time=now,
        update_time=now,
    )
    return await ctx.store.create_connection(
        connection, events=[events.connection_created(connection, now)]
    )


async def _issue_tokens(
    ctx: ServiceContext,
    provider: Provider,
    scheme: AuthScheme,
    credentials: Credentials,
    workspace_ref: str | None,
    metadata: Mapping[str, MetadataValue],
) -> Credentials:
    """For grants Passway runs itself, get the first token now (a wrong secret fails here)."""
    if scheme not in _TOKEN_SCHEMES:
        return credentials
    if ctx.tokens is None:
        raise ProviderUnsupported("Getting an OAuth token needs the running server (use the API).")
    return await ctx.tokens.issue_initial_token(
        provider=provider,
        scheme=scheme,
        credentials=credentials,
        template_values=templates.template_values(provider, workspace_ref, _plain(metadata)),
    )


async def list_connections(
    ctx: ServiceContext,
    project: Project,
    *,
    provider: str | None = None,
    group_ref: str | None = None,
    consumer_ref: str | None = None,
) -> list[Connection]:
    known = ctx.catalog.get(provider) if provider is not None else None
    if known is not None:
        provider = known.name  # an alias lists the connections stored under the canonical name
    return await ctx.store.list_connections(
        project.id, provider=provider, group_ref=group_ref, consumer_ref=consumer_ref
    )


async def get_connection(
    ctx: ServiceContext, project: Project, connection_id: str, refresh: RefreshMode | None = None
) -> Connection:
    """Read a connection; with ``refresh``, refresh its OAuth token first (``ifExpired`` only when
    it is near expiry, ``force`` always)."""
    connection = await ctx.store.get_connection(project.id, connection_id)
    if connection is None:
        raise NotFound(f"Connection {connection_id!r} not found.")
    if refresh is None:
        return connection
    if not connection.auth_scheme.startswith("oauth2/"):
        raise InvalidRequest(
            "Only OAuth connections have tokens to refresh.",
            issues=[Issue("query", "refresh", "this connection has no OAuth token", refresh)],
        )
    if ctx.tokens is None:
        raise ProviderUnsupported("Refreshing a token needs the running server (use the API).")
    return await ctx.tokens.refresh(connection, force=refresh == "force")


async def update_connection(
    ctx: ServiceContext,
    project: Project,
    connection_id: str,
    update_mask: Sequence[str],
    *,
    provider_workspace_ref: str | None = None,
    provider_metadata: Mapping[str, str] | None = None,
    credentials: Mapping[str, Credentials] | None = None,
) -> Connection:
    """Apply the fields named in ``update_mask`` (and only those). A credential mask must name the
    connection's own kind of credential; client and password credentials get a new token."""
    connection = await get_connection(ctx, project, connection_id)
    provider = ctx.catalog.get(connection.provider)
    issues = _check_mask(update_mask)
    if provider is None:
        raise ProviderUnsupported(f"Provider {connection.provider!r} is no longer in the catalog.")
    given = dict(credentials or {})
    cred_masks = [m for m in update_mask if m in check.CREDENTIAL_FIELDS]
    choice = check.credential_choice(provider)
    for mask in cred_masks:
        if choice is None or mask != choice.field:
            issues.append(Issue("body", "updateMask", f"this connection has no {mask}", mask))
        elif mask not in given:
            issues.append(Issue("body", f"connection.{mask}", "required by updateMask"))
        else:
            issues += [
                replace(i, name=f"connection.{i.name}")
                for i in check.check_credential_fields(provider, mask, given[mask])
            ]
    workspace = connection.provider_workspace_ref
    metadata = dict(connection.provider_metadata)
    if "providerWorkspaceRef" in update_mask:
        workspace = provider_workspace_ref
        if workspace is not None and len(workspace) > check.WORKSPACE_MAX:
            issues.append(
                Issue(
                    "body",
                    "connection.providerWorkspaceRef",
                    f"at most {check.WORKSPACE_MAX} characters",
                )
            )
    if "providerMetadata" in update_mask:
        metadata = check.input_metadata(provider_metadata or {})
    if {"providerWorkspaceRef", "providerMetadata"} & set(update_mask):
        issues += [
            replace(i, name=f"connection.{i.name}")
            for i in check_template_values(provider, workspace, metadata)
        ]
    if issues:
        raise InvalidRequest("The connection update is not valid.", issues=issues)
    new_credentials, status = connection.credentials, connection.status
    for mask in cred_masks:
        new_credentials = await _issue_tokens(
            ctx, provider, connection.auth_scheme, given[mask], workspace, metadata
        )
        status = "working"
        if ctx.tokens is not None:
            ctx.tokens.forget_cooldown(connection.id)
    changed = replace(
        connection,
        provider_workspace_ref=workspace,
        provider_metadata=metadata,
        credentials=new_credentials,
        status=status,
        update_time=ctx.now(),
    )
    return await ctx.store.update_connection(changed, expected_version=connection.version)


def _check_mask(update_mask: Sequence[str]) -> list[Issue]:
    if not update_mask:
        return [Issue("body", "updateMask", f"name at least one of: {', '.join(UPDATE_MASKS)}")]
    return [
        Issue("body", f"updateMask[{index}]", "not a field that can be updated", mask[:200])
        for index, mask in enumerate(update_mask)
        if mask not in UPDATE_MASKS
    ]


async def delete_connection(ctx: ServiceContext, project: Project, connection_id: str) -> None:
    """Raises ``Conflict`` (from the store) while an installation still uses the connection."""
    if not await ctx.store.delete_connection(project.id, connection_id):
        raise NotFound(f"Connection {connection_id!r} not found.")
