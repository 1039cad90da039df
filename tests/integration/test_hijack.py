"""Targets that cannot be hijacked, end to end: hostile request targets and hostile template values
sent through a running Passway never reach another host, and the credential goes nowhere else.

Two loopback upstreams record every request: the provider's, and an "evil" one that a successful
hijack would reach (loopback is allowed through the egress guard here, so only the target rules
stand between a hostile value and the evil server). Requests are written as raw bytes on a socket,
so the request target arrives exactly as written (no client-side normalisation).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
import pytest_asyncio

from support import catalog as tc
from support.seed import SeededSetup, seed_proxy_setup
from support.server import (
    ADMIN_KEY,
    FRONT_DOORS,
    make_settings,
    serve_front_door,
    serve_passway,
)
from support.upstream import RecordingUpstream

pytestmark = pytest.mark.asyncio(loop_scope="module")

SECRET = "k-hijack-secret"
LABEL = "test-hijack-label"  # https://{{.workspace}}.hijack.example/api
HOST = "test-hijack-host"  # https://{{.workspace}}/api
ORIGIN = "test-hijack-origin"  # {{.base}}/api


@dataclass
class World:
    upstream: RecordingUpstream
    evil: RecordingUpstream
    url: str
    app: Any
    client: httpx.AsyncClient  # the main port: seeding and management calls
    proxy_url: str  # where proxy calls go: the main port, or the proxy listener's
    proxy_client: httpx.AsyncClient

    @property
    def evil_authority(self) -> str:
        return f"127.0.0.1:{self.evil.port}"


def _extra_providers() -> list[dict[str, Any]]:
    def api_key(name: str, base_url: str, variable: str) -> dict[str, Any]:
        return {
            "name": name,
            "authType": "apiKey",
            "baseURL": base_url,
            "apiKeyAttachment": "header",
            "apiKeyHeaderName": "Authorization",
            "apiKeyHeaderValuePrefix": "Bearer ",
            "metadataInputs": [{"name": variable}],
            "support": {"proxy": True},
        }

    return [
        api_key(LABEL, "https://{{.workspace}}.hijack.example/api", "workspace"),
        api_key(HOST, "https://{{.workspace}}/api", "workspace"),
        api_key(ORIGIN, "{{.base}}/api", "base"),
    ]


@pytest_asyncio.fixture(loop_scope="module", scope="module", params=FRONT_DOORS)
async def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[World]:
    """Passway with proxy calls going through each front door: uvicorn, then Passway's own."""
    tmp_path: Path = tmp_path_factory.mktemp("hijack")
    async with RecordingUpstream() as upstream, RecordingUpstream() as evil:
        providers = tc.catalog_providers(upstream.url) + _extra_providers()
        catalog_file = tmp_path / "catalog.json"
        catalog_file.write_text(json.dumps({"providers": providers}), encoding="utf-8")
        settings = make_settings(tmp_path, catalog_file=catalog_file)
        serving = serve_passway if request.param == "uvicorn" else serve_front_door
        async with (
            serving(settings) as served,
            httpx.AsyncClient(base_url=served.url, timeout=30) as client,
        ):
            yield World(upstream, evil, served.url, served.app, client, served.url, client)
        assert evil.requests == [], "the evil upstream was reached"


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def base_path_setup(world: World) -> SeededSetup:
    return await seed_proxy_setup(
        world.client, ADMIN_KEY, provider=tc.BASE_PATH, credential={"apiKey": SECRET}
    )


async def raw_call(world: World, target: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    """Send one request with ``target`` written verbatim; answer (status, body)."""
    host, port = world.proxy_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    lines = [b"GET " + target + b" HTTP/1.1", f"Host: {host}:{port}".encode()]
    lines += [f"{k}: {v}".encode() for k, v in headers.items()]
    lines += [b"Connection: close", b"", b""]
    writer.write(b"\r\n".join(lines))
    await writer.drain()
    response = await asyncio.wait_for(reader.read(), timeout=30)
    writer.close()
    await writer.wait_closed()
    if not response:
        return 0, b""  # the server closed without answering: nothing was relayed either
    head, _, body = response.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def _hostile_targets(evil: str) -> list[bytes]:
    e = evil.encode()
    return [
        b"//" + e + b"/steal",
        b"///" + e + b"/steal",
        b"http://" + e + b"/steal",
        b"https://" + e + b"/steal",
        b"/@" + e + b"/steal",
        b"/x@" + e,
        b"/..",
        b"/../../steal",
        b"/base/../../steal",
        b"/%2e%2e/%2e%2e/steal",
        b"/%2E%2E%2F%2E%2E%2Fsteal",
        b"/.%2e/steal",
        b"/a%2f..%2f..%2fsteal",
        b"/a%5c..%5c..%5csteal",
        b"/\\\\" + e + b"/steal",
        b"/a\\..\\..\\steal",
        b"/steal%0d%0aHost:%20" + e,
        b"/steal%00",
        b"/steal#@" + e,
        b"/steal?next=http://" + e + b"/&url=//" + e,
        b"/%2f%2f" + e + b"/steal",
        b"/;@" + e + b"/steal",
        b"/steal%23@" + e,
    ]


@pytest.mark.parametrize("index", range(23))
async def test_hostile_request_targets_never_leave_the_provider_base_path(
    world: World, base_path_setup: SeededSetup, index: int
) -> None:
    target = _hostile_targets(world.evil_authority)[index]
    before = len(world.upstream.requests)
    status, body = await raw_call(world, target, base_path_setup.proxy_headers())
    arrived = world.upstream.requests[before:]
    assert world.evil.requests == []
    if status == 200:
        [seen] = arrived
        assert seen.raw_path.startswith("/base/v1/"), seen.raw_path
        segments = re.split(r"/|\\|%2f|%5c", seen.raw_path, flags=re.IGNORECASE)
        assert not {".", ".."} & {unquote(segment) for segment in segments}, seen.raw_path
        assert seen.header("host") == f"127.0.0.1:{world.upstream.port}"
        assert seen.header("authorization") == f"Bearer {SECRET}"
    else:
        assert 400 <= status < 500 or status == 0, (status, body)
        assert arrived == []
        assert SECRET.encode() not in body


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Forwarded-Host": "EVIL"},
        {"Forwarded": "host=EVIL"},
        {"X-Original-URL": "http://EVIL/steal"},
        {"X-Rewrite-URL": "//EVIL/steal"},
    ],
)
async def test_client_headers_never_choose_the_target(
    world: World, base_path_setup: SeededSetup, headers: dict[str, str]
) -> None:
    hostile = {k: v.replace("EVIL", world.evil_authority) for k, v in headers.items()}
    before = len(world.upstream.requests)
    status, _ = await raw_call(world, b"/ok", {**base_path_setup.proxy_headers(), **hostile})
    assert status == 200
    [seen] = world.upstream.requests[before:]
    assert seen.raw_path == "/base/v1/ok"
    assert world.evil.requests == []


async def test_a_spoofed_host_header_does_not_move_the_target(
    world: World, base_path_setup: SeededSetup
) -> None:
    before = len(world.upstream.requests)
    response = await world.proxy_client.get(
        "/ok", headers={**base_path_setup.proxy_headers(), "host": world.evil_authority}
    )
    assert response.status_code == 200
    assert world.upstream.requests[before].header("host") == f"127.0.0.1:{world.upstream.port}"
    assert world.evil.requests == []


HOSTILE_VALUES = [
    (LABEL, "workspace", "evil.test/"),
    (LABEL, "workspace", "a@b"),
    (LABEL, "workspace", "x.evil.test#"),
    (LABEL, "workspace", "acme:8443"),
    (LABEL, "workspace", "127.0.0.1"),
    (HOST, "workspace", "EVIL"),
    (HOST, "workspace", "localhost"),
    (HOST, "workspace", "evil.test/x"),
    (ORIGIN, "base", "http://EVIL"),
    (ORIGIN, "base", "https://EVIL"),
    (ORIGIN, "base", "https://evil.test@EVIL"),
    (tc.TEMPLATED, "workspace", "../../steal"),
    (tc.TEMPLATED, "workspace", "a/b"),
    (tc.TEMPLATED, "workspace", "%2e%2e"),
    (tc.TEMPLATED, "workspace", "a?x=1"),
    (tc.TEMPLATED, "workspace", "a#b"),
]


@pytest.mark.parametrize(("provider", "variable", "value"), HOSTILE_VALUES)
async def test_hostile_template_values_are_refused_at_connection_creation(
    world: World, provider: str, variable: str, value: str
) -> None:
    value = value.replace("EVIL", world.evil_authority)
    placement: dict[str, Any] = (
        {"provider_workspace_ref": value}
        if variable == "workspace"
        else {"provider_metadata": {variable: value}}
    )
    with pytest.raises(AssertionError) as caught:
        await seed_proxy_setup(
            world.client,
            ADMIN_KEY,
            provider=provider,
            credential={"apiKey": SECRET},
            **placement,
        )
    message = str(caught.value)
    assert "connections:generate answered 4" in message, message
    expected = "providerWorkspaceRef" if variable == "workspace" else f"providerMetadata.{variable}"
    assert expected in message
    assert world.evil.requests == []


@pytest.mark.parametrize(("provider", "variable", "value"), HOSTILE_VALUES)
async def test_hostile_template_values_that_reach_the_store_are_refused_at_render_time(
    world: World, provider: str, variable: str, value: str
) -> None:
    """A value that got into the store another way (token capture, an old row) is caught again
    when the URL is rendered: the call is answered with a problem and sent nowhere."""
    value = value.replace("EVIL", world.evil_authority)
    good = {ORIGIN: "https://acme.hijack.example", HOST: "acme.hijack.example"}.get(
        provider, "acme"
    )
    placement: dict[str, Any] = (
        {"provider_workspace_ref": good}
        if variable == "workspace"
        else {"provider_metadata": {variable: good}}
    )
    setup = await seed_proxy_setup(
        world.client, ADMIN_KEY, provider=provider, credential={"apiKey": SECRET}, **placement
    )
    store = world.app.runtime.store
    stored = await store.get_connection(setup.project_id, setup.connection_id)
    if variable == "workspace":
        hostile = dataclasses.replace(stored, provider_workspace_ref=value)
    else:
        from passway.records import MetadataValue

        hostile = dataclasses.replace(
            stored, provider_metadata={variable: MetadataValue(value, "token")}
        )
    await store.update_connection(hostile, expected_version=stored.version)
    before = len(world.upstream.requests)
    response = await world.proxy_client.get("/steal", headers=setup.proxy_headers())
    assert response.status_code in (400, 422), response.text
    assert response.headers["x-passway-error"] in ("invalid_target", "template_variable_missing")
    assert variable in response.json()["detail"]
    assert SECRET not in response.text
    assert world.upstream.requests[before:] == []
    assert world.evil.requests == []
