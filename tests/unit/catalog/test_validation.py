"""Catalog entry validation: each problem is named by provider and field, all reported at once."""

from __future__ import annotations

import json
from typing import Any

import pytest

from passway.catalog.loader import parse_catalog
from passway.catalog.validation import validate_provider
from passway.errors import ConfigurationError


def _entry(**fields: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": "private-api",
        "authType": "apiKey",
        "baseURL": "https://api.private.example.com",
        "apiKeyAttachment": "header",
        "apiKeyHeaderName": "Authorization",
        "apiKeyHeaderValuePrefix": "Bearer ",
        "support": {"proxy": True},
    }
    entry.update(fields)
    return {k: v for k, v in entry.items() if v is not None}


def _oauth2(**fields: Any) -> dict[str, Any]:
    base = {
        "authType": "oauth2",
        "grantType": "authorizationCode",
        "authURL": "https://auth.private.example.com/authorize",
        "tokenURL": "https://auth.private.example.com/token",
        "apiKeyAttachment": None,
        "apiKeyHeaderName": None,
        "apiKeyHeaderValuePrefix": None,
    }
    return _entry(**{**base, **fields})


def _fields(raw: Any) -> list[str]:
    return [issue.field for issue in validate_provider(raw, "#0")]


def test_a_valid_entry_has_no_issues() -> None:
    assert _fields(_entry()) == []
    assert _fields(_oauth2()) == []


@pytest.mark.parametrize(
    ("entry", "field", "fragment"),
    [
        (_entry(authType="saml"), "authType", "unknown auth type 'saml'"),
        (_entry(baseURL=None), "baseURL", "is required"),
        (_entry(name=None), "name", "is required"),
        (_entry(name="bad name!"), "name", "letters, digits"),
        (_entry(apiKeyAttachment=None), "apiKeyAttachment", "'header' or 'query'"),
        (_entry(apiKeyAttachment="cookie"), "apiKeyAttachment", "'header' or 'query'"),
        (_entry(apiKeyHeaderName=None), "apiKeyHeaderName", "valid header name"),
        (_entry(apiKeyHeaderName="X Bad"), "apiKeyHeaderName", "valid header name"),
        (_entry(apiKeyAttachment="query"), "apiKeyQueryName", "is required"),
        (_oauth2(tokenURL=None), "tokenURL", "is required for oauth2"),
        (_oauth2(grantType="implicit"), "grantType", "must be one of"),
        (_oauth2(authURL=None), "authURL", "authorizationCode"),
        (_entry(baseURL="https://{{ .workspace | upper }}.x.com"), "baseURL", "template"),
        (_entry(baseURL="https://api.x.com:{{.port}}"), "baseURL", "port"),
        (_entry(baseURL="https://{{.user}}@api.x.com"), "baseURL", "credentials"),
        (_entry(baseURL="api.private.example.com"), "baseURL", "scheme://"),
        (_entry(defaultModule="crm"), "defaultModule", "'crm' is not one of"),
        (_entry(modules={"crm": {"proxy": True}}), "modules.crm.baseURL", "is required"),
        (
            _entry(modules={"crm": {"baseURL": "https://x.example.com", "proxy": "yes"}}),
            "modules.crm.proxy",
            "true or false",
        ),
        (
            _entry(modules={"crm": {"baseURL": "https://x.example.com", "bogus": 1}}),
            "modules.crm.bogus",
            "unknown field",
        ),
        (_entry(baseUrl="https://typo.example.com"), "baseUrl", "unknown field"),
        (_entry(support={"proxy": True, "teleport": True}), "support.teleport", "unknown"),
        (_entry(support={"proxy": "yes"}), "support.proxy", "true or false"),
        (_entry(support=[]), "support", "an object"),
        (_entry(templateVars=["x"]), "templateVars", "must list the variables"),
        (_entry(metadataInputs=[{"name": "w"}, {"name": "w"}]), "metadataInputs[1].name", "dup"),
        (_entry(metadataInputs=[{"name": "w", "modules": ["m"]}]), "metadataInputs[0].modules", ""),
        (_entry(metadataInputs=[{"defaultValue": "x"}]), "metadataInputs[0]", "with a name"),
        (
            _entry(
                authType="custom",
                customInputs=["token"],
                customHeaders=[{"name": "X-T", "valueTemplate": "{{.secret}}"}],
            ),
            "customHeaders[0].valueTemplate",
            "not listed in customInputs",
        ),
        (
            _entry(
                authType="custom",
                customHeaders=[{"name": "X-T", "valueTemplate": "{{ call .f }}"}],
            ),
            "customHeaders[0].valueTemplate",
            "unsupported template syntax",
        ),
        (
            _oauth2(oauth2AccessTokenHeader={"name": "Bad Header", "valuePrefix": ""}),
            "oauth2AccessTokenHeader.name",
            "valid header name",
        ),
        (
            _oauth2(
                tokenMetadataFields={"otherFields": [{"name": "a", "path": "b", "capture": "("}]}
            ),
            "tokenMetadataFields.otherFields[0].capture",
            "not a valid regular expression",
        ),
        (
            _oauth2(
                tokenMetadataFields={"otherFields": [{"name": "a", "path": "b", "capture": "x"}]}
            ),
            "tokenMetadataFields.otherFields[0].capture",
            "named group 'result'",
        ),
        (_oauth2(tokenMetadataFields={"nope": "x"}), "tokenMetadataFields.nope", "unknown"),
        (_entry(explicitScopesRequired="yes"), "explicitScopesRequired", "true or false"),
        (_entry(labels={"a": 1}), "labels", "object of strings"),
    ],
)
def test_each_invalid_field_is_reported_with_its_name(
    entry: dict[str, Any], field: str, fragment: str
) -> None:
    issues = validate_provider(entry, "#0")
    matching = [i for i in issues if i.field == field]
    assert matching, [str(i) for i in issues]
    assert fragment in matching[0].message
    assert matching[0].provider == entry.get("name", "#0")


def test_a_non_object_entry_is_reported_by_position() -> None:
    [issue] = validate_provider(["not", "an", "object"], "#3")
    assert (issue.provider, issue.field) == ("#3", "(entry)")


def test_a_root_placeholder_is_tolerated_only_when_calls_go_through_modules() -> None:
    modules = {"api": {"baseURL": "https://api.x.example.com", "proxy": True}}
    assert _fields(_entry(baseURL="https", defaultModule="api", modules=modules)) == []
    assert _fields(_entry(baseURL="https")) == ["baseURL"]


def test_a_whole_file_reports_every_problem_at_once() -> None:
    document = {
        "providers": [
            _entry(name="one", authType="saml"),
            _oauth2(name="two", tokenURL=None),
            _entry(name="one"),
        ]
    }
    with pytest.raises(ConfigurationError) as caught:
        parse_catalog(json.dumps(document), "ops.json")
    message = str(caught.value)
    assert "ops.json" in message
    assert "provider 'one': authType" in message
    assert "provider 'two': tokenURL" in message
    assert "provider 'one': name: defined more than once" in message
    listed = caught.value.context["issues"]
    assert {"provider": "two", "field": "tokenURL", "message": "is required for oauth2"} in listed


@pytest.mark.parametrize("text", ["{", "[]", '{"providers": {}}'])
def test_a_file_that_is_not_a_catalog_document_is_refused(text: str) -> None:
    with pytest.raises(ConfigurationError, match=r"ops\.json"):
        parse_catalog(text, "ops.json")


def test_egress_allow_takes_hosts_suffixes_addresses_and_networks() -> None:
    good = _entry(egressAllow=["crm.corp.example", "*.corp.example", "10.0.0.7", "10.1.0.0/16"])
    assert validate_provider(good, "x") == []
    parsed = parse_catalog(json.dumps({"providers": [good]}), "test")["private-api"]
    assert parsed.egress_allow == ("crm.corp.example", "*.corp.example", "10.0.0.7", "10.1.0.0/16")
    bad = validate_provider(_entry(egressAllow=["bad host", "10.0.0.0/33", "x/y"]), "x")
    assert [issue.field for issue in bad] == ["egressAllow[0]", "egressAllow[1]", "egressAllow[2]"]
    assert validate_provider(_entry(egressAllow="crm.corp.example"), "x")[0].field == "egressAllow"
