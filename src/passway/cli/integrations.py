"""``passway deploy``, ``passway integrations list`` and ``passway installations create|list``."""

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
@click.option("--integration", required=True, help="Integration name or id.")
@click.option("--group-ref", help="Only this group.")
@json_option
@click.pass_context
@friendly_errors
def list_installations(
    ctx: click.Context, project: str, integration: str, group_ref: str | None, as_json: bool
) -> None:
    """List an integration's installations."""

    async def go() -> list[InstallationView]:
        async with open_services(settings_from(ctx)) as services:
            target = await project_named(services, project)
            return await installations.list_installations(services, target, integration, group_ref)

    found = run(go())
    emit(
        as_json,
        [views.installation_json(v) for v in found],
        [_installation_row(v) for v in found],
        _INSTALL_HEADERS,
    )


_INSTALL_HEADERS = ("ID", "GROUP", "CONNECTION", "HEALTH")


def _installation_row(view: InstallationView) -> tuple[str, ...]:
    i = view.installation
    return (i.id, i.group_ref, i.connection_id, i.health_status)
