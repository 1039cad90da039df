"""``AsyncPassway``: the management API and proxy clients from one base URL, API key and project.

This file is the source: ``passway_client/_sync/client.py`` (``Passway``) is generated from it by
``clients/python/unasync.py``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from types import TracebackType
from typing import Any

import httpx

from passway_client._async import resources as r
from passway_client.proxy import ApiKeyAuth, async_proxy_client


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


class AsyncPassway:
    """A Passway server, seen with one API key (a project's key, or the operator key).

    ``project`` is the project's id or name that project-scoped calls act on (a project key's own
    project); ``for_project`` gives a view on another one (operator key). ``proxy_url`` is where
    proxy calls go when it differs from ``base_url`` (Passway's proxy port).

        async with AsyncPassway("http://127.0.0.1:8080", api_key, project="acme") as passway:
            await passway.connections.list(group_ref="customer-42")
            async with passway.proxy(integration="sf", group_ref="customer-42") as sf:
                await sf.get("/services/data/v56.0/limits")
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        project: str | None = None,
        proxy_url: str | None = None,
        timeout: float = 30.0,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.proxy_url = (proxy_url or base_url).rstrip("/")
        self._api_key = api_key
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient(
            base_url=self.base_url, auth=ApiKeyAuth(api_key), timeout=timeout
        )
        self._project_id: str | None = project if project and _is_uuid(project) else None
        self._bind(r.AsyncTransport(self._http, project))

    def _bind(self, transport: r.AsyncTransport) -> None:
        self._transport = transport
        self.projects = r.Projects(transport)
        self.api_keys = r.ApiKeys(transport)
        self.integrations = r.Integrations(transport)
        self.connections = r.Connections(transport)
        self.installations = r.Installations(transport)
        self.providers = r.Providers(transport)
        self.provider_apps = r.ProviderApps(transport)
        self.operations = r.Operations(transport)
        self.destinations = r.Destinations(transport)
        self.connect_sessions = r.ConnectSessions(transport)

    @property
    def project(self) -> str | None:
        return self._transport.project

    def for_project(self, project: str) -> AsyncPassway:
        """The same server, key and HTTP connections, acting on ``project`` (id or name)."""
        view = AsyncPassway.__new__(AsyncPassway)
        view.__dict__.update(self.__dict__)
        view._owns_http = False
        view._project_id = project if _is_uuid(project) else None
        view._bind(self._transport.with_project(project))
        return view

    async def project_id(self) -> str:
        """The project's id (UUID), looked up once when the project was given by name."""
        if self._project_id is None:
            if self.project is None:
                raise ValueError("no project: pass project= to Passway(...) or use for_project()")
            project = await self.projects.get(self.project)
            self._project_id = project["id"]
        return self._project_id

    async def oauth_connect(
        self,
        *,
        provider: str,
        group_ref: str,
        consumer_ref: str,
        provider_workspace_ref: str | None = None,
        provider_metadata: Mapping[str, str] | None = None,
        provider_app_id: str | None = None,
        redirect_url: str | None = None,
        group_name: str | None = None,
        consumer_name: str | None = None,
    ) -> str:
        """Start the OAuth connect flow; answers the provider's authorization URL for the
        customer's browser."""
        body: dict[str, Any] = {
            "projectIdOrName": self.project,
            "provider": provider,
            "groupRef": group_ref,
            "consumerRef": consumer_ref,
        }
        for name, value in (
            ("providerWorkspaceRef", provider_workspace_ref),
            ("providerMetadata", dict(provider_metadata) if provider_metadata else None),
            ("providerAppId", provider_app_id),
            ("redirectUrl", redirect_url),
            ("groupName", group_name),
            ("consumerName", consumer_name),
        ):
            if value is not None:
                body[name] = value
        response = await self._transport.call("POST", "/v1/oauth-connect", json=body)
        return response.text

    def proxy(
        self,
        *,
        installation_id: str | None = None,
        integration: str | None = None,
        group_ref: str | None = None,
        throttle: bool = False,
        timeout_seconds: float | None = None,
        raise_passway_errors: bool = True,
        **httpx_options: Any,
    ) -> httpx.AsyncClient:
        """An ``httpx.AsyncClient`` for one installation's provider API: by ``installation_id``,
        or by ``integration`` (amp.yaml name) and ``group_ref``. Paths are the provider's own. A
        project given by name is looked up on the first call."""
        return async_proxy_client(
            self.proxy_url,
            self._api_key,
            self._project_id,
            project_resolver=self.project_id,
            installation_id=installation_id,
            integration=integration,
            group_ref=group_ref,
            throttle=throttle,
            timeout_seconds=timeout_seconds,
            raise_passway_errors=raise_passway_errors,
            **httpx_options,
        )

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncPassway:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.base_url!r}, project={self.project!r})"
