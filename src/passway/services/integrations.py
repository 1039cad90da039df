"""Integrations: deployed from amp.yaml, listed, read by id or name, deleted.

Deploying is an upsert by name, all or nothing: integrations in the file are created or updated
(keeping their id, creation time and installations), integrations absent from the file are kept as
they are (delete them explicitly), and an invalid file changes nothing. Deleting an integration
removes its installations.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from passway.core.ampyaml import parse_amp_yaml
from passway.errors import Issue, NotFound, PayloadTooLarge
from passway.notifications import events
from passway.records import Integration, Project
from passway.services.context import ServiceContext

SOURCE_MAX_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Deployment:
    integrations: list[Integration]
    warnings: list[str]


async def deploy_amp_yaml(ctx: ServiceContext, project: Project, source_yaml: str) -> Deployment:
    """Validate the whole file first, then write every integration in one store call."""
    # "surrogatepass": text with an unpaired surrogate is measured here and refused by the parser.
    if len(source_yaml.encode("utf-8", "surrogatepass")) > SOURCE_MAX_BYTES:
        raise PayloadTooLarge(
            "amp.yaml is too large.",
            issues=[Issue("body", "sourceYaml", f"at most {SOURCE_MAX_BYTES} bytes")],
        )
    amp = parse_amp_yaml(source_yaml, ctx.catalog)
    now = ctx.now()
    records = [
        Integration(
            id=str(uuid.uuid4()),
            project_id=project.id,
            name=spec.name,
            display_name=spec.display_name,
            provider=spec.provider,
            module=spec.module,
            proxy_enabled=spec.proxy_enabled,
            use_module=spec.use_module,
            spec=spec.spec,
            create_time=now,
            update_time=now,
        )
        for spec in amp.integrations
    ]
    saved = await ctx.store.upsert_integrations(project.id, records)
    return Deployment(saved, list(amp.warnings))


async def list_integrations(ctx: ServiceContext, project: Project) -> list[Integration]:
    return await ctx.store.list_integrations(project.id)


async def get_integration(ctx: ServiceContext, project: Project, id_or_name: str) -> Integration:
    integration = await ctx.store.get_integration(project.id, id_or_name)
    if integration is None:
        raise NotFound(f"Integration {id_or_name!r} not found.")
    return integration


async def delete_integration(ctx: ServiceContext, project: Project, id_or_name: str) -> None:
    integration = await get_integration(ctx, project, id_or_name)
    # Its installations go with it: each is reported deleted, in the same transaction.
    now = ctx.now()
    notify = []
    for installation in await ctx.store.list_installations(project.id, integration.id):
        connection = await ctx.store.get_connection(project.id, installation.connection_id)
        notify.append(events.installation_deleted(installation, integration, connection, now))
    await ctx.store.delete_integration(project.id, integration.id, events=notify)
