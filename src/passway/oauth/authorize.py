"""The authorization request of the connect flow: state, PKCE and the provider's authorization URL.

Pure functions (randomness comes from ``secrets``, no clock, no I/O).

- ``state``: 32 random bytes, URL-safe. Only its SHA-256 is stored (the ``OAuthState`` id), so a
  database read does not let anyone complete someone else's flow.
- PKCE (RFC 7636, S256) is sent to every authorization-code provider, not only those the catalog
  marks ``authorizationCodePKCE``: servers ignore parameters they do not know (RFC 6749 section
  3.1) and RFC 9700 recommends PKCE for confidential clients too. An operator can switch it off for
  a provider that objects with the catalog label ``pkce: "false"``.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import urlencode, urlsplit

from passway.core.provider import Provider

CALLBACK_PATH = "/callbacks/v1/oauth"
PKCE_LABEL = "pkce"


def new_state() -> str:
    return secrets.token_urlsafe(32)


def state_id(state: str) -> str:
    """What the store keeps for a state: its SHA-256, hex."""
    return hashlib.sha256(state.encode("utf-8")).hexdigest()


def new_code_verifier() -> str:
    """43+ characters from the unreserved set (RFC 7636 section 4.1)."""
    return secrets.token_urlsafe(48)


def code_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def uses_pkce(provider: Provider) -> bool:
    if provider.grant_type == "authorizationCodePKCE":
        return True
    return provider.labels.get(PKCE_LABEL, "").strip().lower() != "false"


def callback_url(public_url: str) -> str:
    return public_url.rstrip("/") + CALLBACK_PATH


def is_acceptable_redirect(url: str) -> bool:
    """A developer's after-connect URL must be an absolute http(s) URL without credentials."""
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:  # an unclosed IPv6 bracket, a port that is not a number
        return False
    return (
        port_ok
        and parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and parts.username is None
        and parts.password is None
    )


def authorization_url(
    base: str,
    provider: Provider,
    *,
    client_id: str,
    redirect_uri: str,
    scopes: tuple[str, ...],
    state: str,
    challenge: str | None,
) -> str:
    """The URL the customer's browser is sent to. ``base`` is the rendered ``authURL``."""
    params: dict[str, str] = dict(provider.auth_url_params)
    params.update(response_type="code", client_id=client_id, redirect_uri=redirect_uri)
    if scopes:
        params["scope"] = (provider.scope_separator or " ").join(scopes)
    if provider.audience:
        params["audience"] = " ".join(provider.audience)
    if challenge is not None:
        params["code_challenge"] = challenge
        params["code_challenge_method"] = "S256"
    params["state"] = state
    separator = "&" if urlsplit(base).query else "?"
    return base + separator + urlencode(params)
