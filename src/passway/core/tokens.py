"""Pure OAuth2 token logic: expiry decisions, token-response parsing, metadata capture.

No I/O and no clock reads: callers pass ``now``. The token manager (``passway.oauth``) does the
network and storage around these functions, so every decision here can be tested as a plain value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

from passway.core.provider import TokenMetadataFields
from passway.records import Credentials, OAuthToken

# Error codes with which token endpoints say "this grant is dead": retrying cannot help, only the
# customer re-authorizing can. (``invalid_client`` is about the developer's client, not the grant.)
REVOKED_GRANT_ERRORS = frozenset({"invalid_grant", "invalid_token", "unauthorized_client"})


class MalformedTokenResponse(ValueError):
    """The token endpoint answered 2xx with something that is not a usable token response."""


@dataclass(frozen=True, slots=True)
class TokenResponse:
    """A successful token-endpoint answer (RFC 6749 section 5.1)."""

    access_token: str
    token_type: str | None = None
    expires_in: float | None = None
    refresh_token: str | None = None
    refresh_expires_in: float | None = None
    scope: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CapturedMetadata:
    """Values read out of a token response per the catalog's ``tokenMetadataFields``."""

    workspace_ref: str | None = None
    consumer_ref: str | None = None
    scopes: tuple[str, ...] = ()
    other: Mapping[str, str] = field(default_factory=dict)


def decode_token_body(body: bytes, content_type: str | None) -> dict[str, Any]:
    """Decode a token endpoint body, JSON or ``application/x-www-form-urlencoded``.

    Some providers (GitHub by default, older Facebook) answer form-encoded; we sniff when the
    content type is missing or wrong. Raises ``MalformedTokenResponse`` when neither fits.
    """
    text = body.decode("utf-8", errors="replace").strip()
    ctype = (content_type or "").split(";")[0].strip().lower()
    if ctype.endswith("json") or text.startswith("{"):
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            raise MalformedTokenResponse("token endpoint answered invalid JSON") from None
        if not isinstance(value, dict):
            raise MalformedTokenResponse("token endpoint answered JSON that is not an object")
        return value
    if "=" in text:
        return dict(parse_qsl(text, keep_blank_values=True))
    raise MalformedTokenResponse("token endpoint answered neither JSON nor form data")


def _number(value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(value)


def parse_token_response(document: Mapping[str, Any]) -> TokenResponse:
    """Read a decoded 2xx token response. A body without ``access_token`` is malformed."""
    access = _text(document.get("access_token"))
    if access is None:
        raise MalformedTokenResponse("token response has no access_token")
    return TokenResponse(
        access_token=access,
        token_type=_text(document.get("token_type")),
        expires_in=_number(document.get("expires_in")),
        refresh_token=_text(document.get("refresh_token")),
        refresh_expires_in=_number(
            document.get("refresh_token_expires_in", document.get("refresh_expires_in"))
        ),
        scope=_text(document.get("scope")),
        raw=dict(document),
    )


def oauth_error_code(document: Mapping[str, Any]) -> str | None:
    """The RFC 6749 ``error`` code of an error response, if it has one."""
    return _text(document.get("error"))


def is_grant_revoked(error_code: str | None) -> bool:
    """True when the endpoint said the grant is dead, so retrying cannot succeed."""
    return error_code in REVOKED_GRANT_ERRORS


def expires_within(token: OAuthToken | None, now: datetime, margin_seconds: float) -> bool:
    """True when ``token`` is missing or expires within ``margin_seconds`` of ``now``.

    The margin is never more than half of the token's lifetime (when its issue time is known): a
    provider whose tokens live 20 s is refreshed every 10 s, not on every call under a 60 s margin.
    A token with no known expiry is treated as fresh: we cannot predict its end, and the reactive
    path (a provider 401 forces one refresh) covers it.
    """
    if token is None or not token.token:
        return True
    if token.expires_at is None:
        return False
    return token.expires_at - timedelta(seconds=refresh_margin(token, margin_seconds)) <= now


def refresh_margin(token: OAuthToken, margin_seconds: float) -> float:
    """``margin_seconds``, capped at half of the token's lifetime when its issue time is known."""
    if token.issued_at is None or token.expires_at is None:
        return margin_seconds
    lifetime = (token.expires_at - token.issued_at).total_seconds()
    return max(0.0, min(margin_seconds, lifetime / 2))


def credentials_after_token_response(
    previous: Credentials, response: TokenResponse, now: datetime
) -> Credentials:
    """The connection's credentials once ``response`` is applied.

    A response without a refresh token keeps the old one (RFC 6749 section 6). Scopes are replaced
    only when the response states them.
    """
    access = OAuthToken(
        token=response.access_token,
        issued_at=now,
        expires_at=(
            now + timedelta(seconds=response.expires_in)
            if response.expires_in is not None
            else None
        ),
    )
    refresh = previous.refresh_token
    if response.refresh_token is not None:
        refresh = OAuthToken(
            token=response.refresh_token,
            issued_at=now,
            expires_at=(
                now + timedelta(seconds=response.refresh_expires_in)
                if response.refresh_expires_in is not None
                else None
            ),
        )
    scopes = previous.scopes
    if response.scope:
        scopes = split_scopes(response.scope)
    return replace(previous, access_token=access, refresh_token=refresh, scopes=scopes)


def split_scopes(value: Any) -> tuple[str, ...]:
    """Scopes as a tuple, from a space/comma separated string or a list."""
    if isinstance(value, (list, tuple)):
        return tuple(str(v) for v in value if str(v))
    return tuple(part for part in re.split(r"[\s,]+", str(value)) if part)


def lookup_path(document: Mapping[str, Any], path: str) -> Any:
    """The value at a dot path (``owner.user.id``) in a decoded document, or None."""
    current: Any = document
    for part in path.split("."):
        if isinstance(current, Mapping) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return None
    return current


def _capture(value: str, pattern: str | None) -> str | None:
    if pattern is None:
        return value
    match = re.search(pattern, value)
    if match is None:
        return None
    if "result" in match.groupdict():
        return match.group("result")
    return match.group(0)


def capture_token_metadata(
    document: Mapping[str, Any], fields: TokenMetadataFields | None
) -> CapturedMetadata:
    """Read the catalog's ``tokenMetadataFields`` out of a decoded token response.

    ``workspace_ref`` is the raw value (Salesforce: a whole ``instance_url``); turning it into what
    the provider's URL templates need is ``passway.core.templates.workspace_ref_from_token_value``.
    The raw value is also kept under its own field name in ``other`` so templates that name it
    directly (Gong's ``{{.api_base_url_for_customer}}``) can use it.
    """
    if fields is None:
        return CapturedMetadata()
    other: dict[str, str] = {}
    workspace = None
    if fields.workspace_ref_field:
        raw = lookup_path(document, fields.workspace_ref_field)
        if raw is not None and raw != "":
            other[fields.workspace_ref_field] = str(raw)
            workspace = str(raw)
    consumer = None
    if fields.consumer_ref_field:
        raw = lookup_path(document, fields.consumer_ref_field)
        consumer = None if raw is None or raw == "" else str(raw)
    scopes: tuple[str, ...] = ()
    if fields.scopes_field:
        raw = lookup_path(document, fields.scopes_field)
        scopes = () if raw is None else split_scopes(raw)
    for extra in fields.other_fields:
        raw = lookup_path(document, extra.path)
        if raw is None or isinstance(raw, (Mapping, list)):
            continue
        captured = _capture(str(raw), extra.capture)
        if captured is not None:
            other[extra.name] = captured
    return CapturedMetadata(
        workspace_ref=workspace, consumer_ref=consumer, scopes=scopes, other=other
    )
