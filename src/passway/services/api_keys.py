"""Project API keys: created with the raw key shown once, then listed by prefix only.

``{key}`` in paths is the key's id or its lookup prefix (``keyPrefix``). ``PATCH`` changes label,
scopes and ``active`` (an inactive key is refused like an unknown one); ``DELETE`` removes the key
for good. Scopes are stored labels for the developer's own bookkeeping: Passway does not restrict a
key by them.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace

from passway import apikeys
from passway.errors import InvalidRequest, Issue, NotFound
from passway.records import ApiKey, Project
from passway.services.context import ServiceContext

LABEL_MAX = 200


def _check(label: str | None, scopes: Sequence[str] | None) -> None:
    issues: list[Issue] = []
    if label is not None and not 1 <= len(label.strip()) <= LABEL_MAX:
        issues.append(Issue("body", "label", f"1-{LABEL_MAX} characters"))
    for index, scope in enumerate(scopes or ()):
        if not scope.strip():
            issues.append(Issue("body", f"scopes[{index}]", "must not be empty"))
    if issues:
        raise InvalidRequest("The API key is not valid.", issues=issues)


async def create_api_key(
    ctx: ServiceContext, project: Project, label: str, scopes: Sequence[str] = ()
) -> tuple[ApiKey, str]:
    """The stored key and the raw key, which is never retrievable again."""
    _check(label, scopes)
    raw, prefix, key_hash = apikeys.generate_api_key()
    now = ctx.now()
    key = ApiKey(
        id=str(uuid.uuid4()),
        project_id=project.id,
        prefix=prefix,
        key_hash=key_hash,
        label=label.strip(),
        scopes=tuple(scopes),
        active=True,
        create_time=now,
        update_time=now,
    )
    return await ctx.store.create_api_key(key), raw


async def list_api_keys(ctx: ServiceContext, project: Project) -> list[ApiKey]:
    return await ctx.store.list_api_keys(project.id)


async def get_api_key(ctx: ServiceContext, project: Project, id_or_prefix: str) -> ApiKey:
    key = await ctx.store.get_api_key(project.id, id_or_prefix)
    if key is None:
        key = next(
            (k for k in await ctx.store.list_api_keys(project.id) if k.prefix == id_or_prefix),
            None,
        )
    if key is None:
        raise NotFound(f"API key {id_or_prefix!r} not found.")
    return key


async def update_api_key(
    ctx: ServiceContext,
    project: Project,
    id_or_prefix: str,
    *,
    label: str | None = None,
    scopes: Sequence[str] | None = None,
    active: bool | None = None,
) -> ApiKey:
    _check(label, scopes)
    key = await get_api_key(ctx, project, id_or_prefix)
    changed = replace(
        key,
        label=label.strip() if label is not None else key.label,
        scopes=tuple(scopes) if scopes is not None else key.scopes,
        active=active if active is not None else key.active,
        update_time=ctx.now(),
    )
    return await ctx.store.update_api_key(changed)


async def revoke_api_key(ctx: ServiceContext, project: Project, id_or_prefix: str) -> None:
    key = await get_api_key(ctx, project, id_or_prefix)
    await ctx.store.delete_api_key(project.id, key.id)
