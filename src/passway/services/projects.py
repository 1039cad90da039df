"""Projects: one developer's account space. Created by the operator; read by their own keys.

Names are 2-128 characters of letters, digits and inner hyphens, stored lower-case and unique. A
name that is itself a UUID is refused, because ``{projectIdOrName}`` paths must never be ambiguous.
"""

from __future__ import annotations

import re
import uuid

from passway.errors import InvalidRequest, Issue
from passway.records import Project
from passway.services.access import Principal, require_admin
from passway.services.context import ServiceContext

PROJECT_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,126}[A-Za-z0-9])$")
APP_NAME_MAX = 200


def validate_project_name(name: str) -> list[Issue]:
    if not PROJECT_NAME.match(name):
        return [
            Issue(
                "body",
                "name",
                "2-128 characters: letters, digits and '-' (not first or last)",
                name[:200],
            )
        ]
    if _is_uuid(name):
        return [Issue("body", "name", "must not be a UUID (ids and names share paths)", name)]
    return []


async def create_project(
    ctx: ServiceContext, principal: Principal, name: str, app_name: str | None = None
) -> Project:
    """Operator only. Raises ``Conflict`` when the (lower-cased) name is taken."""
    require_admin(principal)
    issues = validate_project_name(name)
    if app_name is not None and len(app_name) > APP_NAME_MAX:
        issues.append(Issue("body", "appName", f"at most {APP_NAME_MAX} characters"))
    if issues:
        raise InvalidRequest("The project is not valid.", issues=issues)
    now = ctx.now()
    project = Project(
        id=str(uuid.uuid4()),
        name=name.lower(),
        app_name=app_name,
        create_time=now,
        update_time=now,
    )
    return await ctx.store.create_project(project)


async def list_projects(ctx: ServiceContext, principal: Principal) -> list[Project]:
    """Every project for the operator; a project key sees only its own project."""
    if principal.is_admin:
        return await ctx.store.list_projects()
    assert principal.project_id is not None
    own = await ctx.store.get_project(principal.project_id)
    return [own] if own is not None else []


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
