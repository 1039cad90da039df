"""The hosted connect page in a real browser (the system's Chromium through Playwright).

Everything is real and on loopback: Passway served by uvicorn on a socket, a recording upstream
(the provider's API), an OAuth authorization server with a token endpoint, and the team's own web
app (another origin) that opens the page as a popup. Each connect ends with a proxied call that
the upstream answers. Screenshots of every screen land in ``tests/artifacts/connect/``.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import pytest_asyncio
import uvicorn
from aiohttp import web

from support import catalog as tc
from support.browser import DESKTOP, Screens, launch_chromium, require_browser
from support.oauth_server import CLIENT_ID, CLIENT_SECRET, WORKSPACE_PROVIDER, OAuthServer
from support.oauth_server import oauth_provider_entries as oauth_entries
from support.seed import amp_yaml, create_api_key, create_project, deploy
from support.server import ADMIN_KEY, free_port, make_settings
from support.upstream import RecordingUpstream

require_browser()

from playwright.async_api import Browser, Page, async_playwright  # noqa: E402

pytestmark = pytest.mark.asyncio(loop_scope="module")

TEAM_APP = "Northwind CRM"
INTEGRATIONS = {
    "keys": tc.APIKEY_BEARER,
    "basic": tc.BASIC,
    "custom": tc.CUSTOM,
    "workspace": WORKSPACE_PROVIDER,
}


# ---------------------------------------------------------------------------- the team's app
_OPENER_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Team app</title></head>
<body data-url="{url}"><h1>Team app</h1><button id="open">Connect your account</button>
<script>
window.messages = [];
window.addEventListener("message", function (event) {{
  window.messages.push({{origin: event.origin, data: event.data}});
}});
document.getElementById("open").addEventListener("click", function () {{
  window.open(document.body.dataset.url, "passway-connect", "popup,width=480,height=760");
}});
</script></body></html>
"""


_LOGO = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 40 40">'
    b'<rect width="40" height="40" rx="8" fill="#0f766e"/>'
    b'<path d="M11 29V11h4l10 12V11h4v18h-4L15 17v12z" fill="#fff"/></svg>'
)


@contextlib.asynccontextmanager
async def team_app() -> AsyncIterator[str]:
    """The team's web app at ``http://localhost:<port>`` (an origin other than Passway's)."""

    async def opener(request: web.Request) -> web.Response:
        page = _OPENER_PAGE.format(url=html.escape(request.query["url"]))
        return web.Response(text=page, content_type="text/html")

    async def logo(request: web.Request) -> web.Response:
        return web.Response(body=_LOGO, content_type="image/svg+xml")

    async def connected(request: web.Request) -> web.Response:
        return web.Response(text="<h1>Back in the team app</h1>", content_type="text/html")

    app = web.Application()
    app.router.add_get("/app", opener)
    app.router.add_get("/connected", connected)
    app.router.add_get("/logo.svg", logo)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://localhost:{port}"
    finally:
        await runner.cleanup()


# ------------------------------------------------------------------------------ the world
@dataclass
class World:
    passway: str
    app: Any
    client: httpx.AsyncClient
    upstream: RecordingUpstream
    oauth: OAuthServer
    team_url: str
    browser: Browser
    project: dict[str, Any]
    key: str
    screens: Screens

    @property
    def headers(self) -> dict[str, str]:
        return {"X-Api-Key": self.key}

    async def session(self, integration: str, **fields: Any) -> dict[str, Any]:
        body = {"integration": integration, "groupRef": "acme", "consumerRef": "ann", **fields}
        answer = await self.client.post(
            f"/v1/projects/{self.project['id']}/connect-sessions", json=body, headers=self.headers
        )
        assert answer.status_code == 201, answer.text
        created: dict[str, Any] = answer.json()
        return created

    async def installation_id(self, integration: str, group_ref: str = "acme") -> str:
        listed = await self.client.get(
            f"/v1/projects/{self.project['id']}/integrations/{integration}/installations",
            headers=self.headers,
        )
        assert listed.status_code == 200, listed.text
        [found] = [i for i in listed.json() if i["group"]["groupRef"] == group_ref]
        return str(found["id"])

    async def proxy(self, installation_id: str, path: str = "/v1/contacts") -> httpx.Response:
        return await self.client.get(
            path,
            headers={
                "x-amp-proxy-version": "1",
                "x-amp-project-id": self.project["id"],
                "x-api-key": self.key,
                "x-amp-installation-id": installation_id,
            },
        )

    async def new_page(self, **options: Any) -> Page:
        context = await self.browser.new_context(viewport=DESKTOP, **options)
        return await context.new_page()


@contextlib.asynccontextmanager
async def serve_on(settings: Any, port: int) -> AsyncIterator[Any]:
    from passway.bootstrap import create_app

    app = create_app(settings)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, lifespan="on", log_level="warning", ws="none"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        yield app
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=10)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    tmp = tmp_path_factory.mktemp("connect")
    port = free_port()
    passway = f"http://127.0.0.1:{port}"
    oauth = OAuthServer()
    oauth.registered_redirects = {f"{passway}/callbacks/v1/oauth"}
    await oauth.start()
    async with (
        RecordingUpstream() as upstream,
        team_app() as team_url,
        async_playwright() as playwright,
    ):
        entries = tc.catalog_providers(upstream.url) + oauth_entries(oauth.url)
        for entry in entries:
            if entry["name"] == WORKSPACE_PROVIDER:
                entry["displayName"] = "Acme Cloud"
        catalog = tmp / "catalog.json"
        catalog.write_text(json.dumps({"providers": entries}))
        settings = make_settings(tmp, catalog_file=catalog, public_url=passway)
        browser = await launch_chromium(playwright)
        async with (
            serve_on(settings, port) as app,
            httpx.AsyncClient(base_url=passway, timeout=30) as client,
        ):
            project = await create_project(client, ADMIN_KEY, app_name=TEAM_APP)
            key = (await create_api_key(client, ADMIN_KEY, project["id"]))["key"]
            await deploy(client, key, project["id"], _amp(INTEGRATIONS))
            apps = await client.post(
                f"/v1/projects/{project['id']}/provider-apps",
                json={
                    "provider": WORKSPACE_PROVIDER,
                    "clientId": CLIENT_ID,
                    "clientSecret": CLIENT_SECRET,
                    "scopes": ["read"],
                },
                headers={"X-Api-Key": key},
            )
            assert apps.status_code == 201, apps.text
            put = await client.put(
                f"/v1/projects/{project['id']}/connect-settings",
                json={
                    "allowedRedirectUrls": [f"{team_url}/connected"],
                    "logoUrl": f"{team_url}/logo.svg",
                },
                headers={"X-Api-Key": key},
            )
            assert put.status_code == 200, put.text
            yield World(
                passway, app, client, upstream, oauth, team_url, browser, project, key, Screens()
            )
        await browser.close()
    await oauth.close()


def _amp(integrations: dict[str, str]) -> str:
    blocks = [amp_yaml(name, provider).split("integrations:\n", 1)[1] for name, provider in
              integrations.items()]  # fmt: skip
    return "specVersion: 1.0.0\nintegrations:\n" + "".join(blocks)


# ---------------------------------------------------------------------------------- tests
async def test_api_key_connect_ends_in_a_working_proxied_call(world: World) -> None:
    session = await world.session("keys", groupName="Acme Inc")
    page = await world.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    await page.goto(session["url"])
    # The token moved into a cookie: it is no longer in the address bar.
    assert page.url == f"{world.passway}/connect/s/{session['id']}"
    assert await page.title() == f"Connect Test Apikey Bearer · {TEAM_APP}"
    assert await page.get_by_text(TEAM_APP).first.is_visible()
    logo = page.get_by_role("img", name=f"{TEAM_APP} logo")
    assert await logo.evaluate("img => img.complete && img.naturalWidth > 0")
    await world.screens.shoot(page, "apikey-form")
    field = page.get_by_label("API key")
    assert await field.get_attribute("type") == "password"
    # Keyboard only: tab into the field, type, press Enter.
    await page.keyboard.press("Tab")
    focused = await page.evaluate(
        "() => [document.activeElement.id, getComputedStyle(document.activeElement).outlineStyle]"
    )
    assert focused == ["f-apiKey", "solid"], "the first Tab reaches the field, focus is visible"
    await page.keyboard.type("key-from-the-customer")
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{world.passway}/connect/result/*")
    await page.get_by_role("heading", name="Connected").wait_for()
    assert "key-from-the-customer" not in await page.content()
    assert "key-from-the-customer" not in page.url
    await world.screens.shoot(page, "apikey-done")
    # Nothing but Passway itself and the team's logo was loaded: no CDN, no third party.
    others = [u for u in requested if not u.startswith(world.passway + "/")]
    assert others == [f"{world.team_url}/logo.svg"] * len(others) and others, requested

    answer = await world.proxy(await world.installation_id("keys"))
    assert answer.status_code == 200, answer.text
    seen = world.upstream.requests[-1]
    assert seen.header("authorization") == "Bearer key-from-the-customer"
    await page.context.close()


async def test_basic_auth_with_a_rejected_first_try(world: World) -> None:
    session = await world.session("basic", groupRef="globex")
    page = await world.new_page()
    await page.goto(session["url"])
    await page.get_by_label("Username").fill("ann")
    # The password left empty: the browser's own check is bypassed to see the server's answer.
    await page.locator("form").evaluate("form => form.setAttribute('novalidate', '')")
    await page.get_by_role("button", name="Connect").click()
    alert = page.get_by_role("alert")
    await alert.wait_for()
    assert "Password: Required." in await alert.inner_text()
    assert await page.get_by_label("Username").input_value() == "ann"
    assert await page.get_by_label("Password").get_attribute("aria-invalid") == "true"
    await world.screens.shoot(page, "basic-rejected")
    await page.get_by_label("Password").fill("open sesame")
    await page.get_by_role("button", name="Connect").click()
    await page.get_by_role("heading", name="Connected").wait_for()

    answer = await world.proxy(await world.installation_id("basic", "globex"))
    assert answer.status_code == 200, answer.text
    assert world.upstream.requests[-1].header("authorization") == "Basic YW5uOm9wZW4gc2VzYW1l"
    await page.context.close()


async def test_oauth_with_a_workspace_goes_to_the_provider_and_back(world: World) -> None:
    session = await world.session("workspace", groupRef="initech")
    page = await world.new_page()
    await page.goto(session["url"])
    await world.screens.shoot(page, "oauth-form")
    workspace = page.get_by_label("Acme Cloud workspace")
    await workspace.fill("bad/value")
    await page.get_by_role("button", name="Continue to Acme Cloud").click()
    await page.get_by_role("alert").wait_for()
    assert "Acme Cloud workspace" in await page.get_by_role("alert").inner_text()
    await world.screens.shoot(page, "oauth-rejected-workspace")
    await page.get_by_label("Acme Cloud workspace").fill("initech")
    before = world.oauth.counters["authorization_code"]
    await page.get_by_role("button", name="Continue to Acme Cloud").click()
    await page.get_by_role("heading", name="Connected").wait_for()
    assert world.oauth.counters["authorization_code"] == before + 1
    assert "code=" not in page.url and "state=" not in page.url
    await world.screens.shoot(page, "oauth-done")

    calls = world.oauth.resource_calls
    answer = await world.proxy(await world.installation_id("workspace", "initech"))
    assert answer.status_code == 200, answer.text
    assert world.oauth.resource_calls == calls + 1
    await page.context.close()


async def test_provider_denial_is_explained_and_can_be_retried(world: World) -> None:
    session = await world.session("workspace", groupRef="umbrella")
    page = await world.new_page()
    await page.goto(session["url"])
    await page.get_by_label("Acme Cloud workspace").fill("umbrella")
    world.oauth.deny_next_authorization = True
    await page.get_by_role("button", name="Continue to Acme Cloud").click()
    await page.get_by_role("heading", name="Not connected").wait_for()
    text = await page.locator("main").inner_text()
    assert "Access was not granted on Acme Cloud" in text
    assert "<no>" not in text  # the provider's own text is not reflected
    await world.screens.shoot(page, "oauth-denied")
    await page.get_by_role("link", name="Try again").click()
    await page.get_by_label("Acme Cloud workspace").fill("umbrella")
    await page.get_by_role("button", name="Continue to Acme Cloud").click()
    await page.get_by_role("heading", name="Connected").wait_for()
    answer = await world.proxy(await world.installation_id("workspace", "umbrella"))
    assert answer.status_code == 200, answer.text
    await page.context.close()


async def test_expired_and_reused_links_show_a_clear_page(world: World) -> None:
    from passway.store.connect_sessions import connect_sessions

    used = await world.session("keys", groupRef="hooli")
    page = await world.new_page()
    await page.goto(used["url"])
    await page.get_by_label("API key").fill("k-hooli")
    await page.get_by_role("button", name="Connect").click()
    await page.get_by_role("heading", name="Connected").wait_for()
    again = await page.goto(used["url"])
    assert again is not None and again.status == 410
    await page.get_by_role("heading", name="This link was already used").wait_for()
    await world.screens.shoot(page, "reused")

    expired = await world.session("keys", groupRef="pied-piper")
    engine = world.app.runtime.store.engine
    past = datetime.now(UTC) - timedelta(seconds=1)
    async with engine.begin() as conn:
        await conn.execute(
            connect_sessions.update()
            .where(connect_sessions.c.id == expired["id"])
            .values(expires_at=past)
        )
    answer = await page.goto(expired["url"])
    assert answer is not None and answer.status == 410
    await page.get_by_role("heading", name="This link has expired").wait_for()
    await world.screens.shoot(page, "expired")
    await page.context.close()


async def test_popup_posts_to_its_opener_and_redirects(world: World) -> None:
    redirect = f"{world.team_url}/connected"
    session = await world.session("custom", groupRef="stark", redirectUrl=redirect)
    page = await world.new_page()
    await page.goto(f"{world.team_url}/app?url={session['url']}")
    async with page.expect_popup() as popup_info:
        await page.get_by_role("button", name="Connect your account").click()
    popup = await popup_info.value
    await popup.wait_for_load_state()
    await popup.get_by_label("Token").fill("tok-1")
    await popup.get_by_label("Account").fill("stark-industries")
    await world.screens.shoot(popup, "custom-form")
    await popup.get_by_role("button", name="Connect").click()
    await popup.wait_for_url(f"{redirect}?*")
    query = parse_qs(urlsplit(popup.url).query)
    assert query["status"] == ["success"]
    await page.wait_for_function("window.messages.length > 0")
    [message] = await page.evaluate("window.messages")
    assert message["origin"] == world.passway
    data = message["data"]
    assert data["type"] == "passway:connect" and data["status"] == "success"
    assert data["connectionId"] == query["connectionId"][0]
    assert data["installationId"] == query["installationId"][0]
    assert "tok-1" not in json.dumps(data)

    answer = await world.proxy(data["installationId"], "/v1/things?z=1")
    assert answer.status_code == 200, answer.text
    seen = world.upstream.requests[-1]
    assert seen.header("x-custom-token") == "tok-1"
    assert seen.query == "z=1&account=stark-industries"
    await page.context.close()


async def test_the_page_works_without_script(world: World) -> None:
    session = await world.session("keys", groupRef="no-js")
    page = await world.new_page(java_script_enabled=False)
    await page.goto(session["url"])
    await page.get_by_label("API key").fill("k-nojs")
    await page.get_by_role("button", name="Connect").click()
    await page.get_by_role("heading", name="Connected").wait_for()
    await page.context.close()


async def test_docs_render_from_local_assets_only(world: World) -> None:
    page = await world.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    await page.goto(f"{world.passway}/docs")
    await page.locator(".swagger-ui .info .title").wait_for()
    assert "Passway" in await page.locator(".swagger-ui .info .title").inner_text()
    await world.screens.shoot(page, "docs", phone=False)
    assert requested and all(url.startswith(world.passway + "/") for url in requested), requested
    await page.context.close()
