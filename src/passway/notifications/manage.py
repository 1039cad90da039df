"""Destinations, routes and deliveries as the API and the CLI manage them, and their JSON shapes.

Paths and fields follow the replaced service where it documents them: a destination has ``name``,
``type`` (``webhook``) and ``metadata`` (``url``, ``headers``); its signing key is returned as
``secrets.webhookSigningKey`` when it is created or rotated, and never again. Routes send one event
type (or ``*``) to one destination: the replaced service's event→topic→destination collapsed into
one hop.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from passway.errors import InvalidRequest, Issue, NotFound
from passway.notifications.events import ROUTABLE_TYPES
from passway.notifications.signing import new_secret
from passway.store.notifications import (
    Delivery,
    DeliveryStatus,
    Destination,
    NotificationEvent,
    NotificationStore,
    Route,
)

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,127}$")
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$")
_URL_MAX = 2048
_HEADERS_MAX = 32
DELIVERY_STATUSES: tuple[DeliveryStatus, ...] = ("pending", "delivered", "failed")


def _check_url(url: str, issues: list[Issue], name: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        issues.append(Issue("body", name, "an http:// or https:// URL with a host", url[:200]))
    elif len(url) > _URL_MAX:
        issues.append(Issue("body", name, f"at most {_URL_MAX} characters"))


def _check_headers(headers: Mapping[str, str], issues: list[Issue], name: str) -> None:
    if len(headers) > _HEADERS_MAX:
        issues.append(Issue("body", name, f"at most {_HEADERS_MAX} headers"))
    for key, value in headers.items():
        if not _HEADER_NAME.match(key):
            issues.append(Issue("body", f"{name}.{key[:64]}", "not a valid header name"))
        elif any(c in value for c in "\r\n\0") or len(value) > 4096:
            issues.append(Issue("body", f"{name}.{key}", "not a valid header value"))


async def create_destination(
    store: NotificationStore,
    project_id: str,
    *,
    name: str,
    type_: str,
    url: str,
    headers: Mapping[str, str],
    now: datetime,
) -> Destination:
    """A new webhook destination with a fresh signing secret (the caller shows it once)."""
    issues: list[Issue] = []
    if not _NAME.match(name):
        issues.append(Issue("body", "name", "letters, numbers and dashes, at most 128", name[:200]))
    if type_ != "webhook":
        issues.append(Issue("body", "type", "only webhook destinations are supported", type_))
    _check_url(url, issues, "metadata.url")
    _check_headers(headers, issues, "metadata.headers")
    if issues:
        raise InvalidRequest("The destination is not valid.", issues=issues)
    destination = Destination(
        id=str(uuid.uuid4()),
        project_id=project_id,
        name=name,
        type=type_,
        url=url,
        headers=dict(headers),
        secret=new_secret(),
        enabled=True,
        failing_since=None,
        disabled_reason=None,
        create_time=now,
        update_time=now,
    )
    return await store.create_destination(destination)


async def get_destination(
    store: NotificationStore, project_id: str, id_or_name: str
) -> Destination:
    found = await store.get_destination(project_id, id_or_name)
    if found is None:
        raise NotFound(f"Destination {id_or_name!r} not found.")
    return found


async def update_destination(
    store: NotificationStore,
    project_id: str,
    id_or_name: str,
    update_mask: Sequence[str],
    *,
    url: str | None,
    headers: Mapping[str, str] | None,
    enabled: bool | None,
    now: datetime,
) -> Destination:
    """Change ``metadata.url``, ``metadata.headers`` or ``enabled`` (named in ``update_mask``).
    Enabling a disabled destination resumes its pending deliveries."""
    current = await get_destination(store, project_id, id_or_name)
    issues: list[Issue] = []
    allowed = ("metadata.url", "metadata.headers", "enabled")
    if not update_mask:
        issues.append(Issue("body", "updateMask", f"name at least one of: {', '.join(allowed)}"))
    for index, mask in enumerate(update_mask):
        if mask not in allowed:
            issues.append(Issue("body", f"updateMask[{index}]", "not a field that can be updated"))
    changed = current
    if "metadata.url" in update_mask:
        _check_url(url or "", issues, "destination.metadata.url")
        changed = replace(changed, url=url or "")
    if "metadata.headers" in update_mask:
        _check_headers(headers or {}, issues, "destination.metadata.headers")
        changed = replace(changed, headers=dict(headers or {}))
    if "enabled" in update_mask:
        if enabled is None:
            issues.append(Issue("body", "destination.enabled", "required by updateMask"))
        elif enabled and not current.enabled:
            changed = replace(changed, enabled=True, failing_since=None, disabled_reason=None)
        elif not enabled:
            changed = replace(changed, enabled=False, disabled_reason="disabled by an operator")
    if issues:
        raise InvalidRequest("The destination update is not valid.", issues=issues)
    return await store.update_destination(replace(changed, update_time=now))


async def rotate_secret(
    store: NotificationStore, project_id: str, id_or_name: str, now: datetime
) -> Destination:
    """A new signing secret; the old one stops signing at once."""
    current = await get_destination(store, project_id, id_or_name)
    return await store.update_destination(replace(current, secret=new_secret(), update_time=now))


async def delete_destination(store: NotificationStore, project_id: str, id_or_name: str) -> None:
    current = await get_destination(store, project_id, id_or_name)
    await store.delete_destination(project_id, current.id)


async def create_route(
    store: NotificationStore,
    project_id: str,
    *,
    event_type: str,
    destination: str,
    now: datetime,
) -> Route:
    if event_type not in ROUTABLE_TYPES:
        raise InvalidRequest(
            "The route is not valid.",
            issues=[Issue("body", "eventType", f"one of: {', '.join(ROUTABLE_TYPES)}", event_type)],
        )
    target = await get_destination(store, project_id, destination)
    route = Route(
        id=str(uuid.uuid4()),
        project_id=project_id,
        event_type=event_type,
        destination_id=target.id,
        create_time=now,
    )
    return await store.create_route(route)


async def delete_route(store: NotificationStore, project_id: str, route_id: str) -> None:
    if not await store.delete_route(project_id, route_id):
        raise NotFound(f"Route {route_id!r} not found.")


async def redeliver(
    store: NotificationStore, project_id: str, delivery_id: str, now: datetime
) -> Delivery:
    """Send the delivery again now (with the same ``webhook-id``), whatever its status."""
    found = await store.redeliver(project_id, delivery_id, now)
    if found is None:
        raise NotFound(f"Delivery {delivery_id!r} not found.")
    return found


# JSON shapes -----------------------------------------------------------------------------------


def _time(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def destination_json(destination: Destination, *, include_secret: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": destination.id,
        "projectId": destination.project_id,
        "name": destination.name,
        "type": destination.type,
        "metadata": {"url": destination.url, "headers": dict(destination.headers)},
        "enabled": destination.enabled,
        "failingSince": _time(destination.failing_since),
        "disabledReason": destination.disabled_reason,
        "createTime": _time(destination.create_time),
        "updateTime": _time(destination.update_time),
    }
    if include_secret:
        out["secrets"] = {"webhookSigningKey": destination.secret}
    return out


def route_json(route: Route) -> dict[str, Any]:
    return {
        "id": route.id,
        "projectId": route.project_id,
        "eventType": route.event_type,
        "destinationId": route.destination_id,
        "createTime": _time(route.create_time),
    }


def delivery_json(delivery: Delivery) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "eventId": delivery.event_id,
        "destinationId": delivery.destination_id,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "lastError": delivery.last_error,
        "lastStatusCode": delivery.last_status_code,
        "nextAttemptTime": _time(delivery.next_attempt_time),
        "retryFrom": _time(delivery.retry_from),
        "deliveredTime": _time(delivery.delivered_time),
        "createTime": _time(delivery.create_time),
        "updateTime": _time(delivery.update_time),
    }


def event_json(
    event: NotificationEvent, deliveries: Sequence[Delivery] | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": event.id,
        "projectId": event.project_id,
        "notificationType": event.type,
        "createTime": _time(event.create_time),
        "data": dict(event.data),
    }
    if deliveries is not None:
        out["deliveries"] = [delivery_json(d) for d in deliveries]
    return out
