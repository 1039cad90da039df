"""The OAuth connect flow driven over HTTP as a browser would: Passway (in-process, real SQLite) and
a real loopback authorization server; redirects are followed by hand."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from support.oauth_server import (
    BASIC_PROVIDER,
    CLIENT_ID,
    CLIENT_SECRET,
    PKCE_PROVIDER,
    PROVIDER,
    WORKSPACE_PROVIDER,
    OAuthServer,
    oauth_provider_entries,
)
from support.seed import create_api_key, create_project, passway_client
from support.server import ADMIN_KEY, make_settings

PUBLIC_URL = "http://passway.test"
CALLBACK = f"{PUBLIC_URL}/callbacks/v1/oauth"
BROWSER = {"Accept": "text/html,application/xhtml+xml"}


@pytest.fixture
async def oauth() -> AsyncIterator[OAuthServer]:
    server = OAuthServer(
        extra_token_fields={"instance_url": "acme-prod", "user": {"id": "u-1"}},
    )
    server.registered_redirects = {CALLBACK}
    await server.start()
    yield server
    await server.close()


async def open_client(tmp_path: Path, oauth: OAuthServer, **settings: Any) -> Any:
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps({"providers": oauth_provider_entries(oauth.url)}))
    return passway_client(
        make_settings(tmp_path, catalog_file=catalog, public_url=PUBLIC_URL, **settings)
    )


@pytest.fixture
async def client(tmp_path: Path, oauth: OAuthServer) -> AsyncIterator[httpx.AsyncClient]:
    async with await open_client(tmp_path, oauth) as client:
        yield client


class Dev:
    """The developer's side: one project, its API key, provider apps for the test providers."""

    def __init__(self, client: httpx.AsyncClient, project: dict[str, Any], key: str) -> None:
        self.client = client
        self.project = project
        self.headers = {"X-Api-Key": key}

    async def add_app(self, provider: str, secret: str = CLIENT_SECRET) -> dict[str, Any]:
        response = await self.client.post(
            f"/v1/projects/{self.project['id']}/provider-apps",
            json={
                "provider": provider,
                "clientId": CLIENT_ID,
                "clientSecret": secret,
                "scopes": ["read", "write"],
            },
            headers=self.headers,
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    async def connect(self, provider: str = PROVIDER, **fields: Any) -> httpx.Response:
        body = {
            "projectIdOrName": self.project["name"],
            "groupRef": "acme-co",
            "consumerRef": "user-7",
            "provider": provider,
            **fields,
        }
        return await self.client.post("/v1/oauth-connect", json=body, headers=self.headers)

    async def connections(self) -> list[dict[str, Any]]:
        response = await self.client.get(
            f"/v1/projects/{self.project['id']}/connections", headers=self.headers
        )
        assert response.status_code == 200
        found: list[dict[str, Any]] = response.json()
        return found

    async def connection(self, connection_id: str, **query: str) -> dict[str, Any]:
        response = await self.client.get(
            f"/v1/projects/{self.project['id']}/connections/{connection_id}",
            params=query,
            headers=self.headers,
        )
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found


@pytest.fixture
async def dev(client: httpx.AsyncClient) -> Dev:
    project = await create_project(client, ADMIN_KEY)
    key = await create_api_key(client, ADMIN_KEY, project["id"])
    return Dev(client, project, key["key"])


async def authorize_in_browser(
    authorization_url: str, passway: httpx.AsyncClient
) -> tuple[str, httpx.Response]:
    """Visit the provider's authorization URL, follow its redirect back to Passway by hand.

    Returns the callback URL and Passway's answer to it."""
    async with httpx.AsyncClient() as browser:
        at_provider = await browser.get(authorization_url, headers=BROWSER)
    assert at_provider.status_code == 302, at_provider.text
    callback = at_provider.headers["location"]
    assert callback.startswith(CALLBACK + "?")
    return callback, await passway.get(callback, headers=BROWSER)


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


async def test_full_pkce_connect_flow_stores_a_working_connection(
    dev: Dev, oauth: OAuthServer
) -> None:
    await dev.add_app(PKCE_PROVIDER)
    started = await dev.connect(PKCE_PROVIDER, groupName="Acme Co")
    assert started.status_code == 200, started.text
    assert started.headers["content-type"].startswith("text/plain")
    url = started.text
    params = query_of(url)
    assert url.startswith(f"{oauth.url}/authorize?")
    assert params["client_id"] == CLIENT_ID
    assert params["redirect_uri"] == CALLBACK
    assert params["scope"] == "read write"
    assert params["prompt"] == "consent"  # the catalog's extra authorization parameters
    assert params["code_challenge_method"] == "S256" and len(params["code_challenge"]) == 43
    assert len(params["state"]) >= 43

    _, page = await authorize_in_browser(url, dev.client)
    assert page.status_code == 200, page.text
    assert "Connected" in page.text and page.headers["content-type"].startswith("text/html")
    assert "code=" not in page.text and "at-" not in page.text
    assert page.headers["referrer-policy"] == "no-referrer"

    [connection] = await dev.connections()
    assert connection["status"] == "working"
    assert connection["authScheme"] == "oauth2/authorizationCodePKCE"
    assert connection["group"] == {"groupRef": "acme-co", "groupName": "Acme Co"}
    creds = await dev.connection(connection["id"], includeRefreshToken="true")
    token = creds["oauth2AuthorizationCode"]["accessToken"]["token"]
    async with httpx.AsyncClient() as http:
        resource = await http.get(
            f"{oauth.url}/resource", headers={"Authorization": f"Bearer {token}"}
        )
    assert resource.status_code == 200
    assert oauth.counters["authorization_code"] == 1


async def test_callback_replayed_with_a_used_state_stores_nothing_more(
    dev: Dev, oauth: OAuthServer
) -> None:
    await dev.add_app(PROVIDER)
    callback, first = await authorize_in_browser((await dev.connect()).text, dev.client)
    assert first.status_code == 200
    replay = await dev.client.get(callback, headers=BROWSER)
    assert replay.status_code == 400
    assert replay.headers["x-passway-error"] == "oauth_state_invalid"
    assert "already used" in replay.text
    assert len(await dev.connections()) == 1
    assert oauth.counters["authorization_code"] == 1


async def test_forged_state_is_refused_without_calling_the_token_endpoint(
    dev: Dev, oauth: OAuthServer
) -> None:
    await dev.add_app(PROVIDER)
    url = (await dev.connect()).text
    async with httpx.AsyncClient() as browser:
        at_provider = await browser.get(url)
    forged = query_of(at_provider.headers["location"])
    forged_url = f"{CALLBACK}?code={forged['code']}&state=forged-{forged['state'][:20]}"
    answer = await dev.client.get(forged_url)  # an API client: problem+json
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == "oauth_state_invalid"
    assert await dev.connections() == []
    assert oauth.token_calls == 0


async def test_expired_state_is_refused(tmp_path: Path, oauth: OAuthServer) -> None:
    async with await open_client(tmp_path, oauth, oauth_state_ttl=0.3) as client:
        project = await create_project(client, ADMIN_KEY)
        dev = Dev(client, project, (await create_api_key(client, ADMIN_KEY, project["id"]))["key"])
        await dev.add_app(PROVIDER)
        url = (await dev.connect()).text
        await asyncio.sleep(0.5)
        _, page = await authorize_in_browser(url, client)
        assert page.status_code == 400 and page.headers["x-passway-error"] == "oauth_state_invalid"
        assert await dev.connections() == []
        assert oauth.token_calls == 0


async def test_provider_error_is_shown_escaped_and_nothing_is_stored(
    dev: Dev, oauth: OAuthServer
) -> None:
    await dev.add_app(PROVIDER)
    url = (await dev.connect()).text
    oauth.deny_next_authorization = True
    callback, page = await authorize_in_browser(url, dev.client)
    assert page.status_code == 400
    assert page.headers["x-passway-error"] == "oauth_provider_error"
    assert "access_denied" in page.text
    assert "The user said &lt;no&gt;" in page.text and "<no>" not in page.text
    assert await dev.connections() == []
    # The state was spent by the error: the flow cannot be completed with it afterwards.
    state = query_of(callback)["state"]
    late = await dev.client.get(f"{CALLBACK}?code=x&state={state}")
    assert late.json()["code"] == "oauth_state_invalid"


async def test_connect_without_a_provider_app_is_a_clear_400(dev: Dev) -> None:
    answer = await dev.connect()
    assert answer.status_code == 400
    assert answer.json()["issues"][0]["name"] == "provider"
    assert "no provider app" in answer.json()["issues"][0]["detail"]


async def test_workspace_is_required_filled_and_token_metadata_captured(
    dev: Dev, oauth: OAuthServer
) -> None:
    await dev.add_app(WORKSPACE_PROVIDER)
    missing = await dev.connect(WORKSPACE_PROVIDER)
    assert missing.status_code == 400
    assert [i["name"] for i in missing.json()["issues"]] == ["providerWorkspaceRef"]

    started = await dev.connect(WORKSPACE_PROVIDER, providerWorkspaceRef="acme")
    assert started.status_code == 200, started.text
    assert query_of(started.text)["ws"] == "acme"
    _, page = await authorize_in_browser(started.text, dev.client)
    assert page.status_code == 200, page.text
    [connection] = await dev.connections()
    assert connection["providerWorkspaceRef"] == "acme-prod"  # what the token response said
    assert connection["providerConsumerRef"] == "u-1"
    assert connection["providerMetadata"]["region"] == {"value": "acme", "source": "token"}
    assert connection["providerMetadata"]["instance_url"]["source"] == "token"


async def test_success_redirects_to_the_developers_url_when_given(dev: Dev) -> None:
    await dev.add_app(PROVIDER)
    started = await dev.connect(redirectUrl="https://app.example.com/done?tab=2")
    _, answer = await authorize_in_browser(started.text, dev.client)
    assert answer.status_code == 302
    target = answer.headers["location"]
    assert target.startswith("https://app.example.com/done?")
    [connection] = await dev.connections()
    assert query_of(target) == {"tab": "2", "connectionId": connection["id"], "status": "success"}


async def test_invalid_redirect_url_is_refused(dev: Dev) -> None:
    await dev.add_app(PROVIDER)
    answer = await dev.connect(redirectUrl="javascript:alert(1)")
    assert answer.status_code == 400
    assert answer.json()["issues"][0]["name"] == "redirectUrl"


async def test_reauthorization_keeps_the_connection_id_and_makes_it_working_again(
    dev: Dev, oauth: OAuthServer
) -> None:
    await dev.add_app(PROVIDER)
    await authorize_in_browser((await dev.connect()).text, dev.client)
    [connection] = await dev.connections()
    creds = await dev.connection(connection["id"], includeRefreshToken="true")
    refresh = creds["oauth2AuthorizationCode"]["refreshToken"]["token"]
    oauth.grant_of(refresh).revoked = True
    forced = await dev.client.get(
        f"/v1/projects/{dev.project['id']}/connections/{connection['id']}",
        params={"refresh": "force"},
        headers=dev.headers,
    )
    assert forced.status_code == 424
    assert forced.json()["code"] == "connection_bad_credentials"
    assert (await dev.connection(connection["id"]))["status"] == "bad_credentials"

    update = await dev.client.patch(
        f"/v1/projects/{dev.project['id']}/connections/{connection['id']}:oauth-update",
        headers=dev.headers,
    )
    assert update.status_code == 200, update.text
    _, page = await authorize_in_browser(update.text, dev.client)
    assert page.status_code == 200
    [again] = await dev.connections()
    assert again["id"] == connection["id"] and again["status"] == "working"
    fresh = await dev.client.get(
        f"/v1/projects/{dev.project['id']}/connections/{connection['id']}",
        params={"refresh": "force"},
        headers=dev.headers,
    )
    assert fresh.status_code == 200


async def test_client_authenticates_with_basic_where_the_provider_needs_it(
    tmp_path: Path,
) -> None:
    server = OAuthServer(client_auth="basic")
    server.registered_redirects = {CALLBACK}
    await server.start()
    try:
        async with await open_client(tmp_path, server) as client:
            project = await create_project(client, ADMIN_KEY)
            key = (await create_api_key(client, ADMIN_KEY, project["id"]))["key"]
            dev = Dev(client, project, key)
            await dev.add_app(BASIC_PROVIDER)
            _, page = await authorize_in_browser((await dev.connect(BASIC_PROVIDER)).text, client)
            assert page.status_code == 200, page.text
            assert server.counters["authorization_code"] == 1  # no body attempt first
    finally:
        await server.close()


async def test_provider_app_secret_is_never_returned(dev: Dev) -> None:
    created = await dev.add_app(PROVIDER, secret="s3cret-value")
    assert "clientSecret" not in created and "s3cret-value" not in json.dumps(created)
    base = f"/v1/projects/{dev.project['id']}/provider-apps"
    listed = await dev.client.get(base, headers=dev.headers)
    assert "s3cret-value" not in listed.text and listed.json()[0]["id"] == created["id"]
    patched = await dev.client.patch(
        f"{base}/{created['id']}", json={"scopes": ["a"]}, headers=dev.headers
    )
    assert patched.json()["scopes"] == ["a"] and "s3cret-value" not in patched.text
    deleted = await dev.client.delete(f"{base}/{created['id']}", headers=dev.headers)
    assert deleted.status_code == 204
    gone = await dev.client.get(f"{base}/{created['id']}", headers=dev.headers)
    assert gone.status_code == 404


async def test_provider_app_for_a_non_oauth_or_unknown_provider_is_refused(dev: Dev) -> None:
    answer = await dev.client.post(
        f"/v1/projects/{dev.project['id']}/provider-apps",
        json={"provider": "no-such-provider", "clientId": "c", "clientSecret": "s"},
        headers=dev.headers,
    )
    assert answer.status_code == 400
    assert answer.json()["issues"][0]["name"] == "provider"


async def test_code_refused_at_the_token_endpoint_shows_the_providers_error(
    dev: Dev, oauth: OAuthServer
) -> None:
    await dev.add_app(PROVIDER)
    url = (await dev.connect()).text
    async with httpx.AsyncClient() as browser:
        callback = (await browser.get(url)).headers["location"]
        code = query_of(callback)["code"]
        stolen = await browser.post(  # someone else spent the code first
            f"{oauth.url}/token",
            data={"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK},
            auth=(CLIENT_ID, CLIENT_SECRET),
        )
    assert stolen.status_code == 400  # PKCE: without the verifier the code is refused and spent
    page = await dev.client.get(callback, headers=BROWSER)
    assert page.status_code == 400
    assert page.headers["x-passway-error"] == "oauth_provider_error"
    assert "invalid_grant" in page.text
    assert await dev.connections() == []
