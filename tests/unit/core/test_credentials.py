"""Credential placement per auth type, and the query rewriting that keeps client parameters."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import pytest

from passway.catalog import Provider, load_catalog, parse_provider
from passway.core.credentials import (
    credential_header_names,
    place_credentials,
    set_query_params,
)
from passway.errors import ConnectionNeedsReauthorization, TemplateVariableMissing
from passway.records import Connection, Credentials, OAuthToken
from support import catalog as tc

NOW = datetime(2025, 3, 6, 22, 0, tzinfo=UTC)
PROVIDERS = {p["name"]: parse_provider(p) for p in tc.catalog_providers("http://127.0.0.1:9")}


def connection(provider: str, **creds: Any) -> Connection:
    return Connection(
        id="conn-1",
        project_id="proj-1",
        provider=provider,
        group_ref="g1",
        group_name=None,
        consumer_ref="c1",
        consumer_name=None,
        provider_workspace_ref=None,
        provider_consumer_ref=None,
        provider_metadata={},
        auth_scheme="apiKey",
        status="working",
        credentials=Credentials(**creds),
        provider_app_id=None,
        version=1,
        create_time=NOW,
        update_time=NOW,
    )


def place(provider: str, **creds: Any) -> tuple[tuple[tuple[str, str], ...], tuple[Any, ...]]:
    placement = place_credentials(PROVIDERS[provider], connection(provider, **creds))
    return placement.headers, placement.query


def test_oauth2_token_goes_in_authorization_bearer() -> None:
    headers, query = place(tc.OAUTH2_BEARER, access_token=OAuthToken("at-1"))
    assert headers == (("Authorization", "Bearer at-1"),)
    assert query == ()


def test_oauth2_catalog_header_override_uses_its_name_and_exact_prefix() -> None:
    headers, _ = place(tc.OAUTH2_HEADER, access_token=OAuthToken("at-2"))
    assert headers == (("X-Test-Access-Token", "at-2"),)


def test_shopify_from_the_builtin_catalog_gets_its_own_header() -> None:
    shopify = load_catalog().get("shopify")
    assert isinstance(shopify, Provider)
    placement = place_credentials(shopify, connection("shopify", access_token=OAuthToken("shp")))
    assert placement.headers == (("X-Shopify-Access-Token", "shp"),)
    assert b"x-shopify-access-token" in credential_header_names(shopify)


@pytest.mark.parametrize(
    ("provider", "expected"),
    [
        (tc.APIKEY_BEARER, ("Authorization", "Bearer k-1")),
        (tc.APIKEY_TOKEN_PREFIX, ("Authorization", "Token token=k-1")),
        (tc.APIKEY_NO_PREFIX, ("X-Api-Token", "k-1")),
    ],
)
def test_api_key_header_uses_the_exact_catalog_prefix(
    provider: str, expected: tuple[str, str]
) -> None:
    headers, query = place(provider, api_key="k-1")
    assert headers == (expected,)
    assert query == ()


def test_api_key_in_query_is_a_parameter_not_a_header() -> None:
    headers, query = place(tc.APIKEY_QUERY, api_key="k 1&x")
    assert headers == ()
    assert query == (("api_key", "k 1&x"),)


def test_basic_is_base64_of_user_colon_password() -> None:
    headers, _ = place(tc.BASIC, username="ann", password="p:ss é")
    expected = base64.b64encode("ann:p:ss é".encode()).decode()
    assert headers == (("Authorization", f"Basic {expected}"),)


def test_custom_renders_header_and_query_templates_over_inputs() -> None:
    headers, query = place(tc.CUSTOM, custom={"token": "tok", "account": "acc"})
    assert headers == (("X-Custom-Token", "tok"),)
    assert query == (("account", "acc"),)


def test_custom_missing_input_is_an_error_naming_it_never_empty() -> None:
    with pytest.raises(TemplateVariableMissing) as info:
        place(tc.CUSTOM, custom={"token": "tok"})
    assert info.value.context == {"variable": "account"}


@pytest.mark.parametrize(
    ("provider", "creds"),
    [(tc.OAUTH2_BEARER, {}), (tc.APIKEY_BEARER, {}), (tc.BASIC, {"password": "x"})],
)
def test_missing_credential_asks_for_reauthorization(provider: str, creds: dict[str, Any]) -> None:
    with pytest.raises(ConnectionNeedsReauthorization) as info:
        place(provider, **creds)
    assert info.value.context["connectionId"] == "conn-1"


def test_credential_with_a_newline_is_refused_without_echoing_it() -> None:
    with pytest.raises(ConnectionNeedsReauthorization) as info:
        place(tc.APIKEY_BEARER, api_key="k\r\nX-Evil: 1")
    assert "k\r\n" not in info.value.detail


def test_credential_header_names_cover_every_placement() -> None:
    assert credential_header_names(PROVIDERS[tc.OAUTH2_HEADER]) == {
        b"authorization",
        b"x-test-access-token",
    }
    assert credential_header_names(PROVIDERS[tc.APIKEY_NO_PREFIX]) == {b"x-api-token"}
    assert credential_header_names(PROVIDERS[tc.CUSTOM]) == {b"x-custom-token"}
    assert credential_header_names(PROVIDERS[tc.APIKEY_QUERY]) == frozenset()


def test_set_query_params_replaces_client_values_even_when_encoded() -> None:
    query = b"a=1&api_key=client&b=%2F&api%5Fkey=sneaky&api_key"
    assert set_query_params(query, [("api_key", "real/key")]) == b"a=1&b=%2F&api_key=real%2Fkey"


def test_set_query_params_without_params_keeps_the_query_untouched() -> None:
    assert set_query_params(b"x=%20&&y", []) == b"x=%20&&y"
    assert set_query_params(b"", [("k", "v")]) == b"k=v"
