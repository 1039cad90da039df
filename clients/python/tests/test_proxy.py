"""Proxy clients against a served Passway and a loopback provider: code written for the provider's
API only swaps the base URL; the provider's errors come back as responses, Passway's are raised."""

from __future__ import annotations

import json

import pytest
from aiohttp import web

from client_world import Fresh
from passway_client import (
    AsyncPassway,
    AuthenticationError,
    NotFoundError,
    Passway,
    async_proxy_client,
    proxy_client,
)
from support import catalog as tc
from support.upstream import json_handler


def test_proxy_by_integration_and_group_ref_reaches_the_provider_with_its_credentials(
    fresh: Fresh,
) -> None:
    fresh.install(tc.APIKEY_BEARER, {"apiKey": "provider-secret"})
    with fresh.passway.proxy(integration="crm", group_ref="customer-42") as crm:
        response = crm.put("/v2/accounts/7?fields=name", json={"name": "Acme"})
    assert response.status_code == 200
    seen = fresh.upstream.requests[-1]
    assert (seen.method, seen.raw_path, seen.query) == ("PUT", "/v2/accounts/7", "fields=name")
    assert seen.header("authorization") == "Bearer provider-secret"
    assert json.loads(seen.body) == {"name": "Acme"}
    # Passway's own headers stop at Passway.
    assert not {"x-api-key", "x-amp-project-id", "x-amp-proxy-version"} & seen.header_names()


def test_proxy_by_installation_id_with_the_module_function(fresh: Fresh) -> None:
    _, installation = fresh.install(tc.BASIC, {"basicAuth": {"username": "u", "password": "p"}})
    with proxy_client(
        fresh.url,
        fresh.api_key,
        fresh.project["id"],
        installation_id=installation["id"],
        timeout_seconds=20,
    ) as client:
        assert client.get("/ping").status_code == 200
    assert fresh.upstream.requests[-1].header("authorization") == "Basic dTpw"


async def test_async_proxy_client_streams_the_provider_answer(fresh: Fresh) -> None:
    fresh.install(tc.APIKEY_NO_PREFIX, {"apiKey": "k-1"})
    async with (
        AsyncPassway(fresh.url, fresh.api_key, project=fresh.project["name"]) as passway,
        passway.proxy(integration="crm", group_ref="customer-42") as crm,
        crm.stream("GET", "/items") as response,
    ):
        body = await response.aread()
    assert response.status_code == 200
    assert json.loads(body)["path"] == "/items"
    assert fresh.upstream.requests[-1].header("x-api-token") == "k-1"


def test_provider_errors_are_returned_not_raised(fresh: Fresh) -> None:
    fresh.install(tc.APIKEY_BEARER, {"apiKey": "k"})
    fresh.upstream.set_handler(
        "GET", "/missing-thing", json_handler({"error": "no such thing"}, status=404)
    )
    with fresh.passway.proxy(integration="crm", group_ref="customer-42") as crm:
        response = crm.get("/missing-thing")
    assert response.status_code == 404
    assert response.json() == {"error": "no such thing"}
    assert "x-passway-error" not in response.headers


def test_passway_errors_on_proxy_calls_are_raised_with_the_problem_fields(fresh: Fresh) -> None:
    fresh.install(tc.APIKEY_BEARER, {"apiKey": "k"})
    with (
        fresh.passway.proxy(integration="crm", group_ref="nobody") as crm,
        pytest.raises(NotFoundError) as raised,
    ):
        crm.get("/anything")
    error = raised.value
    assert (error.status, error.code) == (404, "installation_not_found")
    assert error.request_id and error.title and error.detail
    assert error.retryable is False

    with (
        Passway(fresh.url, "pw_not-a-real-key", project=fresh.project["id"]) as stranger,
        stranger.proxy(integration="crm", group_ref="customer-42") as crm,
        pytest.raises(AuthenticationError) as denied,
    ):
        crm.get("/anything")
    assert denied.value.code == "unauthenticated"


def test_passway_errors_can_be_returned_as_responses_instead(fresh: Fresh) -> None:
    with fresh.passway.proxy(
        integration="none", group_ref="nobody", raise_passway_errors=False
    ) as crm:
        response = crm.get("/anything")
    assert response.status_code == 404
    assert response.headers["x-passway-error"] == "installation_not_found"


async def test_async_proxy_raises_passway_errors(fresh: Fresh) -> None:
    async with async_proxy_client(
        fresh.url, fresh.api_key, fresh.project["id"], integration="none", group_ref="g"
    ) as client:
        with pytest.raises(NotFoundError):
            await client.get("/x")


def test_the_key_never_shows_in_a_repr(fresh: Fresh) -> None:
    with fresh.passway.proxy(integration="crm", group_ref="customer-42") as crm:
        shown = " ".join(
            repr(x) for x in (fresh.passway, crm, crm.headers, crm.auth, crm._auth, vars(crm))
        )
    assert fresh.api_key not in shown
    assert fresh.api_key not in repr(fresh.passway) + str(vars(fresh.passway.connections))


def test_a_provider_answering_a_redirect_is_relayed_not_followed(fresh: Fresh) -> None:
    fresh.install(tc.APIKEY_BEARER, {"apiKey": "k"})

    async def moved(request: web.Request) -> web.StreamResponse:
        return web.Response(status=302, headers={"Location": "https://elsewhere.example/"})

    fresh.upstream.set_handler("GET", "/moved", moved)
    with fresh.passway.proxy(integration="crm", group_ref="customer-42") as crm:
        response = crm.get("/moved")
    assert response.status_code == 302
    assert response.headers["location"] == "https://elsewhere.example/"
