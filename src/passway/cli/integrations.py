"""``passway deploy``, ``passway integrations list`` and ``passway installations
create|list|delete``."""

from __future__ import annotations

from pathlib import Path

import click

from passway.cli.common import (
    emit,
    friendly_errors,
    json_option,
    open_services,
    project_named,
    project_option,
    run,
    settings_from,
)
from passway.errors import NotFound
from passway.records import Integration
from passway.services import installations, integrations, views
from passway.services.installations import InstallationView
from passway.services.integrations import Deployment


@click.command()
@project_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@json_option
@click.pass_context
@friendly_errors
def deploy(ctx: click.Context, project: str, file: Path, as_json: bool) -> None:
    """Deploy the amp.yaml FILE: create or update its integrations by name."""
    text = file.read_text("utf-8")

    async def go() -> Deployment:
        async with open_services(settings_from(ctx)) as services:
            target = await project_named(services, project)
            return await integrations.deploy_amp_yaml(services, target, text)

    deployment = run(go())
    emit(
        as_json,
        views.deployment_json(deployment),
        [_row(i) for i in deployment.integrations],
        _HEADERS,
    )
    if not as_json:
        for warning in deployment.warnings:
            click.echo(f"warning: {warning}", err=True)


@click.group("integrations")
def integrations_group() -> None:
    """Integrations deployed from amp.yaml."""


@integrations_group.command("list")
@project_option
@json_option
@click.pass_context
@friendly_errors
def list_integrations(ctx: click.Context, project: str, as_json: bool) -> None:
    """List a project's integrations."""

    async def go() -> list[Integration]:
        async with open_services(settings_from(ctx)) as services:
            target = await project_named(services, project)
            return await integrations.list_integrations(services, target)

    found = run(go())
    emit(as_json, [views.integration_json(i) for i in found], [_row(i) for i in found], _HEADERS)


_HEADERS = ("ID", "NAME", "PROVIDER", "PROXY")


def _row(integration: Integration) -> tuple[str, ...]:
    proxy = "enabled" if integration.proxy_enabled else "disabled"
    return (integration.id, integration.name, integration.provider, proxy)


@click.group("installations")
def installations_group() -> None:
    """Installations: one group's install of one integration."""


@installations_group.command("create")
@project_option
@click.option("--integration", required=True, help="Integration name or id.")
@click.option("--group-ref", required=True, help="The customer's group ref.")
@click.option("--connection-id", help="Default: the group's newest connection for the provider.")
@click.option(
    "--proxy/--no-proxy", default=True, show_default=True, help="config.content.proxy.enabled"
)
@json_option
@click.pass_context
@friendly_errors
def create_installation(
    ctx: click.Context,
    project: str,
    integration: str,
    group_ref: str,
    connection_id: str | None,
    proxy: bool,
    as_json: bool,
) -> None:
    """Install an integration for a group."""

    async def go() -> InstallationView:
        async with open_services(settings_from(ctx)) as services:
            return await installations.create_installation(
                services,
                await project_named(services, project),
                integration,
                group_ref=group_ref,
                config={"content": {"proxy": {"enabled": proxy}}},
                connection_id=connection_id,
            )

    view = run(go())
    emit(as_json, views.installation_json(view), [_installation_row(view)], _INSTALL_HEADERS)


@installations_group.command("list")
@project_option
@click.option("--integration", help="Integration name or id (default: every integration).")
@click.option("--group-ref", help="Only this group.")
@json_option
@click.pass_context
@friendly_errors
def list_installations(
    ctx: click.Context,
    project: str,
    integration: str | None,
    group_ref: str | None,
    as_json: bool,
) -> None:
    """List installations, of one integration or of all."""

    async def go() -> list[tuple[Integration, InstallationView]]:
        async with open_services(settings_from(ctx)) as services:
            target = await project_named(services, project)
            chosen = (
                [await integrations.get_integration(services, target, integration)]
                if integration is not None
                else await integrations.list_integrations(services, target)
            )
            return [
                (i, view)
                for i in chosen
                for view in await installations.list_installations(
                    services, target, i.id, group_ref
                )
            ]

    found = run(go())
    emit(
        as_json,
        [views.installation_json(v) for _, v in found],
        [(i.name, *_installation_row(v)) for i, v in found],
        ("INTEGRATION", *_INSTALL_HEADERS),
    )


@installations_group.command("delete")
@project_option
@click.argument("installation_id")
@click.option("--integration", help="Integration name or id (default: found from the id).")
@click.pass_context
@friendly_errors
def delete_installation(
    ctx: click.Context, project: str, installation_id: str, integration: str | None
) -> None:
    """Delete the installation INSTALLATION_ID (proxy calls for it stop at once)."""

    async def go() -> None:
        async with open_services(settings_from(ctx)) as services:
            target = await project_named(services, project)
            if integration is not None:
                owners = [integration]
            else:
                owners = [i.id for i in await integrations.list_integrations(services, target)]
            for owner in owners:
                found = await installations.list_installations(services, target, owner)
                if any(v.installation.id == installation_id for v in found):
                    await installations.delete_installation(
                        services, target, owner, installation_id
                    )
                    return
            raise NotFound(f"Installation {installation_id!r} not found.")

    run(go())
    click.echo(f"Deleted installation {installation_id}.")


_INSTALL_HEADERS = ("ID", "GROUP", "CONNECTION", "HEALTH")


def _installation_row(view: InstallationView) -> tuple[str, ...]:
    i = view.installation
    return (i.id, i.group_ref, i.connection_id, i.health_status)
