"""``passway projects create|list|get`` and ``passway api-keys create|list|revoke``."""

from __future__ import annotations

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
from passway.records import ApiKey, Project
from passway.services import api_keys, projects, views
from passway.services.access import ADMIN


@click.group("projects")
def projects_group() -> None:
    """Projects (one developer's account space)."""


@projects_group.command("create")
@click.argument("name")
@click.option("--app-name", help="The developer's product name.")
@json_option
@click.pass_context
@friendly_errors
def create_project(ctx: click.Context, name: str, app_name: str | None, as_json: bool) -> None:
    """Create a project NAME."""

    async def go() -> Project:
        async with open_services(settings_from(ctx)) as services:
            return await projects.create_project(services, ADMIN, name, app_name)

    project = run(go())
    emit(as_json, views.project_json(project), [_project_row(project)], _PROJECT_HEADERS)


@projects_group.command("list")
@json_option
@click.pass_context
@friendly_errors
def list_projects(ctx: click.Context, as_json: bool) -> None:
    """List every project."""

    async def go() -> list[Project]:
        async with open_services(settings_from(ctx)) as services:
            return await projects.list_projects(services, ADMIN)

    found = run(go())
    emit(
        as_json,
        [views.project_json(p) for p in found],
        [_project_row(p) for p in found],
        _PROJECT_HEADERS,
    )


@projects_group.command("get")
@click.argument("project")
@click.option("--quiet", "-q", is_flag=True, help="Print only the project's id.")
@json_option
@click.pass_context
@friendly_errors
def get_project(ctx: click.Context, project: str, quiet: bool, as_json: bool) -> None:
    """Show the project PROJECT (its id or name)."""

    async def go() -> Project:
        async with open_services(settings_from(ctx)) as services:
            return await project_named(services, project)

    found = run(go())
    if quiet:
        click.echo(found.id)
        return
    emit(as_json, views.project_json(found), [_project_row(found)], _PROJECT_HEADERS)


_PROJECT_HEADERS = ("ID", "NAME", "APP NAME", "CREATED")


def _project_row(project: Project) -> tuple[str, ...]:
    return (
        project.id,
        project.name,
        project.app_name or "",
        views.rfc3339(project.create_time) or "",
    )


@click.group("api-keys")
def api_keys_group() -> None:
    """Project API keys."""


@api_keys_group.command("create")
@project_option
@click.option("--label", required=True, help="What the key is for.")
@click.option("--scope", "scopes", multiple=True, help="A scope label (repeatable).")
@json_option
@click.pass_context
@friendly_errors
def create_key(
    ctx: click.Context, project: str, label: str, scopes: tuple[str, ...], as_json: bool
) -> None:
    """Create an API key; the key is printed once and cannot be shown again."""

    async def go() -> tuple[ApiKey, str]:
        async with open_services(settings_from(ctx)) as services:
            target = await project_named(services, project)
            return await api_keys.create_api_key(services, target, label, scopes)

    key, raw = run(go())
    if as_json:
        emit(True, views.api_key_json(key, raw), [], ())
        return
    click.echo(raw)
    click.echo(
        f"(key {key.id}, label {key.label!r}: store it now, it is not shown again)", err=True
    )


@api_keys_group.command("list")
@project_option
@json_option
@click.pass_context
@friendly_errors
def list_keys(ctx: click.Context, project: str, as_json: bool) -> None:
    """List a project's API keys (prefixes only)."""

    async def go() -> list[ApiKey]:
        async with open_services(settings_from(ctx)) as services:
            return await api_keys.list_api_keys(services, await project_named(services, project))

    found = run(go())
    emit(
        as_json,
        [views.api_key_json(k) for k in found],
        [(k.id, k.prefix, k.label, ",".join(k.scopes), "yes" if k.active else "no") for k in found],
        ("ID", "PREFIX", "LABEL", "SCOPES", "ACTIVE"),
    )


@api_keys_group.command("revoke")
@project_option
@click.argument("key")
@click.pass_context
@friendly_errors
def revoke_key(ctx: click.Context, project: str, key: str) -> None:
    """Revoke (delete) the API key KEY (its id or prefix)."""

    async def go() -> None:
        async with open_services(settings_from(ctx)) as services:
            await api_keys.revoke_api_key(services, await project_named(services, project), key)

    run(go())
    click.echo(f"Revoked {key}.")
