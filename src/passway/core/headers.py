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
from typing import Final

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


def _message_drop(headers: list[Header]) -> frozenset[bytes]:
    """What this message's own headers add to the drop list: the names its ``Connection`` lists,
    and ``content-length`` when ``transfer-encoding`` is present (it is being re-framed).

    One pass, and no set built for the common message that has neither.
    """
    named: set[bytes] | None = None
    for name, value in headers:
        lowered = name.lower()
        if lowered == b"connection":
            if value.lower() in _CONNECTION_OPTIONS_ONLY:
                continue  # names no header (keep-alive is hop-by-hop anyway): the common case
            if named is None:
                named = set()
            named.update(token.strip().lower() for token in value.split(b",") if token.strip())
        elif lowered == b"transfer-encoding":
            if named is None:
                named = set()
            named.add(b"content-length")
    return _EMPTY if named is None else frozenset(named)


def _drops_more(lowered: bytes, value: bytes) -> bool:
    """Whether a dropped hop-by-hop header makes its message drop others: ``Transfer-Encoding``
    (its ``Content-Length`` goes too), or a ``Connection`` that names headers."""
    return lowered == b"transfer-encoding" or (
        lowered == b"connection" and value.lower() not in _CONNECTION_OPTIONS_ONLY
    )


_EMPTY: frozenset[bytes] = frozenset()
_CONNECTION_OPTIONS_ONLY = frozenset({b"keep-alive", b"close", b""})

# What a header name is to these rules, as bits (``name_kind``).
_HOP: Final = 1  # hop-by-hop: never crosses
_REFRAMES: Final = 2  # Transfer-Encoding or Connection: may make its message drop others
_CLIENT_ONLY: Final = 4  # a client header for Passway or for the upstream leg to set
_AMP: Final = 8  # x-amp-*
_PASSWAY: Final = 16  # x-passway-*
_CONTENT_LENGTH: Final = 32
_REQUEST_DROP: Final = _HOP | _CLIENT_ONLY | _AMP
_RESPONSE_DROP: Final = _HOP | _PASSWAY
_BODYLESS_DROP: Final = _RESPONSE_DROP | _CONTENT_LENGTH

# The same few names come with every message: each one's lower-case form (bytes and text) and
# kind is kept, so a header costs one dictionary lookup instead of a lower() and set lookups.
# Bounded: names longer than _KNOWN_NAME_LENGTH are not kept, and the table is emptied when full.
_KNOWN_NAMES: Final[dict[bytes, tuple[bytes, str, int]]] = {}
_KNOWN_NAMES_MAX: Final = 2048
_KNOWN_NAME_LENGTH: Final = 64


def name_kind(name: bytes) -> tuple[bytes, str, int]:
    """``name`` lower-cased, as bytes and as latin-1 text, and its kind (the bits above)."""
    known = _KNOWN_NAMES.get(name)
    if known is not None:
        return known
    lowered = name.lower()
    kind = 0
    if lowered in HOP_BY_HOP:
        kind |= _HOP
        if lowered == b"transfer-encoding" or lowered == b"connection":
            kind |= _REFRAMES
    if lowered in CLIENT_ONLY:
        kind |= _CLIENT_ONLY
    if lowered.startswith(_AMP_PREFIX):
        kind |= _AMP
    if lowered.startswith(_PASSWAY_PREFIX):
        kind |= _PASSWAY
    if lowered == b"content-length":
        kind |= _CONTENT_LENGTH
    known = (lowered, lowered.decode("latin-1"), kind)
    if len(name) <= _KNOWN_NAME_LENGTH:
        if len(_KNOWN_NAMES) >= _KNOWN_NAMES_MAX:
            _KNOWN_NAMES.clear()
        _KNOWN_NAMES[name] = known
    return known


def upstream_request_headers(
    client_headers: Iterable[Header], credential_headers: frozenset[bytes] = frozenset()
) -> list[tuple[str, str]]:
    """The client's headers as they go to the provider (names lower-case, values untouched).

    ``credential_headers`` are the lower-cased names the credential placement sets.
    Values are decoded as latin-1 so every byte survives the trip through the HTTP client.
    """
    headers = client_headers if isinstance(client_headers, list) else list(client_headers)
    # One pass with one name lookup per header; the names a Connection header lists (rare) are
    # then taken out of what was kept.
    out: list[tuple[str, str]] = []
    reframed = False
    for name, value in headers:
        lowered, text, kind = name_kind(name)
        if kind & _REQUEST_DROP:
            if kind & _REFRAMES:
                reframed = reframed or _drops_more(lowered, value)
            continue
        if credential_headers and lowered in credential_headers:
            continue
        out.append((text, value.decode("latin-1")))
    if reframed:
        extra = _message_drop(headers)
        if extra:
            out = [(name, value) for name, value in out if name.encode("latin-1") not in extra]
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
    headers = upstream_headers if isinstance(upstream_headers, list) else list(upstream_headers)
    drop = _BODYLESS_DROP if bodyless_status else _RESPONSE_DROP
    out: list[Header] = []
    reframed = False
    for name, value in headers:
        lowered, _, kind = name_kind(name)
        if kind & drop:
            if kind & _REFRAMES:
                reframed = reframed or _drops_more(lowered, value)
            continue
        out.append((name, value))
    if reframed:
        extra = _message_drop(headers)
        if extra:
            out = [(name, value) for name, value in out if name.lower() not in extra]
    return out
