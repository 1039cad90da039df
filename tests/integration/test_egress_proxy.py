"""The egress guard through the running proxy: a provider on a blocked address gets a 403
``egress_denied`` problem naming the reason and no connection; a listed address is reached."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from passway.problems import CONTENT_TYPE
from support.counting_server import CountingServer
from support.seed import seed_proxy_setup
from support.server import ADMIN_KEY, make_settings, serve_passway

SECRET = "k-egress-secret"


def _provider(name: str, base_url: str) -> dict[str, Any]:
    return {
        "name": name,
        "authType": "apiKey",
        "baseURL": base_url,
        "apiKeyAttachment": "header",
        "apiKeyHeaderName": "Authorization",
        "apiKeyHeaderValuePrefix": "Bearer ",
        "support": {"proxy": True},
    }


@contextlib.asynccontextmanager
async def _passway(
    tmp_path: Path, upstream_port: int, allow: tuple[str, ...]
) -> AsyncIterator[httpx.AsyncClient]:
    providers = [
        _provider("egress-loopback", f"http://127.0.0.1:{upstream_port}/api"),
        _provider("egress-localhost", f"http://localhost:{upstream_port}/api"),
        _provider("egress-metadata", "http://169.254.169.254/latest"),
        _provider("egress-private", "http://10.255.255.1:9/x"),
        _provider("egress-unspecified", f"http://0.0.0.0:{upstream_port}/api"),
    ]
    catalog_file = tmp_path / "catalog.json"
    catalog_file.write_text(json.dumps({"providers": providers}), encoding="utf-8")
    settings = make_settings(tmp_path, catalog_file=catalog_file, egress_allow=allow)
    async with (
        serve_passway(settings) as served,
        httpx.AsyncClient(base_url=served.url, timeout=30) as client,
    ):
        yield client


async def _call(client: httpx.AsyncClient, provider: str) -> httpx.Response:
    setup = await seed_proxy_setup(
        client, ADMIN_KEY, provider=provider, credential={"apiKey": SECRET}
    )
    return await client.get("/v1/things", headers=setup.proxy_headers())


@pytest.mark.parametrize(
    ("provider", "reason"),
    [
        ("egress-loopback", "loopback address"),
        ("egress-localhost", "loopback address"),
        ("egress-metadata", "cloud metadata address"),
        ("egress-private", "private address"),
        ("egress-unspecified", "unspecified address"),
    ],
)
async def test_blocked_targets_get_a_problem_naming_the_reason_and_no_connection(
    tmp_path: Path, provider: str, reason: str
) -> None:
    async with (
        CountingServer() as upstream,
        _passway(tmp_path, upstream.port, allow=()) as client,
    ):
        response = await _call(client, provider)
    assert response.status_code == 403
    assert response.headers["content-type"].startswith(CONTENT_TYPE)
    assert response.headers["x-passway-error"] == "egress_denied"
    problem = response.json()
    assert reason in problem["detail"]
    assert problem["context"]["reason"] == reason
    assert SECRET not in response.text
    assert upstream.connections == 0


@pytest.mark.parametrize(
    ("allow", "provider"),
    [
        (("127.0.0.1",), "egress-loopback"),
        (("127.0.0.0/8",), "egress-loopback"),
        (("localhost",), "egress-localhost"),
    ],
)
async def test_listed_targets_are_proxied(
    tmp_path: Path, allow: tuple[str, ...], provider: str
) -> None:
    async with (
        CountingServer() as upstream,
        _passway(tmp_path, upstream.port, allow=allow) as client,
    ):
        response = await _call(client, provider)
    assert response.status_code == 200, response.text
    assert response.text == "ok"
    assert upstream.connections == 1
    assert upstream.requests[0].startswith(b"GET /api/v1/things HTTP/1.1")


async def test_allowing_loopback_does_not_open_the_metadata_address(tmp_path: Path) -> None:
    async with (
        CountingServer() as upstream,
        _passway(tmp_path, upstream.port, allow=("127.0.0.1", "::1")) as client,
    ):
        response = await _call(client, "egress-metadata")
    assert response.status_code == 403
    assert response.json()["context"]["reason"] == "cloud metadata address"
