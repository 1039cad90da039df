"""Provider apps: the developer's OAuth client (ID, secret, scopes) per provider and project.

The secret is stored encrypted by the SQL store and never returned by the API.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace

from passway.errors import InvalidRequest, Issue, NotFound
from passway.records import Project, ProviderApp
from passway.services.context import ServiceContext

_MAX_TEXT = 2048


def _check_provider(ctx: ServiceContext, name: str) -> list[Issue]:
    provider = ctx.catalog.get(name)
    if provider is None:
        return [Issue("body", "provider", "not a provider in the catalog", name[:200])]
    if provider.auth_type != "oauth2":
        return [Issue("body", "provider", f"{name} does not use OAuth2", name)]
    return []


def _canonical(ctx: ServiceContext, name: str) -> str:
    """The provider's own name for ``name`` (which may be an alias); stored apps use it."""
    provider = ctx.catalog.get(name)
    return provider.name if provider is not None else name


def _check_text(name: str, value: str | None, required: bool) -> list[Issue]:
    if value is None:
        return [Issue("body", name, "required")] if required else []
    if required and not value.strip():
        return [Issue("body", name, "must not be empty")]
    if len(value) > _MAX_TEXT:
        return [Issue("body", name, f"at most {_MAX_TEXT} characters")]
    return []


async def create_provider_app(
    ctx: ServiceContext,
    project: Project,
    *,
    provider: str,
    client_id: str,
    client_secret: str,
    scopes: Sequence[str],
    external_ref: str | None,
) -> ProviderApp:
    issues = _check_provider(ctx, provider)
    issues += _check_text("clientId", client_id, True)
    issues += _check_text("clientSecret", client_secret, True)
    issues += _check_text("externalRef", external_ref, False)
    if issues:
        raise InvalidRequest("The provider app is not valid.", issues=issues)
    now = ctx.now()
    return await ctx.store.create_provider_app(
        ProviderApp(
            id=str(uuid.uuid4()),
            project_id=project.id,
            provider=_canonical(ctx, provider),
            client_id=client_id,
            client_secret=client_secret,
            scopes=tuple(scopes),
            external_ref=external_ref,
            create_time=now,
            update_time=now,
        )
    )


async def get_provider_app(ctx: ServiceContext, project: Project, app_id: str) -> ProviderApp:
    app = await ctx.store.get_provider_app(project.id, app_id)
    if app is None:
        raise NotFound(f"Provider app {app_id!r} not found.")
    return app


async def update_provider_app(
    ctx: ServiceContext,
    project: Project,
    app_id: str,
    *,
    provider: str | None,
    client_id: str | None,
    client_secret: str | None,
    scopes: Sequence[str] | None,
    external_ref: str | None,
) -> ProviderApp:
    """Change the fields given (None leaves a field as it is)."""
    app = await get_provider_app(ctx, project, app_id)
    issues: list[Issue] = []
    if provider is not None:
        issues += _check_provider(ctx, provider)
    if client_id is not None:
        issues += _check_text("clientId", client_id, True)
    if client_secret is not None:
        issues += _check_text("clientSecret", client_secret, True)
    issues += _check_text("externalRef", external_ref, False)
    if issues:
        raise InvalidRequest("The provider app is not valid.", issues=issues)
    return await ctx.store.update_provider_app(
        replace(
            app,
            provider=_canonical(ctx, provider) if provider is not None else app.provider,
            client_id=client_id if client_id is not None else app.client_id,
            client_secret=client_secret if client_secret is not None else app.client_secret,
            scopes=tuple(scopes) if scopes is not None else app.scopes,
            external_ref=external_ref if external_ref is not None else app.external_ref,
            update_time=ctx.now(),
        )
    )


async def delete_provider_app(ctx: ServiceContext, project: Project, app_id: str) -> None:
    if not await ctx.store.delete_provider_app(project.id, app_id):
        raise NotFound(f"Provider app {app_id!r} not found.")
