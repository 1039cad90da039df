"""Management API: connections (generate/import, list, get with credentials, refresh, patch,
delete), through HTTP on the in-process app, with a loopback OAuth server for token grants."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from support.catalog import (
    APIKEY_BEARER,
    BASIC,
    CUSTOM,
    OAUTH2_BEARER,
    TEMPLATED,
    catalog_providers,
)
from support.oauth_server import (
    CC_PROVIDER,
    CLIENT_ID,
    CLIENT_SECRET,
    OAuthServer,
    oauth_provider_entries,
    running_oauth_server,
)
from support.seed import (
    amp_yaml,
    create_api_key,
    create_connection,
    create_installation,
    create_project,
    deploy,
    passway_client,
)
from support.server import ADMIN_KEY, make_settings


@pytest.fixture
async def oauth() -> AsyncIterator[OAuthServer]:
    async with running_oauth_server() as server:
        yield server


@pytest.fixture
async def client(tmp_path: Path, oauth: OAuthServer) -> AsyncIterator[httpx.AsyncClient]:
    catalog = tmp_path / "catalog.json"
    providers = catalog_providers("http://127.0.0.1:9") + oauth_provider_entries(oauth.url)
    catalog.write_text(json.dumps({"providers": providers}))
    async with passway_client(make_settings(tmp_path, catalog_file=catalog)) as client:
        yield client


@pytest.fixture
async def project(client: httpx.AsyncClient) -> tuple[str, dict[str, str]]:
    created = await create_project(client, ADMIN_KEY)
    key = await create_api_key(client, ADMIN_KEY, created["id"])
    return f"/v1/projects/{created['id']}", {"X-Api-Key": key["key"]}


Project = tuple[str, dict[str, str]]


async def generate(client: httpx.AsyncClient, project: Project, **body: Any) -> httpx.Response:
    path, auth = project
    payload = {"groupRef": "g1", "consumerRef": "c1", **body}
    return await client.post(f"{path}/connections:generate", json=payload, headers=auth)


def issue_names(response: httpx.Response) -> list[str]:
    assert response.status_code == 400, response.text
    return [issue["name"] for issue in response.json()["issues"]]


@pytest.mark.parametrize(
    ("provider", "credential", "scheme"),
    [
        (APIKEY_BEARER, {"apiKey": "sekret-key"}, "apiKey"),
        (BASIC, {"basicAuth": {"username": "u", "password": "sekret-pw"}}, "basic"),
        (CUSTOM, {"customAuth": {"token": "sekret-tok", "account": "acme"}}, "custom"),
        (
            OAUTH2_BEARER,
            {
                "oauth2AuthorizationCode": {
                    "accessToken": {"token": "sekret-at", "expiresAt": "2030-01-01T00:00:00Z"},
                    "refreshToken": {"token": "sekret-rt"},
                    "scopes": ["read"],
                }
            },
            "oauth2/authorizationCode",
        ),
    ],
)
async def test_an_imported_credential_is_stored_working_and_shown_only_when_asked(
    client: httpx.AsyncClient,
    project: Project,
    provider: str,
    credential: dict[str, Any],
    scheme: str,
) -> None:
    response = await generate(
        client, project, provider=provider, groupName="Group", consumerName="Con", **credential
    )
    assert response.status_code == 201, response.text
    connection = response.json()
    assert connection["authScheme"] == scheme
    assert connection["status"] == "working"
    assert connection["group"] == {"groupRef": "g1", "groupName": "Group"}
    assert connection["consumer"] == {"consumerRef": "c1", "consumerName": "Con"}
    assert "sekret" not in response.text
    path, auth = project
    url = f"{path}/connections/{connection['id']}"
    plain = await client.get(url, headers=auth)
    assert "sekret" not in plain.text
    with_creds = await client.get(url, params={"includeCreds": "true"}, headers=auth)
    assert "sekret" in with_creds.text
    assert "sekret-rt" not in with_creds.text
    if scheme.startswith("oauth2"):
        body = with_creds.json()["oauth2AuthorizationCode"]
        assert body["accessToken"]["token"] == "sekret-at"
        assert body["accessToken"]["expiresAt"] == "2030-01-01T00:00:00Z"
        full = await client.get(
            url, params={"includeCreds": "true", "includeRefreshToken": "true"}, headers=auth
        )
        assert full.json()["oauth2AuthorizationCode"]["refreshToken"]["token"] == "sekret-rt"
    else:
        expected = {k: v for k, v in credential.items()}
        assert {k: with_creds.json()[k] for k in expected} == expected


async def test_the_credential_must_be_the_one_the_provider_takes(
    client: httpx.AsyncClient, project: Project
) -> None:
    wrong = await generate(
        client, project, provider=APIKEY_BEARER, basicAuth={"username": "u", "password": "p"}
    )
    assert issue_names(wrong) == ["basicAuth"]
    none = await generate(client, project, provider=BASIC)
    assert issue_names(none) == ["basicAuth"]
    two = await generate(
        client,
        project,
        provider=APIKEY_BEARER,
        apiKey="k",
        customAuth={"token": "t"},
    )
    assert issue_names(two) == ["customAuth"]


async def test_custom_auth_needs_exactly_the_provider_inputs(
    client: httpx.AsyncClient, project: Project
) -> None:
    response = await generate(
        client, project, provider=CUSTOM, customAuth={"token": "t", "extra": "x"}
    )
    assert issue_names(response) == ["customAuth.account", "customAuth.extra"]


async def test_missing_fields_unknown_provider_and_template_values_are_all_reported(
    client: httpx.AsyncClient, project: Project
) -> None:
    path, auth = project
    response = await client.post(
        f"{path}/connections:generate",
        json={"groupRef": "g", "consumerRef": " ", "provider": "nope", "apiKey": "k"},
        headers=auth,
    )
    assert issue_names(response) == ["consumerRef", "provider"]
    missing = await client.post(f"{path}/connections:generate", json={}, headers=auth)
    assert sorted(issue_names(missing)) == ["consumerRef", "groupRef", "provider"]
    templated = await generate(client, project, provider=TEMPLATED, apiKey="k")
    assert issue_names(templated) == ["providerWorkspaceRef"]
    ok = await generate(
        client, project, provider=TEMPLATED, apiKey="k", providerWorkspaceRef="acme"
    )
    assert ok.status_code == 201
    assert ok.json()["providerWorkspaceRef"] == "acme"


async def test_a_secret_is_never_echoed_in_a_validation_error(
    client: httpx.AsyncClient, project: Project
) -> None:
    response = await generate(
        client,
        project,
        provider=BASIC,
        basicAuth={"username": "u", "password": ["sekret-in-a-list"]},
    )
    assert response.status_code == 400
    assert "sekret" not in response.text
    assert issue_names(response) == ["basicAuth.password"]


async def test_client_credentials_get_their_first_token_from_the_provider(
    client: httpx.AsyncClient, project: Project, oauth: OAuthServer
) -> None:
    response = await generate(
        client,
        project,
        provider=CC_PROVIDER,
        oauth2ClientCredentials={"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET},
    )
    assert response.status_code == 201, response.text
    connection = response.json()
    assert connection["authScheme"] == "oauth2/clientCredentials"
    path, auth = project
    url = f"{path}/connections/{connection['id']}"
    creds = (await client.get(url, params={"includeCreds": "true"}, headers=auth)).json()
    first = creds["oauth2ClientCredentials"]["accessToken"]["token"]
    assert first in oauth.access_tokens
    refreshed = await client.get(
        url, params={"includeCreds": "true", "refresh": "force"}, headers=auth
    )
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["oauth2ClientCredentials"]["accessToken"]["token"] != first


async def test_a_rejected_client_secret_stores_nothing(
    client: httpx.AsyncClient, project: Project
) -> None:
    response = await generate(
        client,
        project,
        provider=CC_PROVIDER,
        oauth2ClientCredentials={"clientId": CLIENT_ID, "clientSecret": "wrong-sekret"},
    )
    assert 400 <= response.status_code < 500
    assert response.headers["content-type"] == "application/problem+json"
    assert "wrong-sekret" not in response.text
    path, auth = project
    assert (await client.get(f"{path}/connections", headers=auth)).json() == []


async def test_refresh_on_a_non_oauth_connection_and_a_bad_refresh_mode_are_400(
    client: httpx.AsyncClient, project: Project
) -> None:
    path, auth = project
    created = (await generate(client, project, provider=APIKEY_BEARER, apiKey="k")).json()
    url = f"{path}/connections/{created['id']}"
    assert issue_names(await client.get(url, params={"refresh": "force"}, headers=auth)) == [
        "refresh"
    ]
    assert issue_names(await client.get(url, params={"refresh": "sometimes"}, headers=auth)) == [
        "refresh"
    ]


async def test_list_filters_by_provider_group_and_consumer(
    client: httpx.AsyncClient, project: Project
) -> None:
    path, auth = project
    key = auth["X-Api-Key"]
    project_id = path.rsplit("/", 1)[1]
    a = await create_connection(
        client, key, project_id, provider=APIKEY_BEARER, credential={"apiKey": "1"}
    )
    b = await create_connection(
        client,
        key,
        project_id,
        provider=BASIC,
        credential={"basicAuth": {"username": "u", "password": "p"}},
        group_ref="g2",
        consumer_ref="c2",
    )

    async def ids(**params: str) -> list[str]:
        found = await client.get(f"{path}/connections", params=params, headers=auth)
        return [c["id"] for c in found.json()]

    assert sorted(await ids()) == sorted([a["id"], b["id"]])
    assert await ids(provider=BASIC) == [b["id"]]
    assert await ids(groupRef="group-1") == [a["id"]]
    assert await ids(consumerRef="c2") == [b["id"]]
    assert await ids(provider=BASIC, groupRef="group-1") == []


async def test_patch_applies_only_the_masked_fields(
    client: httpx.AsyncClient, project: Project
) -> None:
    path, auth = project
    created = (
        await generate(client, project, provider=TEMPLATED, apiKey="old", providerWorkspaceRef="a")
    ).json()
    url = f"{path}/connections/{created['id']}"
    patched = await client.patch(
        url,
        json={
            "updateMask": ["apiKey", "providerMetadata"],
            "connection": {
                "apiKey": "new-key",
                "providerWorkspaceRef": "ignored",
                "providerMetadata": {"region": {"value": "eu"}},
            },
        },
        headers=auth,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["providerWorkspaceRef"] == "a"
    assert patched.json()["providerMetadata"] == {"region": {"value": "eu", "source": "input"}}
    creds = (await client.get(url, params={"includeCreds": "true"}, headers=auth)).json()
    assert creds["apiKey"] == "new-key"


async def test_patch_refuses_unknown_masks_and_credentials_of_another_kind(
    client: httpx.AsyncClient, project: Project
) -> None:
    path, auth = project
    created = (await generate(client, project, provider=APIKEY_BEARER, apiKey="k")).json()
    url = f"{path}/connections/{created['id']}"
    unknown = await client.patch(
        url, json={"updateMask": ["apiKey", "status"], "connection": {"apiKey": "x"}}, headers=auth
    )
    assert issue_names(unknown) == ["updateMask[1]"]
    assert unknown.json()["issues"][0]["value"] == "status"
    other = await client.patch(
        url,
        json={
            "updateMask": ["basicAuth"],
            "connection": {"basicAuth": {"username": "u", "password": "p"}},
        },
        headers=auth,
    )
    assert issue_names(other) == ["updateMask"]
    empty = await client.patch(url, json={"updateMask": []}, headers=auth)
    assert issue_names(empty) == ["updateMask"]
    missing = await client.patch(url, json={"updateMask": ["apiKey"]}, headers=auth)
    assert issue_names(missing) == ["connection.apiKey"]


async def test_delete_refuses_while_installed_then_removes(
    client: httpx.AsyncClient, project: Project
) -> None:
    path, auth = project
    key = auth["X-Api-Key"]
    project_id = path.rsplit("/", 1)[1]
    await deploy(client, key, project_id, amp_yaml("i1", APIKEY_BEARER))
    connection = await create_connection(
        client, key, project_id, provider=APIKEY_BEARER, credential={"apiKey": "k"}
    )
    installation = await create_installation(client, key, project_id, "i1")
    url = f"{path}/connections/{connection['id']}"
    refused = await client.delete(url, headers=auth)
    assert refused.status_code == 409
    await client.delete(f"{path}/integrations/i1/installations/{installation['id']}", headers=auth)
    assert (await client.delete(url, headers=auth)).status_code == 204
    assert (await client.get(url, headers=auth)).status_code == 404
    assert (await client.delete(url, headers=auth)).status_code == 404
