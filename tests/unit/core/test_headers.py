"""Header rules of the proxy: what reaches the provider and what reaches the client."""

from __future__ import annotations

from passway.core import headers as rules
from passway.core.headers import (
    downstream_response_headers,
    name_kind,
    upstream_request_headers,
)


def test_end_to_end_headers_pass_in_order_with_repeats_and_exact_bytes() -> None:
    headers = [
        (b"accept", b"application/json"),
        (b"x-trace", b"a"),
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"x-trace", b"b"),
        (b"x-odd", b"  spaced \xe9 value "),
    ]
    assert upstream_request_headers(headers) == [
        ("accept", "application/json"),
        ("x-trace", "a"),
        ("content-type", "text/plain; charset=utf-8"),
        ("x-trace", "b"),
        ("x-odd", "  spaced \xe9 value "),
    ]


def test_client_credentials_passway_headers_and_host_never_reach_the_provider() -> None:
    headers = [
        (b"host", b"passway.local"),
        (b"authorization", b"Bearer client-own"),
        (b"x-api-key", b"pw_secret"),
        (b"x-amp-project-id", b"p"),
        (b"X-Amp-Installation-Id", b"i"),
        (b"x-amp-proxy-version", b"1"),
        (b"expect", b"100-continue"),
        (b"accept", b"*/*"),
    ]
    assert upstream_request_headers(headers) == [("accept", "*/*")]


def test_hop_by_hop_and_connection_named_headers_are_removed() -> None:
    headers = [
        (b"connection", b"keep-alive, X-Secret-Hop"),
        (b"Connection", b"x-other"),
        (b"keep-alive", b"timeout=5"),
        (b"proxy-connection", b"keep-alive"),
        (b"proxy-authorization", b"Basic abc"),
        (b"proxy-authenticate", b"Basic"),
        (b"te", b"trailers"),
        (b"trailer", b"x-checksum"),
        (b"upgrade", b"websocket"),
        (b"x-secret-hop", b"1"),
        (b"x-other", b"2"),
        (b"x-kept", b"3"),
    ]
    assert upstream_request_headers(headers) == [("x-kept", "3")]


def test_headers_set_by_credential_placement_are_removed_from_the_client_request() -> None:
    headers = [(b"x-shopify-access-token", b"client-token"), (b"accept", b"*/*")]
    result = upstream_request_headers(headers, frozenset({b"x-shopify-access-token"}))
    assert result == [("accept", "*/*")]


def test_content_length_is_kept_unless_transfer_encoding_reframes_the_body() -> None:
    assert upstream_request_headers([(b"content-length", b"12")]) == [("content-length", "12")]
    both = [(b"transfer-encoding", b"chunked"), (b"content-length", b"12")]
    assert upstream_request_headers(both) == []


def test_response_keeps_repeated_set_cookie_encoding_and_length() -> None:
    headers = [
        (b"Content-Type", b"application/json"),
        (b"Set-Cookie", b"a=1; Path=/"),
        (b"Content-Encoding", b"gzip"),
        (b"Set-Cookie", b"b=2; HttpOnly"),
        (b"Content-Length", b"42"),
        (b"Connection", b"keep-alive, X-Hop"),
        (b"Keep-Alive", b"timeout=5"),
        (b"X-Hop", b"1"),
    ]
    assert downstream_response_headers(headers) == [
        (b"Content-Type", b"application/json"),
        (b"Set-Cookie", b"a=1; Path=/"),
        (b"Content-Encoding", b"gzip"),
        (b"Set-Cookie", b"b=2; HttpOnly"),
        (b"Content-Length", b"42"),
    ]


def test_response_framing_stays_consistent_when_upstream_was_chunked() -> None:
    headers = [(b"Transfer-Encoding", b"chunked"), (b"Content-Length", b"5"), (b"X-A", b"1")]
    assert downstream_response_headers(headers) == [(b"X-A", b"1")]


def test_bodyless_statuses_drop_content_length_only() -> None:
    headers = [(b"ETag", b'"v1"'), (b"Content-Length", b"1234")]
    assert downstream_response_headers(headers, bodyless_status=True) == [(b"ETag", b'"v1"')]
    assert downstream_response_headers(headers) == headers


def test_provider_cannot_send_passway_marker_headers() -> None:
    headers = [(b"X-Passway-Error", b"forged"), (b"x-passway-request-id", b"1"), (b"X-A", b"1")]
    assert downstream_response_headers(headers) == [(b"X-A", b"1")]


def test_names_seen_are_remembered_within_bounds() -> None:
    """Header names are classified once and remembered, but a peer sending endless new or huge
    names cannot grow the table: long names are never kept, and a full table starts over."""
    rules._KNOWN_NAMES.clear()
    assert name_kind(b"X-Amp-Project-Id")[:2] == (b"x-amp-project-id", "x-amp-project-id")
    assert b"X-Amp-Project-Id" in rules._KNOWN_NAMES
    assert name_kind(b"Connection")[2] != name_kind(b"Keep-Alive")[2] != name_kind(b"ETag")[2]
    long_name = b"X-" + b"a" * 100
    assert name_kind(long_name)[0] == long_name.lower()
    assert long_name not in rules._KNOWN_NAMES
    for index in range(3 * rules._KNOWN_NAMES_MAX):
        name_kind(b"x-custom-%d" % index)
        assert len(rules._KNOWN_NAMES) <= rules._KNOWN_NAMES_MAX
    # and the rules still hold for names seen before the table started over
    assert upstream_request_headers([(b"X-Amp-Project-Id", b"p"), (b"X-A", b"1")]) == [("x-a", "1")]
