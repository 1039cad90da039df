"""The notification event types and their payloads: pure functions over records.

Payload shapes follow the replaced service's notification spec: a webhook body is
``{"notificationType": ..., "data": {...}}``. Nothing secret goes in: no token, no credential, no
signing secret, and a destination's URL without its query or user info.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from passway.records import Connection, Installation, Integration
from passway.store.notifications import ALL_EVENTS, Destination, NotificationEvent

CONNECTION_CREATED = "connection.created"
CONNECTION_ERROR = "connection.error"
CONNECTION_REFRESHED = "connection.refreshed"
INSTALLATION_CREATED = "installation.created"
INSTALLATION_UPDATED = "installation.updated"
INSTALLATION_DELETED = "installation.deleted"
DESTINATION_WEBHOOK_DISABLED = "destination.webhook.disabled"

EVENT_TYPES: tuple[str, ...] = (
    CONNECTION_CREATED,
    CONNECTION_ERROR,
    CONNECTION_REFRESHED,
    INSTALLATION_CREATED,
    INSTALLATION_UPDATED,
    INSTALLATION_DELETED,
    DESTINATION_WEBHOOK_DISABLED,
)
ROUTABLE_TYPES: tuple[str, ...] = (*EVENT_TYPES, ALL_EVENTS)


def new_event_id() -> str:
    """A ``webhook-id``: unique per event, the same on every retry (receivers de-duplicate)."""
    return f"msg_{uuid.uuid4().hex}"


def event(
    project_id: str, type_: str, data: Mapping[str, Any], now: datetime, event_id: str | None = None
) -> NotificationEvent:
    return NotificationEvent(
        id=event_id or new_event_id(),
        project_id=project_id,
        type=type_,
        data=dict(data),
        create_time=now,
    )


def connection_data(connection: Connection) -> dict[str, Any]:
    return {
        "projectId": connection.project_id,
        "connectionId": connection.id,
        "provider": connection.provider,
        "groupRef": connection.group_ref,
        "groupName": connection.group_name,
        "consumerRef": connection.consumer_ref,
        "consumerName": connection.consumer_name,
        "status": connection.status,
    }


def connection_created(connection: Connection, now: datetime) -> NotificationEvent:
    return event(connection.project_id, CONNECTION_CREATED, connection_data(connection), now)


def connection_refreshed(connection: Connection, now: datetime) -> NotificationEvent:
    data = connection_data(connection)
    token = connection.credentials.access_token
    if token is not None and token.expires_at is not None:
        data["accessTokenExpiresAt"] = token.expires_at.isoformat()
    return event(connection.project_id, CONNECTION_REFRESHED, data, now)


def connection_error(
    connection: Connection, errors: Sequence[str], now: datetime
) -> NotificationEvent:
    """``errors`` say what failed (the token endpoint's error code, never a token)."""
    data = connection_data(connection)
    data["error"] = list(errors)
    return event(connection.project_id, CONNECTION_ERROR, data, now)


def installation_data(
    installation: Installation, integration: Integration, connection: Connection | None
) -> dict[str, Any]:
    return {
        "projectId": installation.project_id,
        "provider": integration.provider,
        "integrationId": integration.id,
        "integrationName": integration.name,
        "installationId": installation.id,
        "groupRef": installation.group_ref,
        "groupName": installation.group_name,
        "connectionId": installation.connection_id,
        "consumerRef": connection.consumer_ref if connection is not None else None,
        "consumerName": connection.consumer_name if connection is not None else None,
        "healthStatus": installation.health_status,
        "config": dict(installation.config),
    }


def installation_created(
    installation: Installation,
    integration: Integration,
    connection: Connection | None,
    now: datetime,
) -> NotificationEvent:
    data = installation_data(installation, integration, connection)
    return event(installation.project_id, INSTALLATION_CREATED, data, now)


def installation_updated(
    installation: Installation,
    previous: Installation,
    integration: Integration,
    connection: Connection | None,
    now: datetime,
) -> NotificationEvent:
    data = installation_data(installation, integration, connection)
    data["lastConfig"] = dict(previous.config)
    return event(installation.project_id, INSTALLATION_UPDATED, data, now)


def installation_deleted(
    installation: Installation,
    integration: Integration,
    connection: Connection | None,
    now: datetime,
) -> NotificationEvent:
    data = installation_data(installation, integration, connection)
    return event(installation.project_id, INSTALLATION_DELETED, data, now)


def destination_disabled(destination: Destination, reason: str, now: datetime) -> NotificationEvent:
    data = {
        "projectId": destination.project_id,
        "destinationId": destination.id,
        "destinationName": destination.name,
        "url": public_url(destination.url),
        "reason": reason,
    }
    return event(destination.project_id, DESTINATION_WEBHOOK_DISABLED, data, now)


def public_url(url: str) -> str:
    """The URL without user info, query or fragment (where a token would hide)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port is not None else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def webhook_body(notification: NotificationEvent) -> bytes:
    """The bytes sent (and signed): ``{"notificationType": ..., "data": {...}}``."""
    document = {"notificationType": notification.type, "data": notification.data}
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode("utf-8")
