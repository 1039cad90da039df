# Generated from passway_client/_async/resources.py by clients/python/unasync.py; do not edit.
"""One class per resource of the management API, each a thin map from methods to routes.

A resource gets the shared ``Transport`` (the ``httpx.Client`` and the project) and calls
it; adding a resource means adding a class here and one attribute on ``Passway``. Generated from
``passway_client/_async/resources.py``.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, cast
from urllib.parse import quote

import httpx

from passway_client import types as t
from passway_client.errors import error_from_response


def _segment(value: str) -> str:
    if not value:
        raise ValueError("an id or name in the path is empty")
    return quote(value, safe="")


def _query(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


class Transport:
    """The HTTP side shared by every resource: one ``httpx.Client`` and the project."""

    def __init__(self, http: httpx.Client, project: str | None) -> None:
        self.http = http
        self.project = project

    def with_project(self, project: str) -> Transport:
        return Transport(self.http, project)

    def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> httpx.Response:
        """Send; raise ``PasswayError`` for any answer that is not a success."""
        response = self.http.request(
            method, path, params=_query(params or {}), json=json if json is not None else None
        )
        if response.is_success:
            return response
        response.read()
        raise error_from_response(response)

    def project_path(self, *parts: str) -> str:
        if self.project is None:
            raise ValueError("no project: pass project= to Passway(...) or use for_project()")
        return "/v1/projects/" + "/".join([_segment(self.project), *parts])


class Resource:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def _json(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> Any:
        response = self._t.call(method, path, params=params, json=json)
        return response.json()

    def _delete(self, path: str) -> None:
        self._t.call("DELETE", path)


class Projects(Resource):
    """``/v1/projects``: creating one needs the operator key (``PASSWAY_ADMIN_API_KEY``)."""

    def create(self, name: str, *, app_name: str | None = None) -> t.Project:
        body = {"name": name, "appName": app_name}
        return cast(t.Project, self._json("POST", "/v1/projects", json=body))

    def list(self) -> list[t.Project]:
        return cast(list[t.Project], self._json("GET", "/v1/projects"))

    def get(self, project: str) -> t.Project:
        return cast(t.Project, self._json("GET", f"/v1/projects/{_segment(project)}"))


class ApiKeys(Resource):
    """``/v1/projects/{p}/api-keys``; a key is named by its id or prefix."""

    def create(self, label: str, *, scopes: Sequence[str] = ()) -> t.ApiKey:
        """The answer's ``key`` is the raw key, shown only this once."""
        body = {"label": label, "scopes": list(scopes)}
        return cast(t.ApiKey, self._json("POST", self._t.project_path("api-keys"), json=body))

    def list(self) -> list[t.ApiKey]:
        return cast(list[t.ApiKey], self._json("GET", self._t.project_path("api-keys")))

    def get(self, key: str) -> t.ApiKey:
        return cast(t.ApiKey, self._json("GET", self._t.project_path("api-keys", _segment(key))))

    def update(
        self,
        key: str,
        *,
        label: str | None = None,
        scopes: Sequence[str] | None = None,
        active: bool | None = None,
    ) -> t.ApiKey:
        body = _query({"label": label, "scopes": None if scopes is None else list(scopes)})
        if active is not None:
            body["active"] = active
        path = self._t.project_path("api-keys", _segment(key))
        return cast(t.ApiKey, self._json("PATCH", path, json=body))

    def revoke(self, key: str) -> None:
        self._delete(self._t.project_path("api-keys", _segment(key)))


class Integrations(Resource):
    """Integrations, created or updated by deploying amp.yaml."""

    def deploy(self, amp_yaml: str) -> t.Deployment:
        path = self._t.project_path("integrations:batch")
        return cast(t.Deployment, self._json("PUT", path, json={"sourceYaml": amp_yaml}))

    def list(self) -> list[t.Integration]:
        return cast(list[t.Integration], self._json("GET", self._t.project_path("integrations")))

    def get(self, integration: str) -> t.Integration:
        path = self._t.project_path("integrations", _segment(integration))
        return cast(t.Integration, self._json("GET", path))

    def delete(self, integration: str) -> None:
        self._delete(self._t.project_path("integrations", _segment(integration)))


class Connections(Resource):
    """A group's stored credentials for one provider."""

    def generate(
        self,
        *,
        provider: str,
        group_ref: str,
        consumer_ref: str,
        credentials: Mapping[str, Any],
        group_name: str | None = None,
        consumer_name: str | None = None,
        provider_workspace_ref: str | None = None,
        provider_metadata: Mapping[str, str] | None = None,
    ) -> t.Connection:
        """Create a connection from a credential, given under its API field, e.g.
        ``{"apiKey": "k"}``, ``{"basicAuth": {"username": "u", "password": "p"}}``,
        ``{"oauth2AuthorizationCode": {"accessToken": {"token": "..."}}}``, or
        ``{"oauth2ClientCredentials": {"clientId": "...", "clientSecret": "..."}}``."""
        body: dict[str, Any] = {
            "provider": provider,
            "groupRef": group_ref,
            "consumerRef": consumer_ref,
            **credentials,
        }
        body.update(
            _query(
                {
                    "groupName": group_name,
                    "consumerName": consumer_name,
                    "providerWorkspaceRef": provider_workspace_ref,
                    "providerMetadata": dict(provider_metadata) if provider_metadata else None,
                }
            )
        )
        path = self._t.project_path("connections:generate")
        return cast(t.Connection, self._json("POST", path, json=body))

    def list(
        self,
        *,
        provider: str | None = None,
        group_ref: str | None = None,
        consumer_ref: str | None = None,
    ) -> list[t.Connection]:
        params = {"provider": provider, "groupRef": group_ref, "consumerRef": consumer_ref}
        path = self._t.project_path("connections")
        return cast(list[t.Connection], self._json("GET", path, params=params))

    def get(
        self,
        connection_id: str,
        *,
        include_creds: bool = False,
        include_refresh_token: bool = False,
        refresh: str | None = None,
    ) -> t.Connection:
        """``refresh`` is ``"ifExpired"`` or ``"force"`` (OAuth connections)."""
        params: dict[str, Any] = {"refresh": refresh}
        if include_creds:
            params["includeCreds"] = "true"
        if include_refresh_token:
            params["includeRefreshToken"] = "true"
        path = self._t.project_path("connections", _segment(connection_id))
        return cast(t.Connection, self._json("GET", path, params=params))

    def refresh(self, connection_id: str, *, force: bool = True) -> t.Connection:
        """Refresh the OAuth access token now (``force``) or only if it is expiring."""
        return self.get(connection_id, refresh="force" if force else "ifExpired")

    def update(
        self, connection_id: str, update_mask: Sequence[str], connection: Mapping[str, Any]
    ) -> t.Connection:
        body = {"updateMask": list(update_mask), "connection": dict(connection)}
        path = self._t.project_path("connections", _segment(connection_id))
        return cast(t.Connection, self._json("PATCH", path, json=body))

    def delete(self, connection_id: str) -> None:
        self._delete(self._t.project_path("connections", _segment(connection_id)))


class Installations(Resource):
    """One group's install of one integration (``integration`` is its id or amp.yaml name)."""

    def _path(self, integration: str, *rest: str) -> str:
        return self._t.project_path("integrations", _segment(integration), "installations", *rest)

    def create(
        self,
        integration: str,
        *,
        group_ref: str,
        connection_id: str | None = None,
        group_name: str | None = None,
        proxy_enabled: bool = True,
        config: Mapping[str, Any] | None = None,
    ) -> t.Installation:
        """``config`` replaces the default ``{"content": {"proxy": {"enabled": ...}}}``."""
        body: dict[str, Any] = {
            "groupRef": group_ref,
            "config": (
                dict(config)
                if config is not None
                else {"content": {"proxy": {"enabled": proxy_enabled}}}
            ),
        }
        body.update(_query({"connectionId": connection_id, "groupName": group_name}))
        return cast(t.Installation, self._json("POST", self._path(integration), json=body))

    def list(
        self, integration: str | None = None, *, group_ref: str | None = None
    ) -> list[t.Installation]:
        """One integration's installations, or every integration's when ``integration`` is None."""
        names = [integration] if integration is not None else self._integration_ids()
        found: list[t.Installation] = []
        for name in names:
            params = {"groupRef": group_ref}
            found += cast(list[t.Installation], self._json("GET", self._path(name), params=params))
        return found

    def _integration_ids(self) -> builtins.list[str]:
        return [i["id"] for i in Integrations(self._t).list()]

    def get(self, integration: str, installation_id: str) -> t.Installation:
        path = self._path(integration, _segment(installation_id))
        return cast(t.Installation, self._json("GET", path))

    def update(
        self,
        integration: str,
        installation_id: str,
        update_mask: Sequence[str],
        installation: Mapping[str, Any],
    ) -> t.Installation:
        body = {"updateMask": list(update_mask), "installation": dict(installation)}
        path = self._path(integration, _segment(installation_id))
        return cast(t.Installation, self._json("PATCH", path, json=body))

    def delete(self, integration: str, installation_id: str) -> None:
        self._delete(self._path(integration, _segment(installation_id)))


class Providers(Resource):
    """The provider catalog (no authentication needed)."""

    def list(self, *, auth_type: str | None = None, search: str | None = None) -> list[t.Provider]:
        params = {"authType": auth_type, "search": search}
        return cast(list[t.Provider], self._json("GET", "/v1/providers", params=params))

    def get(self, name: str) -> t.Provider:
        return cast(t.Provider, self._json("GET", f"/v1/providers/{_segment(name)}"))


class ProviderApps(Resource):
    """The project's OAuth client per provider; ``client_secret`` is write-only."""

    def create(
        self,
        *,
        provider: str,
        client_id: str,
        client_secret: str,
        scopes: Sequence[str] = (),
        external_ref: str | None = None,
    ) -> t.ProviderApp:
        body: dict[str, Any] = {
            "provider": provider,
            "clientId": client_id,
            "clientSecret": client_secret,
            "scopes": list(scopes),
        }
        body.update(_query({"externalRef": external_ref}))
        path = self._t.project_path("provider-apps")
        return cast(t.ProviderApp, self._json("POST", path, json=body))

    def list(self) -> list[t.ProviderApp]:
        return cast(list[t.ProviderApp], self._json("GET", self._t.project_path("provider-apps")))

    def get(self, provider_app_id: str) -> t.ProviderApp:
        path = self._t.project_path("provider-apps", _segment(provider_app_id))
        return cast(t.ProviderApp, self._json("GET", path))

    def update(self, provider_app_id: str, **fields: Any) -> t.ProviderApp:
        """``fields`` are the API's names: ``clientId``, ``clientSecret``, ``scopes``, ..."""
        path = self._t.project_path("provider-apps", _segment(provider_app_id))
        return cast(t.ProviderApp, self._json("PATCH", path, json=fields))

    def delete(self, provider_app_id: str) -> None:
        self._delete(self._t.project_path("provider-apps", _segment(provider_app_id)))


class Operations(Resource):
    """One record per proxy call (newer Passway versions), newest first, paged."""

    def list(
        self,
        *,
        page_size: int | None = None,
        page_token: str | None = None,
        **filters: str | None,
    ) -> t.OperationPage:
        """``filters``: ``integrationId``, ``installationId``, ``groupRef``, ``provider``,
        ``result``, ``since``, ``until``. The answer holds ``operations`` and ``nextPageToken``."""
        params: dict[str, Any] = {"pageSize": page_size, "pageToken": page_token, **filters}
        return cast(
            t.OperationPage,
            self._json("GET", self._t.project_path("operations"), params=params),
        )

    def iterate(
        self, *, page_size: int | None = None, **filters: str | None
    ) -> Iterator[t.Operation]:
        """Every matching operation, following ``nextPageToken``."""
        token: str | None = None
        while True:
            page = self.list(page_size=page_size, page_token=token, **filters)
            yield from page.get("operations", [])
            token = page.get("nextPageToken")
            if not token:
                return

    def get(self, operation_id: str) -> t.Operation:
        path = self._t.project_path("operations", _segment(operation_id))
        return cast(t.Operation, self._json("GET", path))

    def logs(self, operation_id: str) -> builtins.list[dict[str, Any]]:
        path = self._t.project_path("operations", _segment(operation_id), "logs")
        answer = self._json("GET", path)
        return cast(builtins.list[dict[str, Any]], answer.get("logs", []))


class Destinations(Resource):
    """Webhook destinations for notifications (newer Passway versions)."""

    def create(self, **fields: Any) -> t.Destination:
        """``fields`` are the API's names (``name``, ``type``, ``metadata``: ``url``, headers)."""
        path = self._t.project_path("destinations")
        return cast(t.Destination, self._json("POST", path, json=fields))

    def list(self) -> list[t.Destination]:
        answer = self._json("GET", self._t.project_path("destinations"))
        if isinstance(answer, dict):
            return cast(list[t.Destination], answer.get("destinations", []))
        return cast(list[t.Destination], answer)

    def get(self, destination_id: str) -> t.Destination:
        path = self._t.project_path("destinations", _segment(destination_id))
        return cast(t.Destination, self._json("GET", path))

    def update(self, destination_id: str, **fields: Any) -> t.Destination:
        path = self._t.project_path("destinations", _segment(destination_id))
        return cast(t.Destination, self._json("PATCH", path, json=fields))

    def delete(self, destination_id: str) -> None:
        self._delete(self._t.project_path("destinations", _segment(destination_id)))


class ConnectSessions(Resource):
    """Short-lived links where an end customer connects an account (newer Passway versions)."""

    def create(
        self,
        *,
        group_ref: str,
        consumer_ref: str,
        provider: str | None = None,
        integration: str | None = None,
        group_name: str | None = None,
        consumer_name: str | None = None,
        redirect_url: str | None = None,
        expires_in: int | None = None,
    ) -> t.ConnectSession:
        """The answer holds ``token``, ``url`` (for the customer) and ``expiresAt``."""
        body = _query(
            {
                "provider": provider,
                "integration": integration,
                "groupRef": group_ref,
                "consumerRef": consumer_ref,
                "groupName": group_name,
                "consumerName": consumer_name,
                "redirectUrl": redirect_url,
                "expiresIn": expires_in,
            }
        )
        path = self._t.project_path("connect-sessions")
        return cast(t.ConnectSession, self._json("POST", path, json=body))
