"""Plain records to SQL rows and back: the ones without secrets (see ``sealed`` for the rest)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from passway.records import ApiKey, Installation, Integration, Project

Row = Mapping[Any, Any]


def project_row(p: Project) -> dict[str, Any]:
    return {
        "id": p.id,
        "name": p.name,
        "app_name": p.app_name,
        "create_time": p.create_time,
        "update_time": p.update_time,
    }


def project_from_row(r: Row) -> Project:
    return Project(r["id"], r["name"], r["app_name"], r["create_time"], r["update_time"])


def api_key_row(k: ApiKey) -> dict[str, Any]:
    return {
        "id": k.id,
        "project_id": k.project_id,
        "prefix": k.prefix,
        "key_hash": k.key_hash,
        "label": k.label,
        "scopes": list(k.scopes),
        "active": k.active,
        "create_time": k.create_time,
        "update_time": k.update_time,
    }


def api_key_from_row(r: Row) -> ApiKey:
    return ApiKey(
        id=r["id"],
        project_id=r["project_id"],
        prefix=r["prefix"],
        key_hash=r["key_hash"],
        label=r["label"],
        scopes=tuple(r["scopes"]),
        active=bool(r["active"]),
        create_time=r["create_time"],
        update_time=r["update_time"],
    )


def integration_row(i: Integration) -> dict[str, Any]:
    return {
        "id": i.id,
        "project_id": i.project_id,
        "name": i.name,
        "display_name": i.display_name,
        "provider": i.provider,
        "module": i.module,
        "proxy_enabled": i.proxy_enabled,
        "use_module": i.use_module,
        "spec": dict(i.spec),
        "create_time": i.create_time,
        "update_time": i.update_time,
    }


def integration_from_row(r: Row) -> Integration:
    return Integration(
        id=r["id"],
        project_id=r["project_id"],
        name=r["name"],
        display_name=r["display_name"],
        provider=r["provider"],
        module=r["module"],
        proxy_enabled=bool(r["proxy_enabled"]),
        use_module=bool(r["use_module"]),
        spec=r["spec"],
        create_time=r["create_time"],
        update_time=r["update_time"],
    )


def installation_row(i: Installation) -> dict[str, Any]:
    return {
        "id": i.id,
        "project_id": i.project_id,
        "integration_id": i.integration_id,
        "group_ref": i.group_ref,
        "group_name": i.group_name,
        "connection_id": i.connection_id,
        "health_status": i.health_status,
        "config": dict(i.config),
        "create_time": i.create_time,
        "update_time": i.update_time,
    }


def installation_from_row(r: Row) -> Installation:
    return Installation(
        id=r["id"],
        project_id=r["project_id"],
        integration_id=r["integration_id"],
        group_ref=r["group_ref"],
        group_name=r["group_name"],
        connection_id=r["connection_id"],
        health_status=r["health_status"],
        config=r["config"],
        create_time=r["create_time"],
        update_time=r["update_time"],
    )
