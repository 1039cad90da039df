"""URL templates: the one Go-template form, per-slot value rules, connection values, workspaces."""

from __future__ import annotations

from typing import Any

import pytest

from passway.catalog import Provider, load_catalog, parse_provider
from passway.core.template_syntax import TemplateSyntaxError, parse_url_template
from passway.core.templates import (
    check_connection_values,
    connection_template_values,
    render_template,
    render_url,
    template_variables,
    workspace_ref_from_token_value,
)
from passway.errors import InvalidTarget, TemplateVariableMissing
from passway.records import Connection, MetadataValue
from support.records import Records

CATALOG = load_catalog()


def _provider(**fields: Any) -> Provider:
    raw = {"name": "p", "authType": "basic", "baseURL": "https://api.example.com", **fields}
    return parse_provider(raw)


def _connection(workspace_ref: str | None = None, **metadata: MetadataValue) -> Connection:
    return Records().connection(
        "p1", provider="p", provider_workspace_ref=workspace_ref, provider_metadata=metadata
    )


def test_both_spacings_of_a_variable_are_filled() -> None:
    assert render_template("a{{.x}}b{{ .y }}c{{  .x}}", {"x": "1", "y": "2"}) == "a1b2c1"


def test_template_variables_are_distinct_and_in_order_of_first_use() -> None:
    assert template_variables("{{.b}}/{{ .a }}/{{.b}}") == ("b", "a")
    assert template_variables("https://plain.example.com") == ()


@pytest.mark.parametrize(
    "template",
    [
        "{{.a | printf}}",
        "{{ index .a 0 }}",
        "{{.a}",
        "x }} y",
        "{{ .a.b }}",
        "{{/* c */}}",
        "{{.}}",
    ],
)
def test_any_other_template_syntax_is_refused_not_evaluated(template: str) -> None:
    with pytest.raises(TemplateSyntaxError):
        template_variables(template)


@pytest.mark.parametrize("values", [{}, {"workspace": ""}])
def test_a_missing_or_empty_value_is_an_error_naming_the_variable(values: dict[str, str]) -> None:
    with pytest.raises(TemplateVariableMissing) as caught:
        render_url("https://{{.workspace}}.example.com", values)
    assert "workspace" in caught.value.detail
    assert caught.value.context == {"variable": "workspace"}
    assert caught.value.status == 422


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("https://{{.workspace}}.my.salesforce.com", {"workspace": ("label",)}),
        ("https://{{.workspace}}-api.outplayhq.com", {"workspace": ("label",)}),
        ("https://{{.workspace}}", {"workspace": ("host",)}),
        ("https://{{.w}}.{{.d}}/oauth", {"w": ("label",), "d": ("domain",)}),
        ("{{.base}}", {"base": ("origin",)}),
        ("{{.base}}/rest/v11", {"base": ("origin",)}),
        ("https://api.atlassian.com/ex/jira/{{.cloudId}}/rest", {"cloudId": ("path",)}),
        ("https://x.example.com/a?t={{.t}}", {"t": ("query",)}),
        ("http://127.0.0.1:8080/{{.w}}", {"w": ("path",)}),
        ("http://[::1]:8080/{{.w}}", {"w": ("path",)}),
    ],
)
def test_each_variable_slot_is_decided_by_where_it_sits(
    template: str, expected: dict[str, tuple[str, ...]]
) -> None:
    assert dict(parse_url_template(template).slots) == expected


@pytest.mark.parametrize(
    "template",
    [
        "{{.scheme}}://api.example.com",
        "https://api.example.com:{{.port}}",
        "https://{{.user}}@api.example.com",
        "https://api.example.com/#{{.frag}}",
        "https://api{{.suffix}}",
        "{{.host}}.example.com",
        "api.example.com/{{.x}}",
    ],
)
def test_templates_that_cannot_be_made_safe_are_refused(template: str) -> None:
    with pytest.raises(TemplateSyntaxError):
        parse_url_template(template)


HOSTILE_LABELS = [
    "evil.test/",
    "evil.test",
    "a@b",
    "x.evil.test#",
    "acme:8443",
    "acme/",
    "acme?",
    "acme#",
    "-acme",
    "acme-",
    "ac me",
    "acme\r\nHost: evil.test",
    "acme\x00",
    "a" * 64,
    "%2e",
    "acme\\evil",
    "[::1]",
]


@pytest.mark.parametrize("value", HOSTILE_LABELS)
def test_a_value_filling_part_of_a_host_must_be_one_label(value: str) -> None:
    with pytest.raises(InvalidTarget) as caught:
        render_url("https://{{.workspace}}.my.salesforce.com", {"workspace": value})
    assert caught.value.context == {"variable": "workspace"}


@pytest.mark.parametrize(
    "value",
    [
        "evil.test/x",
        "127.0.0.1",
        "localhost",
        "api.internal",
        "host:8443",
        "https://acme.example.com",
        "user@acme.example.com",
        "singlelabel",
        "10.0.0.1",
        "1.2.3.4.5",
    ],
)
def test_a_value_filling_a_whole_host_must_be_a_public_dns_name(value: str) -> None:
    with pytest.raises(InvalidTarget):
        render_url("https://{{.workspace}}/api", {"workspace": value})


def test_a_public_host_name_fills_a_whole_host() -> None:
    rendered = render_url("https://{{.workspace}}/api", {"workspace": "acme.coupahost.com"})
    assert rendered == "https://acme.coupahost.com/api"


@pytest.mark.parametrize(
    "value",
    [
        "http://us-1.api.gong.io",
        "https://us-1.api.gong.io:8443",
        "https://us-1.api.gong.io/path",
        "https://us-1.api.gong.io?x=1",
        "https://us-1.api.gong.io#x",
        "https://user:pw@us-1.api.gong.io",
        "https://127.0.0.1",
        "https://localhost",
        "https://[::1]",
        "us-1.api.gong.io",
        "https://evil.test\\@us-1.api.gong.io",
        "https://us-1.api.gong.io\r\n",
    ],
)
def test_a_value_filling_a_whole_url_must_be_an_https_origin_on_a_public_name(value: str) -> None:
    with pytest.raises(InvalidTarget):
        render_url("{{.api_base_url_for_customer}}", {"api_base_url_for_customer": value})


def test_an_https_origin_fills_a_whole_url_and_loses_its_trailing_slash() -> None:
    values = {"base": "https://us-4567.api.gong.io/"}
    assert render_url("{{.base}}/v2", values) == "https://us-4567.api.gong.io/v2"


@pytest.mark.parametrize("value", ["a/b", "..", ".", "a?b", "a#b", "a%2fb", "a\\b", "a b", "x\n"])
def test_a_value_in_the_path_stays_one_segment(value: str) -> None:
    with pytest.raises(InvalidTarget):
        render_url("https://api.atlassian.com/ex/jira/{{.cloudId}}/rest", {"cloudId": value})


def test_a_value_in_the_query_is_restricted_to_unreserved_characters() -> None:
    with pytest.raises(InvalidTarget):
        render_url("https://x.example.com/?t={{.t}}", {"t": "a&admin=1"})
    assert render_url("https://x.example.com/?t={{.t}}", {"t": "a-1"}) == (
        "https://x.example.com/?t=a-1"
    )


def test_connection_values_take_workspace_ref_then_metadata_then_defaults() -> None:
    provider = _provider(
        metadataInputs=[
            {"name": "workspace", "defaultValue": "from-default"},
            {"name": "region", "defaultValue": "eu"},
            {"name": "zone", "defaultValue": "z1"},
        ]
    )
    connection = _connection(
        "from-ref",
        workspace=MetadataValue("from-metadata"),
        region=MetadataValue("us", "token"),
    )
    values = connection_template_values(provider, connection)
    assert values == {"workspace": "from-ref", "region": "us", "zone": "z1"}


def test_a_token_workspace_field_that_is_a_template_variable_is_filled_by_the_workspace_ref() -> (
    None
):
    gong = CATALOG.get("gong")
    assert gong is not None
    values = connection_template_values(gong, _connection("https://us-1.api.gong.io"))
    assert render_url(gong.base_url, values) == "https://us-1.api.gong.io"


def test_connection_creation_reports_each_value_that_breaks_its_slot() -> None:
    salesforce = CATALOG.get("salesforce")
    talkdesk = CATALOG.get("talkdesk")
    assert salesforce is not None and talkdesk is not None
    [issue] = check_connection_values(salesforce, "evil.test/", {})
    assert (issue.location, issue.name, issue.value) == (
        "body",
        "providerWorkspaceRef",
        "evil.test/",
    )
    [issue] = check_connection_values(talkdesk, "acme", {"talkdesk_token_domain": "a@b"})
    assert issue.name == "providerMetadata.talkdesk_token_domain"
    assert check_connection_values(salesforce, "acme", {}) == []
    assert check_connection_values(salesforce, None, {}) == []


@pytest.mark.parametrize(
    ("provider", "value", "expected"),
    [
        ("salesforce", "https://acme.my.salesforce.com", "acme"),
        ("salesforce", "https://ACME.my.salesforce.com/", "acme"),
        ("salesforce", "acme", "acme"),
        ("salesforce", "acme.my.salesforce.com", "acme"),
        ("salesforce", "https://evil.test", None),
        ("salesforce", "https://acme.my.salesforce.com.evil.test", None),
        ("salesforce", "https://a.b.my.salesforce.com", None),
        ("coupa", "https://acme.coupahost.com", "acme.coupahost.com"),
        ("slack", "Acme Workspace", "Acme Workspace"),
    ],
)
def test_workspace_ref_is_derived_from_a_token_value_only_when_it_fits(
    provider: str, value: str, expected: str | None
) -> None:
    found = CATALOG.get(provider)
    assert found is not None
    assert workspace_ref_from_token_value(found, value) == expected
