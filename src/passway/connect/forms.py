"""What the connect page asks for, built from the provider's catalog entry (pure).

The page asks for exactly what creating the connection through the API would need: the credential
the provider takes (``services.connection_input.credential_choice``) and the template values its
URLs need and cannot learn later from the token response. An OAuth authorization-code provider
asks only for the values its authorization and token URLs need (and a workspace when the catalog
says it is required); the provider itself then asks the customer to sign in.

Form field names are the API's JSON names (``apiKey``, ``basicAuth.password``,
``providerWorkspaceRef``, ``providerMetadata.region``), so the ``issues[]`` the services raise land
next to the field they are about.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from passway.catalog import Provider
from passway.core import templates
from passway.errors import Issue
from passway.records import Credentials
from passway.services.connection_input import credential_choice

WORKSPACE = "providerWorkspaceRef"
METADATA_PREFIX = "providerMetadata."
CODE_GRANTS = ("authorizationCode", "authorizationCodePKCE")
# A template value's issue (``core.template_syntax.slot_issue``), said to the one typing it.
_SLOT_RULE = re.compile(r"^'[A-Za-z_][A-Za-z0-9_]*' must be (.+) where the provider's URL uses it$")
# A value longer than this is refused before it reaches any service.
MAX_VALUE = 4096

_CREDENTIAL_INPUTS: dict[str, tuple[tuple[str, str, bool], ...]] = {
    # credential field -> (sub-field, label, secret)
    "apiKey": (("", "API key", True),),
    "basicAuth": (("username", "Username", False), ("password", "Password", True)),
    "oauth2ClientCredentials": (
        ("clientId", "Client ID", False),
        ("clientSecret", "Client secret", True),
    ),
    "oauth2PasswordCredentials": (
        ("username", "Username", False),
        ("password", "Password", True),
        ("clientId", "Client ID", False),
        ("clientSecret", "Client secret", True),
    ),
}
_AUTOCOMPLETE = {"username": "username", "password": "current-password"}


@dataclass(frozen=True, slots=True)
class FormField:
    name: str
    label: str
    secret: bool = False
    required: bool = True
    hint: str | None = None
    placeholder: str | None = None
    autocomplete: str = "off"

    @property
    def html_id(self) -> str:
        return "f-" + re.sub(r"[^A-Za-z0-9_-]", "-", self.name)


@dataclass(frozen=True, slots=True)
class ConnectForm:
    """``oauth``: the page sends the customer to the provider; else it stores a credential."""

    oauth: bool
    fields: tuple[FormField, ...]
    credential_field: str | None


@dataclass(frozen=True, slots=True)
class Submission:
    workspace: str | None
    metadata: dict[str, str]
    credentials: dict[str, Credentials]
    issues: list[Issue] = field(default_factory=list)


def is_code_flow(provider: Provider) -> bool:
    return provider.auth_type == "oauth2" and provider.grant_type in CODE_GRANTS


def humanize(name: str) -> str:
    """``instanceName`` / ``instance_name`` -> ``Instance name``."""
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|[_.-]+", " ", name).split()
    text = " ".join(w if w.isupper() and len(w) > 1 else w.lower() for w in words)
    return text[:1].upper() + text[1:] if text else name


def _learned_later(provider: Provider) -> set[str]:
    """Template values that come after authentication (token response, provider)."""
    later = set(provider.metadata_post_authentication)
    tmf = provider.token_metadata_fields
    if tmf is not None:
        later |= {f.name for f in tmf.other_fields}
        if tmf.workspace_ref_field:
            later |= {"workspace", tmf.workspace_ref_field}
    return later


def _needed_variables(provider: Provider) -> list[str]:
    if is_code_flow(provider):
        urls = [u for u in (provider.auth_url, provider.token_url) if u]
        needed = [v for url in urls for v in templates.template_variables(url)]
        if provider.explicit_workspace_required:
            needed.append("workspace")
    else:
        later = _learned_later(provider)
        needed = [v for v in provider.template_vars if v not in later]
        if provider.explicit_workspace_required:
            needed.append("workspace")
    needed += [m.name for m in provider.metadata_inputs]
    return list(dict.fromkeys(needed))


def _example_url(provider: Provider, variable: str) -> str | None:
    for _, template in templates.url_templates(provider):
        if variable in templates.template_variables(template):
            text = template
            for name in templates.template_variables(template):
                text = text.replace("{{." + name + "}}", "<" + humanize(name).lower() + ">")
            return text
    return None


def _template_field(provider: Provider, variable: str) -> FormField:
    defaults = {m.name: m.default_value for m in provider.metadata_inputs if m.default_value}
    example = _example_url(provider, variable)
    hint = f"As in {example}" if example else None
    if variable == "workspace":
        return FormField(WORKSPACE, f"{provider.display_name} workspace", hint=hint)
    default = defaults.get(variable)
    return FormField(
        METADATA_PREFIX + variable,
        humanize(variable),
        required=default is None,
        hint=hint,
        placeholder=default,
    )


def _credential_fields(provider: Provider, credential: str) -> list[FormField]:
    if credential == "customAuth":
        return [
            FormField(f"customAuth.{name}", humanize(name), secret=True)
            for name in provider.custom_inputs
        ]
    return [
        FormField(
            f"{credential}.{sub}" if sub else credential,
            label,
            secret=secret,
            autocomplete=_AUTOCOMPLETE.get(sub, "off"),
        )
        for sub, label, secret in _CREDENTIAL_INPUTS.get(credential, ())
    ]


def connect_form(provider: Provider) -> ConnectForm | None:
    """The form for ``provider``; None when no connection can be made for it on the page."""
    choice = credential_choice(provider)
    if choice is None:
        return None
    fields = [_template_field(provider, v) for v in _needed_variables(provider)]
    if is_code_flow(provider):
        return ConnectForm(oauth=True, fields=tuple(fields), credential_field=None)
    if choice.field not in _CREDENTIAL_INPUTS and choice.field != "customAuth":
        return None
    fields += _credential_fields(provider, choice.field)
    return ConnectForm(oauth=False, fields=tuple(fields), credential_field=choice.field)


def read_submission(form: ConnectForm, values: Mapping[str, str]) -> Submission:
    """The form's values as the services take them; empty required fields are issues."""
    issues: list[Issue] = []
    given: dict[str, str] = {}
    for f in form.fields:
        value = values.get(f.name, "")
        if not f.secret:
            value = value.strip()
        if len(value) > MAX_VALUE:
            issues.append(Issue("body", f.name, f"at most {MAX_VALUE} characters"))
        elif not value and f.required:
            issues.append(Issue("body", f.name, "required"))
        elif value:
            given[f.name] = value
    metadata = {
        name.removeprefix(METADATA_PREFIX): value
        for name, value in given.items()
        if name.startswith(METADATA_PREFIX)
    }
    credentials: dict[str, Credentials] = {}
    if form.credential_field is not None:
        credentials[form.credential_field] = _credentials(form.credential_field, given)
    return Submission(given.get(WORKSPACE), metadata, credentials, issues)


def _credentials(credential: str, given: Mapping[str, str]) -> Credentials:
    def sub(name: str) -> str | None:
        return given.get(f"{credential}.{name}")

    if credential == "apiKey":
        return Credentials(api_key=given.get("apiKey"))
    if credential == "customAuth":
        prefix = "customAuth."
        return Credentials(
            custom={k.removeprefix(prefix): v for k, v in given.items() if k.startswith(prefix)}
        )
    return Credentials(
        username=sub("username"),
        password=sub("password"),
        client_id=sub("clientId"),
        client_secret=sub("clientSecret"),
    )


def field_errors(form: ConnectForm, issues: list[Issue]) -> tuple[dict[str, str], list[str]]:
    """Issues as ``{field name: message}`` for the form's fields, and the rest as sentences.

    Only an issue's ``detail`` is shown, never its ``value`` (it may be a secret)."""
    names = {f.name for f in form.fields}
    by_field: dict[str, str] = {}
    other: list[str] = []
    for issue in issues:
        name = issue.name.removeprefix("connection.")
        if name in names and name not in by_field:
            by_field[name] = _sentence(_SLOT_RULE.sub(r"Enter \1", issue.detail))
        elif name not in names:
            other.append(_sentence(issue.detail))
    return by_field, other


def _sentence(text: str) -> str:
    text = text.strip()
    text = text[:1].upper() + text[1:]
    return text if text.endswith(".") else text + "."
