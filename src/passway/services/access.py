"""Who is calling the management API, and which project a request may act on.

Two kinds of caller: a project API key (``pw_...``, stored hashed, active keys only) acts on its own
project; the operator key (``PASSWAY_ADMIN_API_KEY``) acts on any project and alone may create
projects. A project key naming another project's id or name gets the same ``not_found`` as a project
that does not exist, so keys reveal nothing about other tenants.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from passway import apikeys
from passway.errors import NotFound, PermissionDenied, Unauthenticated
from passway.records import Project
from passway.services.context import ServiceContext


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller: the operator (``project_id`` None) or one project's key."""

    is_admin: bool
    project_id: str | None = None
    key_id: str | None = None


ADMIN = Principal(is_admin=True)


async def authenticate(ctx: ServiceContext, raw_key: str | None) -> Principal:
    """Resolve an ``X-Api-Key`` value. Raises ``Unauthenticated`` for a missing, unknown or inactive
    key; never says which of those it was."""
    if not raw_key:
        raise Unauthenticated("Send an API key in the X-Api-Key header.")
    admin_key = ctx.settings.admin_api_key
    if admin_key and hmac.compare_digest(raw_key.encode(), admin_key.encode()):
        return ADMIN
    prefix = apikeys.lookup_prefix(raw_key)
    if prefix is not None:
        key = apikeys.active_key_for(raw_key, await ctx.store.find_api_keys_by_prefix(prefix))
        if key is not None:
            return Principal(is_admin=False, project_id=key.project_id, key_id=key.id)
    raise Unauthenticated("The API key is unknown or has been revoked.")


def require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise PermissionDenied("Only the operator key (PASSWAY_ADMIN_API_KEY) may do this.")


async def resolve_project(ctx: ServiceContext, principal: Principal, id_or_name: str) -> Project:
    """The project named in the path, if the caller may act on it; else ``NotFound``."""
    # Names are stored lower-case and the ids we generate are lower-case UUIDs.
    project = await ctx.store.get_project(id_or_name.lower())
    if project is None or (not principal.is_admin and project.id != principal.project_id):
        raise NotFound(f"Project {id_or_name!r} not found.", context={"project": id_or_name})
    return project
