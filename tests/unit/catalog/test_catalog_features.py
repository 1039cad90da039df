"""Catalog features the converted providers need: URL alternatives, metadata pattern/enum,
proxyHeaders/proxyQueryParams, scopeSeparator and tokenParams, and their validation."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from passway.catalog import parse_provider, validate_provider
from passway.core.credentials import credential_header_names, place_credentials
from passway.core.provider import Provider
from passway.core.target import render_base_url
from passway.core.template_syntax import TemplateSyntaxError, alternatives, choose_alternative
from passway.core.templates import check_connection_values, missing_variables, render_url
from passway.errors import InvalidTarget, TemplateVariableMissing
from passway.oauth import grants
from passway.oauth.authorize import authorization_url
from passway.records import Connection, Credentials, Integration, MetadataValue

NOW = datetime(2025, 3, 6, 22, 0, tzinfo=UTC)


def provider(**fields: Any) -> Provider:
    entry = {"name": "p", "authType": "apiKey", "baseURL": "https://api.example.com", **fields}
    entry.setdefault("apiKeyAttachment", "header")
    entry.setdefault("apiKeyHeaderName", "X-Key")
    assert validate_provider(entry, "p") == []
    return parse_provider(entry)


def connection(metadata: dict[str, str], **creds: Any) -> Connection:
    return Connection(
        id="conn-1",
        project_id="proj-1",
        provider="p",
        group_ref="g1",
        group_name=None,
        consumer_ref="c1",
        consumer_name=None,
        provider_workspace_ref=None,
        provider_consumer_ref=None,
        provider_metadata={k: MetadataValue(v, "input") for k, v in metadata.items()},
        auth_scheme="apiKey",
        status="working",
        credentials=Credentials(**(creds or {"api_key": "k"})),
        provider_app_id=None,
        version=1,
        create_time=NOW,
        update_time=NOW,
    )


def test_alternatives_split_and_choose_the_first_complete_one() -> None:
    template = "https://{{.host}} || https://{{.sub}}.example.com || https://api.example.com"
    assert alternatives(template) == (
        "https://{{.host}}",
        "https://{{.sub}}.example.com",
        "https://api.example.com",
    )
    assert choose_alternative(template, {"sub": "a"}) == "https://{{.sub}}.example.com"
    assert choose_alternative(template, {"host": "h.example.com", "sub": "a"}).endswith("{{.host}}")
    assert choose_alternative(template, {"host": ""}) == "https://api.example.com"
    assert alternatives("https://a.example.com") == ("https://a.example.com",)
    with pytest.raises(TemplateSyntaxError):
        alternatives("https://a.example.com || ")


def test_each_alternative_keeps_its_own_slot_rules() -> None:
    template = "https://{{.sub}}.example.com || https://api.example.com"
    with pytest.raises(InvalidTarget):
        render_url(template, {"sub": "evil.com/x"})
    assert render_url(template, {}) == "https://api.example.com"


def test_a_url_with_an_alternative_needs_only_one_complete_option() -> None:
    p = provider(baseURL="https://{{.host}} || https://{{.sub}}.example.com")
    assert missing_variables(p, set()) == ["sub"]
    assert missing_variables(p, {"host"}) == []
    assert missing_variables(p, {"sub"}) == []


def test_pattern_and_enum_are_checked_on_the_whole_value() -> None:
    p = provider(
        baseURL="https://api.example.com/{{.account}}/{{.region}}",
        metadataInputs=[
            {"name": "account", "pattern": "^[0-9]+$"},
            {"name": "region", "enum": ["eu", "us"]},
        ],
    )
    assert check_connection_values(p, None, {"account": "42", "region": "eu"}) == []
    for bad in ("42\n", "4a", "42 "):
        issues = check_connection_values(p, None, {"account": bad})
        assert [i.name for i in issues] == ["providerMetadata.account"], bad
    issues = check_connection_values(p, None, {"region": "apac"})
    assert [i.name for i in issues] == ["providerMetadata.region"]
    integration = Integration(
        id="i",
        project_id="proj-1",
        name="x",
        display_name=None,
        provider="p",
        module=None,
        proxy_enabled=True,
        use_module=False,
        spec={},
        create_time=NOW,
        update_time=NOW,
    )
    proxied = replace(p, support=replace(p.support, proxy=True))
    with pytest.raises(InvalidTarget):
        render_base_url(proxied, integration, connection({"account": "4a", "region": "eu"}))
    url = render_base_url(proxied, integration, connection({"account": "42", "region": "eu"}))
    assert url == "https://api.example.com/42/eu"


def test_proxy_headers_and_query_params_are_placed_after_the_credential() -> None:
    p = provider(
        proxyHeaders=[
            {"name": "X-Version", "valueTemplate": "{{.version}} || 2024-01-01"},
            {"name": "X-Tenant", "valueTemplate": "t-{{.tenant}}"},
        ],
        proxyQueryParams=[{"name": "app", "valueTemplate": "{{.app}}"}],
        metadataInputs=[{"name": "version"}, {"name": "tenant"}, {"name": "app"}],
    )
    placed = place_credentials(p, connection({"tenant": "7", "app": "a b"}))
    assert placed.headers == (("X-Key", "k"), ("X-Version", "2024-01-01"), ("X-Tenant", "t-7"))
    assert placed.query == (("app", "a b"),)
    assert credential_header_names(p) == {b"x-key", b"x-version", b"x-tenant"}
    with pytest.raises(TemplateVariableMissing):
        place_credentials(p, connection({"app": "a"}))
    issues = check_connection_values(p, None, {"tenant": "7\r\nX-Evil: 1"})
    assert [i.name for i in issues] == ["providerMetadata.tenant"]
    assert missing_variables(p, {"app"}) == ["tenant"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"proxyHeaders": [{"name": "X-Key", "valueTemplate": "v"}]}, "proxyHeaders[0].name"),
        ({"proxyHeaders": [{"name": "bad header", "valueTemplate": "v"}]}, "proxyHeaders[0].name"),
        ({"proxyHeaders": [{"name": "X-A", "valueTemplate": "{{ x }}"}]}, "proxyHeaders[0]"),
        ({"proxyQueryParams": [{"name": "q"}]}, "proxyQueryParams[0].valueTemplate"),
        ({"metadataInputs": [{"name": "a", "pattern": "("}]}, "metadataInputs[0].pattern"),
        ({"metadataInputs": [{"name": "a", "enum": []}]}, "metadataInputs[0].enum"),
        ({"baseURL": "https://a.example.com || "}, "baseURL"),
        ({"scopeSeparator": 1}, "scopeSeparator"),
        ({"tokenParams": {"a": 1}}, "tokenParams"),
    ],
)
def test_the_validator_names_each_bad_new_field(fields: dict[str, Any], field: str) -> None:
    entry = {
        "name": "p",
        "authType": "apiKey",
        "baseURL": "https://api.example.com",
        "apiKeyAttachment": "header",
        "apiKeyHeaderName": "X-Key",
        **fields,
    }
    assert any(i.field.startswith(field) for i in validate_provider(entry, "p")), field


def oauth_provider(**fields: Any) -> Provider:
    entry = {
        "name": "o",
        "authType": "oauth2",
        "grantType": "authorizationCode",
        "baseURL": "https://api.example.com",
        "authURL": "https://example.com/authorize",
        "tokenURL": "https://example.com/token",
        **fields,
    }
    assert validate_provider(entry, "o") == []
    return parse_provider(entry)


def test_scope_separator_and_token_params_reach_the_requests() -> None:
    p = oauth_provider(scopeSeparator=",", tokenParams={"audience": "api", "grant_type": "x"})
    url = authorization_url(
        "https://example.com/authorize",
        p,
        client_id="c",
        redirect_uri="https://passway.example.com/cb",
        scopes=("read", "write"),
        state="s",
        challenge=None,
    )
    assert parse_qs(urlsplit(url).query)["scope"] == ["read,write"]
    form = grants.authorization_code_form("code", "https://cb", None, p.token_params)
    assert form == {
        "audience": "api",
        "grant_type": "authorization_code",
        "code": "code",
        "redirect_uri": "https://cb",
    }
    credentials = Credentials(scopes=("a", "b"))
    cc = grants.client_credentials_form(p, credentials)
    assert cc["grant_type"] == "client_credentials" and cc["scope"] == "a,b"
    assert cc["audience"] == "api"
    plain = oauth_provider()
    assert grants.client_credentials_form(plain, credentials)["scope"] == "a b"
    assert "scopeSeparator" not in plain.to_json() and "tokenParams" not in plain.to_json()
