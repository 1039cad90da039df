"""One proxy call as an operation: the tuple the proxy builds at the end of a call, and its JSON.

The tuple holds what the handler already knows (no lookups, no formatting); everything derived
(times as datetimes, ``result``, the JSON) is computed by the background writer or the API.
Never headers, bodies, query values or secrets: the path is the path only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

SUCCESS = "success"
FAILURE = "failure"
HEALTHY = "healthy"
UNHEALTHY = "unhealthy"
ACTION_TYPE = "proxy"  # the replaced service's ``actionType``: these are proxy calls

# Failures that say the installation itself cannot be served (its connection, its provider), as
# opposed to one bad call (a 404 from the provider, a missing header).
_UNHEALTHY_CODES = frozenset(
    {
        "connection_bad_credentials",
        "token_endpoint_error",
        "token_refresh_cooling_down",
        "provider_unreachable",
        "provider_timeout",
        "proxy_not_enabled",
        "provider_unsupported",
        "template_variable_missing",
    }
)


class OperationRecord(NamedTuple):
    """One proxy call. ``create_time`` is seconds since the epoch; durations are milliseconds."""

    id: str
    project_id: str
    integration_id: str | None
    installation_id: str | None
    connection_id: str | None
    group_ref: str | None
    provider: str | None
    method: str
    path: str
    status: int
    error_code: str | None
    upstream_status: int | None
    duration_ms: float
    upstream_duration_ms: float | None
    request_bytes: int
    response_bytes: int
    token_refreshed: bool
    replayed: bool
    create_time: float
    logs: list[dict[str, Any]] | None

    @property
    def result(self) -> str:
        return result_of(self.status, self.error_code)

    @property
    def created(self) -> datetime:
        return datetime.fromtimestamp(self.create_time, UTC)


@dataclass(frozen=True, slots=True)
class InstallationStatus:
    """An installation as its latest call left it (``lastOperationStatus``, ``healthStatus``)."""

    installation_id: str
    project_id: str
    last_operation_id: str
    last_operation_status: str
    health_status: str
    update_time: datetime


def result_of(status: int, error_code: str | None) -> str:
    """``success`` for a 2xx or 3xx relayed from the provider, otherwise ``failure``."""
    return SUCCESS if error_code is None and 200 <= status < 400 else FAILURE


def health_after(status: int, error_code: str | None, upstream_status: int | None) -> str:
    """The installation's health as its latest call shows it: unhealthy when its connection or
    provider cannot serve it (a revoked grant, a failing refresh, an unreachable provider, the
    provider refusing the credentials), healthy otherwise (a single bad call is not the
    installation's fault)."""
    if error_code in _UNHEALTHY_CODES:
        return UNHEALTHY
    if error_code is None and upstream_status in (401, 403):
        return UNHEALTHY
    return HEALTHY


def _rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def operation_json(record: OperationRecord) -> dict[str, Any]:
    """The API and CLI shape (camelCase, the replaced service's names where it has them)."""
    return {
        "id": record.id,
        "actionType": ACTION_TYPE,
        "projectId": record.project_id,
        "integrationId": record.integration_id,
        "installationId": record.installation_id,
        "connectionId": record.connection_id,
        "groupRef": record.group_ref,
        "provider": record.provider,
        "method": record.method,
        "path": record.path,
        "status": record.status,
        "result": record.result,
        "errorCode": record.error_code,
        "upstreamStatus": record.upstream_status,
        "durationMs": round(record.duration_ms, 3),
        "upstreamDurationMs": (
            None if record.upstream_duration_ms is None else round(record.upstream_duration_ms, 3)
        ),
        "requestBytes": record.request_bytes,
        "responseBytes": record.response_bytes,
        "tokenRefreshed": record.token_refreshed,
        "replayed": record.replayed,
        "createTime": _rfc3339(record.created),
    }
