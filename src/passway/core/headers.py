"""Which headers cross the proxy, in each direction. Pure functions over ``(name, value)`` pairs.

Passway is a faithful pipe: everything end-to-end passes byte for byte, repeated headers included,
in the order received. What never passes:

- hop-by-hop headers (RFC 9110 §7.6.1) and every header the ``Connection`` header names, on both
  legs: they describe one connection, not the message;
- from the client: ``Authorization``, ``x-api-key`` and every ``x-amp-*`` (they are for Passway, not
  the provider), ``Host`` (the provider's host is set by the upstream client), ``Expect`` (Passway
  answers ``100 Continue`` itself and streams the body on), and any header the provider's credential
  placement sets (a client's own ``X-Shopify-Access-Token`` must not travel next to the real one).

``x-passway-*`` headers from the provider are dropped: they are Passway's own markers
(``x-passway-error`` on every answer Passway makes itself), and a provider must not pass for it.

``Content-Length`` is kept in both directions so framing is preserved; when a message also carries
``Transfer-Encoding`` (which is dropped, the next hop re-frames), ``Content-Length`` goes too, as
RFC 9112 §6.3 says it must be ignored then.
"""

from __future__ import annotations

from collections.abc import Iterable

Header = tuple[bytes, bytes]

HOP_BY_HOP: frozenset[bytes] = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)

# Client headers that are Passway's own or that the upstream leg sets itself.
CLIENT_ONLY: frozenset[bytes] = frozenset({b"authorization", b"x-api-key", b"host", b"expect"})

_AMP_PREFIX = b"x-amp-"
_PASSWAY_PREFIX = b"x-passway-"


def connection_named(headers: Iterable[Header]) -> frozenset[bytes]:
    """Header names listed in ``Connection`` values (lower-cased), e.g. ``Connection: X-Foo``."""
    named: set[bytes] = set()
    for name, value in headers:
        if name.lower() == b"connection":
            named.update(token.strip().lower() for token in value.split(b",") if token.strip())
    return frozenset(named)


def _framing_drop(headers: list[Header]) -> frozenset[bytes]:
    """``content-length`` must go when ``transfer-encoding`` is present (it is being re-framed)."""
    for name, _ in headers:
        if name.lower() == b"transfer-encoding":
            return frozenset({b"content-length"})
    return frozenset()


def upstream_request_headers(
    client_headers: Iterable[Header], credential_headers: frozenset[bytes] = frozenset()
) -> list[tuple[str, str]]:
    """The client's headers as they go to the provider (names lower-case, values untouched).

    ``credential_headers`` are the lower-cased names the credential placement sets.
    Values are decoded as latin-1 so every byte survives the trip through the HTTP client.
    """
    headers = list(client_headers)
    drop = (
        HOP_BY_HOP
        | CLIENT_ONLY
        | credential_headers
        | connection_named(headers)
        | _framing_drop(headers)
    )
    out: list[tuple[str, str]] = []
    for name, value in headers:
        lowered = name.lower()
        if lowered in drop or lowered.startswith(_AMP_PREFIX):
            continue
        out.append((lowered.decode("latin-1"), value.decode("latin-1")))
    return out


def downstream_response_headers(
    upstream_headers: Iterable[Header], *, bodyless_status: bool = False
) -> list[Header]:
    """The provider's response headers as they go to the client: hop-by-hop dropped, rest kept.

    Several ``Set-Cookie``, ``Content-Encoding`` and ``Content-Length`` pass untouched (the body is
    relayed as the provider encoded it, never decompressed). For a 204 or 304
    (``bodyless_status``) ``Content-Length`` is dropped: there is no body, and a 304's length of the
    cached representation would make the server expect one.
    """
    headers = list(upstream_headers)
    drop = HOP_BY_HOP | connection_named(headers) | _framing_drop(headers)
    if bodyless_status:
        drop = drop | {b"content-length"}
    return [
        (name, value)
        for name, value in headers
        if (lowered := name.lower()) not in drop and not lowered.startswith(_PASSWAY_PREFIX)
    ]


def header_value(headers: Iterable[Header], name: bytes) -> bytes | None:
    """The first value of ``name`` (given lower-case) in ``headers``, or None."""
    for key, value in headers:
        if key.lower() == name:
            return value
    return None
