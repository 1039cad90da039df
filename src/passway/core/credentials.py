"""Where a connection's credentials go in the upstream request, by the provider's auth type. Pure.

- ``oauth2``: ``Authorization: Bearer <access token>``, or the catalog's
  ``oauth2AccessTokenHeader`` name with its exact value prefix (Shopify's
  ``X-Shopify-Access-Token``).
- ``apiKey``: the catalog's header with its exact prefix (possibly empty, or like
  ``Token token=``), or the query parameter ``apiKeyQueryName`` (a client-sent parameter of
  that name is replaced).
- ``basic``: ``Authorization: Basic base64(username:password)``.
- ``custom``: headers and query parameters rendered from the catalog's templates over the
  connection's custom inputs.

The proxy removes from the client's request every header and query parameter named here, so a
client can neither add a second credential nor replace the real one.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import quote, unquote_to_bytes

from passway.core.provider import Provider
from passway.core.template_syntax import choose_alternative
from passway.core.templates import connection_template_values, render_template
from passway.errors import ConnectionNeedsReauthorization
from passway.records import Connection

_FORBIDDEN_IN_HEADER = ("\r", "\n", "\0")


@dataclass(frozen=True, slots=True)
class CredentialPlacement:
    """Headers to add and query parameters to set on the upstream request."""

    headers: tuple[tuple[str, str], ...] = ()
    query: tuple[tuple[str, str], ...] = ()


def _missing(connection: Connection, what: str) -> ConnectionNeedsReauthorization:
    return ConnectionNeedsReauthorization(
        f"The connection has no {what}; the customer must connect again.",
        context={
            "connectionId": connection.id,
            "groupRef": connection.group_ref,
            "provider": connection.provider,
        },
    )


def _checked(connection: Connection, value: str) -> str:
    if any(char in value for char in _FORBIDDEN_IN_HEADER):
        raise ConnectionNeedsReauthorization(
            "A stored credential contains characters that cannot be sent.",
            context={"connectionId": connection.id, "provider": connection.provider},
        )
    return value


def place_credentials(
    provider: Provider, connection: Connection, extra: Mapping[str, str] | None = None
) -> CredentialPlacement:
    """The credential headers and query parameters for one call, then the catalog's
    ``proxyHeaders`` and ``proxyQueryParams``. Raises when a value is missing. ``extra`` adds
    values for custom templates (the two-step token, ``accessToken``)."""
    placement = _place_credentials(provider, connection, extra or {})
    if not provider.proxy_headers and not provider.proxy_query_params:
        return placement
    values = connection_template_values(provider, connection)
    headers = tuple(
        (h.name, _checked(connection, _render(h.value_template, values)))
        for h in provider.proxy_headers
    )
    query = tuple((q.name, _render(q.value_template, values)) for q in provider.proxy_query_params)
    return CredentialPlacement(placement.headers + headers, placement.query + query)


def _render(template: str, values: Mapping[str, str]) -> str:
    return render_template(choose_alternative(template, values), values)


def _place_credentials(
    provider: Provider, connection: Connection, extra: Mapping[str, str]
) -> CredentialPlacement:
    creds = connection.credentials
    if provider.auth_type == "oauth2":
        token = creds.access_token.token if creds.access_token is not None else ""
        if not token:
            raise _missing(connection, "access token")
        override = provider.oauth2_access_token_header
        if override is not None:
            value = override.value_prefix + token
            return CredentialPlacement(headers=((override.name, _checked(connection, value)),))
        return CredentialPlacement(
            headers=(("Authorization", _checked(connection, "Bearer " + token)),)
        )
    if provider.auth_type == "apiKey":
        if not creds.api_key:
            raise _missing(connection, "API key")
        if provider.api_key_attachment == "query" and provider.api_key_query_name:
            return CredentialPlacement(query=((provider.api_key_query_name, creds.api_key),))
        name = provider.api_key_header_name or "Authorization"
        value = (provider.api_key_header_value_prefix or "") + creds.api_key
        return CredentialPlacement(headers=((name, _checked(connection, value)),))
    if provider.auth_type == "basic":
        if creds.username is None:
            raise _missing(connection, "username")
        pair = f"{creds.username}:{creds.password or ''}".encode()
        value = "Basic " + base64.b64encode(pair).decode("ascii")
        return CredentialPlacement(headers=(("Authorization", value),))
    values = {**creds.custom, **extra}
    return CredentialPlacement(
        headers=tuple(
            (h.name, _checked(connection, render_template(h.value_template, values)))
            for h in provider.custom_headers
        ),
        query=tuple(
            (q.name, render_template(q.value_template, values))
            for q in provider.custom_query_params
        ),
    )


def credential_header_names(provider: Provider) -> frozenset[bytes]:
    """Lower-cased names of every header the provider's credential placement may set."""
    names: set[str] = set()
    if provider.auth_type in ("oauth2", "basic"):
        names.add("authorization")
        if provider.oauth2_access_token_header is not None:
            names.add(provider.oauth2_access_token_header.name.lower())
    elif provider.auth_type == "apiKey":
        if provider.api_key_header_name:
            names.add(provider.api_key_header_name.lower())
    elif provider.auth_type == "custom":
        names.update(h.name.lower() for h in provider.custom_headers)
    names.update(h.name.lower() for h in provider.proxy_headers)
    return frozenset(name.encode("latin-1") for name in names)


def set_query_params(query_string: bytes, params: Iterable[tuple[str, str]]) -> bytes:
    """``query_string`` with each named parameter removed, then appended with its value encoded.

    The client's other parameters stay byte for byte, in order. Names are compared decoded, so a
    client cannot slip a second ``api_key`` past as ``api%5Fkey``.
    """
    pairs = list(params)
    if not pairs:
        return query_string
    names = {name.encode("utf-8") for name, _ in pairs}
    kept = [
        part
        for part in query_string.split(b"&")
        if part and unquote_to_bytes(part.split(b"=", 1)[0].replace(b"+", b" ")) not in names
    ]
    kept.extend(
        f"{quote(name, safe='')}={quote(value, safe='')}".encode("ascii") for name, value in pairs
    )
    return b"&".join(kept)
