"""Drive the real management API to set up what a proxy call needs.

Every helper takes an ``httpx.AsyncClient`` whose base URL is a running Passway (in-process through
``httpx.ASGITransport`` or a real server) and goes through the HTTP routes, so a seeded setup is
exactly what a user would have made. ``seed_proxy_setup`` does the whole chain: project, API key,
amp.yaml deploy, connection, installation.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx

from passway.settings import Settings


@dataclass(frozen=True, slots=True)
class SeededSetup:
    project_id: str
    project_name: str
    api_key: str
    api_key_id: str
    integration_id: str
    integration_name: str
    provider: str
    connection_id: str
    installation_id: str
    group_ref: str
    consumer_ref: str

    def proxy_headers(self, **extra: str) -> dict[str, str]:
        """The headers a proxy call for this installation carries."""
        return {
            "x-amp-proxy-version": "1",
            "x-amp-project-id": self.project_id,
            "x-api-key": self.api_key,
            "x-amp-installation-id": self.installation_id,
            **extra,
        }


@contextlib.asynccontextmanager
async def passway_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An ``httpx.AsyncClient`` on an in-process Passway (``PasswayApp`` with its real runtime:
    SQLite under ``settings.data_dir``), started and stopped around the block."""
    from passway.bootstrap import create_app

    app = create_app(settings)
    async with (
        app.running(),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://passway.test"
        ) as client,
    ):
        yield client


def _ok(response: httpx.Response, *expected: int) -> dict[str, Any]:
    if response.status_code not in (expected or (200, 201)):
        raise AssertionError(
            f"{response.request.method} {response.request.url.path} answered "
            f"{response.status_code}: {response.text}"
        )
    body: dict[str, Any] = response.json()
    return body


async def create_project(
    client: httpx.AsyncClient, admin_key: str, name: str | None = None, app_name: str = "Test App"
) -> dict[str, Any]:
    name = name or f"proj-{uuid.uuid4().hex[:10]}"
    response = await client.post(
        "/v1/projects", json={"name": name, "appName": app_name}, headers={"X-Api-Key": admin_key}
    )
    return _ok(response)


async def create_api_key(
    client: httpx.AsyncClient, auth_key: str, project: str, label: str = "test"
) -> dict[str, Any]:
    """Answers the created key; its ``key`` field is the raw key (shown only this once)."""
    response = await client.post(
        f"/v1/projects/{project}/api-keys", json={"label": label}, headers={"X-Api-Key": auth_key}
    )
    return _ok(response)


def amp_yaml(
    integration_name: str,
    provider: str,
    *,
    proxy_enabled: bool = True,
    use_module: bool = False,
    module: str | None = None,
) -> str:
    lines = [
        "specVersion: 1.0.0",
        "integrations:",
        f"  - name: {integration_name}",
        f"    provider: {json.dumps(provider)}",
    ]
    if module is not None:
        lines.append(f"    module: {json.dumps(module)}")
    lines += [
        "    proxy:",
        f"      enabled: {'true' if proxy_enabled else 'false'}",
        f"      useModule: {'true' if use_module else 'false'}",
    ]
    return "\n".join(lines) + "\n"


async def deploy(
    client: httpx.AsyncClient, api_key: str, project: str, source_yaml: str
) -> dict[str, Any]:
    response = await client.put(
        f"/v1/projects/{project}/integrations:batch",
        json={"sourceYaml": source_yaml},
        headers={"X-Api-Key": api_key},
    )
    return _ok(response)


async def create_connection(
    client: httpx.AsyncClient,
    api_key: str,
    project: str,
    *,
    provider: str,
    credential: dict[str, Any],
    group_ref: str = "group-1",
    consumer_ref: str = "consumer-1",
    provider_workspace_ref: str | None = None,
    provider_metadata: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """``credential`` is the credential part of the body, e.g. ``{"apiKey": "k"}`` or
    ``{"oauth2AuthorizationCode": {"accessToken": {...}, "refreshToken": {...}}}``."""
    body: dict[str, Any] = {
        "groupRef": group_ref,
        "consumerRef": consumer_ref,
        "provider": provider,
        **credential,
    }
    if provider_workspace_ref is not None:
        body["providerWorkspaceRef"] = provider_workspace_ref
    if provider_metadata is not None:
        body["providerMetadata"] = provider_metadata
    response = await client.post(
        f"/v1/projects/{project}/connections:generate", json=body, headers={"X-Api-Key": api_key}
    )
    return _ok(response)


async def create_installation(
    client: httpx.AsyncClient,
    api_key: str,
    project: str,
    integration: str,
    *,
    group_ref: str = "group-1",
    connection_id: str | None = None,
    proxy_enabled: bool = True,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "groupRef": group_ref,
        "config": {"content": {"proxy": {"enabled": proxy_enabled}}},
    }
    if connection_id is not None:
        body["connectionId"] = connection_id
    response = await client.post(
        f"/v1/projects/{project}/integrations/{integration}/installations",
        json=body,
        headers={"X-Api-Key": api_key},
    )
    return _ok(response)


async def seed_proxy_setup(
    client: httpx.AsyncClient,
    admin_key: str,
    *,
    provider: str,
    credential: dict[str, Any],
    integration_name: str = "proxy-test",
    group_ref: str = "group-1",
    consumer_ref: str = "consumer-1",
    project_name: str | None = None,
    provider_workspace_ref: str | None = None,
    provider_metadata: dict[str, Any] | None = None,
    proxy_enabled: bool = True,
    use_module: bool = False,
    module: str | None = None,
) -> SeededSetup:
    """Project, API key, amp.yaml with one integration, a connection and its installation."""
    project = await create_project(client, admin_key, project_name)
    key = await create_api_key(client, admin_key, project["id"])
    raw_key = key["key"]
    yaml_text = amp_yaml(
        integration_name,
        provider,
        proxy_enabled=proxy_enabled,
        use_module=use_module,
        module=module,
    )
    deployed = await deploy(client, raw_key, project["id"], yaml_text)
    integration = next(i for i in deployed["integrations"] if i["name"] == integration_name)
    connection = await create_connection(
        client,
        raw_key,
        project["id"],
        provider=provider,
        credential=credential,
        group_ref=group_ref,
        consumer_ref=consumer_ref,
        provider_workspace_ref=provider_workspace_ref,
        provider_metadata=provider_metadata,
    )
    installation = await create_installation(
        client,
        raw_key,
        project["id"],
        integration["id"],
        group_ref=group_ref,
        connection_id=connection["id"],
        proxy_enabled=proxy_enabled,
    )
    return SeededSetup(
        project_id=project["id"],
        project_name=project["name"],
        api_key=raw_key,
        api_key_id=key["id"],
        integration_id=integration["id"],
        integration_name=integration_name,
        provider=provider,
        connection_id=connection["id"],
        installation_id=installation["id"],
        group_ref=group_ref,
        consumer_ref=consumer_ref,
    )
