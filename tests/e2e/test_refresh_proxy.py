"""Token lifecycle seen through proxied calls: reactive refresh on a 401, client credentials,
revoked grants, cooldown after a failing token endpoint. Passway in-process, real SQLite, the
loopback OAuth server as both token endpoint and provider API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from support.oauth_server import (
    CC_PROVIDER,
    CLIENT_ID,
    CLIENT_SECRET,
    OAuthServer,
    running_oauth_server,
    seed_oauth_proxy_setup,
    write_oauth_catalog,
)
from support.seed import (
    SeededSetup,
    amp_yaml,
    create_api_key,
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
    settings = make_settings(
        tmp_path, catalog_file=write_oauth_catalog(tmp_path, oauth.url), refresh_cooldown=60
    )
    async with passway_client(settings) as client:
        yield client


async def test_token_revoked_early_gets_one_refresh_and_the_call_succeeds(
    client: httpx.AsyncClient, oauth: OAuthServer
) -> None:
    setup, access, _ = await seed_oauth_proxy_setup(client, oauth, expired=False)
    oauth.revoke_access_token(access)
    answer = await client.put("/items/1", content=b'{"name":"x"}', headers=setup.proxy_headers())
    assert answer.status_code == 200, answer.text
    assert answer.json()["method"] == "PUT" and answer.json()["body"] == '{"name":"x"}'
    assert oauth.refresh_calls == 1
    # Concurrent 401s on the same revoked token would share that one refresh; later calls use it.
    again = await asyncio.gather(
        *(client.get("/items", headers=setup.proxy_headers()) for _ in range(20))
    )
    assert {a.status_code for a in again} == {200}
    assert oauth.refresh_calls == 1


async def test_revoked_grant_marks_bad_credentials_after_one_token_call(
    client: httpx.AsyncClient, oauth: OAuthServer
) -> None:
    setup, _, refresh = await seed_oauth_proxy_setup(client, oauth)
    oauth.grant_of(refresh).revoked = True
    answers = await asyncio.gather(
        *(client.get("/items", headers=setup.proxy_headers()) for _ in range(30))
    )
    answers.append(await client.get("/items", headers=setup.proxy_headers()))
    for answer in answers:
        assert answer.status_code == 424
        assert answer.headers["x-passway-error"] == "connection_bad_credentials"
        problem = answer.json()
        assert problem["context"] == {
            "connectionId": setup.connection_id,
            "groupRef": setup.group_ref,
            "provider": setup.provider,
        }
        assert "re-authorize" in problem["detail"]
    assert oauth.refresh_calls == 1
    stored = await client.get(
        f"/v1/projects/{setup.project_id}/connections/{setup.connection_id}",
        headers={"X-Api-Key": setup.api_key},
    )
    assert stored.json()["status"] == "bad_credentials"


async def test_failing_token_endpoint_cools_down_instead_of_hammering(
    client: httpx.AsyncClient, oauth: OAuthServer
) -> None:
    setup, _, _ = await seed_oauth_proxy_setup(client, oauth)
    oauth.token_failures = [503]
    first = await client.get("/items", headers=setup.proxy_headers())
    assert first.status_code == 502 and first.headers["x-passway-error"] == "token_endpoint_error"
    later = await asyncio.gather(
        *(client.get("/items", headers=setup.proxy_headers()) for _ in range(10))
    )
    for answer in later:
        assert answer.status_code == 503
        assert answer.headers["x-passway-error"] == "token_refresh_cooling_down"
        assert int(answer.headers["retry-after"]) > 0
    assert oauth.refresh_calls == 1


async def test_on_demand_refresh_if_expired_and_force(
    client: httpx.AsyncClient, oauth: OAuthServer
) -> None:
    setup, access, _ = await seed_oauth_proxy_setup(client, oauth, expired=False)
    path = f"/v1/projects/{setup.project_id}/connections/{setup.connection_id}"
    headers = {"X-Api-Key": setup.api_key}
    same = await client.get(
        path, params={"refresh": "ifExpired", "includeCreds": "true"}, headers=headers
    )
    assert same.json()["oauth2AuthorizationCode"]["accessToken"]["token"] == access
    assert oauth.refresh_calls == 0
    forced = await client.get(
        path, params={"refresh": "force", "includeCreds": "true"}, headers=headers
    )
    assert forced.status_code == 200, forced.text
    assert forced.json()["oauth2AuthorizationCode"]["accessToken"]["token"] != access
    assert oauth.refresh_calls == 1


async def cc_project(client: httpx.AsyncClient) -> tuple[str, str, str]:
    project = await create_project(client, ADMIN_KEY)
    key = (await create_api_key(client, ADMIN_KEY, project["id"]))["key"]
    deployed = await deploy(client, key, project["id"], amp_yaml("cc", CC_PROVIDER))
    return project["id"], key, deployed["integrations"][0]["id"]


async def test_client_credentials_connection_gets_its_token_at_once_and_proxies(
    client: httpx.AsyncClient, oauth: OAuthServer
) -> None:
    project_id, key, integration_id = await cc_project(client)
    created = await client.post(
        f"/v1/projects/{project_id}/connections:generate",
        json={
            "groupRef": "group-1",
            "consumerRef": "consumer-1",
            "provider": CC_PROVIDER,
            "oauth2ClientCredentials": {
                "clientId": CLIENT_ID,
                "clientSecret": CLIENT_SECRET,
                "scopes": ["read"],
            },
        },
        headers={"X-Api-Key": key},
    )
    assert created.status_code == 201, created.text
    assert created.json()["authScheme"] == "oauth2/clientCredentials"
    assert oauth.counters["client_credentials"] == 1
    installation = await create_installation(
        client, key, project_id, integration_id, connection_id=created.json()["id"]
    )
    setup = SeededSetup(
        project_id=project_id,
        project_name="",
        api_key=key,
        api_key_id="",
        integration_id=integration_id,
        integration_name="cc",
        provider=CC_PROVIDER,
        connection_id=created.json()["id"],
        installation_id=installation["id"],
        group_ref="group-1",
        consumer_ref="consumer-1",
    )
    answer = await client.get("/items", headers=setup.proxy_headers())
    assert answer.status_code == 200, answer.text
    assert oauth.counters["client_credentials"] == 1


async def test_client_credentials_with_a_wrong_secret_is_a_4xx_and_stores_nothing(
    client: httpx.AsyncClient, oauth: OAuthServer
) -> None:
    project_id, key, _ = await cc_project(client)
    answer = await client.post(
        f"/v1/projects/{project_id}/connections:generate",
        json={
            "groupRef": "group-1",
            "consumerRef": "consumer-1",
            "provider": CC_PROVIDER,
            "oauth2ClientCredentials": {"clientId": CLIENT_ID, "clientSecret": "wrong-zq81"},
        },
        headers={"X-Api-Key": key},
    )
    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid_client_credentials"
    assert "wrong-zq81" not in answer.text  # the secret is never echoed
    listed = await client.get(f"/v1/projects/{project_id}/connections", headers={"X-Api-Key": key})
    assert listed.json() == []


async def test_reauthorization_makes_the_same_installation_work_again(
    client: httpx.AsyncClient, oauth: OAuthServer
) -> None:
    setup, _, refresh = await seed_oauth_proxy_setup(client, oauth)
    oauth.grant_of(refresh).revoked = True
    refused = await client.get("/items", headers=setup.proxy_headers())
    assert refused.status_code == 424

    update = await client.patch(
        f"/v1/projects/{setup.project_id}/connections/{setup.connection_id}:oauth-update",
        headers={"X-Api-Key": setup.api_key},
    )
    assert update.status_code == 200, update.text
    async with httpx.AsyncClient() as browser:
        at_provider = await browser.get(update.text)
    callback = urlsplit(at_provider.headers["location"])
    page = await client.get(f"{callback.path}?{callback.query}", headers={"Accept": "text/html"})
    assert page.status_code == 200, page.text

    answer = await client.get("/items", headers=setup.proxy_headers())
    assert answer.status_code == 200, answer.text
    assert oauth.refresh_calls == 1  # the one that found the grant revoked; none since


async def test_short_lived_tokens_are_not_refreshed_on_every_call(tmp_path: Path) -> None:
    """Tokens living 20 s under the default 60 s margin: the expired token is refreshed once, and
    the next calls use the new token (the margin is capped at half of its lifetime)."""
    async with running_oauth_server(access_ttl=20.0) as oauth:
        settings = make_settings(tmp_path, catalog_file=write_oauth_catalog(tmp_path, oauth.url))
        async with passway_client(settings) as client:
            setup, _, _ = await seed_oauth_proxy_setup(client, oauth)
            for _ in range(30):
                answer = await client.get("/items", headers=setup.proxy_headers())
                assert answer.status_code == 200, answer.text
    assert oauth.refresh_calls == 1
