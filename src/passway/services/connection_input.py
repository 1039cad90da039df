"""Pure checks of connection input: which credential a provider takes, and what it must contain.

A connection carries exactly one credential, and which one is fixed by the provider's catalog entry:
``apiKey`` for apiKey providers, ``basicAuth`` for basic, ``customAuth`` (exactly the provider's
``customInputs``) for custom, and for oauth2 by grant type: ``oauth2AuthorizationCode`` (importing
existing tokens) for the authorization-code grants, ``oauth2ClientCredentials`` for client
credentials, ``oauth2PasswordCredentials`` for the password grant. Field names in issues are the
JSON names of the API (``basicAuth.password``); values of secret fields are never echoed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from passway.catalog import Provider
from passway.errors import Issue
from passway.records import AuthScheme, Credentials, MetadataValue

CREDENTIAL_FIELDS = (
    "apiKey",
    "basicAuth",
    "oauth2ClientCredentials",
    "oauth2PasswordCredentials",
    "oauth2AuthorizationCode",
    "customAuth",
)

REF_MAX = 256
WORKSPACE_MAX = 1024


@dataclass(frozen=True, slots=True)
class CredentialChoice:
    """The credential field a provider takes and the auth scheme a connection with it has."""

    field: str
    scheme: AuthScheme


def credential_choice(provider: Provider) -> CredentialChoice | None:
    """None when connections for this provider cannot be created with a stored credential."""
    if provider.auth_type == "apiKey":
        return CredentialChoice("apiKey", "apiKey")
    if provider.auth_type == "basic":
        return CredentialChoice("basicAuth", "basic")
    if provider.auth_type == "custom":
        return CredentialChoice("customAuth", "custom")
    if provider.grant_type == "clientCredentials":
        return CredentialChoice("oauth2ClientCredentials", "oauth2/clientCredentials")
    if provider.grant_type == "password":
        return CredentialChoice("oauth2PasswordCredentials", "oauth2/password")
    if provider.grant_type == "authorizationCodePKCE":
        return CredentialChoice("oauth2AuthorizationCode", "oauth2/authorizationCodePKCE")
    if provider.grant_type == "authorizationCode":
        return CredentialChoice("oauth2AuthorizationCode", "oauth2/authorizationCode")
    return None


def check_credentials(
    provider: Provider, given: Mapping[str, Credentials]
) -> tuple[CredentialChoice | None, list[Issue]]:
    """Check that ``given`` (credential field name to its value) holds exactly the right one."""
    choice = credential_choice(provider)
    if choice is None:
        return None, [Issue("body", "provider", "this provider's auth type is not supported")]
    if not given:
        return choice, [Issue("body", choice.field, f"required for provider {provider.name}")]
    issues = [
        Issue("body", name, f"provider {provider.name} takes {choice.field}, not {name}")
        for name in given
        if name != choice.field
    ]
    credentials = given.get(choice.field)
    if credentials is not None:
        issues += check_credential_fields(provider, choice.field, credentials)
    return choice, issues


def check_credential_fields(provider: Provider, field: str, creds: Credentials) -> list[Issue]:
    """The fields a credential of kind ``field`` must have, each non-empty."""
    required: dict[str, str | None] = {}
    if field == "apiKey":
        required = {"apiKey": creds.api_key}
    elif field == "basicAuth":
        required = {"basicAuth.username": creds.username, "basicAuth.password": creds.password}
    elif field == "oauth2ClientCredentials":
        required = {
            "oauth2ClientCredentials.clientId": creds.client_id,
            "oauth2ClientCredentials.clientSecret": creds.client_secret,
        }
    elif field == "oauth2PasswordCredentials":
        required = {
            f"oauth2PasswordCredentials.{name}": value
            for name, value in (
                ("username", creds.username),
                ("password", creds.password),
                ("clientId", creds.client_id),
                ("clientSecret", creds.client_secret),
            )
        }
    elif field == "oauth2AuthorizationCode":
        token = creds.access_token.token if creds.access_token is not None else None
        required = {"oauth2AuthorizationCode.accessToken.token": token}
    issues = [Issue("body", name, "required") for name, value in required.items() if not value]
    if field == "customAuth":
        issues += _check_custom(provider, creds.custom)
    return issues


def _check_custom(provider: Provider, values: Mapping[str, str]) -> list[Issue]:
    expected = set(provider.custom_inputs)
    issues = [
        Issue("body", f"customAuth.{name}", "required input of this provider")
        for name in provider.custom_inputs
        if not values.get(name)
    ]
    issues += [
        Issue("body", f"customAuth.{name}", f"not an input of provider {provider.name}")
        for name in sorted(set(values) - expected)
    ]
    return issues


def check_refs(
    group_ref: str,
    consumer_ref: str,
    group_name: str | None,
    consumer_name: str | None,
    workspace_ref: str | None = None,
) -> list[Issue]:
    """Required refs present, and every text within what the store keeps."""
    issues: list[Issue] = []
    for name, value, required, limit in (
        ("groupRef", group_ref, True, REF_MAX),
        ("consumerRef", consumer_ref, True, REF_MAX),
        ("groupName", group_name, False, REF_MAX),
        ("consumerName", consumer_name, False, REF_MAX),
        ("providerWorkspaceRef", workspace_ref, False, WORKSPACE_MAX),
    ):
        if value is None:
            continue
        if required and not value.strip():
            issues.append(Issue("body", name, "required"))
        elif len(value) > limit:
            issues.append(Issue("body", name, f"at most {limit} characters"))
    return issues


def input_metadata(values: Mapping[str, str]) -> dict[str, MetadataValue]:
    """Metadata given by the developer: each value's source is ``input``."""
    return {name: MetadataValue(value, "input") for name, value in values.items()}
