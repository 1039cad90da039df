"""The connect page's form is built from the catalog entry alone (pure), asks for what creating
the connection needs, and never shows an issue's value."""

from __future__ import annotations

from typing import Any

import pytest

from passway.catalog import parse_provider
from passway.connect import forms
from passway.core.provider import Provider
from passway.errors import Issue
from passway.records import Credentials

BASE = {"support": {"proxy": True}, "displayName": "Acme"}


def provider(**entry: Any) -> Provider:
    return parse_provider({"name": "acme", **BASE, **entry})


def names(form: forms.ConnectForm | None) -> list[str]:
    assert form is not None
    return [f.name for f in form.fields]


def test_an_api_key_provider_asks_for_a_secret_key() -> None:
    form = forms.connect_form(
        provider(
            authType="apiKey",
            baseURL="https://api.acme.test",
            apiKeyAttachment="header",
            apiKeyHeaderName="Authorization",
        )
    )
    assert form is not None and not form.oauth
    [key] = form.fields
    assert (key.name, key.label, key.secret) == ("apiKey", "API key", True)


def test_basic_and_custom_providers_ask_for_their_fields() -> None:
    basic = forms.connect_form(provider(authType="basic", baseURL="https://api.acme.test"))
    assert names(basic) == ["basicAuth.username", "basicAuth.password"]
    assert basic is not None and [f.secret for f in basic.fields] == [False, True]
    custom = forms.connect_form(
        provider(
            authType="custom",
            baseURL="https://api.acme.test",
            customInputs=["apiToken", "account_id"],
            customHeaders=[{"name": "X-Token", "valueTemplate": "{{.apiToken}}"}],
        )
    )
    assert names(custom) == ["customAuth.apiToken", "customAuth.account_id"]
    assert custom is not None and [f.label for f in custom.fields] == ["Api token", "Account id"]


def test_a_templated_api_key_provider_asks_for_the_workspace_first() -> None:
    form = forms.connect_form(
        provider(
            authType="apiKey",
            baseURL="https://{{.workspace}}.acme.test/api",
            templateVars=["workspace"],
            apiKeyAttachment="header",
            apiKeyHeaderName="X-Key",
        )
    )
    assert names(form) == ["providerWorkspaceRef", "apiKey"]
    assert form is not None and form.fields[0].hint == "As in https://<workspace>.acme.test/api"


def test_an_oauth_provider_asks_only_for_what_its_authorization_needs() -> None:
    oauth = {
        "authType": "oauth2",
        "grantType": "authorizationCode",
        "tokenURL": "https://login.acme.test/token",
    }
    learned = forms.connect_form(
        provider(
            **oauth,
            baseURL="https://{{.workspace}}.acme.test",
            authURL="https://login.acme.test/authorize",
            templateVars=["workspace"],
            tokenMetadataFields={"workspaceRefField": "instance_url"},
        )
    )
    assert learned is not None and learned.oauth and names(learned) == []
    needed = forms.connect_form(
        provider(
            **oauth,
            baseURL="https://{{.workspace}}.acme.test",
            authURL="https://{{.workspace}}.acme.test/authorize",
            templateVars=["workspace"],
            metadataInputs=[{"name": "region", "defaultValue": "eu"}],
        )
    )
    assert names(needed) == ["providerWorkspaceRef", "providerMetadata.region"]
    assert needed is not None and not needed.fields[1].required
    assert needed.fields[1].placeholder == "eu"


def test_a_submission_becomes_the_services_input() -> None:
    form = forms.connect_form(
        provider(
            authType="basic",
            baseURL="https://{{.workspace}}.acme.test",
            templateVars=["workspace"],
        )
    )
    assert form is not None
    given = {
        "providerWorkspaceRef": "  north ",
        "basicAuth.username": "ann",
        "basicAuth.password": " spaces kept ",
        "unrelated": "ignored",
    }
    submission = forms.read_submission(form, given)
    assert submission.issues == []
    assert submission.workspace == "north"
    assert submission.credentials == {
        "basicAuth": Credentials(username="ann", password=" spaces kept ")
    }


@pytest.mark.parametrize("value", ["", "x" * (forms.MAX_VALUE + 1)])
def test_empty_and_oversized_values_are_issues(value: str) -> None:
    form = forms.connect_form(provider(authType="basic", baseURL="https://api.acme.test"))
    assert form is not None
    submission = forms.read_submission(
        form, {"basicAuth.username": "ann", "basicAuth.password": value}
    )
    assert [i.name for i in submission.issues] == ["basicAuth.password"]


def test_issues_are_sorted_to_their_fields_and_never_show_values() -> None:
    form = forms.connect_form(provider(authType="apiKey", baseURL="https://api.acme.test"))
    assert form is not None
    by_field, other = forms.field_errors(
        form,
        [
            Issue("body", "apiKey", "required", "the-secret"),
            Issue("body", "provider", "no provider app for acme yet"),
        ],
    )
    assert by_field == {"apiKey": "Required."}
    assert other == ["No provider app for acme yet."]


def test_a_template_rule_is_said_to_the_customer() -> None:
    form = forms.connect_form(
        provider(
            authType="basic", baseURL="https://{{.workspace}}.acme.test", templateVars=["workspace"]
        )
    )
    assert form is not None
    rule = "'workspace' must be a single DNS label (letters) where the provider's URL uses it"
    by_field, _ = forms.field_errors(form, [Issue("body", "providerWorkspaceRef", rule, "a.b")])
    assert by_field == {"providerWorkspaceRef": "Enter a single DNS label (letters)."}


def test_names_read_as_words() -> None:
    assert forms.humanize("instanceName") == "Instance name"
    assert forms.humanize("api_base_url") == "Api base url"
    assert forms.humanize("subdomain") == "Subdomain"
