"""Installations: one group's install of one integration, tied to one of its connections.

A group installs an integration once (a second install is a 409). Without ``connectionId`` the
group's newest connection for the integration's provider is used; with one, it must be a connection
of this project (else 404) for the integration's provider (else 400). ``PATCH`` takes an
``updateMask`` naming ``connectionId``, ``config`` or a dotted path inside it
(``config.content.proxy.enabled``), applied from the ``installation`` object.

``config`` is free-form JSON kept as given, so it is bounded: at most ``CONFIG_MAX_DEPTH`` levels
(deeper documents cannot be written back as JSON) and only finite numbers (``NaN`` and
``Infinity``, which Python's JSON parser accepts, are not JSON and PostgreSQL refuses them).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from passway.errors import Conflict, InvalidRequest, Issue, NotFound
from passway.notifications import events
from passway.records import Connection, Installation, Integration, Project
from passway.services.connection_input import REF_MAX
from passway.services.context import ServiceContext
from passway.services.integrations import get_integration

HEALTHY = "healthy"
CONFIG_MAX_DEPTH = 32


@dataclass(frozen=True, slots=True)
class InstallationView:
    """An installation with the connection it uses (the API shows both together)."""

    installation: Installation
    connection: Connection | None


def _config_shape_issue(value: Any, name: str, depth: int = 0) -> Issue | None:
    """The first place where ``value`` is nested too deep or holds a non-finite number."""
    if depth > CONFIG_MAX_DEPTH:
        return Issue("body", name, f"nested deeper than {CONFIG_MAX_DEPTH} levels")
    if isinstance(value, float) and not math.isfinite(value):
        return Issue("body", name, "numbers must be finite")
    children: list[tuple[str, Any]] = []
    if isinstance(value, Mapping):
        children = [(f"{name}.{key}", inner) for key, inner in value.items()]
    elif isinstance(value, list):
        children = [(f"{name}[{index}]", inner) for index, inner in enumerate(value)]
    for child_name, child in children:
        issue = _config_shape_issue(child, child_name, depth + 1)
        if issue is not None:
            return issue
    return None


def _check_config(config: Mapping[str, Any], name: str = "config") -> list[Issue]:
    shape = _config_shape_issue(config, name)
    if shape is not None:
        return [shape]
    content = config.get("content", {})
    if not isinstance(content, Mapping):
        return [Issue("body", f"{name}.content", "must be an object")]
    proxy = content.get("proxy", {})
    if not isinstance(proxy, Mapping):
        return [Issue("body", f"{name}.content.proxy", "must be an object")]
    enabled = proxy.get("enabled", False)
    if not isinstance(enabled, bool):
        return [Issue("body", f"{name}.content.proxy.enabled", "must be true or false")]
    return []


async def _pick_connection(
    ctx: ServiceContext,
    project: Project,
    integration: Integration,
    group_ref: str,
    connection_id: str | None,
) -> Connection:
    if connection_id is None:
        candidates = await ctx.store.list_connections(
            project.id, provider=integration.provider, group_ref=group_ref
        )
        if not candidates:
            raise InvalidRequest(
                f"Group {group_ref!r} has no {integration.provider} connection.",
                issues=[
                    Issue(
                        "body",
                        "connectionId",
                        "no connection to use: create one (connections:generate) or pass its id",
                    )
                ],
            )
        return candidates[0]
    connection = await ctx.store.get_connection(project.id, connection_id)
    if connection is None:
        raise NotFound(f"Connection {connection_id!r} not found.")
    if connection.provider != integration.provider:
        raise InvalidRequest(
            "The connection is for another provider.",
            issues=[
                Issue(
                    "body",
                    "connectionId",
                    f"is a {connection.provider} connection; the integration uses "
                    f"{integration.provider}",
                    connection_id,
                )
            ],
        )
    return connection


async def create_installation(
    ctx: ServiceContext,
    project: Project,
    integration_id_or_name: str,
    *,
    group_ref: str,
    config: Mapping[str, Any],
    connection_id: str | None = None,
    group_name: str | None = None,
) -> InstallationView:
    integration = await get_integration(ctx, project, integration_id_or_name)
    issues = _check_config(config)
    if not group_ref.strip():
        issues.append(Issue("body", "groupRef", "required"))
    for name, value in (("groupRef", group_ref), ("groupName", group_name)):
        if value is not None and len(value) > REF_MAX:
            issues.append(Issue("body", name, f"at most {REF_MAX} characters"))
    if issues:
        raise InvalidRequest("The installation is not valid.", issues=issues)
    existing = await ctx.store.list_installations(project.id, integration.id, group_ref=group_ref)
    if existing:
        raise Conflict(
            f"Group {group_ref!r} already installed {integration.name!r}.",
            context={"installationId": existing[0].id},
        )
    connection = await _pick_connection(ctx, project, integration, group_ref, connection_id)
    now = ctx.now()
    installation = Installation(
        id=str(uuid.uuid4()),
        project_id=project.id,
        integration_id=integration.id,
        group_ref=group_ref,
        group_name=group_name if group_name is not None else connection.group_name,
        connection_id=connection.id,
        health_status=HEALTHY,
        config=dict(config),
        create_time=now,
        update_time=now,
    )
    saved = await ctx.store.create_installation(
        installation,
        events=[events.installation_created(installation, integration, connection, now)],
    )
    return InstallationView(saved, connection)


async def _view(ctx: ServiceContext, installation: Installation) -> InstallationView:
    connection = await ctx.store.get_connection(installation.project_id, installation.connection_id)
    return InstallationView(installation, connection)


async def list_installations(
    ctx: ServiceContext, project: Project, integration_id_or_name: str, group_ref: str | None = None
) -> list[InstallationView]:
    integration = await get_integration(ctx, project, integration_id_or_name)
    found = await ctx.store.list_installations(project.id, integration.id, group_ref=group_ref)
    return [await _view(ctx, installation) for installation in found]


async def _get(
    ctx: ServiceContext, project: Project, integration_id_or_name: str, installation_id: str
) -> tuple[Integration, Installation]:
    integration = await get_integration(ctx, project, integration_id_or_name)
    installation = await ctx.store.get_installation(project.id, installation_id)
    if installation is None or installation.integration_id != integration.id:
        raise NotFound(f"Installation {installation_id!r} not found.")
    return integration, installation


async def get_installation(
    ctx: ServiceContext, project: Project, integration_id_or_name: str, installation_id: str
) -> InstallationView:
    _, installation = await _get(ctx, project, integration_id_or_name, installation_id)
    return await _view(ctx, installation)


async def update_installation(
    ctx: ServiceContext,
    project: Project,
    integration_id_or_name: str,
    installation_id: str,
    update_mask: Sequence[str],
    *,
    connection_id: str | None = None,
    config: Mapping[str, Any] | None = None,
) -> InstallationView:
    integration, installation = await _get(ctx, project, integration_id_or_name, installation_id)
    issues: list[Issue] = []
    if not update_mask:
        issues.append(Issue("body", "updateMask", "name connectionId, config or config.<path>"))
    new_config: dict[str, Any] = dict(installation.config)
    for index, mask in enumerate(update_mask):
        if mask == "config":
            new_config = dict(config or {})
        elif mask.startswith("config."):
            path = mask.split(".")[1:]
            if not all(path) or len(path) > CONFIG_MAX_DEPTH:
                issues.append(
                    Issue(
                        "body",
                        f"updateMask[{index}]",
                        f"config.<path>: 1-{CONFIG_MAX_DEPTH} non-empty names separated by '.'",
                    )
                )
                continue
            new_config = _set_path(new_config, path, _get_path(config, mask))
        elif mask != "connectionId":
            issues.append(Issue("body", f"updateMask[{index}]", "not a field that can be updated"))
    if "connectionId" in update_mask and not connection_id:
        issues.append(Issue("body", "installation.connectionId", "required by updateMask"))
    issues += _check_config(new_config, "installation.config")
    if issues:
        raise InvalidRequest("The installation update is not valid.", issues=issues)
    new_connection_id = installation.connection_id
    if "connectionId" in update_mask and connection_id:
        chosen = await _pick_connection(
            ctx, project, integration, installation.group_ref, connection_id
        )
        new_connection_id = chosen.id
    now = ctx.now()
    changed = replace(
        installation, connection_id=new_connection_id, config=new_config, update_time=now
    )
    connection = await ctx.store.get_connection(project.id, new_connection_id)
    notify = [events.installation_updated(changed, installation, integration, connection, now)]
    return await _view(ctx, await ctx.store.update_installation(changed, events=notify))


def _get_path(config: Mapping[str, Any] | None, mask: str) -> Any:
    value: Any = config or {}
    for part in mask.split(".")[1:]:
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def _set_path(config: Mapping[str, Any], path: list[str], value: Any) -> dict[str, Any]:
    out = dict(config)
    if len(path) == 1:
        out[path[0]] = value
        return out
    inner = out.get(path[0])
    out[path[0]] = _set_path(inner if isinstance(inner, Mapping) else {}, path[1:], value)
    return out


async def delete_installation(
    ctx: ServiceContext, project: Project, integration_id_or_name: str, installation_id: str
) -> None:
    integration, installation = await _get(ctx, project, integration_id_or_name, installation_id)
    connection = await ctx.store.get_connection(project.id, installation.connection_id)
    notify = [events.installation_deleted(installation, integration, connection, ctx.now())]
    await ctx.store.delete_installation(project.id, installation.id, events=notify)
