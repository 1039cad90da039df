"""The connect page's HTTP side without a browser: sessions, settings, headers, CSRF, and the
local Swagger UI assets. In-process Passway (real SQLite) through httpx."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from support import catalog as tc
from support.seed import amp_yaml, create_api_key, create_project, deploy, passway_client
from support.server import ADMIN_KEY, make_settings

PUBLIC_URL = "http://passway.test"
APP_URL = "https://app.example.com/connected"


class Team:
    def __init__(self, client: httpx.AsyncClient, project: dict[str, Any], key: str) -> None:
        self.client = client
        self.project = project
        self.headers = {"X-Api-Key": key}
        self.base = f"/v1/projects/{project['name']}"

    async def session(self, **body: Any) -> httpx.Response:
        fields = {"groupRef": "acme", "consumerRef": "ann", **body}
        return await self.client.post(
            f"{self.base}/connect-sessions", json=fields, headers=self.headers
        )


@pytest.fixture
async def team(tmp_path: Path) -> AsyncIterator[Team]:
    catalog = tc.write_test_catalog(tmp_path / "catalog.json", "http://127.0.0.1:9")
    settings = make_settings(tmp_path, catalog_file=catalog, public_url=PUBLIC_URL)
    async with passway_client(settings) as client:
        project = await create_project(client, ADMIN_KEY, app_name="Acme CRM")
        key = await create_api_key(client, ADMIN_KEY, project["id"])
        yield Team(client, project, key["key"])


async def open_form(client: httpx.AsyncClient, token: str) -> tuple[str, httpx.Response]:
    """Follow the link as a browser does: the token goes into a cookie, then the form."""
    link = await client.get(f"/connect/{token}")
    assert link.status_code == 303, link.text
    path = link.headers["location"]
    assert token not in path
    return path, await client.get(path)


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert found is not None
    return found.group(1)


async def test_a_session_answers_a_single_use_link_and_keeps_only_its_hash(team: Team) -> None:
    created = await team.session(provider=tc.APIKEY_BEARER, expiresIn=120)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["url"] == f"{PUBLIC_URL}/connect/{body['token']}"
    assert body["token"].startswith("pwcs_") and len(body["token"]) > 40
    assert body["expiresAt"].endswith("Z")
    assert created.headers["cache-control"] == "no-store"
    runtime = team.client._transport.app.runtime  # type: ignore[attr-defined]
    stored = await runtime.connect_sessions.get_session(body["id"])
    assert stored.token_hash != body["token"] and body["token"] not in repr(stored)


@pytest.mark.parametrize(
    ("fields", "names"),
    [
        ({}, {"provider"}),
        ({"provider": tc.APIKEY_BEARER, "integration": "x"}, {"provider"}),
        ({"provider": "nope"}, {"provider"}),
        ({"integration": "missing"}, {"integration"}),
        ({"provider": tc.APIKEY_BEARER, "expiresIn": 5}, {"expiresIn"}),
        ({"provider": tc.APIKEY_BEARER, "redirectUrl": APP_URL}, {"redirectUrl"}),
        ({"provider": tc.OAUTH2_BEARER}, {"provider"}),  # OAuth without a provider app
        ({"provider": tc.APIKEY_BEARER, "groupRef": " "}, {"groupRef"}),
    ],
)
async def test_invalid_sessions_are_refused_with_issues(
    team: Team, fields: dict[str, Any], names: set[str]
) -> None:
    answer = await team.session(**fields)
    assert answer.status_code == 400, answer.text
    assert {issue["name"] for issue in answer.json()["issues"]} == names


async def test_redirect_urls_must_be_on_the_allowed_list(team: Team) -> None:
    put = await team.client.put(
        f"{team.base}/connect-settings",
        json={"allowedRedirectUrls": [APP_URL], "logoUrl": "https://cdn.example.com/l.png"},
        headers=team.headers,
    )
    assert put.status_code == 200, put.text
    got = await team.client.get(f"{team.base}/connect-settings", headers=team.headers)
    assert got.json()["allowedRedirectUrls"] == [APP_URL]
    ok = await team.session(provider=tc.APIKEY_BEARER, redirectUrl=APP_URL + "?tab=2")
    assert ok.status_code == 201, ok.text
    for other in (
        "https://evil.example.com/connected",
        "https://app.example.com/elsewhere",
        "http://app.example.com/connected",
        "https://app.example.com:444/connected",
    ):
        refused = await team.session(provider=tc.APIKEY_BEARER, redirectUrl=other)
        assert refused.status_code == 400, other
    bad = await team.client.put(
        f"{team.base}/connect-settings",
        json={"allowedRedirectUrls": ["javascript:alert(1)"]},
        headers=team.headers,
    )
    assert bad.status_code == 400


async def test_sessions_need_the_project_key(team: Team) -> None:
    answer = await team.client.post(
        f"{team.base}/connect-sessions",
        json={"groupRef": "g", "consumerRef": "c", "provider": tc.APIKEY_BEARER},
    )
    assert answer.status_code == 401


async def test_the_page_is_strictly_locked_down(team: Team) -> None:
    token = (await team.session(provider=tc.BASIC)).json()["token"]
    link = await team.client.get(f"/connect/{token}")
    cookie = link.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/connect/" in cookie
    _, page = await open_form(team.client, token)
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "default-src 'none'" in csp
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "<script>" not in page.text
    assert not re.search(r"\son[a-z]+=", page.text), "no inline event handlers"
    assert 'for="f-basicAuth-username"' in page.text and "Acme CRM" in page.text
    static = await team.client.get("/connect/static/connect.js")
    assert static.status_code == 200 and "postMessage" in static.text
    assert (await team.client.get("/connect/static/nope.js")).status_code == 404


async def test_a_post_without_the_pages_cookie_and_csrf_value_is_refused(team: Team) -> None:
    token = (await team.session(provider=tc.APIKEY_BEARER)).json()["token"]
    path, page = await open_form(team.client, token)
    csrf = csrf_of(page.text)
    team.client.cookies.clear()
    form = {"csrf": csrf, "apiKey": "k-1"}
    no_cookie = await team.client.post(path, data=form)
    assert no_cookie.status_code == 403
    assert (await team.client.get(path)).status_code == 403
    await open_form(team.client, token)
    wrong = await team.client.post(path, data={**form, "csrf": "0" * 64})
    assert wrong.status_code == 403
    as_json = await team.client.post(path, json=form)
    assert as_json.status_code == 403
    ok = await team.client.post(path, data=form)
    assert ok.status_code == 303, ok.text
    result = await team.client.get(ok.headers["location"])
    assert result.status_code == 200 and "Connected" in result.text
    assert "k-1" not in result.text
    reused = await team.client.get(f"/connect/{token}")
    assert reused.status_code == 410 and "already used" in reused.text
    assert (await team.client.post(path, data=form)).status_code == 410


async def test_rejected_input_is_shown_by_field_without_echoing_secrets(team: Team) -> None:
    token = (await team.session(provider=tc.TEMPLATED)).json()["token"]
    path, page = await open_form(team.client, token)
    form = {"csrf": csrf_of(page.text), "providerWorkspaceRef": "a/b", "apiKey": "sekrit-1"}
    answer = await team.client.post(path, data=form)
    assert answer.status_code == 400
    assert 'aria-invalid="true"' in answer.text and "sekrit-1" not in answer.text
    assert 'value="a/b"' in answer.text  # a non-secret value is kept for correction


async def test_integration_sessions_install_the_integration(team: Team) -> None:
    await deploy(
        team.client, team.headers["X-Api-Key"], team.project["id"], amp_yaml("crm", tc.BASIC)
    )
    token = (await team.session(integration="crm")).json()["token"]
    path, page = await open_form(team.client, token)
    form = {"csrf": csrf_of(page.text), "basicAuth.username": "ann", "basicAuth.password": "pw"}
    done = await team.client.post(path, data=form)
    assert done.status_code == 303
    installs = await team.client.get(
        f"{team.base}/integrations/crm/installations", headers=team.headers
    )
    assert installs.status_code == 200, installs.text
    [installation] = installs.json()
    assert installation["group"]["groupRef"] == "acme"
    assert installation["connection"]["authScheme"] == "basic"

    # Connecting again (a changed password) moves the installation to the new connection.
    token = (await team.session(integration="crm")).json()["token"]
    path, page = await open_form(team.client, token)
    form = {**form, "csrf": csrf_of(page.text), "basicAuth.password": "pw-2"}
    assert (await team.client.post(path, data=form)).status_code == 303
    installs = await team.client.get(
        f"{team.base}/integrations/crm/installations", headers=team.headers
    )
    [again] = installs.json()
    assert again["id"] == installation["id"]
    assert again["connection"]["id"] != installation["connection"]["id"]


async def test_docs_are_served_without_a_cdn(team: Team) -> None:
    docs = await team.client.get("/docs")
    assert docs.status_code == 200
    assert "cdn" not in docs.text.lower() and "/docs/static/swagger-ui-bundle.js" in docs.text
    asset = await team.client.get("/docs/static/swagger-ui-bundle.js")
    assert asset.status_code == 200 and len(asset.content) > 100_000
