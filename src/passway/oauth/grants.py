"""What each OAuth2 grant sends to a provider's token endpoint, and how the client authenticates.

Pure functions over catalog entries and records; ``passway.oauth.client`` does the sending.

Client authentication: the catalog has no field for it, so we default to the form body (what most
providers accept) and use HTTP Basic for the providers listed in ``_BASIC_AUTH_PROVIDERS`` (they
document Basic as required). An operator's catalog file can pick either for any provider with the
label ``tokenAuthMethod: basic`` or ``tokenAuthMethod: body``. A ``401 invalid_client`` answer to
body authentication is retried once with Basic in any case (see ``passway.oauth.client``).
"""

from __future__ import annotations

from collections.abc import Mapping

from passway.core.provider import Provider
from passway.core.templates import render_url
from passway.errors import ProviderUnsupported
from passway.oauth.client import AuthMethod, ClientAuth
from passway.records import Connection, Credentials

_BASIC_AUTH_PROVIDERS = frozenset(
    {"notion", "reddit", "zoom", "figma", "airtable", "gorgias", "atlassian", "pinterest"}
)
AUTH_METHOD_LABEL = "tokenAuthMethod"
# ``tokenBodyFormat: json``: the token requests are sent as a JSON object, not a form.
BODY_FORMAT_LABEL = "tokenBodyFormat"


def token_auth_method(provider: Provider) -> AuthMethod:
    """Body or Basic client authentication at this provider's token endpoint."""
    label = provider.labels.get(AUTH_METHOD_LABEL, "").strip().lower()
    if label in ("basic", "body"):
        return "basic" if label == "basic" else "body"
    return "basic" if provider.name in _BASIC_AUTH_PROVIDERS else "body"


def token_url(provider: Provider, values: Mapping[str, str]) -> str:
    """The provider's token URL with its template variables filled (a missing one is an error,
    a value that would move the URL to another host is refused)."""
    if not provider.token_url:
        raise ProviderUnsupported(f"Provider {provider.name} has no token endpoint")
    return render_url(provider.token_url, values)


def authorization_url_base(provider: Provider, values: Mapping[str, str]) -> str:
    if not provider.auth_url:
        raise ProviderUnsupported(f"Provider {provider.name} has no authorization endpoint")
    return render_url(provider.auth_url, values)


def scope_param(scopes: tuple[str, ...], separator: str = " ") -> dict[str, str]:
    return {"scope": separator.join(scopes)} if scopes else {}


def scope_separator(provider: Provider) -> str:
    """What joins the requested scopes: the catalog's ``scopeSeparator``, else a space."""
    return provider.scope_separator or " "


def audience_param(provider: Provider) -> dict[str, str]:
    return {"audience": " ".join(provider.audience)} if provider.audience else {}


def refresh_form(refresh_token: str) -> dict[str, str]:
    """RFC 6749 section 6. Scopes are left out: the refreshed token keeps the granted ones."""
    return {"grant_type": "refresh_token", "refresh_token": refresh_token}


def client_credentials_form(provider: Provider, credentials: Credentials) -> dict[str, str]:
    return {
        **provider.token_params,
        "grant_type": "client_credentials",
        **scope_param(credentials.scopes, scope_separator(provider)),
        **audience_param(provider),
    }


def password_form(provider: Provider, credentials: Credentials) -> dict[str, str]:
    return {
        **provider.token_params,
        "grant_type": "password",
        "username": credentials.username or "",
        "password": credentials.password or "",
        **scope_param(credentials.scopes, scope_separator(provider)),
        **audience_param(provider),
    }


def authorization_code_form(
    code: str,
    redirect_uri: str,
    code_verifier: str | None,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The code exchange; ``extra`` is the catalog's ``tokenParams`` (the standard fields win)."""
    form = dict(extra or {})
    form.update(grant_type="authorization_code", code=code, redirect_uri=redirect_uri)
    if code_verifier:
        form["code_verifier"] = code_verifier
    return form


def client_auth(provider: Provider, client_id: str, client_secret: str | None) -> ClientAuth:
    json_body = provider.labels.get(BODY_FORMAT_LABEL, "").strip().lower() == "json"
    return ClientAuth(
        client_id, client_secret, token_auth_method(provider), "json" if json_body else "form"
    )


def is_self_issued(connection: Connection) -> bool:
    """Client-credentials and password connections get new tokens without a refresh token."""
    return connection.auth_scheme in ("oauth2/clientCredentials", "oauth2/password")


def is_oauth2(connection: Connection) -> bool:
    return connection.auth_scheme.startswith("oauth2/")
