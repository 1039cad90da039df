"""The JSON shapes of the management API (camelCase, times RFC 3339 UTC with ``Z``).

Credentials appear only when asked for (``includeCreds``), and a refresh token only with
``includeRefreshToken``. The CLI's ``--json`` output uses these same shapes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from passway import apikeys
from passway.operations.record import UNHEALTHY, InstallationStatus
from passway.records import ApiKey, Connection, Credentials, Integration, OAuthToken, Project
from passway.services.installations import InstallationView
from passway.services.integrations import Deployment


def rfc3339(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def project_json(project: Project) -> dict[str, Any]:
    return {
        "id": project.id,
        "name": project.name,
        "appName": project.app_name,
        "createTime": rfc3339(project.create_time),
        "updateTime": rfc3339(project.update_time),
    }


def api_key_json(key: ApiKey, raw_key: str | None = None) -> dict[str, Any]:
    """``key`` is the raw key right after creation, and a masked form ever after."""
    return {
        "id": key.id,
        "key": raw_key if raw_key is not None else apikeys.masked(key.prefix),
        "keyPrefix": key.prefix,
        "label": key.label,
        "scopes": list(key.scopes),
        "projectId": key.project_id,
        "active": key.active,
        "createTime": rfc3339(key.create_time),
        "updateTime": rfc3339(key.update_time),
    }


def integration_json(integration: Integration) -> dict[str, Any]:
    return {
        "id": integration.id,
        "projectId": integration.project_id,
        "name": integration.name,
        "displayName": integration.display_name,
        "provider": integration.provider,
        "module": integration.module,
        "proxy": {"enabled": integration.proxy_enabled, "useModule": integration.use_module},
        "content": dict(integration.spec),
        "createTime": rfc3339(integration.create_time),
        "updateTime": rfc3339(integration.update_time),
    }


def deployment_json(deployment: Deployment) -> dict[str, Any]:
    return {
        "integrations": [integration_json(i) for i in deployment.integrations],
        "warnings": deployment.warnings,
    }


def connection_json(
    connection: Connection, *, include_creds: bool = False, include_refresh_token: bool = False
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": connection.id,
        "createTime": rfc3339(connection.create_time),
        "updateTime": rfc3339(connection.update_time),
        "projectId": connection.project_id,
        "provider": connection.provider,
        "group": {"groupRef": connection.group_ref, "groupName": connection.group_name},
        "consumer": {
            "consumerRef": connection.consumer_ref,
            "consumerName": connection.consumer_name,
        },
        "providerWorkspaceRef": connection.provider_workspace_ref,
        "providerConsumerRef": connection.provider_consumer_ref,
        "providerMetadata": {
            name: {"value": item.value, "source": item.source}
            for name, item in connection.provider_metadata.items()
        },
        "authScheme": connection.auth_scheme,
        "status": connection.status,
    }
    if include_creds or include_refresh_token:
        out.update(credentials_json(connection, include_refresh_token=include_refresh_token))
    return out


def _token(token: OAuthToken | None) -> dict[str, Any] | None:
    if token is None:
        return None
    return {
        "token": token.token,
        "issuedAt": rfc3339(token.issued_at),
        "expiresAt": rfc3339(token.expires_at),
    }


def credentials_json(connection: Connection, *, include_refresh_token: bool) -> dict[str, Any]:
    """The secret part of a connection, under the field its kind of credential uses on input."""
    creds: Credentials = connection.credentials
    scheme = connection.auth_scheme
    if scheme == "apiKey":
        return {"apiKey": creds.api_key}
    if scheme == "basic":
        return {"basicAuth": {"username": creds.username, "password": creds.password}}
    if scheme == "custom":
        return {"customAuth": dict(creds.custom)}
    oauth: dict[str, Any] = {
        "accessToken": _token(creds.access_token),
        "scopes": list(creds.scopes),
    }
    if include_refresh_token:
        oauth["refreshToken"] = _token(creds.refresh_token)
    if scheme == "oauth2/clientCredentials":
        return {
            "oauth2ClientCredentials": {
                "clientId": creds.client_id,
                "clientSecret": creds.client_secret,
                **oauth,
            }
        }
    if scheme == "oauth2/password":
        return {
            "oauth2PasswordCredentials": {
                "username": creds.username,
                "password": creds.password,
                "clientId": creds.client_id,
                "clientSecret": creds.client_secret,
                **oauth,
            }
        }
    if scheme.startswith("oauth2/"):
        return {"oauth2AuthorizationCode": oauth}
    return {}


def installation_json(
    view: InstallationView, status: InstallationStatus | None = None
) -> dict[str, Any]:
    """``status``: how its latest operation left it (``healthStatus``, ``lastOperationStatus``)."""
    installation = view.installation
    health = installation.health_status if status is None else status.health_status
    if view.connection is not None and view.connection.status == "bad_credentials":
        health = UNHEALTHY  # the customer must re-authorize before any call can succeed
    out = {
        "id": installation.id,
        "projectId": installation.project_id,
        "integrationId": installation.integration_id,
        "group": {"groupRef": installation.group_ref, "groupName": installation.group_name},
        "connection": (
            connection_json(view.connection)
            if view.connection is not None
            else {"id": installation.connection_id}
        ),
        "healthStatus": health,
        "createTime": rfc3339(installation.create_time),
        "updateTime": rfc3339(installation.update_time),
        "config": dict(installation.config),
    }
    if status is not None:
        out["lastOperationStatus"] = status.last_operation_status
    return out
