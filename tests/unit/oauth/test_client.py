"""What a token request looks like: client authentication in the body or as HTTP Basic."""

from __future__ import annotations

import base64

from passway.catalog import parse_provider
from passway.oauth.client import ClientAuth, build_token_request
from passway.oauth.grants import refresh_form, token_auth_method


def test_body_authentication_puts_the_client_in_the_form() -> None:
    body, headers = build_token_request(refresh_form("rt"), ClientAuth("id", "sec"), "body")
    assert body == {
        "grant_type": "refresh_token",
        "refresh_token": "rt",
        "client_id": "id",
        "client_secret": "sec",
    }
    assert "Authorization" not in headers
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"


def test_basic_authentication_form_encodes_then_base64_encodes_the_client() -> None:
    body, headers = build_token_request(refresh_form("rt"), ClientAuth("my id", "s:c/"), "basic")
    assert "client_id" not in body and "client_secret" not in body
    scheme, _, encoded = headers["Authorization"].partition(" ")
    assert scheme == "Basic"
    assert base64.b64decode(encoded).decode() == "my%20id:s%3Ac%2F"


def test_catalog_label_chooses_the_token_authentication_method() -> None:
    def provider(name: str, **fields: object) -> object:
        return parse_provider(
            {"name": name, "authType": "oauth2", "baseURL": "https://x.example", **fields}
        )

    assert token_auth_method(provider("someone")) == "body"  # type: ignore[arg-type]
    assert token_auth_method(provider("notion")) == "basic"  # type: ignore[arg-type]
    labelled = provider("someone", labels={"tokenAuthMethod": "basic"})
    assert token_auth_method(labelled) == "basic"  # type: ignore[arg-type]


def test_a_json_token_request_keeps_the_fields_and_says_json() -> None:
    from passway.oauth.grants import client_auth

    provider = parse_provider(
        {
            "name": "p",
            "authType": "oauth2",
            "grantType": "clientCredentials",
            "baseURL": "https://x.example",
            "tokenURL": "https://x.example/token",
            "labels": {"tokenBodyFormat": "json"},
        }
    )
    client = client_auth(provider, "id", "sec")
    assert client.body_format == "json"
    body, headers = build_token_request(refresh_form("rt"), client, "body")
    assert body["client_id"] == "id" and body["refresh_token"] == "rt"
    assert headers["Content-Type"] == "application/json"
